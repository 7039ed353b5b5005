"""键盘测试's flow: a form (name, ID number, phone), its echo, then 服务评价."""

from __future__ import annotations

from flows.kiosk_functions import KioskContext
from flows.kiosk_rating import rate_screen
from flows.screens import Screen


class FormProbeFlow:
    """A :class:`flows.kiosk_functions.KioskFlow` whose ``submit`` echoes the fields."""

    def __init__(self, context: KioskContext) -> None:
        self.device_id = context.device_id

    def start(self) -> Screen:
        return Screen("form", "form")

    def submit(self, name: str, id_number: str, phone: str) -> Screen:
        return Screen("done", "result", {"name": name, "id_number": id_number, "phone": phone})

    def rate(self) -> Screen:
        return rate_screen(item="键盘测试事项", ref="KB-0001")

    def leave(self) -> None:
        """Nothing is kept."""
