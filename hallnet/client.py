"""A kiosk's or PAD's hall queue when the hall box is another machine: :class:`RemoteHallQueue`.

It has the methods the flows use from :class:`flows.queue.HallQueue` (the port
:class:`flows.queue_port.QueuePort`), so :class:`flows.ticketing.TicketFlow` and
:class:`flows.window_desk.WindowDesk` run on it unchanged. Underneath:

* **Requests** over ``requests`` with a connect timeout of about 1 s and a read timeout of about
  3 s. Every state change carries an ``Idempotency-Key``, so a request whose answer was lost is
  sent again with the same key and the hall box answers with its first result: a ticket is not
  issued twice, a ticket is not called twice. Connection errors, timeouts and 502–504 are retried
  (three attempts within a few seconds); then :class:`~hallnet.errors.HallBoxUnreachable` (701).
* **A state change whose answer never came** is *unsettled*: its key is kept for a few minutes
  (on the machine's own disk when it has a data directory, so also across a restart of the
  app) and reused when the same request is made again (the staff member taps 叫号 again once
  the connection is back), so the retry cannot call a second citizen: the hall box answers with
  the ticket it called the first time, and the PAD announces it. A rating or a device health report
  that could not be delivered is kept and delivered, with its key, as soon as the connection
  returns (nothing on screen waits for it).
* **An event listener thread** holds ``GET /v1/events`` open, applies each push to a local
  :class:`hallnet.view.HallView` and reconnects by itself with ``Last-Event-ID`` (0.5 s, then
  doubling up to 5 s). While it is caught up, :meth:`RemoteHallQueue.window_view` and
  :meth:`RemoteHallQueue.waiting_count` answer from the local view without a request. After a
  state change, the client waits (up to half a second) for the push of that change before
  answering from the view, so a PAD never shows the queue as it was before its own tap.
* **The link state** (:attr:`RemoteHallQueue.connected`, :attr:`RemoteHallQueue.problem`,
  :meth:`RemoteHallQueue.on_link`) tells an app whether the hall box is reachable; while it is
  not, the views are the last known ones.
* **A kiosk's own disk** (a kiosk with a data directory: by default the one its device file is
  in). Cut off from the hall box, it goes on issuing numbers from blocks the hall box reserved
  for it ahead of time (:mod:`hallnet.offline`), each ticket on the kiosk's disk before the
  citizen sees it; its transaction journal is on its own disk too
  (:meth:`RemoteHallQueue.transaction_journal`, :mod:`hallnet.kiosk_journal`). A background
  uplink (:mod:`hallnet.uplink`) hands both to the hall box, exactly once, when it answers again.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

from core.clock import Clock
from core.config import HallConfig
from core.errors import (
    ConfigError,
    DeviceNotAuthorized,
    HallBoxBadResponse,
    HallBoxUnreachable,
    HallEdgeError,
)
from core.events import Kind
from core.rating import LEVEL_LABELS
from devices.health import Health
from flows.queue import PRIORITIES, IssuedTicket, Ticket, WindowView
from hallnet.devices import DeviceFile
from hallnet.kept import (
    KeptInMemory,
    KeptOnDisk,
    KeptRequests,
    Unsettled,
    UnsettledInMemory,
    UnsettledOnDisk,
    UnsettledSlot,
)
from hallnet.kiosk_journal import KioskJournal
from hallnet.local_store import LocalStore
from hallnet.offline import OfflineNumbers
from hallnet.uplink import Uplink
from hallnet.view import HallView
from hallnet.wire import (
    API_PREFIX,
    catalog_json,
    error_from,
    health_json,
    issued_from,
    request_fingerprint,
    ticket_from,
    ticket_json,
    window_view_from,
    with_catalog,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 3.0
#: Attempts per request, the pauses between them, and the most a request may take in all.
ATTEMPTS = 3
BACKOFF_S = (0.2, 0.6)
REQUEST_BUDGET_S = 8.0
#: The event stream's read timeout: three of the hall box's keep-alive intervals.
STREAM_READ_TIMEOUT_S = 6.0
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.5, 5.0
#: After a refusal (401: removed from the device list), try again this seldom.
REFUSED_RETRY_S = 5.0
#: How long a state change waits for its own push before the view is read over HTTP instead.
CATCH_UP_S = 0.5
#: How long an unsettled request's key is kept for a repeat of the same request (wall clock,
#: across restarts too). Not longer: the stored answer describes the hall as it was, and a
#: 叫号 repeated much later must not be told "nobody waits" from an empty hall of an hour ago.
UNSETTLED_S = 300.0


class HallLink(Protocol):
    """What an app shows about its connection to the hall box."""

    @property
    def connected(self) -> bool:
        """The hall box answers and the local view is current."""
        ...

    @property
    def problem(self) -> HallEdgeError | None:
        """Why the hall box refuses this device (401), when that is the reason."""
        ...

    def on_link(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on any thread) when :attr:`connected` or :attr:`problem` change."""
        ...


