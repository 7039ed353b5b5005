"""The 测试功能 flow: one screen, ``probe``, counting taps; leaving forgets the count."""

from __future__ import annotations

from flows.kiosk_functions import KioskContext
from flows.screens import Screen


class ProbeFlow:
    """A counter (a :class:`flows.kiosk_functions.KioskFlow`).

    Attributes:
        taps: taps by the citizen in front of the kiosk now.
        left: how many citizens have left it (返回首页 or idle).
    """

    def __init__(self, context: KioskContext) -> None:
        self.device_id = context.device_id
        self.taps = 0
        self.left = 0

    def start(self) -> Screen:
        return self._screen()

    def press(self) -> Screen:
        self.taps += 1
        return self._screen()

    def leave(self) -> None:
        self.taps = 0
        self.left += 1

    def _screen(self) -> Screen:
        return Screen("probe", "menu", {"taps": self.taps, "device_id": self.device_id})
