"""预约取号 (``appointments``): book a slot at the hall, cancel a booking, and take a number on
arrival (到场签到取号), which puts the citizen ahead of walk-ins as the hall's rules say.

Three paths from the first screen (``menu``)::

    book:      choose_service → choose_slot → identify → confirm → booked
    cancel:    identify → choose_booking → confirm_cancel → cancelled
    check in:  identify → choose_booking (today's) → ticket

The platform (:mod:`govplatform.bookings`) owns the rules: places per slot, the per-ID daily
limit, the suspension after repeated no-shows (恶意预约). The kiosk shows its refusal (the
error's key, the platform's code in ``data["upstream_code"]``) and enforces nothing itself,
since a citizen also books on the province's app and at windows (``docs/appointments.md``).

Nothing is booked twice: every change is sent with an Idempotency-Key chosen and kept *before*
the POST. When the answer is lost (timeout, connection dropped, a server error) the flow says
so (``book_unknown``), journals the attempt as ``unknown`` once, and 重新查询 asks the platform
what became of that key: the booking if it was made, else the same request again under the
same key. A booking is journaled (``kiosk.transaction``, synchronously on disk) before the
``booked`` screen tells the citizen.

What it keeps of a citizen (their :class:`flows.identify.Citizen`, their bookings) it drops in
:meth:`AppointmentFlow.leave`.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from core.clock import hall_time
from core.errors import DeviceError, HallEdgeError, PlatformError, PlatformRefused
from core.events import Kind
from devices.ticket_printer import TicketContent
from flows.identify import Citizen, IdentifyCitizen, forget_citizen
from flows.kiosk_functions import KioskContext
from flows.queue import IssuedTicket
from flows.queue_port import health_journal_for
from flows.screens import Screen
from flows.ticketing import qr_payload
from flows.transactions import transaction_event
from govplatform.bookings import Booking, BookingsClient, Slot

#: This function's id, as in the kiosk's registry and its transactions.
FUNCTION_ID = "appointments"
BOOK, CANCEL, CHECK_IN = "book", "cancel", "check_in"


class AppointmentFlow:
    """The ``appointments`` kiosk function (a :class:`flows.kiosk_functions.KioskFlow`).

    Built from the kiosk's context: its platform (``context.platform``; without one every path
    ends on ``platform_error``), its ID reader, its queue and printer, its transaction journal.
    """

    def __init__(self, context: KioskContext) -> None:
        self.context = context
        self.client = BookingsClient(context.platform) if context.platform is not None else None
        self.identify = IdentifyCitizen(context.id_reader)
        self._forget()

    # --- the kiosk's two -------------------------------------------------------------

    def start(self) -> Screen:
        """The tile tapped: 预约 / 取消预约 / 到场签到取号."""
        self._forget()
        return Screen("menu", "menu", {"actions": [BOOK, CANCEL, CHECK_IN]})

    def leave(self) -> None:
        """The citizen is done: forget who they were and what they had booked."""
        self._forget()

    # --- booking -----------------------------------------------------------------------

    def book(self) -> Screen:
        """预约 tapped: the hall's services."""
        self._forget()
        self.mode = BOOK
        services = [{"code": s.code, "name": s.name} for s in self.context.hall.services]
        return Screen("choose_service", "menu", {"services": services})

    def choose_service(self, service_code: str) -> Screen:
        """A service tapped: its free slots from the platform, by day."""
        self.service = self.context.hall.service(service_code).code
        self.request_id = None
        return self._ask(lambda: self._slots(None), retry=lambda: self.choose_service(service_code))

    def choose_slot(self, slot_id: str) -> Screen:
        """A slot tapped: who is booking (identify), unless already known."""
        slot = self.slots.get(slot_id)
        if slot is None or slot.remaining <= 0:
            return self._slots("booking_slot_full")
        self.slot = slot
        self.request_id = None
        return self._confirm() if self.citizen is not None else self.identify.start()

    def confirm(self) -> Screen:
        """确认预约 tapped: book it under a request id kept until its outcome is known."""
        if self.slot is None or self.citizen is None or self.client is None:
            return self.start()
        if self.request_id is None:
            self.request_id = _request_id()
            self.unknown_journaled = False
        return self._send_booking()

    def settle(self) -> Screen:
        """重新查询 tapped after a lost answer: ask the platform what became of the request."""
        if self.request_id is None or self.client is None:
            return self.start()
        key = self.request_id
        try:
            found = self.client.outcome(key)
        except PlatformRefused as err:
            return self._booking_refused(err)
        except PlatformError as err:
            return self._booking_unknown(err)
        if found is None:
            return self._send_booking()  # never received: send it again, same key
        return self._booked(found)

    # --- cancelling and checking in ------------------------------------------------------

    def cancel(self) -> Screen:
        """取消预约 tapped: who is cancelling, then their bookings."""
        self._forget()
        self.mode = CANCEL
        return self.identify.start()

    def check_in(self) -> Screen:
        """到场签到取号 tapped: who has arrived, then their bookings for today."""
        self._forget()
        self.mode = CHECK_IN
        return self.identify.start()

    def choose_booking(self, booking_no: str) -> Screen:
        """A booking tapped: confirm its cancellation, or check it in and take the number."""
        booking = self.listed.get(booking_no)
        if booking is None:
            return self._after_identify()
        self.chosen = booking
        self.request_id = None
        self.issued = None
        if self.mode == CANCEL:
            return Screen("confirm_cancel", "menu", self._booking_data(booking))
        return self.confirm_check_in()

    def confirm_cancel(self) -> Screen:
        """确认取消 tapped."""
        booking, citizen = self.chosen, self.citizen
        if booking is None or citizen is None or self.client is None:
            return self.start()
        key = self.request_id = self.request_id or _request_id()
        client = self.client
        try:
            done = client.cancel(key, booking.booking_no, citizen.id_number)
        except PlatformRefused as err:
            self.request_id = None
            return self._refused(err, "confirm_cancel", self._booking_data(booking))
        except PlatformError as err:
            # Sent again under the same key, it cannot cancel anything twice.
            return self._trouble(err, self.confirm_cancel)
        self.request_id = None
        self._record("done", done, action=CANCEL)
        return Screen("cancelled", "result", self._booking_data(done))

    def confirm_check_in(self) -> Screen:
        """Check the chosen booking in on the platform, then take its number in the hall."""
        booking, citizen = self.chosen, self.citizen
        if booking is None or citizen is None or self.client is None:
            return self.start()
        if self.issued is None:
            key = self.request_id = self.request_id or _request_id()
            try:
                self.client.check_in(key, booking.booking_no, citizen.id_number)
            except PlatformRefused as err:
                self.request_id = None
                return self._refused(err, "choose_booking", self._bookings_data())
            except PlatformError as err:
                return self._trouble(err, self.confirm_check_in)
            try:
                self.issued = self.context.queue.issue(
                    booking.service, self.context.device_id, appointment=booking.booking_no
                )
            except HallEdgeError as err:
                # Checked in upstream; 重试 replays the check-in (same key) and issues again.
                return self._trouble(err, self.confirm_check_in)
            self._record(
                "done", booking, action=CHECK_IN, ticket_no=self.issued.ticket.ticket_no
            )
        return self._ticket(self.issued)

    # --- identify ----------------------------------------------------------------------

    def identified(self, outcome: Screen | Citizen) -> Screen:
        """An identify step's outcome: its next screen, or the citizen, kept until leave()."""
        if isinstance(outcome, Screen):
            return outcome
        self.citizen = outcome
        return self._after_identify()

    def retry(self) -> Screen:
        """重试 on a platform error screen: the step that met it, again."""
        again = self._retry or self.start
        return again()

    # --- internals ---------------------------------------------------------------------

    def _forget(self) -> None:
        # Overwritten, not only dropped: a dropped str stays in freed memory (docs/privacy.md).
        forget_citizen(getattr(self, "citizen", None))
        self.mode: str | None = None
        self.citizen: Citizen | None = None
        self.service: str | None = None
        self.slots: dict[str, Slot] = {}
        self.slot: Slot | None = None
        self.listed: dict[str, Booking] = {}
        self.chosen: Booking | None = None
        #: The Idempotency-Key of the change in flight, kept until its outcome is known.
        self.request_id: str | None = None
        self.unknown_journaled = False
        self.issued: IssuedTicket | None = None
        self._retry: Callable[[], Screen] | None = None

    def _after_identify(self) -> Screen:
        if self.mode == BOOK:
            return self._confirm()
        if self.mode in (CANCEL, CHECK_IN):
            return self._ask(self._list_bookings, retry=self._after_identify)
        return self.start()

    def _confirm(self) -> Screen:
        if self.slot is None or self.citizen is None:
            return self.start()
        return Screen(
            "confirm",
            "menu",
            self._slot_data(self.slot) | {"citizen": self.citizen.masked()},
        )

    def _slots(self, error_key: str | None) -> Screen:
        assert self.client is not None and self.service is not None
        found = self.client.slots(self.context.hall.hall_id, self.service)
        self.slots = {s.slot_id: s for s in found}
        days: dict[date, list[dict[str, Any]]] = {}
        for s in found:
            days.setdefault(s.day, []).append(
                {"slot_id": s.slot_id, "start": s.start, "end": s.end, "remaining": s.remaining}
            )
        data = {
            "service": self.service,
            "service_name": self.context.hall.service(self.service).name,
            "days": [
                {"date": d.isoformat(), "weekday": d.weekday(), "slots": slots}
                for d, slots in sorted(days.items())
            ],
        }
        return Screen("choose_slot", "menu", data, error_key)

    def _send_booking(self) -> Screen:
        assert self.client and self.slot and self.citizen and self.service and self.request_id
        try:
            booking = self.client.book(
                self.request_id,
                self.context.hall.hall_id,
                self.service,
                self.slot.slot_id,
                self.citizen.id_number,
                self.citizen.name,
            )
        except PlatformRefused as err:
            return self._booking_refused(err)
        except PlatformError as err:
            return self._booking_unknown(err)
        return self._booked(booking)

    def _booked(self, booking: Booking) -> Screen:
        # On disk before the citizen is told; a journal failure leaves the request id kept,
        # so 确认 again gets the same booking back from the platform and journals it.
        self._record("done", booking, action=BOOK, request=self.request_id)
        self.request_id = None
        return Screen("booked", "result", self._booking_data(booking))

    def _booking_refused(self, err: PlatformRefused) -> Screen:
        self._record_attempt("failed", reason=err.details.get("upstream_code", ""))
        self.request_id = None
        if err.key == "booking_slot_full":
            return self._ask(lambda: self._slots(err.key), retry=lambda: self._slots(err.key))
        return self._refused(err, "confirm", self._confirm().data)

    def _booking_unknown(self, err: PlatformError) -> Screen:
        if not self.unknown_journaled:
            self._record_attempt("unknown")
            self.unknown_journaled = True
        return Screen("book_unknown", "result", {}, err.key)

    def _record_attempt(self, outcome: str, **extra: Any) -> None:
        self.context.transactions.record(
            Kind.KIOSK_TRANSACTION,
            transaction_event(
                FUNCTION_ID,
                outcome,
                item=self.service or "",
                ref=self.request_id or "",
                action=BOOK,
                **extra,
            ),
        )

    def _record(self, outcome: str, booking: Booking, **extra: Any) -> None:
        """A transaction of this function: the booking number finds it upstream; nothing of
        the citizen goes in."""
        self.context.transactions.record(
            Kind.KIOSK_TRANSACTION,
            transaction_event(
                FUNCTION_ID, outcome, item=booking.service, ref=booking.booking_no, **extra
            ),
        )

    def _list_bookings(self) -> Screen:
        assert self.client is not None and self.citizen is not None
        found = self.client.of_citizen(self.citizen.id_number, status="booked")
        if self.mode == CHECK_IN:
            today = hall_time(self.context.clock.now()).date()
            found = [b for b in found if b.day == today]
        self.listed = {b.booking_no: b for b in found}
        return Screen("choose_booking", "menu", self._bookings_data())

    def _bookings_data(self) -> dict[str, Any]:
        return {"mode": self.mode, "bookings": [self._booking_data(b) for b in self.listed.values()]}

    def _booking_data(self, booking: Booking) -> dict[str, Any]:
        return {
            "booking_no": booking.booking_no,
            "service": booking.service,
            "service_name": self._service_name(booking.service),
            "date": booking.day.isoformat(),
            "weekday": booking.day.weekday(),
            "start": booking.start,
            "end": booking.end,
            "status": booking.status,
        }

    def _slot_data(self, slot: Slot) -> dict[str, Any]:
        assert self.service is not None
        return {
            "service": self.service,
            "service_name": self._service_name(self.service),
            "date": slot.day.isoformat(),
            "weekday": slot.day.weekday(),
            "start": slot.start,
            "end": slot.end,
        }

    def _service_name(self, code: str) -> str:
        for s in self.context.hall.services:
            if s.code == code:
                return s.name
        return code

    def _ask(self, call: Callable[[], Screen], retry: Callable[[], Screen]) -> Screen:
        """A read from the platform; its failure is the ``platform_error`` screen."""
        if self.client is None:
            return Screen("platform_error", "result", {}, "platform_unreachable")
        try:
            return call()
        except PlatformError as err:
            return self._trouble(err, retry)

    def _trouble(self, err: HallEdgeError, retry: Callable[[], Screen]) -> Screen:
        self._retry = retry
        return Screen("platform_error", "result", {}, err.key)

    def _refused(self, err: PlatformRefused, back: str, data: dict[str, Any]) -> Screen:
        """The platform said no: the screen the citizen was on, with its reason."""
        upstream = str(err.details.get("upstream_code", ""))
        return Screen(back, "menu", data | {"upstream_code": upstream}, err.key)

    def _ticket(self, issued: IssuedTicket) -> Screen:
        printed, error_key = self._print(issued)
        data = {
            "ticket_no": issued.ticket.ticket_no,
            "service_name": self._service_name(issued.ticket.service),
            "people_ahead": issued.people_ahead,
            "est_wait_min": math.ceil(issued.est_wait_s / 60),
            "est_wait_text": issued.wait_text,
            "printed": printed,
            "booking_no": self.chosen.booking_no if self.chosen else "",
        }
        return Screen("ticket", "result", data, error_key)

    def _print(self, issued: IssuedTicket) -> tuple[bool, str | None]:
        """Print the number as 取号 does; a printer fault costs the citizen nothing, the
        number stands and the screen shows it."""
        printer = self.context.printer
        if printer is None:
            return False, "device_not_found"
        t = issued.ticket
        hall = self.context.hall
        content = TicketContent(
            hall_name=hall.name,
            service_name=self._service_name(t.service),
            ticket_no=t.ticket_no,
            people_ahead=issued.people_ahead,
            est_wait_s=issued.est_wait_s,
            est_wait_text=issued.wait_text,
            issued_at=t.issued_at,
            qr_payload=qr_payload(hall.hall_id, issued),
        )
        try:
            printer.print_ticket(content)
        except DeviceError as err:
            return False, err.key
        finally:
            health_journal_for(self.context.queue, self.context.clock).record(printer.last_health)
        return True, None


def _request_id() -> str:
    """A fresh Idempotency-Key: random, so it says nothing about the citizen."""
    return uuid.uuid4().hex
