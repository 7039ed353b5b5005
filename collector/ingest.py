"""Idempotent ingestion of hall event batches from MQTT into the :class:`EventStore`.

The collector subscribes with QoS 1 and a persistent session under a fixed client id, so the
broker keeps queuing batches while the collector is down. The connection is the collector's
own lean MQTT client (``collector/mqtt_receive.py``): its network thread reads the socket in
bulk and queues each read's messages; one worker stores them in groups (one commit each) and
acknowledges (PUBACK) each message only after what it brought committed, a group's PUBACKs in
one write. A crash in between makes the broker redeliver, and the store's ``(hall, device,
seq)`` key turns that into a counted duplicate; a seq jump opens a *gap*, logged with the
missing range and listed under ``gaps`` in :meth:`Ingestor.counters` (and so on the
dashboard) until the missing events arrive.

Nothing a hall sends can stop ingestion or be lost on the way. A payload passes its size,
nesting-depth and value checks before any work is done on it (``core/events.py``), and a
batch is judged event by event: an invalid event is dead-lettered alone (code 501 with a
``reason``, ``collector/dead_letters.py``) and the rest of its batch is stored; a payload
that fails as a whole is dead-lettered as a whole. Then the message is acknowledged: it will
not get better by coming again. Events of kinds this collector does not know, or of a newer
minor version, are stored as they came and counted per kind. An unexpected error while
handling a message is logged and dead-lettered too (reason ``internal``); only a failing
database leaves a message unacknowledged, for the broker to deliver again.

After each commit the hall's stored-watermarks are published, coalesced
(``collector/stored_acks.py``), through this ingest's own MQTT connection, and again for
every known hall whenever it (re)connects. Commits do not wait for the disk; each watermark
round does, once, before it announces anything (:meth:`EventStore.make_durable`).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from collector.dead_letters import (
    event_letter,
    message_letter,
    reason_of,
    refused_letter,
)
from collector.gaps import GapChanges, GapTracker
from collector.mqtt_receive import MQTT_5, RECEIVE_MAXIMUM, Message, MqttReceiver
from collector.store import DeadLetter, EventStore, Gap, Stored
from collector.stored_acks import INTERVAL_S, StoredAcks
from collector.telemetry_store import TelemetryStore
from core.clock import Clock, SystemClock
from core.errors import IngestError, MalformedMessage
from core.events import (
    DecodedBatch,
    MAX_ID_CHARS,
    SCHEMA_MINOR,
    TIME_WINDOW,
    Event,
    Kind,
    TimeWindow,
    decode_batch,
    readable_id,
)
from core.mqtt import ConnectionStatus, MqttAuth, connection_auth, owned_client_id
from core.telemetry import TelemetryBatch
from core.telemetry import decode_batch as decode_telemetry
from core.topics import ALL_EVENTS, ALL_TELEMETRY

log = logging.getLogger(__name__)

#: Most messages the MQTT path commits together. One fsync then stores them all, and each is
#: acknowledged only after it; a lone message still commits at once (nothing waits to fill a
#: group). ``bench outbox`` measures what this buys.
GROUP_MAX_MESSAGES = 64
#: And at most this many payload bytes in one group.
GROUP_MAX_BYTES = 8 * 1024 * 1024
_STOP = object()


def drain(
    inbox: queue.Queue[Any], stop: object, limit: int | None = None,
    weight: Callable[[Any], int] = lambda item: 1,
) -> tuple[list[Any], bool]:
    """Wait for the first item of ``inbox``, then take whatever else is queued already,
    without waiting, until the items' ``weight`` reaches ``limit``: a worker then handles in
    one go what piled up while it was busy. Returns the items and whether ``stop`` (the
    sentinel that ends the worker) was met; items after it stay queued."""
    first = inbox.get()
    if first is stop:
        return [], True
    items, total = [first], weight(first)
    while limit is None or total < limit:
        try:
            more = inbox.get_nowait()
        except queue.Empty:
            break
        if more is stop:
            return items, True
        items.append(more)
        total += weight(more)
    return items, False


@dataclass(frozen=True)
class IngestOptions:
    """How an ingest connects and what it believes; the same for :class:`Ingestor` and
    :class:`collector.ingest_process.IngestProcess` (which hands them to its child).

    Attributes:
        host: broker address.
        port: broker port.
        client_id: the persistent session name; two collectors must not share it.
        auth: the collector's broker credentials and TLS; anonymous plain TCP when None.
        window: which event times are believed (``docs/topics.md``, "Limits").
        ack_interval_s: shortest time between two stored-watermark messages of one hall.
        protocol: MQTT protocol level of the ingest's connection (5, or 4 for 3.1.1).
        receive_maximum: MQTT 5: most unacknowledged messages the broker may send
            (``collector/mqtt_receive.py``).
    """

    host: str
    port: int
    client_id: str = "halledge-collector"
    auth: MqttAuth | None = None
    window: TimeWindow = TIME_WINDOW
    ack_interval_s: float = INTERVAL_S
    protocol: int = MQTT_5
    receive_maximum: int = RECEIVE_MAXIMUM

    def settings(self) -> dict[str, Any]:
        """Everything but the address, as keyword arguments of :class:`Ingestor`."""
        address = ("host", "port")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in address}


def hall_of_topic(topic: str, kind: str = "events") -> str:
    """The hall id in ``halledge/v1/<hall_id>/<kind>``.

    Raises:
        MalformedMessage (501): the topic does not have that shape, or its hall id is not a
            short text (at most 128 characters, no control characters).
    """
    parts = topic.split("/")
    if len(parts) != 4 or parts[:2] != ["halledge", "v1"] or parts[3] != kind or not parts[2]:
        raise MalformedMessage(f"not a {kind} topic: {topic[:200]!r}", reason="topic")
    if readable_id(parts[2], MAX_ID_CHARS) is None:
        raise MalformedMessage(f"no hall id in topic {topic[:200]!r}", reason="topic")
    return parts[2]


def parse_telemetry(topic: str, payload: bytes) -> TelemetryBatch:
    """Decode a telemetry batch and check it belongs to the hall named in the topic.

    Raises:
        MalformedMessage (501): bad topic, too big or deep, not JSON, wrong version, an
            invalid sample, or another hall's batch.
    """
    hall = hall_of_topic(topic, "telemetry")
    batch = decode_telemetry(payload)
    if batch.hall_id != hall:
        raise MalformedMessage(
            f"telemetry of hall {batch.hall_id[:40]!r} on topic of hall {hall!r}",
            reason="wrong_hall",
        )
    return batch


@dataclass
class Outcome:
    """What handling one message did.

    Attributes:
        settled: the message may be acknowledged (stored, or dead-lettered).
        whole: the dead letter of the message, when it failed as a whole.
        new: events stored now.
        duplicates: events already stored.
        dead: dead letters of single events of it (new or already kept).
        hall: the hall whose stored state it changed (None when it failed as a whole).
    """

    settled: bool
    whole: DeadLetter | None = None
    new: list[Event] = field(default_factory=list)
    duplicates: int = 0
    dead: list[DeadLetter] = field(default_factory=list)
    hall: str | None = None


@dataclass(frozen=True)
class ReplayResult:
    """What :meth:`Ingestor.replay_dead_letters` did.

    Attributes:
        resolved: dead letters whose content is now stored (and that were removed).
        kept: dead letters that still do not pass (or are truncated), left in place.
        events_stored: events stored by the replay.
    """

    resolved: int
    kept: int
    events_stored: int


class Ingestor:
    """Subscribe to every hall's events and telemetry and store them once each.

    Args:
        store: an :class:`EventStore`, or a path to open one at.
        host: broker address.
        port: broker port.
        on_events: called after a batch is stored, with only the events that were new; not
            called when the whole batch was a duplicate. It runs on the ingest's worker
            thread; an exception in it is logged, not fatal.
        clock: the receiver's clock, for the event time window; the wall clock by default.
        options: the rest of :class:`IngestOptions` (``client_id``, ``auth``, ``window``,
            ``ack_interval_s``, ``protocol``, ``receive_maximum``).

    Attributes:
        options: the :class:`IngestOptions`.
        events_ingested: distinct events stored.
        duplicates: events received again after they were stored.
        rejected: messages and single events refused (each one dead-lettered).
        rejected_reasons: refused messages and events per reason (``not_json``,
            ``too_deep``, ``non_finite``, ``wrong_hall`` ...).
        store_failures: messages that could not be committed (left unacknowledged).
        seq_conflicts: events refused because their (hall, device, seq) was stored under
            another event id.
        gap_tracker: the missing seq runs per device, kept current batch by batch.
        stored_acks: the stored-watermark publisher.
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
        clock: Clock | None = None,
        **options: Any,
    ) -> None:
        self.options = IngestOptions(host, port, **options)
        self.store = store if isinstance(store, EventStore) else EventStore(store)
        self.on_events = on_events
        self.clock = clock or SystemClock()
        self.window = self.options.window
        self.events_ingested = 0
        self.duplicates = 0
        self.rejected = 0
        self.rejected_reasons: Counter[str] = Counter()
        self.store_failures = 0
        self.seq_conflicts = 0
        self.bad_floors = 0
        # One lock for what a message changes (store, tracker, counters) and for readers of
        # the tracker (the watermark publisher, the dashboard).
        self._lock = threading.RLock()
        self._reload_tracker()
        unknown, newer = self.store.unfamiliar_counts(SCHEMA_MINOR)
        self._unknown_kinds: Counter[tuple[str, str]] = Counter(unknown)
        self._newer_minor: Counter[tuple[str, str]] = Counter(newer)
        self.stored_acks = StoredAcks(
            self.watermarks_of, self.known_halls, self.options.ack_interval_s,
            make_durable=self.store.make_durable,
        )
        self.telemetry = TelemetryStore(self.store.path)
        self.samples_ingested = 0
        self.sample_duplicates = 0
        self._receiver: MqttReceiver | None = None
        # The network thread queues each read's messages as one list; one worker stores
        # them in groups.
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._worker: threading.Thread | None = None
        #: The broker connection's health: ``last_error`` is 410, 470 or 471 when it fails.
        self.status = ConnectionStatus("collector ingest", host, port, log)

    def start(self) -> None:
        """Connect in the background; reconnects on its own until :meth:`stop`."""
        o = self.options
        auth = connection_auth(o.auth, "ingest")
        receiver = MqttReceiver(
            o.host, o.port, owned_client_id(o.client_id, auth),
            [(ALL_EVENTS, 1), (ALL_TELEMETRY, 1)], self._inbox.put, auth=auth,
            status=self.status, protocol=o.protocol, receive_maximum=o.receive_maximum,
            on_connect=self.stored_acks.republish_all,
            on_disconnect=lambda: log.info("collector ingest disconnected"),
        )  # fmt: skip
        self._receiver = receiver
        self._worker = threading.Thread(target=self._store_groups, name="ingest", daemon=True)
        self._worker.start()
        self.stored_acks.start(receiver)
        receiver.start()

    @property
    def last_error(self) -> Any:
        """Why the broker connection fails (410, 470 or 471); None while connected."""
        return self.status.last_error

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until the subscription is confirmed. Returns False on timeout."""
        return self._receiver is not None and self._receiver.wait_subscribed(timeout)

    def wait_handed_on(self, timeout: float) -> bool:
        """Every event stored so far has reached ``on_events``: here at once, since the hook
        runs right after each commit (the ingest process has to wait for its reader)."""
        return True

    def stop(self) -> None:
        """Publish pending watermarks, disconnect and stop the network thread. The store
        stays open."""
        if self._receiver is None:
            return
        self.stored_acks.stop()
        self._receiver.stop()
        # Messages still queued are not acknowledged: the broker delivers them again.
        self._inbox.put(_STOP)
        if self._worker is not None:
            self._worker.join(timeout=30)
            self._worker = None
        self._receiver = None

    # --- reading ----------------------------------------------------------------------

    def watermarks(self, hall: str) -> dict[str, int]:
        """The hall's stored-watermark per device (``core/stored_acks.py``)."""
        return self.watermarks_of([hall])[hall]

    def watermarks_of(self, halls: list[str]) -> dict[str, dict[str, int]]:
        """:meth:`watermarks` of many halls, read under one hold of the ingest's lock: the
        watermark publisher asks for hundreds of halls a round at province scale, and taking
        the lock per hall made it queue behind every group the ingest stores."""
        with self._lock:
            tracker = self.gap_tracker
            return {h: {d: tracker.watermark(h, d) for d in tracker.devices(h)} for h in halls}

    def known_halls(self) -> list[str]:
        """Every hall with a device whose seqs the collector tracks."""
        with self._lock:
            return self.gap_tracker.halls()

    def hall_counters(self, hall: str) -> dict[str, Any]:
        """What the dashboard shows of one hall's ingest: events it keeps without fully
        knowing them, dead letters, lost seqs, and its stored-watermarks."""
        with self._lock:
            unknown = {k: n for (h, k), n in self._unknown_kinds.items() if h == hall}
            newer = {k: n for (h, k), n in self._newer_minor.items() if h == hall}
            lost = self.gap_tracker.lost(hall)
            marks = self.watermarks(hall)
        dead = self.store.dead_letter_counts().get(hall, {})
        return {
            "unknown_kinds": dict(sorted(unknown.items())),
            "newer_minor": dict(sorted(newer.items())),
            "dead_letters": sum(dead.values()),
            "dead_letter_reasons": dict(sorted(dead.items())),
            "lost_seqs": lost,
            "stored": marks,
        }

    def counters(self) -> dict[str, Any]:
        """A snapshot of the counters, for logs and the dashboard."""
        with self._lock:
            gaps = [_gap_dict(g) for g in self.gap_tracker.open_gaps()]
            body = {
                "events_ingested": self.events_ingested,
                "duplicates": self.duplicates,
                "rejected": self.rejected,
                "rejected_reasons": dict(self.rejected_reasons),
                "store_failures": self.store_failures,
                "seq_conflicts": self.seq_conflicts,
                "gaps_opened": self.gap_tracker.opened_total,
                "gaps": gaps,
                "lost_seqs": {h: n for h in self.gap_tracker.halls()
                              if (n := self.gap_tracker.lost(h))},
                "bad_floors": self.bad_floors,
                "unknown_kinds": _nested(self._unknown_kinds),
                "newer_minor": _nested(self._newer_minor),
                "samples_ingested": self.samples_ingested,
                "sample_duplicates": self.sample_duplicates,
                "stored_acks_published": self.stored_acks.published,
            }
        body["dead_letters"] = self.store.dead_letter_counts()
        body["telemetry_thinned"] = {
            hall: {"dropped": t.dropped, "downsampled": t.downsampled}
            for hall, t in self.telemetry.thinned().items()
        }
        return body

    # --- handling a message -----------------------------------------------------------

    def ingest(self, topic: str, payload: bytes) -> bool:
        """Validate and store one message; the MQTT path calls this, tests may too.

        Returns:
            True if the message is settled (stored or dead-lettered) and may be
            acknowledged; False if storing failed and the broker should redeliver it.
        """
        return self.process(topic, payload).settled

    def process(self, topic: str, payload: bytes, received_at: float | None = None) -> Outcome:
        """:meth:`ingest`, telling what became of the message. Never raises.

        Alone, the message is committed at once and the watermark publisher and the hook are
        told at once; :meth:`settle_group` does that for many messages after one commit.
        """
        now = self.clock.now() if received_at is None else received_at
        try:
            try:
                outcome = self._process(topic, payload, now)
            except sqlite3.Error:
                raise
            except Exception as err:
                outcome = self._internal(topic, payload, now, err)
        except sqlite3.Error as err:
            # Only a failing database leaves a message unsettled, for the broker to redeliver.
            self.store_failures += 1
            failure = IngestError(f"cannot store message: {err}", topic=topic[:200])
            log.error("code=%d %s", failure.code, failure)
            outcome = Outcome(False)
        self._tell_committed([outcome])
        return outcome

    def _process(self, topic: str, payload: bytes, now: float) -> Outcome:
        if topic.endswith("/telemetry"):
            return self._process_telemetry(topic, payload, now)
        try:
            hall = hall_of_topic(topic)
            batch = decode_batch(payload, hall_id=hall, now=now, window=self.window)
        except MalformedMessage as err:
            return self._dead_message(topic, payload, now, err)
        letters = self._letters(topic, hall, batch, now)
        with self._lock:
            stored = self.store.add_received(batch.events, letters, self._floors(hall, batch))
            return self._settle_stored(topic, hall, batch, letters, stored, now)

    def _internal(self, topic: str, payload: bytes, now: float, err: Exception) -> Outcome:
        # A bug of ours must neither kill the MQTT thread nor bring the message back for
        # ever: log it with its code and keep the message as a dead letter.
        failure = IngestError(f"message could not be handled: {err!r}", topic=topic[:200])
        log.error("code=%d %s", failure.code, failure, exc_info=err)
        return self._dead_message(topic, payload, now, MalformedMessage(
            str(failure), reason="internal"))  # fmt: skip

    @staticmethod
    def _letters(topic: str, hall: str, batch: DecodedBatch, now: float) -> list[DeadLetter]:
        return [event_letter(topic, hall, r, now) for r in batch.rejected]

    def _floors(self, hall: str, batch: DecodedBatch) -> dict[tuple[str, str], int]:
        """The batch's floors that say something: a floor at or below the device's
        watermark + 1 covers no seq that is not covered already (every seq below it is
        stored, dead-lettered or lost), now or after a restart, which rebuilds the same
        coverage from the store. An agent's every batch repeats its devices' floors, and at
        province scale writing them was a fifth of the ingest's work per message (their
        table is keyed by hall and device, so each group wrote all over it). Under
        ``self._lock``; the tracker is the group's start, which only ever covers less."""
        watermark = self.gap_tracker.watermark
        return {
            (hall, d): f for d, f in batch.floors.items() if f - 1 > watermark(hall, d)
        }

    def _settle_stored(
        self, topic: str, hall: str, batch: DecodedBatch, letters: list[DeadLetter],
        stored: Stored, now: float,
    ) -> Outcome:
        """After a message's events and dead letters are in the (uncommitted) transaction:
        dead-letter what the store refused, count, and move the gap tracker. Under
        ``self._lock``."""
        dead = list(letters)
        refused = self._refused(topic, stored, now)
        if refused:
            self.store.add_received([], refused)
        dead += refused
        for r in batch.rejected:
            self._count_reject(topic, r.error, r.device_id, r.seq)
        self.bad_floors += batch.bad_floors
        self._account(hall, stored, dead)
        if any(r.minor > SCHEMA_MINOR for r in batch.events):
            fresh = {e.event_id for e in stored.new}
            for r in batch.events:
                if r.minor > SCHEMA_MINOR and r.event.event_id in fresh:
                    self._newer_minor[(hall, r.event.kind)] += 1
        return Outcome(True, None, stored.new, stored.duplicates, dead, hall)

    def _tell_committed(self, outcomes: list[Outcome]) -> None:
        """What committed messages stored, told onwards: the hall's watermark may move (once
        per hall), and the hook gets every new event in one call. Only after the commit: a
        watermark published before it could let a hall delete events a failed commit lost."""
        halls = {o.hall for o in outcomes if o.settled and o.hall is not None}
        if halls:
            self.stored_acks.changed(*halls)  # type: ignore[arg-type]
        new = [e for o in outcomes for e in o.new]
        if new and self.on_events is not None:
            try:
                self.on_events(new)
            except Exception:
                # A metrics bug must not stop ingestion; the events are stored already.
                log.exception("on_events hook failed")

    def settle_group(self, messages: list[tuple[str, bytes]]) -> list[bool]:
        """Store several event messages in one transaction; which may be acknowledged.

        Every message is decoded and checked on its own, then the events of all of them go
        into the store together (:meth:`EventStore.add_group`), and each message is settled
        on its own again (dead letters, gaps, counters). Telemetry is stored apart (its own
        store, its own transactions). When the commit fails nothing of the group is kept,
        the tracker is read again from the store, and no message of it may be acknowledged:
        the broker delivers them again.
        """
        settled = [False] * len(messages)
        now = self.clock.now()
        # Decoded and checked before the lock and the transaction are taken: the watermark
        # thread's sync of the store (which holds the store while the disk writes) then
        # overlaps with this, the larger part of the work, instead of holding it up.
        decoded = [
            (i, topic, payload, self._decode(topic, payload, now))
            for i, (topic, payload) in enumerate(messages)
            if not topic.endswith("/telemetry")
        ]
        outcomes: dict[int, Outcome] = {}
        with self._lock:
            counted = self._counts()
            try:
                with self.store.transaction():
                    outcomes = self._store_group(decoded, now)
            except sqlite3.Error as err:
                # Nothing of the group was kept: neither its counts nor its gaps (the broker
                # delivers it again, and it is counted then).
                self._restore_counts(counted)
                self.store_failures += 1
                failure = IngestError(f"cannot commit {len(decoded)} messages: {err}")
                log.error("code=%d %s", failure.code, failure)
                self._reload_tracker()
                outcomes = {}
        for i, outcome in outcomes.items():
            settled[i] = outcome.settled
        self._tell_committed(list(outcomes.values()))
        for i, (topic, payload) in enumerate(messages):
            if topic.endswith("/telemetry"):
                settled[i] = self.process(topic, payload).settled
        return settled

    def _counts(self) -> tuple[Any, ...]:
        """What handling messages counts, as it is now (a few small counters)."""
        return (self.events_ingested, self.duplicates, self.rejected, self.seq_conflicts,
                self.bad_floors, Counter(self.rejected_reasons), Counter(self._unknown_kinds),
                Counter(self._newer_minor))  # fmt: skip

    def _restore_counts(self, counts: tuple[Any, ...]) -> None:
        (self.events_ingested, self.duplicates, self.rejected, self.seq_conflicts,
         self.bad_floors, self.rejected_reasons, self._unknown_kinds,
         self._newer_minor) = counts  # fmt: skip

    def _decode(
        self, topic: str, payload: bytes, now: float
    ) -> tuple[str, DecodedBatch, list[DeadLetter]] | Exception:
        """A message's hall, its batch judged event by event and the dead letters of its
        bad events; or why it fails as a whole (a MalformedMessage, or a bug of ours)."""
        try:
            hall = hall_of_topic(topic)
            batch = decode_batch(payload, hall_id=hall, now=now, window=self.window)
            return hall, batch, self._letters(topic, hall, batch, now)
        except Exception as err:  # noqa: BLE001 - kept as a dead letter by _store_group
            return err

    def _store_group(
        self,
        decoded: list[tuple[int, str, bytes, tuple[str, DecodedBatch, list[DeadLetter]]
                             | Exception]],
        now: float,
    ) -> dict[int, Outcome]:
        """Inside the group's transaction, under the lock: each message that failed as a
        whole dead-lettered alone, the events of all the others stored together, then each
        message settled alone."""
        outcomes: dict[int, Outcome] = {}
        good: list[tuple[int, str, bytes, str, DecodedBatch, list[DeadLetter]]] = []
        for i, topic, payload, found in decoded:
            if isinstance(found, MalformedMessage):
                outcomes[i] = self._dead_message(topic, payload, now, found)
            elif isinstance(found, Exception):
                outcomes[i] = self._internal(topic, payload, now, found)
            else:
                good.append((i, topic, payload, *found))
        stored = self.store.add_group([
            (batch.events, letters, self._floors(hall, batch))
            for _, _, _, hall, batch, letters in good
        ])  # fmt: skip
        for (i, topic, payload, hall, batch, letters), done in zip(good, stored, strict=True):
            try:
                outcomes[i] = self._settle_stored(topic, hall, batch, letters, done, now)
            except sqlite3.Error:
                raise  # the group's transaction is lost: the whole group is retried
            except Exception as err:
                outcomes[i] = self._internal(topic, payload, now, err)
        return outcomes

    def _reload_tracker(self) -> None:
        """The gap tracker as the store has it (at start, and after a commit failed)."""
        self.gap_tracker = GapTracker(
            self.store.gaps(include_lost=True), self.store.highest_seqs(), self.store.floors()
        )

    def _process_telemetry(self, topic: str, payload: bytes, now: float) -> Outcome:
        try:
            batch = parse_telemetry(topic, payload)
        except MalformedMessage as err:
            return self._dead_message(topic, payload, now, err)
        new = self.telemetry.add_batch(batch)
        with self._lock:
            self.samples_ingested += new
            self.sample_duplicates += len(batch.samples) - new
        return Outcome(True)

    def _dead_message(
        self, topic: str, payload: bytes, now: float, err: MalformedMessage
    ) -> Outcome:
        """Keep a message that failed as a whole. A database error propagates: alone, the
        message is then left unsettled; in a group, the group's commit is lost."""
        letter = message_letter(topic, payload, err, now)
        with self._lock:
            self.store.add_received([], [letter])
            self._count_reject(topic, err)
        return Outcome(True, whole=letter)

    def _refused(self, topic: str, stored: Stored, now: float) -> list[DeadLetter]:
        """Valid events the store would not take, as dead letters: kept, never dropped."""
        letters = []
        for r in stored.conflicts:
            e = r.event
            self.seq_conflicts += 1
            log.error(
                "seq conflict: hall %s device %s seq %d arrived again as event %s; refused",
                e.hall_id, e.device_id, e.seq, e.event_id,
            )
            detail = f"seq {e.seq} is stored under another event id"
            letters.append(refused_letter(topic, r, "seq_conflict", detail, now))
        for r in stored.unstorable:
            e = r.event
            err = MalformedMessage("the database refused the event", reason="unstorable")
            self._count_reject(topic, err, e.device_id, e.seq)
            letters.append(refused_letter(topic, r, "unstorable", str(err), now))
        return letters

    def _count_reject(
        self, topic: str, err: MalformedMessage, device: str | None = None,
        seq: int | None = None,
    ) -> None:
        self.rejected += 1
        reason = reason_of(err)
        self.rejected_reasons[reason] += 1
        what = "message" if device is None else f"event (device {device} seq {seq})"
        log.warning(
            "rejected %s on %s: code=%d reason=%s %s; dead-lettered",
            what, topic[:200], err.code, reason, err,
        )

    def _account(self, hall: str, stored: Stored, dead: list[DeadLetter]) -> None:
        self.events_ingested += len(stored.new)
        self.duplicates += stored.duplicates
        for e in stored.new:
            if e.kind not in Kind.ALL:
                self._unknown_kinds[(e.hall_id, e.kind)] += 1
            self._log_gaps(self.gap_tracker.observe(e.hall_id, e.device_id, e.seq))
        for letter in dead:
            if letter.device_id is not None and letter.seq is not None:
                self._log_gaps(self.gap_tracker.observe(hall, letter.device_id, letter.seq))
        for (h, device), floor in stored.floors_raised.items():
            changes = self.gap_tracker.floor(h, device, floor)
            if changes.lost:
                log.warning(
                    "lost: hall %s device %s seqs below %d never arrived (%d); the hall no"
                    " longer holds them", h, device, floor, changes.lost,
                )
            self._log_gaps(changes)

    @staticmethod
    def _log_gaps(changes: GapChanges) -> None:
        for g in changes.opened:
            log.warning(
                "gap: hall %s device %s missing seq %d-%d", g.hall_id, g.device_id, g.first,
                g.last,
            )
        for g in changes.closed:
            log.info(
                "gap closed: hall %s device %s seq %d-%d arrived", g.hall_id, g.device_id,
                g.first, g.last,
            )

    # --- dead letters -----------------------------------------------------------------

    def replay_dead_letters(self, hall: str | None = None) -> ReplayResult:
        """Run every dead letter through today's checks again (after an upgrade).

        A letter whose content now passes is stored and removed; the others stay. A letter
        kept truncated cannot be replayed and stays.
        """
        resolved = kept = stored = 0
        for letter in self.store.dead_letters(hall):
            if letter.truncated:
                kept += 1
                continue
            payload = letter.payload
            if letter.scope == "event":
                payload = b'{"v":1,"events":[' + payload + b"]}"
            outcome = self.process(letter.topic, payload)
            if not outcome.settled:
                kept += 1
                continue
            stored += len(outcome.new)
            if outcome.whole is not None or (letter.scope == "event" and outcome.dead):
                kept += 1
                continue
            assert letter.id is not None
            self.store.delete_dead_letter(letter.id)
            resolved += 1
        return ReplayResult(resolved, kept, stored)

    # --- the worker ---------------------------------------------------------------------

    def _store_groups(self) -> None:
        """The worker: take what has arrived, store it in groups of one commit each, then
        acknowledge each message stored in one write per group (PUBACK only now)."""
        while True:
            reads, stop = drain(self._inbox, _STOP, GROUP_MAX_MESSAGES, len)
            messages: list[Message] = [m for read in reads for m in read]
            while messages:
                group, size = [], 0
                for msg in messages:
                    if len(group) >= GROUP_MAX_MESSAGES or size >= GROUP_MAX_BYTES:
                        break
                    group.append(msg)
                    size += len(msg.payload)
                messages = messages[len(group):]
                try:
                    settled = self.settle_group([(m.topic, m.payload) for m in group])
                except Exception:
                    log.exception("code=%d a group of messages could not be stored",
                                  IngestError.code)
                    settled = [False] * len(group)
                self._ack([m for m, ok in zip(group, settled, strict=True) if ok])
                if not all(settled):
                    self._redeliver()
            if stop:
                return

    def _ack(self, messages: list[Message]) -> None:
        """PUBACK these messages, in one write (``MqttReceiver.ack``)."""
        receiver = self._receiver
        if receiver is not None and messages:
            receiver.ack(messages)

    def _redeliver(self) -> None:
        """Messages left unacknowledged (their commit failed) come back only on a new
        connection, and each holds one of the broker's in-flight places meanwhile: connect
        again (after the receiver's back-off), so they are stored once the database works
        again instead of at the next restart."""
        receiver = self._receiver
        if receiver is not None:
            log.warning("code=%d messages not stored; reconnecting for their redelivery",
                        IngestError.code)
            receiver.redeliver()


def _gap_dict(g: Gap) -> dict[str, Any]:
    return {"hall_id": g.hall_id, "device_id": g.device_id, "first": g.first, "last": g.last}


def _nested(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for (hall, kind), n in sorted(counts.items()):
        found.setdefault(hall, {})[kind] = n
    return found