class HallBoxClock:
    """The hall box's clock as seen from this machine: the local clock plus the offset the
    last answers showed (a PAD's waits are then measured as the hall box measures them)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def observe(self, server_time: Any, sent: float, received: float) -> None:
        if isinstance(server_time, (int, float)) and received - sent < 2.0:
            self.offset = float(server_time) - (sent + received) / 2


class RemoteHallQueue:
    """The hall queue of a hall box elsewhere on the LAN (a :class:`flows.queue_port.QueuePort`).

    Args:
        device: this machine's device file (its id, role, secret, the hall box's address).
        hall: the hall configuration read locally: the catalog until the hall box's arrives,
            and the machine's own device URLs and kiosk functions for good.
        address: ``(host, port)`` of the hall box; the device file's by default.
        listen: keep the event stream open (False: every read is a request; for tools).
        attempts: attempts per request.
        connect_timeout: seconds to connect.
        read_timeout: seconds to wait for an answer.
        data_dir: the machine's own directory (:mod:`hallnet.local_store`): a kiosk's offline
            numbers and transaction journal; on every machine, the requests kept for the hall
            box's return and the unsettled request's key (:mod:`hallnet.kept`). By default the
            directory of its device file when it was read from one. A kiosk without one issues
            nothing while cut off and has no transaction journal; a machine without one keeps
            those requests in memory only.

    Call :meth:`start` before use and :meth:`close` at the end.
    """

    def __init__(
        self,
        device: DeviceFile,
        hall: HallConfig,
        *,
        address: tuple[str, int] | None = None,
        listen: bool = True,
        attempts: int = ATTEMPTS,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        data_dir: Path | str | None = None,
    ) -> None:
        self.device = device
        self.device_id = device.device_id
        self.hall = hall
        host, port = address or device.address
        self.address = f"{host}:{port}"
        self.base = f"http://{host}:{port}{API_PREFIX}"
        self.clock = HallBoxClock()
        self.attempts = max(1, attempts)
        self.timeouts = (connect_timeout, read_timeout)
        self._session = _session(device)
        self._listening = listen
        self._lock = threading.RLock()
        self._caught_up = threading.Condition(self._lock)
        self._view = HallView(hall.appointments_first)
        self._last_id: int | None = None
        self._need = 0
        self._live = False
        self._connected = False
        self._problem: HallEdgeError | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._catalog_callbacks: list[Callable[[HallConfig], None]] = []
        self._push_callbacks: list[Callable[[str, dict[str, Any]], None]] = []
        #: The last tap that got no answer: its key is reused when the same tap is repeated
        #: (on disk once opened, so a restarted PAD repeats it with the same key).
        self._unsettled: UnsettledSlot = UnsettledInMemory()
        #: Ratings and health reports kept for the hall box's return (on disk once opened).
        self._kept: KeptRequests = KeptInMemory()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stream: requests.Response | None = None
        if data_dir is None and device.path is not None:
            data_dir = device.path.parent
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._own_disk: LocalStore | None = None
        self.offline: OfflineNumbers | None = None
        self.journal: KioskJournal | None = None
        self.uplink: Uplink | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> RemoteHallQueue:
        """Take the hall box's catalog if it answers now, and open the event stream.

        A hall box that does not answer yet is not an error: the local catalog stands, and the
        listener keeps trying.

        Raises:
            HallBoxBadResponse (706): the hall box serves another hall than the device file's.
            DeviceNotAuthorized (702): the hall box does not know this device.
        """
        try:
            catalog = self._call("GET", "/hall", attempts=1)
        except DeviceNotAuthorized:
            raise
        except HallEdgeError as err:
            log.warning(
                "hall box %s does not answer yet (error %d: %s); using the local catalog",
                self.address,
                err.code,
                err,
            )
        else:
            self._take_catalog(catalog)
        self._open_local()
        if self._listening:
            self._thread = threading.Thread(target=self._listen, name="hall-events", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop the listener and close the connections."""
        self._stop.set()
        if self.uplink is not None:
            self.uplink.stop()
        stream = self._stream
        if stream is not None:
            interrupt(stream)
        if self._thread is not None:
            self._thread.join(2.0)
        self._session.close()
        if self._own_disk is not None:
            self._own_disk.close()

    def _open_local(self) -> None:
        """The machine's own database: what it keeps for the hall box's return; a kiosk's
        offline numbers, journal and uplink."""
        if self.data_dir is None or self._own_disk is not None:
            return
        self._own_disk = LocalStore.open(self.data_dir, self.device_id)
        self._kept = KeptOnDisk(self._own_disk)
        self._unsettled = UnsettledOnDisk(self._own_disk)
        if self.device.role != "kiosk":
            return
        self.offline = OfflineNumbers(self._own_disk)
        self.journal = KioskJournal(self._own_disk, self.device.hall_id, self.device_id, self.clock)
        self.uplink = Uplink(self, self.offline, self.journal)
        self.journal.wake = self.uplink.wake
        self.uplink.start()
        self.uplink.wake()

    # --- the link ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._connected if self._listening else self._problem is None

    @property
    def problem(self) -> HallEdgeError | None:
        with self._lock:
            return self._problem

    def on_link(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def on_push(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        """Call ``callback(kind, data)`` on the listener thread for every push, after the local
        view took it: the journal kinds (``docs/topics.md``) and ``snapshot`` (the whole
        state, after a reconnect or another writer's change)."""
        self._push_callbacks.append(callback)

    def on_catalog(self, callback: Callable[[HallConfig], None]) -> None:
        """Call ``callback`` with the new configuration when the hall box's catalog changed."""
        self._catalog_callbacks.append(callback)

    @property
    def last_event_id(self) -> int | None:
        """The id of the last push applied (what a reconnect sends as ``Last-Event-ID``)."""
        with self._lock:
            return self._last_id

    # --- citizen side --------------------------------------------------------------------

    def issue(
        self,
        service_code: str,
        device_id: str,
        *,
        appointment: str | None = None,
        priority: str | None = None,
    ) -> IssuedTicket:
        """Take a ticket (取号); cut off from the hall box, from the kiosk's reserved numbers.

        While the event stream is down the hall box is tried once (not three times), so a
        citizen at a cut-off kiosk waits about a second, not eight. When it does not answer
        and the kiosk has a reserved number left for the service, the ticket is issued from it,
        on the kiosk's disk before this returns, with its priority (the hall box queues it with
        that priority when it arrives); its people ahead and wait are estimated from the last
        known queue. If the hall box may have issued a ticket for the unanswered
        request, the offline ticket names that request, and the hall box withdraws the ticket
        nobody holds when the offline one reaches it.

        Raises:
            UnknownService (201), StorageFull (420): as :meth:`flows.queue.HallQueue.issue`.
            HallBoxUnreachable (701): no answer and no reserved number left (or no data
                directory); a repeat reuses the request's key.
            DeviceForbidden (703): this device is not a kiosk.
        """
        if priority is not None and priority not in PRIORITIES:
            # As the local queue: refused here, before an offline ticket keeps it on disk.
            raise ValueError(f"priority {priority!r} is not one of {PRIORITIES}")
        body: dict[str, Any] = {"service": service_code, "device_id": device_id}
        if appointment is not None:
            body["appointment"] = appointment
        if priority is not None:
            body["priority"] = priority
        if self.offline is None:
            return issued_from(self._change("/tickets", body))
        cut_off = self._listening and not self.connected and self.problem is None
        try:
            return issued_from(self._change("/tickets", body, attempts=1 if cut_off else None))
        except HallBoxUnreachable as unreachable:
            unsettled = self._unsettled.get()
            replaces = unsettled.key if unsettled is not None else None
            issued = self._issue_offline(service_code, appointment, priority, replaces)
            if issued is None:
                raise unreachable  # nothing issued: a repeat reuses the key
            if replaces is not None:
                # The offline ticket took the key over (its row left the disk with the
                # ticket's commit): the next tap must not get the ticket it withdraws.
                self._unsettled.forget(replaces)
            log.warning(
                "hall box %s unreachable: issued %s from this kiosk's reserved numbers",
                self.address,
                issued.ticket.ticket_no,
            )
            return issued

    def _issue_offline(
        self,
        service_code: str,
        appointment: str | None,
        priority: str | None,
        replaces: str | None,
    ) -> IssuedTicket | None:
        assert self.offline is not None
        service = self.hall.service(service_code)
        ticket = self.offline.issue(service, self.clock.now(), appointment, replaces, priority)
        if ticket is None:
            return None
        # A 绿色通道 ticket goes before everyone else at every window: only the green ones
        # ahead count. (A special group's goes first at one window only: counted by arrival.)
        green = priority == "green"
        with self._lock:
            known = (
                sum(
                    1
                    for t in self._view.tickets.values()
                    if t.state == "waiting"
                    and t.service == service.code
                    and (not green or t.priority == "green")
                )
                if self._view.known
                else 0
            )
        mine = self.offline.pending(service.code)
        ahead = known + sum(1 for o in mine if not green or o.ticket.priority == "green") - 1
        serving = sum(1 for w in self.hall.windows if service.code in w.services)
        est = math.ceil(ahead * service.aht_s / max(serving, 1))
        return IssuedTicket(ticket, ahead, float(est))

    # --- window side ---------------------------------------------------------------------

    def open_window(self, window_no: int, device_id: str, staff_id: str) -> None:
        self._change(f"/windows/{window_no}/open", {"device_id": device_id, "staff_id": staff_id})

    def close_window(self, window_no: int, device_id: str) -> None:
        self._change(f"/windows/{window_no}/close", {"device_id": device_id})

    def call_next(self, window_no: int, device_id: str) -> Ticket | None:
        """叫号; None when nobody waits. Raises as :meth:`flows.queue.HallQueue.call_next`,
        and HallBoxUnreachable (701)."""
        return self._ticket_or_none(f"/windows/{window_no}/call", device_id)

    def recall(self, window_no: int, device_id: str) -> Ticket:
        return self._ticket(f"/windows/{window_no}/recall", device_id)

    def skip(self, window_no: int, device_id: str) -> Ticket:
        return self._ticket(f"/windows/{window_no}/skip", device_id)

    def finish(self, window_no: int, device_id: str) -> Ticket:
        return self._ticket(f"/windows/{window_no}/finish", device_id)

    def undo_skip(self, window_no: int, device_id: str, ticket_id: str) -> Ticket:
        body = {"device_id": device_id, "ticket_id": ticket_id}
        return self._ticket(f"/windows/{window_no}/unskip", device_id, body)

    def transfer(
        self,
        window_no: int,
        device_id: str,
        *,
        to_service: str | None = None,
        to_window: int | None = None,
    ) -> Ticket:
        body = {"device_id": device_id, "service": to_service, "window": to_window}
        return self._ticket(f"/windows/{window_no}/transfer", device_id, body)

    def pause_window(self, window_no: int, device_id: str, reason: str) -> bool:
        body = {"device_id": device_id, "reason": reason}
        return bool(self._change(f"/windows/{window_no}/pause", body).get("changed"))

    def resume_window(self, window_no: int, device_id: str) -> bool:
        body = {"device_id": device_id}
        return bool(self._change(f"/windows/{window_no}/resume", body).get("changed"))

    def record_rating(self, ticket: Ticket, level: int, device_id: str) -> None:
        """Store a 好差评 rating. Never lost to a network outage: without an answer it is kept
        and delivered (with the same key) when the connection returns."""
        if level not in LEVEL_LABELS:
            raise ValueError(f"rating level {level} outside 1..5")
        body = {"ticket": ticket_json(ticket), "level": level, "device_id": device_id}
        self._deliver_or_keep("/ratings", body)

    # --- views ---------------------------------------------------------------------------

    def window_view(self, window_no: int) -> WindowView:
        """The window as the hall box has it: from the local view while it is current, else
        asked; while the hall box is unreachable, the last known view.

        Raises:
            HallBoxUnreachable (701): unreachable, and nothing is known yet.
        """
        found, attempts = self._local(lambda view: view.window_view(window_no))
        if found is not None:
            return found  # type: ignore[no-any-return]
        return window_view_from(self._call("GET", f"/windows/{window_no}", attempts=attempts))

    def waiting_count(self, service_code: str | None = None) -> int:
        """People waiting (for a service); like :meth:`window_view`, local while current."""
        found, attempts = self._local(lambda view: view.waiting_count(service_code))
        if found is not None:
            return int(found)
        data = self._call("GET", "/waiting", attempts=attempts)
        return int(data["total"] if service_code is None else data["services"].get(service_code, 0))

    def transaction_journal(self, device_id: str, clock: Clock) -> KioskJournal:
        """Where a kiosk function on this kiosk journals its transactions: the kiosk's own
        disk, forwarded to the hall box by the uplink (``docs/hall-api.md``, "Where
        transactions live"; :func:`flows.transactions.transaction_journal_for`).

        Raises:
            ConfigError (100): this is not a kiosk with a data directory, or ``device_id`` is
                not this kiosk (the hall box journals a kiosk's events under its own id only).
        """
        if device_id != self.device_id:
            raise ConfigError(
                f"{self.device_id} cannot journal transactions as {device_id}", device_id=device_id
            )
        self._open_local()
        if self._own_disk is None or self.uplink is None:
            raise ConfigError(
                f"{self.device_id} has no data directory for its transaction journal",
                device_id=device_id,
            )
        return KioskJournal(self._own_disk, self.device.hall_id, device_id, clock, self.uplink.wake)

    @property
    def reachable(self) -> bool:
        """Worth sending to: the event stream is up (or, without one, nothing refused us)."""
        return self.connected

    def post(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """A state change with a key of the caller's (the uplink's), without waiting for its
        push; an unanswered one is not remembered here: the caller sends it again.

        Raises:
            HallBoxUnreachable (701): no answer after the retries.
            The error the answer carries.
        """
        return self._change(path, body, key, read_own=False)

    def health_journal(self, clock: Clock) -> RemoteHealthJournal:
        """Where a flow's device health changes go: the hall box's journal (see
        :func:`flows.queue_port.health_journal_for`)."""
        return RemoteHealthJournal(self)

    def _local(self, read: Callable[[HallView], Any]) -> tuple[Any, int | None]:
        """A read from the local view when it can be trusted: ``(answer, None)``; else
        ``(None, attempts)`` for the request to make instead (one attempt while the link is
        down: the listener, not a tap, waits for the hall box to come back)."""
        with self._caught_up:
            if self._live and (self._last_id or 0) < self._need:
                # Our own change's push is on its way: waiting for it beats asking again.
                self._caught_up.wait_for(
                    lambda: not self._live or (self._last_id or 0) >= self._need, CATCH_UP_S
                )
            if self._live and (self._last_id or 0) >= self._need:
                return read(self._view), None
            down = self._listening and not self._connected
            if down and self._view.known:
                return read(self._view), None  # unreachable: the last known state
        return None, 1 if down else None

    # --- requests ------------------------------------------------------------------------

    def _ticket(
        self, path: str, device_id: str, body: dict[str, Any] | None = None
    ) -> Ticket:
        ticket = self._ticket_or_none(path, device_id, body)
        if ticket is None:
            raise HallBoxBadResponse(f"no ticket in the answer to {path}", path=path)
        return ticket

    def _ticket_or_none(
        self, path: str, device_id: str, body: dict[str, Any] | None = None
    ) -> Ticket | None:
        data = self._change(path, body or {"device_id": device_id})
        return None if data.get("ticket") is None else ticket_from(data["ticket"])

    def _change(
        self,
        path: str,
        body: dict[str, Any],
        key: str | None = None,
        read_own: bool = True,
        attempts: int | None = None,
    ) -> dict[str, Any]:
        """POST a state change with an Idempotency-Key; reuse an unsettled key for a repeat.

        Only a change without a key of its own (a tap) is remembered as unsettled and cleared
        by its answer: a kept rating delivered meanwhile must not make a repeated 叫号 forget
        its key."""
        fingerprint = request_fingerprint("POST", path, body)
        reuse = key is None
        if reuse:
            unsettled = self._unsettled.get()
            if (
                unsettled is not None
                and unsettled.fingerprint == fingerprint
                and abs(time.time() - unsettled.at) < UNSETTLED_S
            ):
                key = unsettled.key
                log.info("repeating an unanswered %s with its key %s", path, key)
        key = key or uuid.uuid4().hex
        try:
            data = self._call(
                "POST", path, attempts=attempts, json=body, headers={"Idempotency-Key": key}
            )
        except HallBoxUnreachable:
            if reuse:
                # On the machine's disk before the tap's error is shown: a PAD restarted now
                # still repeats this request with this key.
                self._unsettled.set(Unsettled(fingerprint, key, path, time.time()))
            raise
        except HallEdgeError:
            if reuse:
                self._unsettled.set(None)
            raise
        if reuse:
            self._unsettled.set(None)
        if read_own:
            self._expect(data.get("event_id"))
        return data

    def _deliver_or_keep(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        key = uuid.uuid4().hex
        try:
            return self._change(path, body, key, read_own=False)
        except HallBoxUnreachable:
            self._kept.keep(path, body, key)
            log.warning("%s kept for delivery when the hall box is back", path)
            return None

    def _deliver_deferred(self) -> None:
        """On the listener thread once caught up: send what was kept, in order, same keys."""
        while (kept := self._kept.first()) is not None:
            path, body, key = kept
            try:
                self._change(path, body, key, read_own=False)
            except HallBoxUnreachable:
                return
            except HallEdgeError as err:
                log.error("kept %s refused by the hall box, dropped: %s", path, err)
            self._kept.delivered(key)

    def _expect(self, event_id: Any) -> None:
        """Read-your-writes: the local view is used again once it holds ``event_id``.

        The change returns at once; the next read waits for the push (:meth:`_local`), so a
        PAD announces its call while the push is still on its way."""
        if not isinstance(event_id, int):
            return
        with self._caught_up:
            self._need = max(self._need, event_id)

    def _call(
        self, method: str, path: str, attempts: int | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """One request, retried on connection errors, timeouts and 502–504; its JSON body.

        Raises:
            HallBoxUnreachable (701): no answer after the attempts.
            The error the answer carries (:func:`hallnet.wire.error_from`).
        """
        url = self.base + path
        tries = attempts or self.attempts
        deadline = time.monotonic() + REQUEST_BUDGET_S
        last: Exception | None = None
        for attempt in range(tries):
            sent = time.time()
            try:
                resp = self._session.request(method, url, timeout=self.timeouts, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as err:
                last = err
            else:
                if resp.status_code not in (502, 503, 504) or attempt + 1 == tries:
                    return self._answer(resp, sent)
                last = HallBoxBadResponse(f"HTTP {resp.status_code}", status=resp.status_code)
            pause = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            if attempt + 1 == tries or time.monotonic() + pause > deadline or self._stop.is_set():
                break
            self._stop.wait(pause)
        self._lost(f"{method} {path}: {last}")
        raise HallBoxUnreachable(
            f"hall box {self.address} did not answer {method} {path}: {last}",
            address=self.address,
            path=path,
        ) from last

    def _answer(self, resp: requests.Response, sent: float) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            self.clock.observe(body.get("server_time"), sent, time.time())
        if resp.status_code < 300 and isinstance(body, dict):
            return body
        err = error_from(resp.status_code, body)
        if isinstance(err, DeviceNotAuthorized):
            self._set_link(False, err)
        if resp.status_code >= 500:
            log.warning("hall box answered %d: %s", resp.status_code, err)
        raise err

    # --- the event stream ----------------------------------------------------------------

    def _listen(self) -> None:
        delay = RECONNECT_MIN_S
        stream_session = _session(self.device)
        try:
            while not self._stop.is_set():
                try:
                    if self._stream_once(stream_session):
                        delay = RECONNECT_MIN_S
                except DeviceNotAuthorized as err:
                    self._set_link(False, err)
                    delay = REFUSED_RETRY_S
                except HallEdgeError as err:
                    log.warning("hall event stream: error %d (%s): %s", err.code, err.key, err)
                except (requests.RequestException, OSError, ValueError) as err:
                    log.debug("hall event stream ended: %s", err)
                except Exception:  # noqa: BLE001 - the listener must outlive any one stream
                    if not self._stop.is_set():
                        log.exception("hall event stream failed")
                self._lost("event stream ended")
                if self._stop.wait(delay):
                    break
                delay = min(delay * 2, RECONNECT_MAX_S)
        finally:
            stream_session.close()

    def _stream_once(self, session: requests.Session) -> bool:
        """One connection of the event stream; True when it got as far as ``ready``."""
        headers = {"Accept": "text/event-stream"}
        last = self.last_event_id
        if last is not None:
            headers["Last-Event-ID"] = str(last)
        ready = False
        with session.get(
            self.base + "/events",
            headers=headers,
            stream=True,
            timeout=(self.timeouts[0], STREAM_READ_TIMEOUT_S),
        ) as resp:
            if resp.status_code != 200:
                self._answer(resp, time.time())
                raise HallBoxBadResponse(f"event stream HTTP {resp.status_code}")
            self._stream = resp
            try:
                for kind, data, event_id in parse_sse(resp.iter_content(chunk_size=None)):
                    if self._stop.is_set():
                        break
                    if kind == "ready":
                        ready = True
                        self._ready(data)
                    elif kind == "ping":
                        if ready and not self.connected:
                            self._alive()
                    elif kind == "revoked":
                        raise error_from(401, data)
                    elif data is not None:
                        self._push(kind, data, event_id)
            finally:
                self._stream = None
        return ready

    def _push(self, kind: str, data: dict[str, Any], event_id: int | None) -> None:
        catalog = None
        with self._caught_up:
            if kind == "snapshot":
                hall = data.get("hall") or {}
                if hall.get("hall_id") != self.device.hall_id:
                    raise HallBoxBadResponse(
                        f"the hall box serves {hall.get('hall_id')!r}, this device is in"
                        f" {self.device.hall_id!r}"
                    )
                self._view.snapshot(data)
                if event_id is not None:
                    self._need = min(self._need, event_id)
                if hall != catalog_json(self.hall):
                    catalog = self._take_catalog(hall)
            elif kind in Kind.ALL and self._view.known:
                self._view.apply(kind, data)
            if event_id is not None:
                self._last_id = event_id
            self._caught_up.notify_all()
        if catalog is not None:
            for callback in self._catalog_callbacks:
                callback(catalog)
        for on_push in self._push_callbacks:
            try:
                on_push(kind, data)
            except Exception:  # noqa: BLE001 - an app's handler must not kill the listener
                log.exception("push callback failed on %s", kind)

    def _ready(self, data: dict[str, Any] | None) -> None:
        received = time.time()
        if data is not None:
            self.clock.observe(data.get("server_time"), received, received)
        with self._caught_up:
            self._live = self._view.known
            self._caught_up.notify_all()
        self._set_link(True, None)
        if self.uplink is not None:
            self.uplink.wake()
        self._deliver_deferred()

    def _alive(self) -> None:
        """The stream is still open after a request failed: nothing was missed, the view is
        current again."""
        with self._caught_up:
            self._live = self._view.known
            self._caught_up.notify_all()
        self._set_link(True, None)

    def _take_catalog(self, data: dict[str, Any]) -> HallConfig:
        if data.get("hall_id") != self.device.hall_id:
            raise HallBoxBadResponse(
                f"the hall box serves {data.get('hall_id')!r}, this device is in"
                f" {self.device.hall_id!r}",
                address=self.address,
            )
        self.hall = with_catalog(self.hall, data)
        with self._lock:
            self._view.appointments_first = self.hall.appointments_first
        return self.hall

    def _lost(self, why: str) -> None:
        with self._caught_up:
            was = self._connected
            self._live = False
            self._connected = False
            self._caught_up.notify_all()
        if was and not self._stop.is_set():
            log.warning("lost the hall box %s (%s); reconnecting", self.address, why)
            self._changed()

    def _set_link(self, connected: bool, problem: HallEdgeError | None) -> None:
        with self._lock:
            changed = (connected, type(problem)) != (self._connected, type(self._problem))
            self._connected, self._problem = connected, problem
            if not connected:
                self._live = False
        if changed:
            if connected:
                log.info("connected to the hall box %s", self.address)
            self._changed()

    def _changed(self) -> None:
        for callback in list(self._callbacks):
            try:
                callback()
            except Exception:  # noqa: BLE001 - an app's redraw must not kill the listener
                log.exception("link callback failed")


class RemoteHealthJournal:
    """A flow's device health changes, journaled by the hall box (``POST /v1/health``).

    Like :class:`flows.health_events.HealthJournal`, only changes are sent, and the hall box
    journals only changes against its own record; a report the hall box did not answer is kept
    and delivered when the connection returns.
    """

    def __init__(self, queue: RemoteHallQueue) -> None:
        self.queue = queue
        self._sent: dict[str, Health] = {}
        self._lock = threading.Lock()

    def record(self, health: Health) -> bool:
        """Send ``health`` if it changed; True when the hall box journaled an event."""
        with self._lock:
            if self._sent.get(health.device_id) == health:
                return False
            self._sent[health.device_id] = health
        answer = self.queue._deliver_or_keep("/health", {"health": health_json(health)})
        return bool(answer and answer.get("journaled"))


def parse_sse(chunks: Iterable[bytes]) -> Iterator[tuple[str, dict[str, Any] | None, int | None]]:
    """Server-Sent Events from a byte stream: ``(event, data, id)`` per event; a comment line
    yields ``("ping", None, None)``. ``data`` is the event's JSON."""
    buffer = b""
    kind, data, event_id = "message", [], None
    for chunk in chunks:
        buffer += chunk
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                break
            line, buffer = buffer[:end].rstrip(b"\r"), buffer[end + 1 :]
            if not line:
                if data:
                    yield kind, json.loads("\n".join(data)), event_id
                kind, data, event_id = "message", [], None
                continue
            if line.startswith(b":"):
                yield "ping", None, None
                continue
            name, _, value = line.decode("utf-8").partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                kind = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                event_id = int(value) if value.isdigit() else None


def _session(device: DeviceFile) -> requests.Session:
    session = requests.Session()
    session.auth = (device.device_id, device.secret)
    session.headers["User-Agent"] = f"hall-edge/{device.role}/{device.device_id}"
    # Our own retries decide what is safe to repeat; urllib3 must not repeat anything.
    adapter = HTTPAdapter(max_retries=0, pool_maxsize=4)
    session.mount("http://", adapter)
    return session


def interrupt(resp: requests.Response) -> None:
    """Unblock the thread reading a streamed response: shut its socket down, and that read ends
    with a connection error on its own thread. (``resp.close()`` from here would wait for the
    reader's lock, until the next keep-alive, and then pull the file object from under it.)"""
    sock = getattr(getattr(resp.raw, "connection", None), "sock", None)
    if sock is None:
        # http.client hands the socket to the response it is reading; urllib3 keeps no handle.
        reader = getattr(getattr(resp.raw, "_fp", None), "fp", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
