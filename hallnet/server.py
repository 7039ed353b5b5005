"""The hall box serves its hall: the queue over HTTP/1.1 + JSON, changes pushed as Server-Sent
Events (``docs/hall-api.md`` is the reference).

Only the hall box's process writes the hall database; the kiosks and the window PADs of the
hall are other machines on the hall's LAN and reach the queue through this API
(:class:`hallnet.client.RemoteHallQueue`). The parts:

* :class:`HallService`: the queue as served. Each state change runs the real
  :class:`flows.queue.HallQueue` step inside one transaction of the hall store together with its
  feed row (the push) and the request's answer under its ``Idempotency-Key``, so a change, its
  push and its answer are on disk together or not at all.
* :class:`HallServer`: a stdlib ``ThreadingHTTPServer`` in front of it, the device list
  (:class:`hallnet.devices.DeviceRegistry`), and a watcher thread that notices changes other
  writers of the database made and device list edits, closes what a business day left in the
  queue once the day is over (:meth:`HallService.close_past_days`), and prunes old rows.

Transport: one thread per request connection is plenty for a hall (tens of devices). An event
stream's thread sends the headers, what the device missed and ``ready``, then hands the socket
to the one pusher thread (:class:`_Pusher`), which writes every push to every stream without
blocking; a stream too far behind is closed, and its device reconnects and catches up.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import selectors
import socket
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from core.clock import Clock, SystemClock, business_day
from core.config import HallConfig
from core.errors import (
    BadRequest,
    ConfigError,
    DeviceForbidden,
    DeviceNotAuthorized,
    HallEdgeError,
    IdempotencyKeyReused,
    JournalError,
)
from core.events import Kind
from core.topics import hall_box_id
from flows.health_events import HealthJournal
from flows.queue import PRIORITIES, TICKET_COLS, HallQueue, Ticket, ticket_from_row
from hallnet import feed, forwarded
from hallnet.devices import DeviceEntry, DeviceRegistry, read_device_list
from hallnet.schema import open_store
from hallnet.wire import (
    API_PREFIX,
    catalog_json,
    dumps,
    error_json,
    health_from,
    http_status,
    is_decided,
    issued_json,
    range_json,
    request_fingerprint,
    ticket_from,
    ticket_json,
    window_view_json,
)
from hallstore import HallStore

log = logging.getLogger(__name__)

#: A stream with nothing to push sends a comment this often: the client's read timeout
#: (three of these) tells a dead hall box from a quiet hall.
KEEPALIVE_S = 2.0
#: How often the watcher looks for other writers' changes and device list edits.
WATCH_S = 0.25
#: How often old feed rows and answered requests are dropped.
PRUNE_S = 600.0
#: Besides at start and as soon as the business day changes, the end-of-day sweep runs this
#: often: a writer whose clock lags the hall box's may still add a ticket of the day just over.
CLOSE_DAYS_S = 60.0
#: A client this many pushes behind gets a snapshot instead of the pushes.
REPLAY_MAX = 1000
#: Pushes kept encoded in memory for the event streams: every stream of the hall sends the
#: same bytes, so a push is encoded once instead of read and encoded again by each stream.
RECENT_PUSHES = 256
#: Most bytes an event stream may have waiting to be sent. A device further behind (its app
#: hung, its link too slow) has its stream closed: it reconnects with ``Last-Event-ID`` and is
#: caught up from the feed (or gets a snapshot), as after any disconnect. A snapshot of a
#: busy hall is some 100 KB.
STREAM_BUFFER_MAX = 512 * 1024
#: Largest request body accepted.
MAX_BODY = 64 * 1024
_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Reply:
    """An answer: HTTP status, JSON body, whether it came from the stored first answer, and
    whether the change pushed something (the event streams' pusher is then to be woken:
    :meth:`HallService.notify`, after the answer is sent)."""

    status: int
    body: dict[str, Any]
    replayed: bool = False
    pushed: bool = False


Action = Callable[[], tuple[int, dict[str, Any], list[tuple[str, dict[str, Any]]]]]


class HallService:
    """The hall queue as the hall box serves it to the hall's other machines.

    Args:
        store: the hall store, with the ``hallnet`` tables (:func:`hallnet.schema.open_store`).
        hall: the hall configuration served.
        clock: the hall clock that stamps changes.
        registry: the device list.
    """

    def __init__(
        self, store: HallStore, hall: HallConfig, clock: Clock, registry: DeviceRegistry
    ) -> None:
        self.store = store
        self.hall = hall
        self.clock = clock
        self.registry = registry
        self.queue = HallQueue(store, hall, clock)
        self.health = HealthJournal(store, clock)
        self.stopping = False
        self._listeners: list[Callable[[], None]] = []
        self._data_version: int | None = None
        # id -> encoded push, for ids up to ``_newest``: the newest committed feed id, known
        # here because only this process appends to the feed (another writer of the queue
        # gets a snapshot marker appended by us, see :mod:`hallnet.feed`).
        self._recent: OrderedDict[int, bytes] = OrderedDict()
        self._newest = 0
        self._recent_lock = threading.Lock()

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Account for what other writers journaled while no server ran, close what a day
        that ended meanwhile left in the queue (before the first request is served), and
        prune."""
        with self.store.read() as conn:
            self._data_version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        with self.store.transaction() as tx:
            self._account_for_others(tx.conn, self.clock.now())
        self.close_past_days()
        self.prune()
        with self.store.read() as conn:
            self._committed([], feed.bounds(conn)[1])

    def stop(self) -> None:
        """Tell the event streams' pusher to end them."""
        self.stopping = True
        self.notify()

    # --- state changes -------------------------------------------------------------------

    def change(
        self,
        device: DeviceEntry,
        key: str,
        method: str,
        path: str,
        body: dict[str, Any],
        action: Action,
    ) -> Reply:
        """Run a state change once per ``(device, key)``.

        The change, its pushes and its answer commit in one transaction. A second request with
        the same key gets the stored answer. A refusal the queue's state decided (404, 409) is
        an answer too; a full disk or a server error is not stored, so a retry may succeed.

        Raises:
            IdempotencyKeyReused (704): the key answered a different request before.
            Whatever ``action`` raises that is not a decided answer (nothing is committed).
        """
        fingerprint = request_fingerprint(method, path, body)
        now = self.clock.now()
        pushes: list[tuple[str, dict[str, Any]]] = []
        appended: list[bytes] = []
        with self.store.transaction() as tx:
            conn = tx.conn
            prior = feed.answered(conn, device.device_id, key)
            if prior is not None:
                if prior.request != fingerprint:
                    raise IdempotencyKeyReused(
                        f"key {key!r} of {device.device_id} answered another request",
                        device_id=device.device_id,
                    )
                return Reply(prior.status, prior.response, replayed=True)
            others = self._account_for_others(conn, now)
            newest = feed.bounds(conn)[1]
            try:
                status, response, pushes = action()
            except HallEdgeError as err:
                status = http_status(err)
                if not is_decided(status):
                    raise
                response, pushes = error_json(err), []
            event_id = newest
            for type_, data in pushes:
                event_id = feed.append(conn, type_, data, now)
                appended.append(_sse(type_, data, event_id))
            response = {**response, "event_id": event_id}
            feed.record_answer(conn, device.device_id, key, fingerprint, status, response, now)
            feed.set_state(conn, "journal_pos", feed.journal_position(conn))
        if pushes or others:
            # A marker of others' changes (``newest`` itself when it is new) is not kept
            # encoded: a stream that needs it reads the feed.
            self._committed(appended, event_id)
        return Reply(status, response, pushed=bool(pushes or others))

    def issue(self, device: DeviceEntry, body: dict[str, Any]) -> Action:
        service = _text(body, "service")
        appointment = _appointment(body)
        priority = _priority(body)
        _own(device, body)

        def run() -> tuple[int, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
            ticket = self.queue.issue(
                service, device.device_id, appointment=appointment, priority=priority
            )
            issued = issued_json(ticket)
            return 201, issued, [(Kind.TICKET_ISSUED, issued)]

        return run

    def reserve_range(self, device: DeviceEntry, body: dict[str, Any]) -> Action:
        """``POST /v1/ranges``: a block of offline numbers for the kiosk, for today or the
        next business day (:mod:`flows.ticket_numbers`)."""
        service = _text(body, "service")
        day = _text(body, "day")
        _own(device, body)
        now = self.clock.now()
        if day not in (business_day(now), business_day(now + 86400.0)):
            raise BadRequest(f"ranges are reserved for today or the next day, not {day}", day=day)

        def run() -> tuple[int, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
            block = self.queue.reserve_range(service, device.device_id, day)
            return 201, {"range": range_json(block)}, []

        return run

    def accept_offline(self, device: DeviceEntry, body: dict[str, Any]) -> Action:
        """``POST /v1/tickets/offline``: a ticket the kiosk issued from its range while cut
        off, with its ``priority``. ``replaces``: the key of the kiosk's issue request that
        went unanswered just before; if the hall box did issue that ticket, nobody holds it,
        and it is withdrawn. A ticket of a business day that is over is recorded closed
        (``expired``), not queued: nothing is pushed, since no queue changes."""
        ticket = ticket_from(_field(body, "ticket", dict))
        day = _day(body)
        appointment = _appointment(body)
        priority = _priority(body)
        replaces = body.get("replaces")
        if replaces is not None and not (isinstance(replaces, str) and _KEY.match(replaces)):
            raise BadRequest("replaces must be an Idempotency-Key", field="replaces")
        _own(device, body)
        me = device.device_id

        def run() -> tuple[int, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
            queued, added = self.queue.accept_offline(
                ticket, day, me, appointment=appointment, priority=priority
            )
            # The queue adds a ticket waiting, unless its day is over: then closed at once.
            expired = added and queued.ticket.state != "waiting"
            answer = issued_json(queued) | {"added": added, "expired": expired}
            queues = added and not expired
            pushes = [(Kind.TICKET_ISSUED, issued_json(queued))] if queues else []
            phantom = self._unheld_ticket(me, replaces) if added else None
            if phantom is not None:
                withdrawn = self.queue.withdraw(phantom, me, queued.ticket.ticket_no)
                if withdrawn is not None:
                    pushes.append((Kind.TICKET_SKIPPED, {"ticket": ticket_json(withdrawn)}))
            return 201, answer, pushes

        return run

    def journal(self, device: DeviceEntry, body: dict[str, Any]) -> Action:
        """``POST /v1/journal``: events of the kiosk's own journal (:mod:`hallnet.forwarded`)."""
        _own(device, body)
        events = forwarded.forwarded_from(body, self.hall.hall_id, device.device_id)

        def run() -> tuple[int, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
            conn = self.store.conn  # inside change()'s transaction, under the store's lock
            added, held = forwarded.journal_forwarded(
                conn, self.hall.hall_id, device.device_id, events
            )
            return 200, {"journaled": added, "held_to": held}, []

        return run

    def _unheld_ticket(self, device_id: str, key: str | None) -> str | None:
        """The ticket an issue request of ``device_id`` with ``key`` got, if it got one."""
        if key is None:
            return None
        prior = feed.answered(self.store.conn, device_id, key)
        if prior is None or prior.status != 201:
            return None
        ticket = prior.response.get("ticket")
        return ticket.get("ticket_id") if isinstance(ticket, dict) else None

    def window_action(
        self, device: DeviceEntry, window_no: int, verb: str, body: dict[str, Any]
    ) -> Action:
        _own(device, body)
        if device.window is not None and device.window != window_no:
            raise DeviceForbidden(
                f"{device.device_id} serves window {device.window}, not {window_no}",
                device_id=device.device_id,
                window=window_no,
            )
        q, me = self.queue, device.device_id
        staff = _text(body, "staff_id") if verb == "open" else ""
        if verb in _WINDOW_OPERATIONS:
            return self._window_operation(window_no, me, verb, body)

        def run() -> tuple[int, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
            if verb == "open":
                q.open_window(window_no, me, staff)
                data = {"window": window_no, "staff_id": staff, "device_id": me}
                return 200, {}, [(Kind.WINDOW_OPENED, data)]
            if verb == "close":
                q.close_window(window_no, me)
                return 200, {}, [(Kind.WINDOW_CLOSED, {"window": window_no})]
            step: dict[str, tuple[Callable[[int, str], Ticket | None], str]] = {
                "call": (q.call_next, Kind.TICKET_CALLED),
                "recall": (q.recall, Kind.TICKET_RECALLED),
                "skip": (q.skip, Kind.TICKET_SKIPPED),
                "finish": (q.finish, Kind.TICKET_FINISHED),
            }
            method, kind = step[verb]
            ticket = method(window_no, me)
            if ticket is None:
                return 200, {"ticket": None}, []
            data = {"ticket": ticket_json(ticket)}
            return 200, data, [(kind, data)]

        return run

    def _window_operation(
        self, window_no: int, me: str, verb: str, body: dict[str, Any]
    ) -> Action:
        """暂停 / 恢复 / 转移 / 撤销过号 (``docs/hall-api.md``, "Window operations")."""
        q = self.queue
        reason = _reason(body) if verb == "pause" else ""
        to_service = _optional(body, "service", str) if verb == "transfer" else None
        to_window = _optional(body, "window", int) if verb == "transfer" else None
        ticket_id = _text(body, "ticket_id") if verb == "unskip" else ""

        def run() -> tuple[int, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
            if verb in ("pause", "resume"):
                if verb == "pause":
                    changed = q.pause_window(window_no, me, reason)
                else:
                    changed = q.resume_window(window_no, me)
                view = q.window_view(window_no)
                data = {
                    "window": window_no,
                    "paused_at": view.paused_at,
                    "pause_reason": view.pause_reason,
                }
                kind = Kind.WINDOW_PAUSED if verb == "pause" else Kind.WINDOW_RESUMED
                return 200, {"changed": changed}, [(kind, data)] if changed else []
            if verb == "transfer":
                ticket = q.transfer(window_no, me, to_service=to_service, to_window=to_window)
                kind = Kind.TICKET_TRANSFERRED
            else:
                ticket = q.undo_skip(window_no, me, ticket_id)
                kind = Kind.TICKET_SKIP_UNDONE
            data = {"ticket": ticket_json(ticket)}
            return 200, data, [(kind, data)]

        return run

    def rating(self, device: DeviceEntry, body: dict[str, Any]) -> Action:
        ticket = ticket_from(_field(body, "ticket", dict))
        level = _field(body, "level", int)
        rater = self._peripheral(device, _text(body, "device_id"))

        def run() -> tuple[int, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
            try:
                data = self.queue.record_rating(ticket, level, rater)
            except ValueError as err:
                raise BadRequest(str(err), level=level) from err
            # Pushed for the window terminal, which thanks the citizen once it sees the answer.
            return 200, {}, [(Kind.RATING_SUBMITTED, data)]

        return run

    def device_health(self, device: DeviceEntry, body: dict[str, Any]) -> Action:
        health = health_from(_field(body, "health", dict))
        self._peripheral(device, health.device_id)

        def run() -> tuple[int, dict[str, Any], list[tuple[str, dict[str, Any]]]]:
            return 200, {"journaled": self.health.record(health)}, []

        return run

    def _peripheral(self, device: DeviceEntry, peripheral: str) -> str:
        """A device id a kiosk or PAD journals for one of its own devices (its printer, its
        rating pad): never another machine's id from the device list."""
        other = self.registry.get(peripheral)
        if other is not None and other.device_id != device.device_id:
            raise DeviceForbidden(
                f"{device.device_id} may not journal as {peripheral}", device_id=device.device_id
            )
        return peripheral

    # --- reads ---------------------------------------------------------------------------

    def catalog(self) -> dict[str, Any]:
        return catalog_json(self.hall)

    def waiting(self) -> dict[str, Any]:
        with self.store.read() as conn, _snapshot_read(conn):
            counts = {s.code: self.queue.waiting_count(s.code) for s in self.hall.services}
            total = self.queue.waiting_count()
            event_id = feed.bounds(conn)[1]
        return {"total": total, "services": counts, "event_id": event_id}

    def window(self, window_no: int) -> dict[str, Any]:
        with self.store.read() as conn, _snapshot_read(conn):
            view = self.queue.window_view(window_no)
            staff = _staff(conn).get(window_no)
            event_id = feed.bounds(conn)[1]
        return window_view_json(view, staff) | {"event_id": event_id}

    def snapshot(self) -> dict[str, Any]:
        with self.store.read() as conn, _snapshot_read(conn):
            event_id = feed.bounds(conn)[1]
            return self._snapshot(conn) | {"event_id": event_id}

    def catch_up(self, last: int | None) -> tuple[list[bytes], int]:
        """What a stream that has seen up to ``last`` must be sent (encoded), and its new
        position.

        The pushes after ``last`` when the feed still holds them all and none is a snapshot
        marker; otherwise one ``snapshot`` (the whole state now, with the newest id), which is
        also what a client without a ``Last-Event-ID``, or with an id this database never
        gave (a restored backup), gets. A live stream one or a few pushes behind is served
        from memory.
        """
        if last is not None:
            with self._recent_lock:
                newest = self._newest
                wanted = range(last + 1, newest + 1)
                if last <= newest and all(i in self._recent for i in wanted):
                    return [self._recent[i] for i in wanted], newest
        with self.store.read() as conn, _snapshot_read(conn):
            first, newest = feed.bounds(conn)
            if last is not None and first - 1 <= last <= newest:
                rows = feed.after(conn, last, REPLAY_MAX + 1)
                if len(rows) <= REPLAY_MAX and all(r.type != feed.SNAPSHOT for r in rows):
                    out = [_sse(r.type, r.data, r.id) for r in rows]
                    return out, rows[-1].id if rows else last
            return [_sse(feed.SNAPSHOT, self._snapshot(conn), newest)], newest

    def _committed(self, appended: list[bytes], newest: int) -> None:
        """After a commit: the feed's newest id, and the pushes just appended, encoded (the
        last ``len(appended)`` ids up to ``newest``)."""
        with self._recent_lock:
            first = newest - len(appended) + 1
            for offset, data in enumerate(appended):
                self._recent[first + offset] = data
            while len(self._recent) > RECENT_PUSHES:
                self._recent.popitem(last=False)
            self._newest = max(self._newest, newest)

    def _snapshot(self, conn: sqlite3.Connection) -> dict[str, Any]:
        # Inside the caller's read transaction: the views, the tickets and the feed id agree.
        staff = _staff(conn)
        windows = []
        for w in self.hall.windows:
            view = self.queue.window_view(w.no)
            windows.append(
                {
                    "no": w.no,
                    "services": list(w.services),
                    "is_open": view.is_open,
                    "paused_at": view.paused_at,
                    "pause_reason": view.pause_reason,
                    "staff_id": staff.get(w.no),
                    "waiting": [t.ticket_id for t in view.waiting],
                }
            )
        # Today's waiting tickets, as the window views list them; a called one of a day just
        # over until the sweep closes it, since its window still shows it as current.
        rows = conn.execute(
            f"SELECT {TICKET_COLS} FROM tickets"
            " WHERE state = 'called' OR (state = 'waiting' AND day = ?)",
            (business_day(self.clock.now()),),
        ).fetchall()
        return {
            "hall": catalog_json(self.hall),
            "tickets": [ticket_json(ticket_from_row(r)) for r in rows],
            "windows": windows,
        }

    # --- pushes --------------------------------------------------------------------------

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the notifying thread; it must not block) on :meth:`notify`."""
        self._listeners.append(callback)

    def notify(self) -> None:
        """The feed grew, the device list changed, or we stop: tell the event streams."""
        for callback in self._listeners:
            callback()

    @property
    def newest(self) -> int:
        """The newest feed id: a stream at it has been sent everything."""
        with self._recent_lock:
            return self._newest

    # --- the end of a business day -------------------------------------------------------

    def close_past_days(self) -> int:
        """The end-of-day sweep (:meth:`flows.queue.HallQueue.close_past_days`), pushed.

        Each ticket a day that is over left waiting or called is closed as ``expired`` under
        the hall box's own device id, in one transaction with its ``ticket.skipped`` push, so
        the PADs and kiosks drop it from their views; a kill between two tickets leaves each
        one closed and pushed, or neither, and the next sweep takes the rest.

        Returns:
            How many tickets it closed.
        """
        me = hall_box_id(self.hall.hall_id)
        closed = 0
        for ticket_id in self.queue.left_from_past_days():
            now = self.clock.now()
            with self.store.transaction() as tx:
                conn = tx.conn
                others = self._account_for_others(conn, now)
                ticket = self.queue.expire(ticket_id, me)
                appended: list[bytes] = []
                if ticket is not None:
                    data = {"ticket": ticket_json(ticket)}
                    event_id = feed.append(conn, Kind.TICKET_SKIPPED, data, now)
                    appended.append(_sse(Kind.TICKET_SKIPPED, data, event_id))
                    feed.set_state(conn, "journal_pos", feed.journal_position(conn))
                newest = feed.bounds(conn)[1]
            if appended or others:
                closed += len(appended)
                self._committed(appended, newest)
                self.notify()
        if closed:
            log.info("closed %d ticket(s) of a business day that is over", closed)
        return closed

    # --- other writers, pruning ----------------------------------------------------------

    def watch(self) -> None:
        """Notice a change another connection committed to the queue (see :mod:`hallnet.feed`)."""
        with self.store.read() as conn:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            if version == self._data_version:
                return
            self._data_version = version
            if feed.journal_position(conn) == feed.get_state(conn, "journal_pos"):
                return
        with self.store.transaction() as tx:
            appended = self._account_for_others(tx.conn, self.clock.now())
            newest = feed.bounds(tx.conn)[1]
        if appended:
            self._committed([], newest)
            self.notify()

    def _account_for_others(self, conn: sqlite3.Connection, now: float) -> bool:
        """Inside a write transaction: if someone else journaled since the server last looked,
        push a snapshot marker. True when one was pushed."""
        position = feed.journal_position(conn)
        known = feed.get_state(conn, "journal_pos")
        if known == position:
            return False
        feed.set_state(conn, "journal_pos", position)
        if known is None:
            return False  # the first start: every client begins with a snapshot anyway
        feed.append(conn, feed.SNAPSHOT, {"reason": "external"}, now)
        return True

    def prune(self) -> None:
        with self.store.transaction() as tx:
            feed.prune(tx.conn)
            feed.prune_answers(tx.conn, self.clock.now() - feed.REQUESTS_KEEP_S)


class _snapshot_read:  # noqa: N801 - used like a function
    """A read transaction on the store's connection (the caller holds ``store.read()``): every
    statement in the block sees the same database state."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN")
        return self.conn

    def __exit__(self, *exc: object) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")


def _staff(conn: sqlite3.Connection) -> dict[int, str]:
    return {int(n): str(s) for n, s in conn.execute("SELECT window_no, staff_id FROM open_windows")}


def _field(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise BadRequest(f"field {name!r} wants {kind.__name__}", field=name)
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value: str = _field(body, name, str)
    if not value:
        raise BadRequest(f"field {name!r} is empty", field=name)
    return value


def _day(body: dict[str, Any]) -> str:
    """A business day, ``YYYY-MM-DD``: compared as text with the hall box's own days."""
    value = _text(body, "day")
    if not _DAY.match(value):
        raise BadRequest("day is YYYY-MM-DD", field="day")
    return value


def _appointment(body: dict[str, Any]) -> str | None:
    """A checked-in appointment's booking number, when the body names one."""
    if body.get("appointment") is None:
        return None
    value = _text(body, "appointment")
    if len(value) > 64:
        raise BadRequest("appointment is at most 64 characters", field="appointment")
    return value


#: The window verbs beyond the call cycle (issue #14).
_WINDOW_OPERATIONS = frozenset({"pause", "resume", "transfer", "unskip"})
#: Longest pause reason accepted.
MAX_REASON = 32


def _priority(body: dict[str, Any]) -> str | None:
    """A ticket's priority (``green``, ``special``), when the body names one."""
    if body.get("priority") is None:
        return None
    value = _text(body, "priority")
    if value not in PRIORITIES:
        raise BadRequest(f"priority is one of {list(PRIORITIES)}", field="priority")
    return value


def _reason(body: dict[str, Any]) -> str:
    value = _text(body, "reason")
    if len(value) > MAX_REASON:
        raise BadRequest(f"reason is at most {MAX_REASON} characters", field="reason")
    return value


def _optional(body: dict[str, Any], name: str, kind: type) -> Any:
    return None if body.get(name) is None else _field(body, name, kind)


def _own(device: DeviceEntry, body: dict[str, Any]) -> None:
    """A queue change is journaled under the device that asked, and only that one."""
    named = _text(body, "device_id")
    if named != device.device_id:
        raise DeviceForbidden(
            f"{device.device_id} may not act as {named}", device_id=device.device_id
        )


# --- HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    roles: frozenset[str]
    handler: str


#: Every role may read; the window terminal (``window-terminal``) only reads (and reports health).
_ANY = frozenset({"kiosk", "pad", "window-terminal"})
ROUTES = (
    _Route("GET", re.compile(rf"^{API_PREFIX}/hall$"), _ANY, "get_hall"),
    _Route("GET", re.compile(rf"^{API_PREFIX}/waiting$"), _ANY, "get_waiting"),
    _Route("GET", re.compile(rf"^{API_PREFIX}/snapshot$"), _ANY, "get_snapshot"),
    _Route("GET", re.compile(rf"^{API_PREFIX}/windows/(\d+)$"), _ANY, "get_window"),
    _Route("GET", re.compile(rf"^{API_PREFIX}/events$"), _ANY, "get_events"),
    _Route("POST", re.compile(rf"^{API_PREFIX}/tickets$"), frozenset({"kiosk"}), "post_ticket"),
    _Route(
        "POST", re.compile(rf"^{API_PREFIX}/tickets/offline$"), frozenset({"kiosk"}), "post_offline"
    ),
    _Route("POST", re.compile(rf"^{API_PREFIX}/ranges$"), frozenset({"kiosk"}), "post_range"),
    _Route("POST", re.compile(rf"^{API_PREFIX}/journal$"), frozenset({"kiosk"}), "post_journal"),
    _Route(
        "POST",
        re.compile(
            rf"^{API_PREFIX}/windows/(\d+)/"
            r"(open|close|call|recall|skip|finish|pause|resume|transfer|unskip)$"
        ),
        frozenset({"pad"}),
        "post_window",
    ),
    _Route("POST", re.compile(rf"^{API_PREFIX}/ratings$"), frozenset({"pad"}), "post_rating"),
    _Route("POST", re.compile(rf"^{API_PREFIX}/health$"), _ANY, "post_health"),
)


class _HttpServer(ThreadingHTTPServer):
    """Keeps the open connections, so that stopping also ends kept-alive ones (which would
    otherwise go on being served by their threads after the listening socket closed), and
    the event streams handed to the pusher, which their handler's end must not close."""

    daemon_threads = True
    service: HallService
    pusher: _Pusher

    def server_activate(self) -> None:
        self.open_connections: set[socket.socket] = set()
        self._handed_over: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().server_activate()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def hand_over(self, request: socket.socket) -> None:
        """The pusher writes to ``request`` from now on and closes it (:meth:`release`)."""
        with self._connections_lock:
            self._handed_over.add(request)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            if request in self._handed_over:
                return
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def release(self, request: socket.socket) -> None:
        """Close an event stream the pusher is done with."""
        with self._connections_lock:
            self._handed_over.discard(request)
        self.shutdown_request(request)

    def drop_connections(self) -> None:
        with self._connections_lock:
            open_now = list(self.open_connections)
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    """One connection. JSON requests on keep-alive connections; an event stream keeps its own."""

    protocol_version = "HTTP/1.1"
    # A push or a body written after its headers must not wait for the client's delayed ACK
    # (Nagle): that alone added some 40 ms to every call reaching a PAD.
    disable_nagle_algorithm = True
    # Buffered: an answer's headers and body leave in one write (handle_one_request flushes
    # after each request; an event stream flushes each chunk). Two writes cost two trips
    # through the GIL, each waiting behind the hall's event-stream threads.
    wbufsize = 64 * 1024
    server_version = "HallEdge"
    #: An idle keep-alive connection is closed after this long.
    timeout = 60
    server: _HttpServer

    def handle(self) -> None:
        try:
            super().handle()  # flushes each answer after its request
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client left mid-answer: nothing to tell it

    def finish(self) -> None:
        try:
            super().finish()  # flushes what is still buffered
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client left; what it was sent no longer matters

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    # --- plumbing ------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        if self.server.service.stopping:
            self.close_connection = True
            self._error(JournalError("the hall box is stopping"))
            return
        try:
            body = self._body()
            device = self._device()
            for route in ROUTES:
                match = route.pattern.match(path)
                if route.method == method and match:
                    break
            else:
                self._send(404, error_json(BadRequest(f"no {method} {path}", path=path)))
                return
            if device.role not in route.roles:
                raise DeviceForbidden(
                    f"a {device.role} may not {method} {path}", device_id=device.device_id
                )
            getattr(self, route.handler)(device, match, body)
        except HallEdgeError as err:
            self._error(err)
        except sqlite3.Error as err:
            log.warning("hall database: %s", err)
            self._error(JournalError(f"hall database: {err}"))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as err:  # a bug must answer 500, not drop the connection silently
            log.exception("hall API request failed")
            self._error(HallEdgeError(f"unexpected {type(err).__name__}"))

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            raise BadRequest("request body too large", length=length)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError as err:
            raise BadRequest(f"not JSON: {err}") from err
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    def _device(self) -> DeviceEntry:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise DeviceNotAuthorized("no device credentials (HTTP Basic device_id:secret)")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
            device_id, sep, secret = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise DeviceNotAuthorized("malformed credentials") from err
        if not sep:
            raise DeviceNotAuthorized("malformed credentials")
        return self.server.service.registry.authenticate(device_id, secret)

    def _error(self, err: HallEdgeError) -> None:
        status = http_status(err)
        if status >= 500:
            log.warning("error %d (%s): %s", err.code, err.key, err)
        extra = {"WWW-Authenticate": 'Basic realm="hall-edge"'} if status == 401 else {}
        self._send(status, error_json(err), extra)

    def _send(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = dumps(body | {"server_time": self.server.service.clock.now()})
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()  # here, where a client that left is caught (_dispatch)

    def _change(self, device: DeviceEntry, body: dict[str, Any], action: Action) -> None:
        key = self.headers.get("Idempotency-Key", "")
        if not _KEY.match(key):
            raise BadRequest(
                "a state change needs an Idempotency-Key (1–128 of A-Z a-z 0-9 . _ : -)"
            )
        service = self.server.service
        reply = service.change(device, key, "POST", self.path, body, action)
        try:
            self._send(
                reply.status,
                reply.body,
                {"Idempotent-Replayed": "true"} if reply.replayed else None,
            )
        finally:
            # The answer first: the hall's event-stream threads, once woken, hold the GIL
            # while the one device that is waiting for this answer would queue behind them.
            if reply.pushed:
                service.notify()

    # --- endpoints -----------------------------------------------------------------------

    def get_hall(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        self._send(200, self.server.service.catalog())

    def get_waiting(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        self._send(200, self.server.service.waiting())

    def get_snapshot(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        self._send(200, self.server.service.snapshot())

    def get_window(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        self._send(200, self.server.service.window(int(match.group(1))))

    def post_ticket(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        self._change(device, body, self.server.service.issue(device, body))

    def post_offline(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        self._change(device, body, self.server.service.accept_offline(device, body))

    def post_range(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        self._change(device, body, self.server.service.reserve_range(device, body))

    def post_journal(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        self._change(device, body, self.server.service.journal(device, body))

    def post_window(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        service = self.server.service
        action = service.window_action(device, int(match.group(1)), match.group(2), body)
        self._change(device, body, action)

    def post_rating(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        self._change(device, body, self.server.service.rating(device, body))

    def post_health(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        self._change(device, body, self.server.service.device_health(device, body))

    def get_events(self, device: DeviceEntry, match: re.Match[str], body: dict[str, Any]) -> None:
        """``text/event-stream``: what the client missed (or a snapshot), ``ready``, then every
        push as it is committed, until the client leaves, the device is removed or we stop."""
        service = self.server.service
        last_text = self.headers.get("Last-Event-ID", "").strip()
        last = int(last_text) if last_text.isdigit() else None
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            out, cursor = service.catch_up(last)
            ready = _sse("ready", {"event_id": cursor, "server_time": service.clock.now()})
            self.wfile.write(_chunk(b"".join(out)) if out else b"")
            self.wfile.write(_chunk(ready))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            return  # the client left
        except Exception:  # the headers are out: end the stream, the client reconnects
            log.exception("event stream of %s failed", device.device_id)
            return
        # Everything written is sent (flushed above), and this thread writes nothing more: the
        # pusher sends the rest, from ``cursor`` on, and this thread ends.
        self.server.hand_over(self.connection)
        self.server.pusher.add(self.connection, device, cursor)


def _chunk(data: bytes) -> bytes:
    """``data`` as one chunk of a chunked HTTP body; ``b""`` is the body's end."""
    return f"{len(data):X}\r\n".encode() + data + b"\r\n"


def _sse(event: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: ".encode() + dumps(data) + b"\n\n"


@dataclass(eq=False)
class _Stream:
    """An event stream the pusher writes: its socket (non-blocking), its device, the newest
    feed id it was sent, the bytes its socket has not taken yet, and when bytes were last
    queued for it (a ping is due :data:`KEEPALIVE_S` later)."""

    sock: socket.socket
    device: DeviceEntry
    cursor: int
    queued_at: float
    pending: bytearray = field(default_factory=bytearray)
    #: Whether the selector also waits for the socket to take more.
    writing: bool = False
    #: Ended (revoked): closed once ``pending`` is sent, or :data:`KEEPALIVE_S` after.
    ending: bool = False


class _Pusher:
    """One thread writes every push to every open event stream.

    On each change (:meth:`HallService.notify`) it takes the pushes of the streams behind the
    feed from :meth:`HallService.catch_up`, once for all streams at the same position, and
    writes them as one chunk to each without blocking; what a socket does not take waits in
    the stream's buffer and is written when the socket can take it. A stream whose buffer
    passes :data:`STREAM_BUFFER_MAX` is closed: its device reconnects with
    ``Last-Event-ID`` and catches up, as after any disconnect. A stream that has been sent
    nothing for :data:`KEEPALIVE_S` gets a ping; one of a device removed from the list gets
    ``revoked`` and ends; when the server stops, every stream ends.

    Args:
        service: what is pushed.
        release: closes a socket the pusher is done with.
    """

    def __init__(self, service: HallService, release: Callable[[socket.socket], None]) -> None:
        self.service = service
        self._release = release
        self._selector = selectors.DefaultSelector()
        # notify() may come from any thread; it wakes the selector through this pair.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._incoming: list[_Stream] = []
        self._done = False
        self._streams: list[_Stream] = []
        service.on_change(self.wake)

    def add(self, sock: socket.socket, device: DeviceEntry, cursor: int) -> None:
        """Push to ``sock`` from now on: it was sent the feed up to ``cursor``."""
        with self._lock:
            taken = not self._done
            if taken:
                self._incoming.append(_Stream(sock, device, cursor, time.monotonic()))
        if taken:
            self.wake()
        else:
            self._release(sock)  # the pusher has ended: the server is stopping

    def wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # a wake is pending already (the pair's buffer is full), or we have ended

    def run(self) -> None:
        try:
            while not self.service.stopping:
                try:
                    self._take_incoming()
                    self._push()
                    for key, events in self._selector.select(self._until_ping()):
                        if key.data is None:
                            self._drain_wake()
                        else:
                            self._ready(key.data, events)
                    self._ping()
                except Exception:  # noqa: BLE001 - the pusher must outlive any one stream
                    log.exception("hall API pusher")
                    time.sleep(WATCH_S)
        finally:
            with self._lock:
                self._done = True
                self._streams += self._incoming
                self._incoming.clear()
            for stream in list(self._streams):
                self._end(stream)
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _take_incoming(self) -> None:
        with self._lock:
            incoming, self._incoming = self._incoming, []
        for stream in incoming:
            stream.sock.setblocking(False)
            self._selector.register(stream.sock, selectors.EVENT_READ, stream)
            self._streams.append(stream)

    def _push(self) -> None:
        """Revoke the streams of removed devices; send the others what they have not had."""
        newest = self.service.newest
        encoded: dict[int, tuple[bytes, int] | None] = {}  # by position: one catch-up each
        for stream in list(self._streams):
            if stream.ending:
                continue
            if not self.service.registry.still_listed(stream.device):
                revoked = DeviceNotAuthorized(
                    f"{stream.device.device_id} was removed from the device list",
                    device_id=stream.device.device_id,
                )
                stream.ending = True
                self._queue(stream, _chunk(_sse("revoked", error_json(revoked))) + _chunk(b""))
                continue
            if stream.cursor >= newest:
                continue
            if stream.cursor not in encoded:
                try:
                    out, cursor = self.service.catch_up(stream.cursor)
                    encoded[stream.cursor] = (_chunk(b"".join(out)) if out else b"", cursor)
                except Exception:  # noqa: BLE001 - these streams end; their devices reconnect
                    log.exception("event streams at %d failed", stream.cursor)
                    encoded[stream.cursor] = None
            caught_up = encoded[stream.cursor]
            if caught_up is None:
                self._close(stream)
                continue
            data, stream.cursor = caught_up
            if data:
                self._queue(stream, data)

    def _ping(self) -> None:
        """Ping the streams sent nothing for :data:`KEEPALIVE_S`; close those that ended
        and could not be sent their last bytes in as long."""
        now = time.monotonic()
        for stream in list(self._streams):
            if now - stream.queued_at < KEEPALIVE_S:
                continue
            if stream.ending:
                self._close(stream)
            else:
                self._queue(stream, _chunk(f": ping {self.service.clock.now():.3f}\n\n".encode()))

    def _until_ping(self) -> float:
        if not self._streams:
            return KEEPALIVE_S
        due = min(s.queued_at for s in self._streams) + KEEPALIVE_S
        return max(0.0, due - time.monotonic())

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _ready(self, stream: _Stream, events: int) -> None:
        if events & selectors.EVENT_READ:
            # A device sends nothing after its request: the end of its input means it left.
            try:
                left = not stream.sock.recv(4096)
            except BlockingIOError:
                left = False
            except OSError:
                left = True
            if left:
                self._close(stream)
                return
        if events & selectors.EVENT_WRITE:
            self._write(stream)

    def _queue(self, stream: _Stream, data: bytes) -> None:
        stream.pending += data
        stream.queued_at = time.monotonic()
        self._write(stream)

    def _write(self, stream: _Stream) -> None:
        """Send what the socket takes now; close the stream when too much is left over, or
        when it ended and all of it is sent."""
        try:
            sent = stream.sock.send(stream.pending) if stream.pending else 0
        except BlockingIOError:
            sent = 0
        except OSError:
            self._close(stream)  # the device left
            return
        del stream.pending[:sent]
        if len(stream.pending) > STREAM_BUFFER_MAX:
            log.info(
                "event stream of %s closed: %d bytes behind",
                stream.device.device_id,
                len(stream.pending),
            )
            self._close(stream)
            return
        if stream.ending and not stream.pending:
            self._close(stream)
            return
        writing = bool(stream.pending)
        if writing != stream.writing:
            stream.writing = writing
            mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)
            self._selector.modify(stream.sock, mask, stream)

    def _end(self, stream: _Stream) -> None:
        """The server stops: send what is pending and the body's end if the socket takes them
        now (the device reconnects either way), and close."""
        try:
            stream.sock.setblocking(False)
            stream.sock.send(bytes(stream.pending) + _chunk(b""))
        except OSError:
            pass
        self._close(stream)

    def _close(self, stream: _Stream) -> None:
        if stream not in self._streams:
            return
        self._streams.remove(stream)
        try:
            self._selector.unregister(stream.sock)
        except (KeyError, ValueError):
            pass
        self._release(stream.sock)


# --- the server ----------------------------------------------------------------------------


class HallServer:
    """The hall box's hall API: bind, serve, watch, stop.

    Args:
        hall: the hall served.
        hall_db: the hall database (opened here, on a connection of its own).
        listen: ``(host, port)``; port 0 picks a free one (see :attr:`address`).
        devices: the device list file (:mod:`hallnet.devices`).
        clock: the hall clock (the system clock by default).

    Raises:
        ConfigError (100): the address cannot be bound, or the device list is unreadable or
            belongs to another hall.
        JournalTooNew (421): a newer Hall Edge migrated the hall database.
    """

    def __init__(
        self,
        hall: HallConfig,
        hall_db: Path | str,
        listen: tuple[str, int],
        devices: Path | str,
        clock: Clock | None = None,
    ) -> None:
        listed_hall, _ = read_device_list(devices)
        if listed_hall is not None and listed_hall != hall.hall_id:
            raise ConfigError(
                f"{devices} is the device list of hall {listed_hall!r}, not {hall.hall_id!r}",
                path=str(devices),
            )
        self.registry = DeviceRegistry(devices)
        self.store = open_store(hall_db, hall.hall_id)
        self.service = HallService(self.store, hall, clock or SystemClock(), self.registry)
        try:
            self._http = _HttpServer(listen, _Handler)
        except OSError as err:
            self.store.close()
            raise ConfigError(
                f"cannot serve the hall on {listen[0]}:{listen[1]}: {err}",
                address=f"{listen[0]}:{listen[1]}",
            ) from err
        self._http.service = self.service
        self._pusher = _Pusher(self.service, self._http.release)
        self._http.pusher = self._pusher
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)``."""
        host, port = self._http.server_address[:2]
        return str(host), int(port)

    def start(self) -> HallServer:
        if not self.registry.listed():
            log.warning(
                "the device list %s lists no device: every request is refused", self.registry.path
            )
        self.service.start()
        parts = (
            (self._http.serve_forever, "hall-api"),
            (self._watch, "hall-api-watch"),
            (self._pusher.run, "hall-api-push"),
        )
        for target, name in parts:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("serving the hall API on %s:%d", *self.address)
        return self

    def stop(self) -> None:
        """Stop serving, end the event streams, close the database. Safe to call twice."""
        if self._stop.is_set():
            return
        self._stop.set()
        self.service.stop()
        self._http.shutdown()
        self._http.server_close()
        self._http.drop_connections()
        for thread in self._threads:
            thread.join(10)
        self.store.close()

    def _watch(self) -> None:
        next_prune = time.monotonic() + PRUNE_S
        next_close = time.monotonic() + CLOSE_DAYS_S
        closed_through = business_day(self.service.clock.now())  # start() swept
        while not self._stop.wait(WATCH_S):
            try:
                if self.registry.refresh():
                    log.info("device list %s changed", self.registry.path)
                    self.service.notify()
                self.service.watch()
                today = business_day(self.service.clock.now())
                if today != closed_through or time.monotonic() >= next_close:
                    self.service.close_past_days()
                    # Only once it went through: a locked database is tried again next tick.
                    closed_through, next_close = today, time.monotonic() + CLOSE_DAYS_S
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_S
                    self.service.prune()
            except (sqlite3.Error, HallEdgeError) as err:
                log.warning("hall API watcher: %s", err)
