"""The simulated hall call display (叫号显示屏) as a window, for the demo and for tests.

The window *is* the device: it embeds :class:`hardware_sim.call_display.CallDisplaySim` on a
loopback port, so PADs reach it with ``tcp://127.0.0.1:PORT`` through the real display driver,
exactly as they would reach an LED board. It borrows the kiosk's widgets so it looks like the
hall's other screens. The simulator's callbacks run on its own threads; they only hand the call
to the Kivy clock.

It speaks every call aloud, offline (:class:`devices.call_announcer.CallAnnouncer`), one after
the other; each call's WAV is kept under ``<tmp>/hall-edge-calls-<port>/``. A 过号 or 转移 takes
the number off the headline (the line protocol's CLEAR).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.uix.widget import Widget

from core.errors import HallEdgeError
from core.strings_zh import error_text
from devices.call_announcer import CallAnnouncer
from hardware_sim.call_display import CallDisplaySim, CallRecord
from kiosk.widgets import Panel, Text, clear_into, header
from simulation.device_window import SimulatedDeviceWindow

#: LED-board colours: amber text on a dark field reads from across the hall.
BOARD_BG = (0.05, 0.07, 0.12, 1)
LED = (1.0, 0.78, 0.20, 1)
LED_DIM = (0.85, 0.85, 0.88, 1)
BOARD_ROWS = 5


class CallDisplayWindow(SimulatedDeviceWindow):
    """The call display window.

    Args:
        port: the loopback TCP port the embedded display listens on.
        hall_name: shown while nobody has been called yet.
        one: how the hall reads the digit 1 in a ticket number (``[calls] read_one_as``).
        speak: say each call aloud (False: the board only).
    """

    title = "叫号显示屏"
    native_size = (1024, 600)

    def __init__(
        self, port: int, hall_name: str = "", one: str = "一", speak: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(port, hall_name, "display-worker", **kwargs)
        self.one = one
        self.speak = speak

    def build(self) -> Widget:
        s = self.measure()
        root = Panel(orientation="vertical", bg=BOARD_BG)
        self.latest = Text(
            text=f"欢迎光临{self.hall_name}",
            ui_id="latest_call",
            font_size=64 * s,
            bold=True,
            color=LED,
            size_hint_y=0.45,
        )
        self.board = Panel(
            orientation="vertical", bg=BOARD_BG, padding=(60 * s, 10 * s), spacing=4 * s
        )
        clear_into(
            root,
            header("叫号信息", "display_title", right=self.hall_name, right_id="display_hall"),
            self.latest,
            Text(text="最近叫号", font_size=26 * s, color=LED_DIM, size_hint_y=None, height=44 * s),
            self.board,
        )
        self._draw_board([])
        self.background.submit(self._start_sim, None, self._failed)
        return root

    def _start_sim(self) -> None:
        announcer = None
        if self.speak:
            spool = Path(tempfile.gettempdir()) / f"hall-edge-calls-{self.port}"
            announcer = CallAnnouncer(spool, one=self.one)
        self.sim = CallDisplaySim(
            self.port,
            announcer=announcer,
            one=self.one,
            on_call=self._on_call,
            on_clear=self._on_clear,
        ).start()

    def _on_call(self, record: CallRecord) -> None:
        # On a simulator thread: read the board here, draw it on the Kivy thread.
        sim = self.sim
        board = sim.board if sim is not None else [record]
        Clock.schedule_once(lambda _dt: self._show(record, board), 0)

    def _on_clear(self, _ticket_no: str) -> None:
        # A skipped or transferred number is no longer the headline: the newest call left is.
        sim = self.sim
        board = sim.board if sim is not None else []
        Clock.schedule_once(lambda _dt: self._cleared(board), 0)

    def _cleared(self, board: list[CallRecord]) -> None:
        self.latest.text = board[0].text if board else f"欢迎光临{self.hall_name}"
        self._draw_board(board)

    def _show(self, record: CallRecord, board: list[CallRecord]) -> None:
        self.latest.text = record.text
        self._draw_board(board)

    def _draw_board(self, board: list[CallRecord]) -> None:
        rows: list[Widget] = []
        for i in range(BOARD_ROWS):
            text = f"{board[i].ticket_no}    {board[i].window_no}号窗口" if i < len(board) else ""
            rows.append(
                Text(text=text, ui_id=f"board_{i}", font_size=40 * self.scale, color=LED_DIM)
            )
        clear_into(self.board, *rows)

    def _failed(self, err: HallEdgeError) -> None:
        self.latest.text = error_text(err)
