"""Idempotent ingestion of hall event batches from MQTT into the :class:`EventStore`.

The collector subscribes with QoS 1 and a persistent session (``clean_session=False`` under a
fixed client id), so the broker keeps queuing batches while the collector is down. Each
message is acknowledged (PUBACK) only after its batch committed to the store; a crash in
between makes the broker redeliver, and the store's ``event_id`` key turns that into a
counted duplicate. Events are also keyed by the device-assigned ``(hall, device, seq)``;
a seq jump opens a *gap*, logged with the missing range and listed under ``gaps`` in
:meth:`Ingestor.counters` (and so on the dashboard) until the missing events arrive. A malformed message is logged with code 501, counted and acknowledged
(it will never become valid), and ingestion goes on.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collector.gaps import GapTracker
from collector.store import EventStore, Gap
from collector.telemetry_store import TelemetryStore
from core.errors import IngestError, MalformedMessage
from core.events import Event, decode_batch
from core.mqtt import ConnectionStatus, MqttAuth, watched_client
from core.telemetry import TelemetryBatch
from core.telemetry import decode_batch as decode_telemetry
from core.topics import ALL_EVENTS, ALL_TELEMETRY

log = logging.getLogger(__name__)


def hall_of_topic(topic: str, kind: str = "events") -> str:
    """The hall id in ``halledge/v1/<hall_id>/<kind>``.

    Raises:
        MalformedMessage (501): the topic does not have that shape.
    """
    parts = topic.split("/")
    if len(parts) != 4 or parts[:2] != ["halledge", "v1"] or parts[3] != kind or not parts[2]:
        raise MalformedMessage(f"not a {kind} topic: {topic!r}", reason="topic")
    return parts[2]


def parse_telemetry(topic: str, payload: bytes) -> TelemetryBatch:
    """Decode a telemetry batch and check it belongs to the hall named in the topic.

    Raises:
        MalformedMessage (501): bad topic, not JSON, wrong version, an invalid sample, or
            another hall's batch.
    """
    hall = hall_of_topic(topic, "telemetry")
    batch = decode_telemetry(payload)
    if batch.hall_id != hall:
        raise MalformedMessage(
            f"telemetry of hall {batch.hall_id!r} on topic of hall {hall!r}", reason="wrong_hall"
        )
    return batch


def parse_message(topic: str, payload: bytes) -> list[Event]:
    """Decode a batch and check that every event belongs to the hall named in the topic.

    Raises:
        MalformedMessage (501): bad topic, not JSON, wrong version, an invalid event, or an
            event of another hall.
    """
    hall = hall_of_topic(topic)
    events = decode_batch(payload)
    for e in events:
        if e.hall_id != hall:
            raise MalformedMessage(
                f"event of hall {e.hall_id!r} on topic of hall {hall!r}", reason="wrong_hall"
            )
    return events


class Ingestor:
    """Subscribe to every hall's events and telemetry and store them once each.

    Args:
        store: an :class:`EventStore`, or a path to open one at.
        host: broker address.
        port: broker port.
        on_events: called after a batch is stored, with only the events that were new; not
            called when the whole batch was a duplicate. It runs on the MQTT network thread;
            an exception in it is logged, not fatal.
        client_id: the persistent session name; two collectors must not share it.
        auth: the collector's broker credentials and TLS; anonymous plain TCP when None.

    Attributes:
        events_ingested: distinct events stored.
        duplicates: events received again after they were stored.
        rejected: malformed messages refused.
        rejected_reasons: refused messages per reason (``not_json``, ``version``,
            ``wrong_hall`` ...).
        store_failures: batches that could not be committed (left unacknowledged).
        seq_conflicts: events refused because their (hall, device, seq) was stored under
            another event id.
        gap_tracker: the missing seq runs per device, kept current batch by batch.
        samples_ingested: distinct telemetry samples stored (in ``telemetry``, a
            :class:`TelemetryStore` on the same database file).
        sample_duplicates: samples received again after they were stored.
    """

    def __init__(
        self,
        store: EventStore | Path | str,
        host: str,
        port: int,
        on_events: Callable[[list[Event]], None] | None = None,
        client_id: str = "halledge-collector",
        auth: MqttAuth | None = None,
    ) -> None:
        self.store = store if isinstance(store, EventStore) else EventStore(store)
        self.host = host
        self.port = port
        self.on_events = on_events
        self.client_id = client_id
        self.auth = auth
        self.events_ingested = 0
        self.duplicates = 0
        self.rejected = 0
        self.rejected_reasons: Counter[str] = Counter()
        self.store_failures = 0
        self.seq_conflicts = 0
        self.gap_tracker = GapTracker(self.store.gaps(), self.store.highest_seqs())
        self.telemetry = TelemetryStore(self.store.path)
        self.samples_ingested = 0
        self.sample_duplicates = 0
        self._subscribed = threading.Event()
        self._client: Any = None
        #: The broker connection's health: ``last_error`` is 410, 470 or 471 when it fails.
        self.status = ConnectionStatus("collector ingest", host, port, log)

    def start(self) -> None:
        """Connect in the background; reconnects on its own until :meth:`stop`."""
        client = watched_client(
            self.status, self.client_id, self.auth, clean_session=False, manual_ack=True
        )
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        client.connect_async(self.host, self.port, keepalive=30)
        client.loop_start()

    @property
    def last_error(self) -> Any:
        """Why the broker connection fails (410, 470 or 471); None while connected."""
        return self.status.last_error

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until the subscription is confirmed. Returns False on timeout."""
        return self._subscribed.wait(timeout)

    def stop(self) -> None:
        """Disconnect and stop the network thread. The store stays open."""
        if self._client is None:
            return
        self._client.disconnect()
        self._client.loop_stop()
        self._client = None

    def counters(self) -> dict[str, Any]:
        """A snapshot of the counters, for logs and the dashboard."""
        return {
            "events_ingested": self.events_ingested,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_reasons": dict(self.rejected_reasons),
            "store_failures": self.store_failures,
            "seq_conflicts": self.seq_conflicts,
            "gaps_opened": self.gap_tracker.opened_total,
            "gaps": [_gap_dict(g) for g in self.gap_tracker.open_gaps()],
            "samples_ingested": self.samples_ingested,
            "sample_duplicates": self.sample_duplicates,
            "telemetry_thinned": {
                hall: {"dropped": t.dropped, "downsampled": t.downsampled}
                for hall, t in self.telemetry.thinned().items()
            },
        }

    def ingest(self, topic: str, payload: bytes) -> bool:
        """Validate and store one message; the MQTT path calls this, tests may too.

        Returns:
            True if the message is settled (stored or rejected) and may be acknowledged;
            False if storing failed and the broker should redeliver it.
        """
        if topic.endswith("/telemetry"):
            return self.ingest_telemetry(topic, payload)
        try:
            events = parse_message(topic, payload)
        except MalformedMessage as err:
            self._reject(topic, err)
            return True
        try:
            stored = self.store.add_batch(events)
        except sqlite3.Error as err:
            self.store_failures += 1
            failure = IngestError(f"cannot store batch: {err}", topic=topic)
            log.error("code=%d %s", failure.code, failure)
            return False
        new = stored.new
        self.events_ingested += len(new)
        self.duplicates += stored.duplicates
        self._account(stored.conflicts, new)
        if new and self.on_events is not None:
            try:
                self.on_events(new)
            except Exception:
                # A metrics bug must not stop ingestion; the events are stored already.
                log.exception("on_events hook failed")
        return True

    def ingest_telemetry(self, topic: str, payload: bytes) -> bool:
        """Validate and store one telemetry message; same contract as :meth:`ingest`."""
        try:
            batch = parse_telemetry(topic, payload)
        except MalformedMessage as err:
            self._reject(topic, err)
            return True
        try:
            new = self.telemetry.add_batch(batch)
        except sqlite3.Error as err:
            self.store_failures += 1
            failure = IngestError(f"cannot store telemetry: {err}", topic=topic)
            log.error("code=%d %s", failure.code, failure)
            return False
        self.samples_ingested += new
        self.sample_duplicates += len(batch.samples) - new
        return True

    def _reject(self, topic: str, err: MalformedMessage) -> None:
        self.rejected += 1
        reason = str(err.details.get("reason", "unknown"))
        self.rejected_reasons[reason] += 1
        log.warning("rejected message on %s: code=%d reason=%s %s", topic, err.code, reason, err)

    def _account(self, conflicts: list[Event], new: list[Event]) -> None:
        for e in conflicts:
            self.seq_conflicts += 1
            log.error(
                "seq conflict: hall %s device %s seq %d arrived again as event %s; refused",
                e.hall_id,
                e.device_id,
                e.seq,
                e.event_id,
            )
        for e in new:
            changes = self.gap_tracker.observe(e.hall_id, e.device_id, e.seq)
            for g in changes.opened:
                log.warning(
                    "gap: hall %s device %s missing seq %d-%d",
                    g.hall_id,
                    g.device_id,
                    g.first,
                    g.last,
                )
            for g in changes.closed:
                log.info(
                    "gap closed: hall %s device %s seq %d-%d arrived",
                    g.hall_id,
                    g.device_id,
                    g.first,
                    g.last,
                )

    # --- paho callbacks (network thread) -----------------------------------------------

    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, props: Any
    ) -> None:
        if not self.status.connack(reason_code):
            return
        client.subscribe([(ALL_EVENTS, 1), (ALL_TELEMETRY, 1)])

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        if all(not c.is_failure for c in codes):
            self._subscribed.set()

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, props: Any
    ) -> None:
        self._subscribed.clear()
        self.status.closed()
        log.info("collector disconnected: %s", reason_code)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        # The PUBACK goes out only after the commit: manual_ack is on.
        if self.ingest(msg.topic, msg.payload):
            client.ack(msg.mid, msg.qos)


def _gap_dict(g: Gap) -> dict[str, Any]:
    return {"hall_id": g.hall_id, "device_id": g.device_id, "first": g.first, "last": g.last}
