"""Simulator of the LED screen above a window (窗口屏), speaking the window screen protocol.

It vets every line as a real screen must (``docs/devices/window-screen.md``): the line rules of
:class:`hardware_sim.line_server.LineServer`, then the ``SHOW`` and ``CALL`` grammar. It keeps
what it shows as three rows of Chinese text, and a called ticket as :attr:`WindowScreenSim.flash`.
The line faults (unplug, a slow answer, garbage) are the line server's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from core.errors import DeviceRejected
from hardware_sim.line_server import LineServer, SimClient
from protocols.hall_line import TICKET_RE, WINDOW_RE, ErrCode, err_line
from protocols.window_screen import (
    CALL_TEXT,
    KIND_WINDOW_SCREEN,
    ScreenState,
    ScreenStatus,
    parse_show,
)

#: What a screen shows before the host has told it anything.
BLANK_ROWS = ("", "", "")


class WindowScreenSim(LineServer):
    """A window screen on 127.0.0.1.

    Args:
        port: TCP port; 0 picks a free one.
        on_change: called with the new rows whenever the screen changes (for a window UI).

    Attributes:
        state: the last state shown, or None.
        flash: the text of the last call flashed (``请A001号到3号窗口``), or None.
        shown: every set of rows shown, oldest first.
    """

    def __init__(
        self, port: int = 0, on_change: Callable[[tuple[str, str, str]], None] | None = None
    ) -> None:
        super().__init__(port, kind=KIND_WINDOW_SCREEN)
        self.on_change = on_change
        self.state: ScreenState | None = None
        self.flash: str | None = None
        self.shown: list[tuple[str, str, str]] = []
        self._changed = threading.Condition()

    @property
    def rows(self) -> tuple[str, str, str]:
        """The three rows on the screen now."""
        with self._changed:
            return self.shown[-1] if self.shown else BLANK_ROWS

    def wait_rows(self, predicate, timeout: float = 3.0) -> bool:  # type: ignore[no-untyped-def]
        """Wait until ``predicate(rows)`` holds; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.rows), timeout)

    def handle(self, client: SimClient, words: list[str]) -> str | None:
        if words[0] == "SHOW":
            try:
                state = parse_show(words)
            except DeviceRejected as err:
                return err_line(ErrCode.BAD_ARGUMENT, str(err.details["reason"]))
            self._show(state)
            return "OK"
        if words[0] == "CALL":
            return self._call(words)
        return super().handle(client, words)

    def _call(self, words: list[str]) -> str:
        if len(words) != 4:
            return err_line(ErrCode.BAD_ARGUMENT, "bad_arguments")
        _, window, ticket, recall = words
        if not WINDOW_RE.fullmatch(window):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_window")
        if not TICKET_RE.fullmatch(ticket):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_ticket")
        if recall not in ("0", "1"):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_recall")
        last = self.state
        with self._changed:
            self.flash = CALL_TEXT.format(ticket=ticket, window=window)
        self._show(
            ScreenState(
                int(window),
                ScreenStatus.SERVING,
                ticket,
                last.staff_id if last else None,
                last.staff_name if last else None,
            )
        )
        return "OK"

    def _show(self, state: ScreenState) -> None:
        rows = state.rows()
        with self._changed:
            self.state = state
            self.shown.append(rows)
            self._changed.notify_all()
        self.notify(self.on_change, rows)
