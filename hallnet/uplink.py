"""A kiosk's uplink: what the kiosk keeps on its own disk goes to the hall box, exactly once.

One background thread per kiosk process (:class:`Uplink`). Whenever the hall box answers (the
event stream is back, a transaction was recorded, or every few seconds), it:

1. uploads the tickets issued while cut off (``POST /v1/tickets/offline``), oldest first, each
   with a key made from its ticket id and with its priority, and forgets each once the hall
   box answered: the hall box puts it in the queue in the place its issue time and priority
   give it, or, when its business day is over, records it closed as expired
   (:mod:`hallnet.offline`, :meth:`flows.queue.HallQueue.accept_offline`);
2. forwards the kiosk's own journal (``POST /v1/journal``) in order, and deletes what the hall
   box says it holds (:mod:`hallnet.kiosk_journal`, :mod:`hallnet.forwarded`);
3. tops up the reserved blocks: for today and the next business day, a service with fewer than
   :data:`hallnet.offline.RANGE_LOW` numbers left gets a new block (``POST /v1/ranges``).

Tickets go first so that the hall box's queue is complete as early as possible; blocks last,
since they only matter at the next outage. A step that cannot reach the hall box stops the
round; nothing is lost, the next round starts where this one stopped. A refusal the hall box
decided (a ticket whose number it did not reserve) is logged and kept on the kiosk's disk,
marked, for a technician; it is not sent again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any, Protocol

from core.clock import Clock, business_day
from core.config import HallConfig
from core.errors import (
    BadRequest,
    HallBoxUnreachable,
    HallEdgeError,
    IdempotencyKeyReused,
    QueueError,
)
from hallnet.kiosk_journal import KioskJournal
from hallnet.offline import RANGE_LOW, OfflineNumbers, OfflineTicket
from hallnet.wire import range_from, ticket_json

log = logging.getLogger(__name__)

#: Seconds between rounds when nothing wakes the uplink.
PERIOD_S = 5.0
#: After the hall box refused a block for a service and day, ask again this much later.
REFUSED_RANGE_RETRY_S = 600.0
#: Most events, and most bytes of them, per ``POST /v1/journal`` (the server takes 64 KiB).
BATCH_EVENTS = 50
BATCH_BYTES = 48 * 1024


class HallBoxPort(Protocol):
    """What the uplink needs of :class:`hallnet.client.RemoteHallQueue`."""

    device_id: str
    hall: HallConfig
    clock: Clock

    @property
    def reachable(self) -> bool: ...

    def post(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]: ...


class Uplink:
    """Empty the kiosk's own disk into the hall box, in a background thread.

    Args:
        hall_box: the remote queue, to send requests through.
        numbers: the kiosk's offline numbers and tickets.
        journal: the kiosk's own transaction journal.
        period: seconds between rounds when nothing wakes it.
    """

    def __init__(
        self,
        hall_box: HallBoxPort,
        numbers: OfflineNumbers,
        journal: KioskJournal,
        period: float = PERIOD_S,
    ) -> None:
        self.hall_box = hall_box
        self.numbers = numbers
        self.journal = journal
        self.period = period
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._round = threading.Lock()
        self._thread: threading.Thread | None = None
        #: (day, service) → the key of a block request that went unanswered (asked again
        #: with the same key, so a lost answer cannot cost a second block).
        self._range_keys: dict[tuple[str, str], str] = {}
        self._range_refused: dict[tuple[str, str], float] = {}

    def start(self) -> Uplink:
        self._thread = threading.Thread(target=self._run, name="hall-uplink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def wake(self) -> None:
        """Start a round now (the hall box is back, something was recorded)."""
        self._wake.set()

    def sync(self) -> bool:
        """One round; True when everything on the kiosk's disk reached the hall box."""
        with self._round:
            try:
                today = business_day(self.hall_box.clock.now())
                self.numbers.forget_before(today)
                return self._upload_tickets() and self._forward_journal() and self._top_up(today)
            except HallBoxUnreachable:
                return False

    # --- the steps -----------------------------------------------------------------------

    def _upload_tickets(self) -> bool:
        for offline in self.numbers.pending():
            try:
                body = _upload_body(self.hall_box, offline)
                answer = self.hall_box.post("/tickets/offline", body, offline.key)
            except HallBoxUnreachable:
                raise
            except (QueueError, BadRequest, IdempotencyKeyReused) as err:
                log.error(
                    "the hall box refused offline ticket %s (%s): error %d (%s): %s;"
                    " kept on this kiosk for a technician",
                    offline.ticket.ticket_no,
                    offline.ticket.ticket_id,
                    err.code,
                    err.key,
                    err,
                )
                self.numbers.refused(offline.ticket.ticket_id, f"{err.code} {err.key}: {err}")
                continue
            except HallEdgeError as err:
                log.warning("offline ticket upload: error %d (%s): %s", err.code, err.key, err)
                return False
            if answer.get("expired"):
                # Held, closed: its business day was over when the hall box got it.
                log.warning(
                    "offline ticket %s of %s reached the hall box after its day closed:"
                    " recorded as not served (expired)",
                    offline.ticket.ticket_no,
                    offline.day,
                )
            self.numbers.held(offline.ticket.ticket_id)
        return True

    def _forward_journal(self) -> bool:
        while True:
            batch = _batch(self.journal.pending(BATCH_EVENTS))
            if not batch:
                return True
            first, last = batch[0].local_seq, batch[-1].local_seq
            body = {
                "device_id": self.hall_box.device_id,
                "events": [e.as_json() for e in batch],
            }
            try:
                answer = self.hall_box.post("/journal", body, f"journal-{first}-{last}")
            except HallBoxUnreachable:
                raise
            except HallEdgeError as err:
                # An older hall box may not know a newer kind: keep everything, try again.
                log.error(
                    "the hall box refused journal events %d–%d: error %d (%s): %s; kept",
                    first,
                    last,
                    err.code,
                    err.key,
                    err,
                )
                return False
            held = int(answer.get("held_to", 0))
            if held < first:
                log.error(
                    "the hall box holds this kiosk's journal only to %d, sent %d–%d",
                    held,
                    first,
                    last,
                )
                return False
            self.journal.held_to(held)

    def _top_up(self, today: str) -> bool:
        tomorrow = business_day(self.hall_box.clock.now() + 86400.0)
        done = True
        for day in (today, tomorrow):
            for service in self.hall_box.hall.services:
                slot = (day, service.code)
                if self.numbers.left(day, service.code) >= RANGE_LOW:
                    continue
                if time.monotonic() < self._range_refused.get(slot, 0.0):
                    continue
                key = self._range_keys.setdefault(slot, f"range-{uuid.uuid4().hex}")
                body = {"device_id": self.hall_box.device_id, "service": service.code, "day": day}
                try:
                    answer = self.hall_box.post("/ranges", body, key)
                except HallBoxUnreachable:
                    raise
                except HallEdgeError as err:
                    log.warning(
                        "no offline numbers for %s on %s: error %d (%s): %s",
                        service.code,
                        day,
                        err.code,
                        err.key,
                        err,
                    )
                    self._range_keys.pop(slot, None)
                    self._range_refused[slot] = time.monotonic() + REFUSED_RANGE_RETRY_S
                    done = False
                    continue
                self.numbers.add(range_from(answer["range"]))
                self._range_keys.pop(slot, None)
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.period)
            self._wake.clear()
            if self._stop.is_set():
                break
            if not self.hall_box.reachable:
                continue
            try:
                self.sync()
            except Exception:  # noqa: BLE001 - the uplink must outlive any one round
                log.exception("kiosk uplink round failed")


def _upload_body(hall_box: HallBoxPort, offline: OfflineTicket) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device_id": hall_box.device_id,
        "ticket": ticket_json(offline.ticket),
        "day": offline.day,
    }
    if offline.appointment is not None:
        body["appointment"] = offline.appointment
    if offline.ticket.priority is not None:
        body["priority"] = offline.ticket.priority
    if offline.replaces is not None:
        body["replaces"] = offline.replaces
    return body


def _batch(events: list[Any]) -> list[Any]:
    """The leading events that fit one request."""
    size, taken = 0, []
    for event in events:
        size += len(json.dumps(event.as_json(), ensure_ascii=False).encode())
        if taken and size > BATCH_BYTES:
            break
        taken.append(event)
    return taken
