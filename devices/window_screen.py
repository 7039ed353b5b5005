"""The LED screen above a window (窗口屏): window number, staff, the ticket served, status.

It speaks the window screen protocol (``docs/devices/window-screen.md``) through a line
driver, like the hall call display, and offers the call display's :meth:`WindowScreen.announce`
so a window flow can send a call to either.
"""

from __future__ import annotations

from collections.abc import Callable

from devices.call_display import CallAnnouncement
from devices.line_device import LineDeviceMixin
from drivers.line_socket import LineDriver
from protocols.call_speech import call_speech, call_text
from protocols.hall_line import encode_call, expect_ok
from protocols.window_screen import (
    KIND_WINDOW_SCREEN,
    ScreenState,
    ScreenStatus,
    encode_show,
)


class WindowScreen(LineDeviceMixin):
    """A window screen reached through a line driver.

    Args:
        driver: the transport (a :class:`drivers.line_socket.LineSocket`).
        device_id: the screen's id in events and health reports.
        on_close: called by :meth:`close` after the connection is closed.
    """

    LINE_KIND = KIND_WINDOW_SCREEN

    def __init__(
        self,
        driver: LineDriver,
        device_id: str,
        *,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.driver = driver
        self.device_id = device_id
        self.on_close = on_close

    def show(self, state: ScreenState) -> None:
        """Show a whole state: the screen replaces everything it showed.

        Raises:
            DeviceRejected (305): a field outside the protocol, or the screen refused it.
            DeviceUnplugged (302), DeviceTimeout (303), BadResponse (304): not shown.
        """
        expect_ok(self.driver.request(encode_show(state)))

    def serving(
        self,
        window_no: int,
        ticket_no: str,
        staff_id: str | None = None,
        staff_name: str | None = None,
    ) -> None:
        """Show the ticket being served. Raises as :meth:`show`."""
        self.show(ScreenState(window_no, ScreenStatus.SERVING, ticket_no, staff_id, staff_name))

    def status(
        self,
        window_no: int,
        status: ScreenStatus,
        staff_id: str | None = None,
        staff_name: str | None = None,
    ) -> None:
        """Show a window with no ticket: idle, paused (暂停服务) or closed. Raises as
        :meth:`show`."""
        self.show(ScreenState(window_no, status, None, staff_id, staff_name))

    def announce(self, ticket_no: str, window_no: int, recall: bool = False) -> CallAnnouncement:
        """Flash a call, as :meth:`devices.call_display.CallDisplay.announce` does.

        Returns:
            What the hall would show and say for the call.

        Raises:
            DeviceRejected (305), DeviceUnplugged (302), DeviceTimeout (303),
            BadResponse (304): as :meth:`show`.
        """
        expect_ok(self.driver.request(encode_call(window_no, ticket_no, recall)))
        return CallAnnouncement(
            ticket_no=ticket_no,
            window_no=window_no,
            recall=recall,
            text=call_text(ticket_no, window_no, recall),
            speech=call_speech(ticket_no, window_no, recall),
        )

