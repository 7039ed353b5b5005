"""The 好差评 rating pad (评价器) at a window: one rating per finished ticket (一次一评).

The window asks the pad to rate a ticket; the citizen answers whenever they like, so the
result arrives later, on the driver's reader thread. Only an answer to the ticket asked for is
passed on: a stray or repeated result must never be stored against the wrong citizen.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import BadResponse, DeviceError, HallEdgeError
from devices.line_device import LineDeviceMixin
from drivers.line_socket import LineDriver
from protocols.hall_line import (
    EVENT_WORDS,
    KIND_RATING_PAD,
    encode_ack,
    encode_cancel,
    encode_rate,
    expect_ok,
    parse_result,
)

#: The five levels of 好差评 (reference §5.5), best first.

ResultHandler = Callable[[int], None]


@dataclass(frozen=True)
class RatingRequest:
    """A rating the pad was asked for and has not answered yet."""

    ticket_no: str
    window_no: int
    on_result: ResultHandler


class RatingPad(LineDeviceMixin):
    """A rating pad reached through a line driver.

    Args:
        driver: the transport; this pad registers for its unsolicited ``RESULT`` lines.
        device_id: the pad's id in events and health reports.
        on_error: told about each rejected result and a lost connection, on the reader thread.
        on_close: called by :meth:`close` after the connection is closed.

    Attributes:
        rejected: the most recent rejected results (BadResponse), oldest first.
    """

    LINE_KIND = KIND_RATING_PAD

    def __init__(
        self,
        driver: LineDriver,
        device_id: str,
        on_error: Callable[[HallEdgeError], None] | None = None,
        *,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.driver = driver
        self.device_id = device_id
        self.on_error = on_error
        self.rejected: deque[HallEdgeError] = deque(maxlen=50)
        self.on_close = on_close
        self._pending: RatingRequest | None = None
        self._lock = threading.Lock()
        driver.listen(EVENT_WORDS, self.handle_result, self._report)

    @property
    def pending(self) -> RatingRequest | None:
        """The request waiting for the citizen, or None."""
        with self._lock:
            return self._pending

    def request(self, ticket_no: str, window_no: int, on_result: ResultHandler) -> None:
        """Ask the citizen of a ticket to rate the service; returns at once.

        A new request replaces one still unanswered: the window serves one citizen at a time.

        Args:
            ticket_no: the ticket just finished, e.g. ``A001``.
            window_no: the window that served it.
            on_result: called once with the level 1–5 (5 非常满意 … 1 非常不满意), on the
                driver's reader thread; a UI must hop to its own thread from there.

        Raises:
            DeviceRejected (305): a number outside the protocol, or the pad refused it.
            DeviceUnplugged (302), DeviceTimeout (303), BadResponse (304): the pad did not
                take the request; no result will come.
        """
        line = encode_rate(ticket_no, window_no)
        request = RatingRequest(ticket_no, window_no, on_result)
        with self._lock:
            # Before sending: a quick citizen's RESULT may overtake the OK.
            self._pending = request
        try:
            expect_ok(self.driver.request(line))
        except DeviceError:
            with self._lock:
                if self._pending is request:
                    self._pending = None
            raise

    def cancel(self, ticket_no: str) -> None:
        """Withdraw a request (the citizen left); a later result for it is rejected.

        Raises:
            DeviceRejected (305), DeviceUnplugged (302), DeviceTimeout (303),
            BadResponse (304): the pad did not confirm; it may still show the request.
        """
        line = encode_cancel(ticket_no)
        with self._lock:
            if self._pending is not None and self._pending.ticket_no == ticket_no:
                self._pending = None
        expect_ok(self.driver.request(line))

    def handle_result(self, line: str) -> None:
        """Take a ``RESULT`` line from the pad and pass its level to the requester.

        Every well-formed result is acknowledged (``ACK``), a rejected one too, so the pad
        stops resending it.

        Raises:
            BadResponse (304): malformed, a level outside 1–5, or a ticket not requested
                (or already rated); nothing is passed on.
        """
        ticket_no, level = parse_result(line)
        try:
            self._take(ticket_no, level, line)
        finally:
            self.driver.send_line(encode_ack(ticket_no))

    def _take(self, ticket_no: str, level: int, line: str) -> None:
        with self._lock:
            request = self._pending
            if request is None or request.ticket_no != ticket_no:
                raise BadResponse(
                    f"rating for {ticket_no}, which was not requested",
                    device=self.device_id,
                    line=line,
                    reason="not_requested",
                )
            self._pending = None
        request.on_result(level)


    def _report(self, err: HallEdgeError) -> None:
        if isinstance(err, BadResponse):
            self.rejected.append(err)
        if self.on_error is not None:
            self.on_error(err)
