"""The hall call display (叫号显示屏): shows and announces which ticket goes to which window.

The display renders and speaks the call itself from the numbers it is sent; the host builds
the same sentences (``protocols.call_speech``) so the window PAD and the journal can show exactly what
citizens saw and heard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from devices.line_device import LineDeviceMixin
from drivers.line_socket import LineDriver
from protocols.call_speech import call_speech, call_text
from protocols.hall_line import KIND_CALL_DISPLAY, encode_call, encode_clear, expect_ok


@dataclass(frozen=True)
class CallAnnouncement:
    """A call the display accepted.

    Attributes:
        ticket_no: the ticket called, e.g. ``A001``.
        window_no: the window it was called to.
        recall: True for a repeated call (重呼).
        text: what the board shows, ``请A001号到3号窗口办理``.
        speech: what the announcer says, ``请A零零一号到三号窗口办理``.
    """

    ticket_no: str
    window_no: int
    recall: bool
    text: str
    speech: str


class CallDisplay(LineDeviceMixin):
    """A call display reached through a line driver.

    Args:
        driver: the transport (a :class:`drivers.line_socket.LineSocket` today).
        device_id: the display's id in events and health reports.
        on_close: called by :meth:`close` after the connection is closed.
        one: how the hall reads the digit 1 (``[calls] read_one_as``), for :attr:`speech`.
    """

    LINE_KIND = KIND_CALL_DISPLAY

    def __init__(
        self,
        driver: LineDriver,
        device_id: str,
        *,
        on_close: Callable[[], None] | None = None,
        one: str = "一",
    ) -> None:
        self.driver = driver
        self.device_id = device_id
        self.on_close = on_close
        self.one = one

    def announce(self, ticket_no: str, window_no: int, recall: bool = False) -> CallAnnouncement:
        """Show a call on the board and queue its announcement.

        Returns as soon as the display accepted the call; the display speaks calls one after
        the other, so two windows calling at once are both heard.

        Args:
            ticket_no: e.g. ``A001``.
            window_no: 1–999.
            recall: True for 重呼.

        Returns:
            What the display shows and says.

        Raises:
            DeviceRejected (305): a number outside the protocol, or the display refused it.
            DeviceUnplugged (302): the display is not reachable.
            DeviceTimeout (303): the display did not answer in time.
            BadResponse (304): the display answered something else than OK or ERR.
        """
        line = encode_call(window_no, ticket_no, recall)
        expect_ok(self.driver.request(line))
        return CallAnnouncement(
            ticket_no=ticket_no,
            window_no=window_no,
            recall=recall,
            text=call_text(ticket_no, window_no, recall),
            speech=call_speech(ticket_no, window_no, recall, self.one),
        )

    def clear(self, ticket_no: str, window_no: int) -> None:
        """Take a call back (过号, 转移): the display stops showing ``ticket_no`` as called to
        ``window_no``, on its headline and its board.

        Raises:
            DeviceRejected (305): a number outside the protocol, or a display too old for it.
            DeviceUnplugged (302), DeviceTimeout (303), BadResponse (304): as :meth:`announce`.
        """
        expect_ok(self.driver.request(encode_clear(window_no, ticket_no)))

