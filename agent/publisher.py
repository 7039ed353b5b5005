"""Send the hall journal to the collector: at least once, in journal order, surviving outages.

The journal (``outbox`` in the hall database) is the only record of what still has to go.
A background thread reads the oldest rows, publishes them in batches with QoS 1, and deletes
a row only when the *collector* says it stored it: the collector publishes, retained, per
device of the hall, the highest seq up to which everything is stored
(``halledge/v1/<hall>/stored``, ``core/stored_acks.py``), and the publisher, subscribed to it,
deletes the rows it covers. A broker's PUBACK only frees the message's slot in the in-flight
window: the broker having a batch says nothing about a collector storing it (there may be no
collector session yet, or the broker may restart without its store).

So that the drain keeps its rate, the publisher does not wait for a watermark per batch: it
goes on publishing while up to ``max_unstored`` rows are out (sent, not yet covered by a
watermark). Rows still out when a device's watermark has not moved for ``resend_after``
seconds are sent again (the collector stores each ``event_id`` once), with the wait doubling
up to ``resend_max`` while nothing moves; a new connection starts again from the oldest row
too, after the retained watermark has cleaned up what is stored already. Each batch carries
``floors``: per device in it, the lowest seq the journal still holds, so the collector's
watermark can pass seqs that no longer exist here.

Why ``clean_session=True``: paho keeps its unacknowledged messages only in memory, so a
persistent MQTT session would not survive a restart of the agent anyway; the journal does.
A fresh paho client per connection also means no stale in-flight copies are re-sent beside
the ones re-read from the journal.

Every paho callback runs on the publisher's own thread (it drives ``client.loop()`` itself),
so the thread's SQLite connection is never shared.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import telemetry
from core.errors import BrokerUnavailable, MalformedMessage, MqttAuthRefused
from core.events import SCHEMA_VERSION
from core.mqtt import ConnectionStatus, MqttAuth, apply_auth, connect_error, refusal
from core.stored_acks import StoredWatermarks
from core.telemetry import TelemetryBatch, encode_batch
from core.topics import events_topic, stored_topic, telemetry_topic
from hallstore import journal

log = logging.getLogger(__name__)

#: Most rows sent and not yet covered by a stored-watermark before publishing pauses.
MAX_UNSTORED = 20_000
#: Seconds a device's watermark may stand still, with rows of it out, before they are re-sent.
RESEND_AFTER_S = 20.0
#: The longest wait between re-sends while no watermark moves (the wait doubles per re-send).
RESEND_MAX_S = 300.0
#: Batches of rows already stored that one read may skip (delete) before the loop runs again.
_COVERED_READS = 100


@dataclass
class _Session:
    """What one connection knows; thrown away when the connection ends."""

    connected: bool = False
    lost: bool = False
    #: The broker answered the CONNECT with a refusal (already counted and logged).
    refused: bool = False
    #: The broker answered the subscription to the stored topic (granted or refused).
    subscribed: bool = False
    #: Loop turns since that answer, counting the turn that read it. The broker sends the
    #: retained watermark right behind the SUBACK, and paho reads one packet per turn here,
    #: so one more turn reads it.
    turns_since_suback: int = 0
    #: A watermark arrived on this connection.
    watermark_seen: bool = False
    #: paho message id → (lane, rows carried by that message).
    inflight: dict[int, tuple[_Lane, list[int]]] = field(default_factory=dict)
    #: Per lane other than events, the highest row already sent on this connection.
    sent_to_row: dict[str, int] = field(default_factory=dict)
    #: The last reads of this cycle found nothing more to send.
    caught_up: bool = False
    #: Events: the highest outbox row read on this pass. Every row at or below it is out
    #: (in ``unstored``) or deleted; rows committed later get higher ids.
    cursor: int = 0
    #: Events sent on this pass and not yet covered by a watermark: device → (seq, row), in
    #: seq order (journal order is per-device seq order).
    unstored: dict[str, deque[tuple[int, int]]] = field(default_factory=dict)
    unstored_rows: int = 0
    #: Per device with rows out: when its watermark last moved (or its first row went out).
    quiet_since: dict[str, float] = field(default_factory=dict)
    #: A re-send is due: no new batches until the window is empty, then read from the start.
    rewinding: bool = False
    #: ``max_unstored`` was reached and logged; cleared when publishing resumes.
    paused: bool = False

    def in_flight(self, lane: _Lane | None = None) -> int:
        """Messages sent and not acknowledged, of one lane or of all."""
        return sum(1 for owner, _ in self.inflight.values() if lane is None or owner is lane)

    @property
    def ready(self) -> bool:
        """Publishing may begin: subscribed to the watermarks, and the retained one (if any)
        had its chance to arrive first, so rows already stored are deleted, not re-sent."""
        return self.subscribed and (self.watermark_seen or self.turns_since_suback >= 2)


#: What a lane's read returns when it skipped rows but has nothing to send yet.
_NOT_YET: tuple[list[int], bytes] = ([], b"")


@dataclass(frozen=True)
class _Lane:
    """One table the publisher drains: events, or telemetry samples.

    Attributes:
        name: ``events`` or ``samples``.
        topic: where its batches go.
        read: the next rows of a connection and the message carrying them; None when every
            row has been sent, ``_NOT_YET`` when there is nothing to send right now.
        acknowledge: what a PUBACK of one of its messages does with the message's rows.
        may_send: whether the lane may publish another message now.
        max_inflight: most of its messages in flight (the window is shared).
    """

    name: str
    topic: str
    read: Callable[[Any, _Session], tuple[list[int], bytes] | None]
    acknowledge: Callable[[Any, list[int]], None]
    may_send: Callable[[_Session], bool]
    max_inflight: int


class Publisher:
    """Drain the hall journal to MQTT in a background thread.

    Args:
        db_path: the hall database (the journal lives in it).
        hall_id: the hall; names the topic ``halledge/v1/<hall_id>/events``.
        host: broker address.
        port: broker port.
        client_id: MQTT client id; unique per hall box (the broker drops the older of two
            clients with the same id).
        batch_size: most events per MQTT message.
        max_inflight: most messages sent and not yet acknowledged by the broker.
        poll_interval: seconds between looks at the journal for new rows.
        backoff_min: first reconnect delay in seconds; doubles per failed attempt.
        backoff_max: longest reconnect delay in seconds.
        keepalive: MQTT keepalive in seconds.
        auth: this box's broker credentials and TLS; anonymous plain TCP when None.
        max_unstored: most event rows out (sent, not yet covered by the collector's
            stored-watermark) before publishing pauses.
        resend_after: seconds a device's watermark may stand still, with rows of it out,
            before everything out is sent again.
        resend_max: the longest wait between such re-sends; the wait doubles per re-send and
            comes back to ``resend_after`` as soon as a watermark moves.

    Attributes:
        published: per lane (``events``, ``samples``), rows whose batch the broker
            acknowledged (re-sends count again).
        events_stored: events deleted from the journal because the collector stored them.
        messages_sent: batches handed to the socket, including re-sends.
        reconnects: connections established after the first one.
        resends: times the rows out were sent again because no watermark moved.
        watermarks_received: stored-watermark messages of this hall taken in.
        watermarks_ignored: stored-watermark messages ignored (malformed, another hall).
        connect_failures: connection attempts that failed.
        last_error: why the latest attempt failed (None once connected): a
            ``MqttAuthRefused`` (470) or ``MqttTlsFailed`` (471) needs a technician, a
            plain ``BrokerUnavailable`` (410) only the network back.
    """

    def __init__(
        self,
        db_path: Path | str,
        hall_id: str,
        host: str,
        port: int,
        client_id: str,
        batch_size: int = 100,
        max_inflight: int = 20,
        poll_interval: float = 0.05,
        backoff_min: float = 0.1,
        backoff_max: float = 5.0,
        keepalive: int = 30,
        auth: MqttAuth | None = None,
        max_unstored: int = MAX_UNSTORED,
        resend_after: float = RESEND_AFTER_S,
        resend_max: float = RESEND_MAX_S,
    ) -> None:
        if batch_size < 1 or max_inflight < 1 or max_unstored < 1:
            raise ValueError("batch_size, max_inflight and max_unstored must be at least 1")
        self.db_path = str(db_path)
        self.hall_id = hall_id
        self.topic = events_topic(hall_id)
        self.telemetry_topic = telemetry_topic(hall_id)
        self.stored_topic = stored_topic(hall_id)
        self.host = host
        self.port = port
        self.client_id = client_id
        self.batch_size = batch_size
        self.max_inflight = max_inflight
        self.poll_interval = poll_interval
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.keepalive = keepalive
        self.auth = auth
        self.max_unstored = max_unstored
        self.resend_after = resend_after
        self.resend_max = max(resend_max, resend_after)
        #: Connection failures, classified and logged as every client does (core/mqtt.py).
        self.status = ConnectionStatus(f"publisher {hall_id}", host, port, log)
        # Events first, in the order listed: telemetry gets only a small share of the
        # window, so a backlog of samples after an outage never holds back a ticket.
        self._events = _Lane(
            "events", self.topic, self._read_events, self._events_acked, self._may_send_events,
            max_inflight,
        )
        # Samples are best-effort readings: the broker's PUBACK deletes them (docs/agent.md).
        self._lanes = (
            self._events,
            _Lane(
                "samples",
                self.telemetry_topic,
                self._read_samples,
                telemetry.acknowledge_samples,
                lambda session: True,
                telemetry.PUBLISH_INFLIGHT,
            ),
        )
        self.published = dict.fromkeys((lane.name for lane in self._lanes), 0)
        self.events_stored = 0
        self.messages_sent = 0
        self.reconnects = 0
        self.resends = 0
        self.watermarks_received = 0
        self.watermarks_ignored = 0
        #: The collector's watermark per device, as far as known: the highest seq stored.
        self._stored: dict[str, int] = {}
        self._resend_wait = resend_after
        self._unstored_now = 0
        self._logged_once: set[str] = set()
        self._connections = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._cycles = 0
        self._idle = False
        self._connected = False

    # --- public -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the publishing thread. It connects, and reconnects, on its own."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"publisher-{self.hall_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Disconnect and end the thread. Rows the collector has not stored stay in the
        journal."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout)
        with self._cond:
            self._cond.notify_all()

    @property
    def last_error(self) -> BrokerUnavailable | None:
        return self.status.last_error

    @property
    def connect_failures(self) -> int:
        return self.status.connect_failures

    @property
    def connected(self) -> bool:
        """Whether the broker accepted the current connection and answered the subscription
        to the stored-watermarks (from then on the publisher publishes)."""
        return self._connected

    def wait_drained(self, timeout: float) -> bool:
        """Block until every row committed before this call is stored at the collector (its
        watermark deleted the row) and every telemetry sample is acknowledged by the broker.

        Returns:
            True when the journal was empty and nothing was in flight or out on a full pass
            of the publishing thread that began after the call; False on timeout or when
            stopped.
        """
        with self._cond:
            start = self._cycles
            # Cycle start+1 may have read the journal before the caller's last commit;
            # cycle start+2 began after this call.
            return (
                self._cond.wait_for(
                    lambda: self._thread is None or (self._cycles > start + 1 and self._idle),
                    timeout,
                )
                and self._thread is not None
            )

    def counters(self) -> dict[str, int]:
        """A snapshot of the counters, for logs and health reports."""
        return {
            "events_published": self.events_published,
            "events_stored": self.events_stored,
            "events_unstored": self._unstored_now,
            "samples_published": self.published["samples"],
            "messages_sent": self.messages_sent,
            "resends": self.resends,
            "watermarks_received": self.watermarks_received,
            "watermarks_ignored": self.watermarks_ignored,
            "reconnects": self.reconnects,
            "connect_failures": self.connect_failures,
        }

    @property
    def events_published(self) -> int:
        """Events whose batch the broker acknowledged (re-sends count again). The rows stay
        in the journal until the collector's watermark covers them (``events_stored``)."""
        return self.published["events"]

    # --- thread -------------------------------------------------------------------------

    def _run(self) -> None:
        conn = journal.connect(self.db_path)
        # This connection only deletes rows the collector stored (and acknowledged samples).
        # A delete lost to a power cut just sends those events again (the collector drops
        # the copies, and its retained watermark deletes them at once on the next
        # connection), so it needs no fsync of its own: NORMAL in WAL mode never corrupts,
        # and the next FULL commit of a kiosk syncs these frames anyway.
        conn.execute("PRAGMA synchronous=NORMAL")
        attempt = 0
        try:
            while not self._stop.is_set():
                try:
                    if self._session(conn):
                        attempt = 0
                    self._connected = False
                    self._unstored_now = 0
                    if self._stop.is_set():
                        break
                    self._cycle_done(
                        idle=journal.backlog(conn) == 0 and telemetry.unsent(conn) == 0
                    )
                except Exception:
                    # A journal or socket error ends this connection only; the journal still
                    # holds everything the collector has not stored, so the next connection
                    # resumes.
                    self._connected = False
                    log.exception("publisher connection failed")
                self._stop.wait(self._backoff(attempt))
                attempt += 1
        finally:
            conn.close()
            with self._cond:
                self._cond.notify_all()

    def _backoff(self, attempt: int) -> float:
        # Jitter keeps a hall's kiosks and PADs (or many halls after a WAN outage) from
        # reconnecting in lockstep.
        ceiling = min(self.backoff_max, self.backoff_min * 2 ** min(attempt, 30))
        return random.uniform(ceiling / 2, ceiling)

    def _session(self, conn: Any) -> bool:
        """One connection, from connect to loss or stop. Returns True if CONNACK came."""
        import paho.mqtt.client as mqtt

        session = _Session()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        apply_auth(client, self.auth)
        client.max_inflight_messages_set(self.max_inflight)
        client.on_connect = lambda c, u, f, rc, p: self._on_connect(c, session, rc)
        client.on_disconnect = lambda c, u, f, rc, p: self._on_disconnect(session, rc)
        client.on_subscribe = lambda c, u, mid, codes, p: self._on_subscribe(session, codes)
        client.on_message = lambda c, u, msg: self._on_stored(conn, session, msg)
        client.on_publish = lambda c, u, mid, rc, p: self._on_publish(conn, session, mid)
        try:
            client.connect(self.host, self.port, keepalive=self.keepalive)
        except OSError as err:
            self._connect_failed(connect_error(err, self.host, self.port))
            return False
        deadline = time.monotonic() + max(10.0, 2 * self.keepalive)
        try:
            while not self._stop.is_set():
                rc = client.loop(timeout=self.poll_interval)
                if rc != mqtt.MQTT_ERR_SUCCESS or session.lost:
                    if not session.connected and not session.refused:
                        # e.g. plain TCP to a TLS-only listener: the broker just hangs up.
                        self._connect_failed(
                            BrokerUnavailable(f"closed before CONNACK: {rc}", port=self.port)
                        )
                    break
                session.caught_up = False
                if session.subscribed:
                    session.turns_since_suback += 1
                if session.connected and session.ready:
                    self._check_resend(session)
                    self._fill(client, conn, session)
                elif time.monotonic() > deadline:
                    what = "no SUBACK" if session.connected else "no CONNACK"
                    self._connect_failed(BrokerUnavailable(what, port=self.port))
                    break
                self._unstored_now = session.unstored_rows
                self._cycle_done(
                    idle=session.connected
                    and session.caught_up
                    and not session.inflight
                    and not session.unstored
                )
        finally:
            if not session.lost:
                # Sends DISCONNECT (a clean goodbye) and closes the socket; after a loss
                # paho has closed it already.
                client.disconnect()
        return session.connected

    def _fill(self, client: Any, conn: Any, session: _Session) -> None:
        """Publish rows after the last ones sent, lane by lane, until the window is full."""
        # Every lane gets its turn (a list, not a short-circuiting generator).
        done = [self._fill_lane(client, conn, session, lane) for lane in self._lanes]
        session.caught_up = all(done)

    def _fill_lane(self, client: Any, conn: Any, session: _Session, lane: _Lane) -> bool:
        """Returns True when every row of the lane has been sent."""
        while (
            session.in_flight() < self.max_inflight
            and session.in_flight(lane) < lane.max_inflight
            and lane.may_send(session)
        ):
            found = lane.read(conn, session)
            if found is None:
                return True
            rows, payload = found
            if not rows:
                return False
            info = client.publish(lane.topic, payload, qos=1)
            if info.rc != 0:
                session.lost = True
                return False
            session.inflight[info.mid] = (lane, rows)
            self.messages_sent += 1
        return False

    # --- events: out until the collector's watermark covers them ------------------------

    def _may_send_events(self, session: _Session) -> bool:
        if session.rewinding:
            return False
        if session.unstored_rows < self.max_unstored:
            session.paused = False
            return True
        if not session.paused:
            session.paused = True
            log.info(
                "publisher paused: %d events out and not yet stored by the collector",
                session.unstored_rows,
            )
        return False

    def _read_events(self, conn: Any, session: _Session) -> tuple[list[int], bytes] | None:
        """The next batch after the cursor, without the rows a known watermark covers already
        (those are deleted here: after a reconnect the retained watermark arrives before the
        first read, so stored rows are never sent again)."""
        stored = self._stored
        for _ in range(_COVERED_READS):
            rows = journal.pending_rows(conn, self.batch_size, after_row=session.cursor)
            if not rows:
                return None
            session.cursor = rows[-1][0]
            covered = [r[0] for r in rows if r[2] <= stored.get(r[1], 0)]
            if covered:
                self._delete(conn, session, covered)
                if len(covered) == len(rows):
                    continue
                rows = [r for r in rows if r[2] > stored.get(r[1], 0)]
            return self._event_batch(session, rows)
        return _NOT_YET

    def _event_batch(
        self, session: _Session, rows: list[tuple[int, str, int, str]]
    ) -> tuple[list[int], bytes]:
        # Floors: per device, the lowest seq still in the journal. Every row read before on
        # this pass is out or deleted, so that is the oldest row out, else this batch's first.
        floors: dict[str, int] = {}
        for _, device, seq, _ in rows:
            if device not in floors:
                held = session.unstored.get(device)
                floors[device] = held[0][0] if held else seq
        now = time.monotonic()
        for row, device, seq, _ in rows:
            held = session.unstored.get(device)
            if held is None:
                held = session.unstored[device] = deque()
                session.quiet_since[device] = now
            held.append((seq, row))
        session.unstored_rows += len(rows)
        return [r[0] for r in rows], batch_payload([r[3] for r in rows], floors)

    def _events_acked(self, conn: Any, rows: list[int]) -> None:
        """A PUBACK for events: the broker has them, the collector may not. Nothing deleted."""

    def _on_stored(self, conn: Any, session: _Session, msg: Any) -> None:
        """A stored-watermark: delete the rows it covers, in one transaction."""
        try:
            if msg.topic != self.stored_topic:
                raise MalformedMessage(f"not our stored topic: {msg.topic!r}", reason="topic")
            marks = StoredWatermarks.decode(msg.payload)
            if marks.hall_id != self.hall_id:
                other = marks.hall_id[:40]
                raise MalformedMessage(
                    f"watermark of hall {other!r} on the topic of hall {self.hall_id!r}",
                    reason="wrong_hall",
                )
        except MalformedMessage as err:
            self.watermarks_ignored += 1
            self._log_once(
                f"watermark-{err.details.get('reason')}",
                logging.WARNING,
                "code=%d ignored a stored-watermark on %s (%s): %s",
                err.code,
                msg.topic,
                err.details.get("reason"),
                err,
            )
            return
        self.watermarks_received += 1
        if not session.watermark_seen:
            session.watermark_seen = True
            self._check_seqs_behind(conn, marks.stored)
        now = time.monotonic()
        rows: list[int] = []
        for device, mark in marks.stored.items():
            if mark > self._stored.get(device, 0):
                self._stored[device] = mark
            mark = self._stored.get(device, 0)
            held = session.unstored.get(device)
            if not held or held[0][0] > mark:
                continue
            while held and held[0][0] <= mark:
                rows.append(held.popleft()[1])
            if held:
                session.quiet_since[device] = now
            else:
                del session.unstored[device]
                del session.quiet_since[device]
        if rows:
            session.unstored_rows -= len(rows)
            self._delete(conn, session, rows)
            self._resend_wait = self.resend_after

    def _check_seqs_behind(self, conn: Any, stored: dict[str, int]) -> None:
        """Say so when the collector has stored seqs this hall database never allocated.

        That database is older than the collector's record of it (restored from a copy, a
        swapped disk): its next events reuse seqs the watermark already covers, so they are
        deleted here unsent, where the collector would have refused them as seq conflicts.
        """
        allocated = dict(conn.execute("SELECT device_id, last_seq FROM device_seq"))
        behind = {d: (m, allocated.get(d, 0)) for d, m in stored.items() if m > allocated.get(d, 0)}
        if behind:
            self._log_once(
                "seqs-behind",
                logging.ERROR,
                "the collector has stored seqs this hall database never allocated"
                " (device: stored, allocated here): %s; the database is older than the"
                " collector's record (restored from a copy?), and its events up to those"
                " seqs are seq conflicts, deleted unsent",
                ", ".join(f"{d}: {m} > {a}" for d, (m, a) in sorted(behind.items())[:10]),
            )

    def _delete(self, conn: Any, session: _Session, rows: list[int]) -> None:
        top = journal.delete_stored(conn, rows)
        # Rows now get ids above ``top``; if that is below the cursor, read on from there.
        session.cursor = min(session.cursor, top)
        self.events_stored += len(rows)

    def _check_resend(self, session: _Session) -> None:
        """Send the rows out again when a device's watermark stood still too long."""
        if session.rewinding:
            if session.in_flight(self._events) == 0:
                session.unstored.clear()
                session.quiet_since.clear()
                session.unstored_rows = 0
                session.cursor = 0
                session.rewinding = False
                self.resends += 1
                self._resend_wait = min(self._resend_wait * 2, self.resend_max)
            return
        if not session.quiet_since:
            return
        device, since = min(session.quiet_since.items(), key=lambda item: item[1])
        waited = time.monotonic() - since
        if waited > self._resend_wait:
            session.rewinding = True
            log.warning(
                "no stored-watermark for %s for %.0f s: sending the %d events out again"
                " (the collector may have no session, or the broker lost them)",
                device,
                waited,
                session.unstored_rows,
            )

    # --- samples: best effort, deleted on PUBACK ------------------------------------------

    def _read_samples(self, conn: Any, session: _Session) -> tuple[list[int], bytes] | None:
        lane = self._lanes[1]
        # With nothing in flight every row left is unsent, so read from the start.
        after = session.sent_to_row.get(lane.name, 0) if session.in_flight(lane) else 0
        rows = telemetry.pending_samples(conn, telemetry.PUBLISH_BATCH_ROWS, after_row=after)
        if not rows:
            return None
        session.sent_to_row[lane.name] = rows[-1][0]
        totals = telemetry.counters(conn)
        batch = TelemetryBatch(
            self.hall_id, [s for _, s in rows], totals["dropped"], totals["downsampled"]
        )
        return [row for row, _ in rows], encode_batch(batch)

    def _cycle_done(self, idle: bool) -> None:
        with self._cond:
            self._cycles += 1
            self._idle = idle
            self._cond.notify_all()

    def _connect_failed(self, err: BrokerUnavailable) -> None:
        self.status.failed(err)

    def _log_once(self, key: str, level: int, message: str, *args: Any) -> None:
        """Log at ``level`` the first time for ``key``, at DEBUG after that."""
        first = key not in self._logged_once
        self._logged_once.add(key)
        log.log(level if first else logging.DEBUG, message, *args)

    # --- paho callbacks (publisher thread) ----------------------------------------------

    def _on_connect(self, client: Any, session: _Session, reason_code: Any) -> None:
        if reason_code.is_failure:
            session.lost = True
            session.refused = True
            self._connect_failed(refusal(reason_code, self.host, self.port))
            return
        self.status.connack(reason_code)
        session.connected = True
        if self._connections:
            self.reconnects += 1
        self._connections += 1
        # Before any publish: the retained watermark then arrives first.
        client.subscribe(self.stored_topic, qos=1)
        log.info("publisher connected to %s:%d", self.host, self.port)

    def _on_subscribe(self, session: _Session, codes: Any) -> None:
        session.subscribed = True
        self._connected = True
        if any(c.is_failure for c in codes):
            err = MqttAuthRefused(
                f"the broker refused the subscription to {self.stored_topic}",
                topic=self.stored_topic,
            )
            self._log_once(
                "suback",
                logging.ERROR,
                "code=%d %s: no stored-watermark can arrive, so the journal keeps every event"
                " (the box's ACL must let it read that topic)",
                err.code,
                err,
            )

    def _on_disconnect(self, session: _Session, reason_code: Any) -> None:
        session.lost = True
        self._connected = False
        log.info(
            "publisher disconnected: %s (%d batches unacknowledged, %d events not yet stored)",
            reason_code,
            len(session.inflight),
            session.unstored_rows,
        )

    def _on_publish(self, conn: Any, session: _Session, mid: int) -> None:
        sent = session.inflight.pop(mid, None)
        if sent is None:
            return
        lane, rows = sent
        lane.acknowledge(conn, rows)
        self.published[lane.name] += len(rows)


def batch_payload(events_json: list[str], floors: dict[str, int] | None = None) -> bytes:
    """The MQTT payload for a batch, from events as the journal stored them.

    Byte for byte what :func:`core.events.encode_batch` makes of the same events and floors,
    without parsing and re-encoding each event (which cost more than the rest of the drain
    together).
    """
    tail = f',"floors":{_FLOORS.encode(floors)}' if floors else ""
    return f'{{"v":{SCHEMA_VERSION},"events":[{",".join(events_json)}]{tail}}}'.encode()


#: The encoder ``encode_batch`` uses, built once.
_FLOORS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
