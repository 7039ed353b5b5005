"""Send the hall journal to the broker: at least once, in journal order, surviving outages.

The journal (``outbox`` in the hall database) is the only record of what still has to go.
A background thread reads the oldest unacknowledged rows, publishes them in batches with QoS 1
and deletes the rows of a batch only when the broker's PUBACK for that batch arrives. If the
connection drops, nothing in memory is trusted: the next connection starts again from the
oldest row still in the journal, so batches whose PUBACK was lost are sent again. That is
harmless, because the collector stores each ``event_id`` once.

Why ``clean_session=True``: paho keeps its unacknowledged messages only in memory, so a
persistent MQTT session would not survive a restart of the agent anyway; the journal does.
A fresh paho client per connection also means no stale in-flight copies are re-sent beside
the ones re-read from the journal.

Every paho callback runs on the publisher's own thread (it drives ``client.loop()`` itself),
so the thread's SQLite connection is never shared.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import telemetry
from core.errors import BrokerUnavailable
from core.events import SCHEMA_VERSION
from core.mqtt import ConnectionStatus, MqttAuth, apply_auth, connect_error, refusal
from core.telemetry import TelemetryBatch, encode_batch
from core.topics import events_topic, telemetry_topic
from hallstore import journal

log = logging.getLogger(__name__)


@dataclass
class _Session:
    """What one connection knows; thrown away when the connection ends."""

    connected: bool = False
    lost: bool = False
    #: The broker answered the CONNECT with a refusal (already counted and logged).
    refused: bool = False
    #: paho message id → (lane, rows carried by that message).
    inflight: dict[int, tuple[_Lane, list[int]]] = field(default_factory=dict)
    #: Per lane, the highest row already sent on this connection.
    sent_to_row: dict[str, int] = field(default_factory=dict)
    #: The last reads of this cycle found nothing more to send.
    caught_up: bool = False

    def in_flight(self, lane: _Lane | None = None) -> int:
        """Messages sent and not acknowledged, of one lane or of all."""
        return sum(1 for owner, _ in self.inflight.values() if lane is None or owner is lane)


@dataclass(frozen=True)
class _Lane:
    """One table the publisher drains: events, or telemetry samples.

    Attributes:
        name: ``events`` or ``samples``.
        topic: where its batches go.
        read: the rows after a row id and the message carrying them, or None if none.
        acknowledge: deletes the rows of an acknowledged message.
        max_inflight: most of its messages in flight (the window is shared).
    """

    name: str
    topic: str
    read: Callable[[Any, int], tuple[list[int], bytes] | None]
    acknowledge: Callable[[Any, list[int]], None]
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
        max_inflight: most messages sent and not yet acknowledged.
        poll_interval: seconds between looks at the journal for new rows.
        backoff_min: first reconnect delay in seconds; doubles per failed attempt.
        backoff_max: longest reconnect delay in seconds.
        keepalive: MQTT keepalive in seconds.
        auth: this box's broker credentials and TLS; anonymous plain TCP when None.

    Attributes:
        events_published: events whose batch the broker acknowledged (rows deleted).
        published: per lane (``events``, ``samples``), rows whose batch was acknowledged.
        messages_sent: batches handed to the socket, including re-sends.
        reconnects: connections established after the first one.
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
    ) -> None:
        if batch_size < 1 or max_inflight < 1:
            raise ValueError("batch_size and max_inflight must be at least 1")
        self.db_path = str(db_path)
        self.hall_id = hall_id
        self.topic = events_topic(hall_id)
        self.telemetry_topic = telemetry_topic(hall_id)
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
        #: Connection failures, classified and logged as every client does (core/mqtt.py).
        self.status = ConnectionStatus(f"publisher {hall_id}", host, port, log)
        # Events first, in the order listed: telemetry gets only a small share of the
        # window, so a backlog of samples after an outage never holds back a ticket.
        self._lanes = (
            _Lane("events", self.topic, self._read_events, journal.acknowledge, max_inflight),
            _Lane(
                "samples",
                self.telemetry_topic,
                self._read_samples,
                telemetry.acknowledge_samples,
                telemetry.PUBLISH_INFLIGHT,
            ),
        )
        self.published = dict.fromkeys((lane.name for lane in self._lanes), 0)
        self.messages_sent = 0
        self.reconnects = 0
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
        """Disconnect and end the thread. Unacknowledged rows stay in the journal."""
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
        """Whether the broker accepted the current connection."""
        return self._connected

    def wait_drained(self, timeout: float) -> bool:
        """Block until every row committed before this call is acknowledged.

        Returns:
            True when the journal was empty and nothing was in flight on a full pass of the
            publishing thread that began after the call; False on timeout or when stopped.
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
            "samples_published": self.published["samples"],
            "messages_sent": self.messages_sent,
            "reconnects": self.reconnects,
            "connect_failures": self.connect_failures,
        }

    @property
    def events_published(self) -> int:
        """Events whose batch the broker acknowledged (their rows are deleted)."""
        return self.published["events"]

    # --- thread -------------------------------------------------------------------------

    def _run(self) -> None:
        conn = journal.connect(self.db_path)
        # This connection only deletes acknowledged rows. A delete lost to a power cut just
        # sends those events again (the collector drops the copies), so it needs no fsync of
        # its own: NORMAL in WAL mode never corrupts, and the next FULL commit of a kiosk
        # syncs these frames anyway.
        conn.execute("PRAGMA synchronous=NORMAL")
        attempt = 0
        try:
            while not self._stop.is_set():
                try:
                    if self._session(conn):
                        attempt = 0
                    self._connected = False
                    if self._stop.is_set():
                        break
                    self._cycle_done(
                        idle=journal.backlog(conn) == 0 and telemetry.unsent(conn) == 0
                    )
                except Exception:
                    # A journal or socket error ends this connection only; the journal still
                    # holds everything unacknowledged, so the next connection resumes.
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
        client.on_connect = lambda c, u, f, rc, p: self._on_connect(session, rc)
        client.on_disconnect = lambda c, u, f, rc, p: self._on_disconnect(session, rc)
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
                if session.connected:
                    self._fill(client, conn, session)
                elif time.monotonic() > deadline:
                    self._connect_failed(BrokerUnavailable("no CONNACK", port=self.port))
                    break
                self._cycle_done(
                    idle=session.connected
                    and session.caught_up
                    and not session.inflight
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
        ):
            # With nothing in flight every row left is unsent, so read from the start: row
            # ids restart low once an outbox has been drained empty.
            after = session.sent_to_row.get(lane.name, 0) if session.in_flight(lane) else 0
            found = lane.read(conn, after)
            if found is None:
                return True
            rows, payload = found
            info = client.publish(lane.topic, payload, qos=1)
            if info.rc != 0:
                session.lost = True
                return False
            session.inflight[info.mid] = (lane, rows)
            session.sent_to_row[lane.name] = rows[-1]
            self.messages_sent += 1
        return False

    def _read_events(self, conn: Any, after: int) -> tuple[list[int], bytes] | None:
        batch = journal.pending_payloads(conn, self.batch_size, after_row=after)
        if not batch:
            return None
        return [row for row, _ in batch], batch_payload([p for _, p in batch])

    def _read_samples(self, conn: Any, after: int) -> tuple[list[int], bytes] | None:
        rows = telemetry.pending_samples(conn, telemetry.PUBLISH_BATCH_ROWS, after_row=after)
        if not rows:
            return None
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

    # --- paho callbacks (publisher thread) ----------------------------------------------

    def _on_connect(self, session: _Session, reason_code: Any) -> None:
        if reason_code.is_failure:
            session.lost = True
            session.refused = True
            self._connect_failed(refusal(reason_code, self.host, self.port))
            return
        self.status.connack(reason_code)
        session.connected = True
        self._connected = True
        if self._connections:
            self.reconnects += 1
        self._connections += 1
        log.info("publisher connected to %s:%d", self.host, self.port)

    def _on_disconnect(self, session: _Session, reason_code: Any) -> None:
        session.lost = True
        self._connected = False
        log.info(
            "publisher disconnected: %s (%d batches unacknowledged)",
            reason_code,
            len(session.inflight),
        )

    def _on_publish(self, conn: Any, session: _Session, mid: int) -> None:
        sent = session.inflight.pop(mid, None)
        if sent is None:
            return
        lane, rows = sent
        lane.acknowledge(conn, rows)
        self.published[lane.name] += len(rows)


def batch_payload(events_json: list[str]) -> bytes:
    """The MQTT payload for a batch, from events as the journal stored them.

    Byte for byte what :func:`core.events.encode_batch` makes of the same events, without
    parsing and re-encoding each one (which cost more than the rest of the drain together).
    """
    return f'{{"v":{SCHEMA_VERSION},"events":[{",".join(events_json)}]}}'.encode()
