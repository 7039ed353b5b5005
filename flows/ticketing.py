"""The kiosk's ticket flow (取号), the first kiosk function: choose a service → ticket.

A UI-free step machine: every step returns the :class:`flows.screens.Screen` to show. On a
kiosk it is the ``ticket`` row of :mod:`flows.kiosk_functions`, drawn by
:mod:`kiosk.functions.ticket`; the kiosk's home screen and its idle timeout belong to
:class:`flows.kiosk_functions.KioskHome`. The ticket is issued (journaled) *before* it is
printed, so a printer that is out of paper or unplugged never costs the citizen a place in the
queue: the number is shown on screen with the printer's error, and the fault is journaled as a
``device.health`` event.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from core.clock import Clock
from core.errors import DeviceError, HallEdgeError
from devices.ticket_printer import TicketContent, TicketPrinter
from flows.kiosk_functions import KioskContext
from flows.queue import IssuedTicket
from flows.queue_port import QueuePort, health_journal_for
from flows.screens import Screen

__all__ = ["TicketFlow", "qr_payload"]


def qr_payload(hall_id: str, issued: IssuedTicket) -> str:
    """What the ticket's QR code holds: enough to look the ticket up anywhere.

    ``HE1`` versions the format; the ticket id is globally unique, the number is for people.
    """
    t = issued.ticket
    return f"HE1|{hall_id}|{t.ticket_no}|{t.ticket_id}"


class TicketFlow:
    """One kiosk's ticket flow (a :class:`flows.kiosk_functions.KioskFlow`).

    Args:
        queue: the hall queue.
        printer: the ticket printer, or None when the kiosk has none (numbers on screen only).
        device_id: this kiosk (``kiosk-1``).
        clock: the hall clock.

    The kiosk's idle timeout is :class:`flows.kiosk_functions.KioskHome`'s, not the flow's.
    """

    def __init__(
        self,
        queue: QueuePort,
        printer: TicketPrinter | None,
        device_id: str,
        clock: Clock,
    ) -> None:
        self.queue = queue
        self.printer = printer
        self.device_id = device_id
        self.clock = clock
        self.health = health_journal_for(queue, clock)
        # Steps run on worker threads; one at a time, as at a real kiosk.
        self._lock = threading.Lock()
        self.screen = self._show(self._home())

    @classmethod
    def for_kiosk(cls, context: KioskContext) -> TicketFlow:
        """The flow of the kiosk's ``ticket`` function (its registry factory)."""
        return cls(context.queue, context.printer, context.device_id, context.clock)

    def start(self) -> Screen:
        """The 取号 tile tapped: the services."""
        return self.choose_service()

    def leave(self) -> None:
        """The citizen is done. The flow keeps nothing of theirs: the ticket is journaled."""
        with self._lock:
            self._show(self._home())

    def home(self) -> Screen:
        """Back to rest, without a kiosk around the flow (the hall simulation's kiosks call it
        after each ticket); on a kiosk, :meth:`leave` does this and the kiosk draws its home.
        """
        self.leave()
        return self.screen

    def choose_service(self, error_key: str | None = None) -> Screen:
        """The list of services, each with how many people wait for it."""
        with self._lock:
            return self._show(self._services(error_key))

    def take(self, service_code: str) -> Screen:
        """Issue a ticket for a service and print it.

        Returns:
            ``ticket`` with the number, people ahead, estimated wait and whether it printed;
            its ``error_key`` names the printer fault when it did not. An unknown service goes
            back to the service list with ``unknown_service``.
        """
        with self._lock:
            try:
                issued = self.queue.issue(service_code, self.device_id)
            except HallEdgeError as err:
                return self._show(self._services(err.key))
            printed, error_key = self._print(issued)
            service = self.queue.hall.service(issued.ticket.service)
            data: dict[str, Any] = {
                "ticket_no": issued.ticket.ticket_no,
                "service_name": service.name,
                "people_ahead": issued.people_ahead,
                "est_wait_min": math.ceil(issued.est_wait_s / 60),
                # The range the citizen is told (约15–25分钟), the same words as on the ticket.
                "est_wait_text": issued.wait_text,
                "qr_payload": qr_payload(self.queue.hall.hall_id, issued),
                "printed": printed,
            }
            return self._show(Screen("ticket", "result", data, error_key))

    # --- internals --------------------------------------------------------------------

    def _home(self) -> Screen:
        return Screen("home", "menu", {"hall_name": self.queue.hall.name})

    def _services(self, error_key: str | None) -> Screen:
        services = [
            {
                "code": s.code,
                "name": s.name,
                "prefix": s.prefix,
                "waiting": self.queue.waiting_count(s.code),
            }
            for s in self.queue.hall.services
        ]
        return Screen("choose_service", "menu", {"services": services}, error_key)

    def _print(self, issued: IssuedTicket) -> tuple[bool, str | None]:
        if self.printer is None:
            return False, "device_not_found"
        t = issued.ticket
        content = TicketContent(
            hall_name=self.queue.hall.name,
            service_name=self.queue.hall.service(t.service).name,
            ticket_no=t.ticket_no,
            people_ahead=issued.people_ahead,
            est_wait_s=issued.est_wait_s,
            est_wait_text=issued.wait_text,
            issued_at=t.issued_at,
            qr_payload=qr_payload(self.queue.hall.hall_id, issued),
        )
        try:
            self.printer.print_ticket(content)
        except DeviceError as err:
            return False, err.key
        finally:
            # The printer keeps the health its last status check or failure implied.
            self.health.record(self.printer.last_health)
        return True, None

    def _show(self, screen: Screen) -> Screen:
        self.screen = screen
        return screen
