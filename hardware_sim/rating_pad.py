"""Simulator of the 好差评 rating pad (评价器) at a window.

The window asks for a rating with ``RATE``; the pad shows the request until the citizen presses
one of five keys (5 非常满意 … 1 非常不满意, reference §5.5) and then sends ``RESULT`` by itself.
The Kivy rating window embeds this simulator: ``on_request`` shows the keys, a key calls
:meth:`RatingPadSim.press`, ``on_clear`` returns to the idle screen. For a headless hall,
``auto_level`` makes the pad answer by itself after ``delay_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.rating import LEVEL_LABELS
from hardware_sim.line_server import LineServer, SimClient
from protocols.hall_line import (
    KIND_RATING_PAD,
    TICKET_RE,
    WINDOW_RE,
    ErrCode,
    encode_result,
    err_line,
)

#: Unacknowledged results the pad remembers; a morning's worth at one window.
MAX_UNACKED = 32


@dataclass(frozen=True)
class PendingRating:
    """The request the pad is showing."""

    ticket_no: str
    window_no: int
    #: time.monotonic() when it arrived
    at: float


class RatingPadSim(LineServer):
    """A rating pad on 127.0.0.1.

    Args:
        port: TCP port; 0 picks a free one.
        auto_level: if set (1–5), the pad answers every request with this level by itself.
        delay_s: how long the automatic citizen thinks before pressing.
        on_request: called with the :class:`PendingRating` the pad starts showing.
        on_clear: called with the ticket number when a request ends (answered, cancelled, or
            replaced by a newer one).

    Attributes:
        results: every ``(ticket_no, level)`` the pad sent, in order.
        unacked: RESULT lines the host has not acknowledged yet; resent on each new
            connection, at most :data:`MAX_UNACKED` (oldest dropped).

    Raises:
        ValueError: auto_level outside 1–5.
    """

    def __init__(
        self,
        port: int = 0,
        auto_level: int | None = None,
        delay_s: float = 0.0,
        *,
        on_request: Callable[[PendingRating], None] | None = None,
        on_clear: Callable[[str], None] | None = None,
    ) -> None:
        if auto_level is not None and auto_level not in LEVEL_LABELS:
            raise ValueError(f"auto_level {auto_level} outside 1..5")
        super().__init__(port, kind=KIND_RATING_PAD)
        self.auto_level = auto_level
        self.delay_s = delay_s
        self.on_request = on_request
        self.on_clear = on_clear
        self.results: list[tuple[str, int]] = []
        self.unacked: list[str] = []
        self._pending: PendingRating | None = None
        self._requester: SimClient | None = None

    @property
    def pending(self) -> PendingRating | None:
        """The request on screen, or None when the pad is idle."""
        with self._lock:
            return self._pending

    def press(self, level: int) -> str | None:
        """A citizen presses a rating key.

        Args:
            level: 5 非常满意 … 1 非常不满意.

        Returns:
            The ticket rated, or None if the pad was idle (the key does nothing then).

        Raises:
            ValueError: there is no such key.
        """
        return self._press(level, None)

    def _press(self, level: int, only: PendingRating | None) -> str | None:
        if level not in LEVEL_LABELS:
            raise ValueError(f"no rating key {level}")
        with self._lock:
            pending = self._pending
            if pending is None or (only is not None and pending is not only):
                return None
            self._pending = None
            self.results.append((pending.ticket_no, level))
            line = encode_result(pending.ticket_no, level)
            self.unacked = (self.unacked + [line])[-MAX_UNACKED:]
            self._deliver(line)
        self.notify(self.on_clear, pending.ticket_no)
        return pending.ticket_no

    def send_raw_line(self, line: str) -> None:
        """Fault: send any line to every connected host, e.g. a RESULT nobody asked for."""
        for client in self.clients():
            client.send_line(line)

    def handle(self, client: SimClient, words: list[str]) -> str | None:
        if words[0] == "RATE":
            return self._rate(client, words)
        if words[0] == "CANCEL":
            return self._cancel(words)
        if words[0] == "ACK":
            return self._ack(words)
        return super().handle(client, words)

    def on_connect(self, client: SimClient) -> None:
        # A RESULT written just before the host went away may have vanished with the old
        # connection; only the host's ACK proves it arrived.
        with self._lock:
            for line in self.unacked:
                client.send_line(line)

    # --- internals --------------------------------------------------------------------

    def _rate(self, client: SimClient, words: list[str]) -> str:
        if len(words) != 3:
            return err_line(ErrCode.BAD_ARGUMENT, "bad_arguments")
        if not TICKET_RE.fullmatch(words[1]):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_ticket")
        if not WINDOW_RE.fullmatch(words[2]):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_window")
        request = PendingRating(words[1], int(words[2]), time.monotonic())
        with self._lock:
            # The window serves one citizen at a time: a new request replaces an unanswered one.
            replaced, self._pending = self._pending, request
            self._requester = client
        if replaced is not None:
            self.notify(self.on_clear, replaced.ticket_no)
        self.notify(self.on_request, request)
        if self.auto_level is not None:
            threading.Thread(
                target=self._answer_later, args=(request,), name="rating-pad-auto", daemon=True
            ).start()
        return "OK"

    def _cancel(self, words: list[str]) -> str:
        if len(words) != 2:
            return err_line(ErrCode.BAD_ARGUMENT, "bad_arguments")
        if not TICKET_RE.fullmatch(words[1]):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_ticket")
        with self._lock:
            cancelled = self._pending is not None and self._pending.ticket_no == words[1]
            if cancelled:
                self._pending = None
        if cancelled:
            self.notify(self.on_clear, words[1])
        # Cancelling what is no longer shown is not an error: the citizen may have just rated.
        return "OK"

    def _ack(self, words: list[str]) -> str | None:
        if len(words) != 2:
            return err_line(ErrCode.BAD_ARGUMENT, "bad_arguments")
        if not TICKET_RE.fullmatch(words[1]):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_ticket")
        with self._lock:
            self.unacked = [r for r in self.unacked if r.split(" ")[1] != words[1]]
        return None  # an acknowledgement is not answered: the host sends it from its reader

    def _answer_later(self, request: PendingRating) -> None:
        level = self.auto_level
        if self.sleep(self.delay_s) or level is None:
            return
        self._press(level, request)

    def _deliver(self, line: str) -> None:
        """Send a RESULT to the host that asked, else the newest host. Under _lock."""
        targets = [self._requester] if self._requester is not None else []
        targets += list(reversed(self.clients()))
        for client in targets:
            if client is not None and client.send_line(line):
                return
