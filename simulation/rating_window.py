"""The simulated 好差评 rating pad (评价器) as a window, for the demo and for tests.

The window embeds :class:`hardware_sim.rating_pad.RatingPadSim` on a loopback port, so the PAD
reaches it with ``tcp://127.0.0.1:PORT`` through the real rating pad driver. A request shows
the ticket and the five keys; a tap presses the key on the simulated device, which sends the
``RESULT`` line to the window that asked.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from core.errors import HallEdgeError
from core.rating import LEVEL_LABELS
from core.strings_zh import error_text
from hardware_sim.rating_pad import PendingRating, RatingPadSim
from kiosk.widgets import BLUE, MUTED, PAGE, Panel, Text, TouchButton, clear_into, header
from simulation.device_window import SimulatedDeviceWindow

#: From 非常满意 (green) to 非常不满意 (red), the colours citizens expect on a rater.
KEY_COLOURS = {
    5: (0.13, 0.55, 0.30, 1),
    4: (0.35, 0.62, 0.25, 1),
    3: (0.60, 0.60, 0.22, 1),
    2: (0.86, 0.48, 0.10, 1),
    1: (0.80, 0.12, 0.12, 1),
}
#: How long "感谢您的评价" stays before the pad returns to its idle text.
THANKS_S = 5.0
IDLE_TEXT = "您好，欢迎对我们的服务进行评价"
THANKS_TEXT = "感谢您的评价"


class RatingPadWindow(SimulatedDeviceWindow):
    """The rating pad window.

    Args:
        port: the loopback TCP port the embedded pad listens on.
        hall_name: shown in the header.
    """

    title = "好差评评价器"
    native_size = (800, 480)

    def __init__(self, port: int, hall_name: str = "", **kwargs: Any) -> None:
        super().__init__(port, hall_name, "rating-worker", **kwargs)
        self._pressed: str | None = None
        self._back_to_idle: Any = None

    def build(self) -> Widget:
        s = self.measure()
        root = Panel(orientation="vertical", bg=PAGE)
        self.body = BoxLayout(orientation="vertical", padding=(30 * s, 20 * s), spacing=16 * s)
        clear_into(
            root,
            header("服务评价", "rating_title", right=self.hall_name, right_id="rating_hall"),
            self.body,
        )
        self._idle(IDLE_TEXT)
        self.background.submit(self._start_sim, None, self._failed)
        return root

    def tap_level(self, level: int) -> None:
        """A citizen presses a key: the device sends the result (on the worker thread)."""
        sim = self.sim
        if sim is None or sim.pending is None:
            return
        self._pressed = sim.pending.ticket_no
        for button in self.body.walk(restrict=True):
            if isinstance(button, TouchButton):
                button.disabled = True  # one rating per service (一次一评)
        self.background.submit(lambda: sim.press(level))

    # --- device side (simulator threads) -------------------------------------------------

    def _start_sim(self) -> None:
        self.sim = RatingPadSim(
            self.port, on_request=self._on_request, on_clear=self._on_clear
        ).start()

    def _on_request(self, request: PendingRating) -> None:
        Clock.schedule_once(lambda _dt: self._ask(request), 0)

    def _on_clear(self, ticket_no: str) -> None:
        Clock.schedule_once(lambda _dt: self._cleared(ticket_no), 0)

    # --- screens (Kivy thread) ----------------------------------------------------------

    def _ask(self, request: PendingRating) -> None:
        self._cancel_idle_timer()
        self._pressed = None
        s = self.scale
        keys = BoxLayout(orientation="horizontal", spacing=12 * s, size_hint_y=None, height=150 * s)
        for level in sorted(LEVEL_LABELS, reverse=True):
            button = TouchButton(
                text=LEVEL_LABELS[level],
                ui_id=f"rate_{level}",
                font_size=22 * s,
                fill=KEY_COLOURS[level],
            )
            button.bind(on_release=lambda _b, lv=level: self.tap_level(lv))
            keys.add_widget(button)
        clear_into(
            self.body,
            Text(
                text="请您为本次服务评价",
                ui_id="rating_prompt",
                font_size=38 * s,
                bold=True,
                color=BLUE,
            ),
            Text(
                text=f"{request.ticket_no}号 · {request.window_no}号窗口",
                ui_id="pending_ticket",
                font_size=30 * s,
                color=MUTED,
            ),
            keys,
            Widget(size_hint_y=0.3),
        )

    def _cleared(self, ticket_no: str) -> None:
        if self.sim is not None and self.sim.pending is not None:
            return  # a newer request is already on screen
        if ticket_no == self._pressed:
            self._idle(THANKS_TEXT)
            self._cancel_idle_timer()
            self._back_to_idle = Clock.schedule_once(lambda _dt: self._idle(IDLE_TEXT), THANKS_S)
        else:
            self._idle(IDLE_TEXT)  # withdrawn by the window: nothing to thank for

    def _idle(self, text: str) -> None:
        clear_into(
            self.body,
            Text(text=text, ui_id="pad_message", font_size=40 * self.scale, color=BLUE),
        )

    def _cancel_idle_timer(self) -> None:
        if self._back_to_idle is not None:
            self._back_to_idle.cancel()
            self._back_to_idle = None

    def _failed(self, err: HallEdgeError) -> None:
        self._idle(error_text(err))
