"""The collector's side of the end-to-end acknowledgement: publish what it has stored.

After every committed batch the ingest tells :class:`StoredAcks` which hall changed. Per
hall, the watermark message (``core/stored_acks.py``) goes out on
``halledge/v1/<hall>/stored``, retained, QoS 0 (below)::

    {"v": 1, "hall_id": "hall-1", "stored": {"kiosk-1": 1042, "pad-3": 77}}

A device's watermark is the highest seq such that every seq from its floor (or 1) up to it
is stored or dead-lettered; the ingest's :class:`collector.gaps.GapTracker` knows it. It is
computed when the message is built, so it is always the latest.

Publishing is coalesced: the first change of a quiet hall goes out at once, and further
changes within ``interval_s`` (150 ms) of the last message are folded into one message at
the end of that interval, so a burst of batches costs a few messages, not one per batch, and
the last state is always published. A message identical to the last one sent for the hall
is skipped, except after a (re)connect, when every known hall is published again: a broker
that lost its retained store learns them back, and a hall that missed one gets it.

The messages go out with QoS 0. A watermark is the hall's latest state, retained, and only
ever allows a deletion: one lost on the way (the connection broke with it unsent) delays a
deletion until the next message of the hall or the republication on reconnect, and can never
lose an event. QoS 1 bought nothing more and cost a PUBACK from the broker, paho's
bookkeeping and its in-flight window for every message: at province scale every batch is
answered by one watermark message (a hall sends every few seconds, far apart from the
150 ms), and that answer cost a sixth of the collector's CPU (measured in a 1,500-hall
drain). An agent subscribed with QoS 1 takes it as it comes (the broker delivers at the
lower of the two). A round's messages go out in one write
(:meth:`collector.mqtt_receive.MqttReceiver.publish_many`).

Nothing is persisted here: the watermarks follow from the event store (events, dead letters,
floors), so a restarted collector publishes the same ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from core.stored_acks import StoredWatermarks
from core.topics import stored_topic

log = logging.getLogger(__name__)

#: Shortest time between two watermark messages of one hall.
INTERVAL_S = 0.15
#: Shortest time between two watermark rounds, whatever hall is due: each round syncs the
#: store to disk once, and with thousands of halls a new hall is due almost every moment.
ROUND_GAP_S = 0.05


class StoredAcks:
    """Coalesced, retained publication of every hall's stored-watermarks.

    Args:
        watermarks: the watermarks now (``device → seq``) of each hall asked for, read at
            once (one round asks for many halls, and the reader shares a lock with the
            ingest); must be thread-safe.
        halls: every hall with at least one device known.
        interval_s: shortest time between two messages of one hall.
        make_durable: makes everything committed so far survive a power cut
            (:meth:`collector.store.EventStore.make_durable`); called once per round, after
            the round's watermarks are read and before any of them is published.

    Attributes:
        published: watermark messages handed to the MQTT client.
    """

    def __init__(
        self,
        watermarks: Callable[[list[str]], dict[str, dict[str, int]]],
        halls: Callable[[], list[str]],
        interval_s: float = INTERVAL_S,
        make_durable: Callable[[], None] = lambda: None,
    ) -> None:
        self._watermarks = watermarks
        self._halls = halls
        self._make_durable = make_durable
        self.interval_s = interval_s
        self._client: Any = None
        self._cond = threading.Condition()
        self._dirty: set[str] = set()
        self._forced: set[str] = set()
        self._last_at: dict[str, float] = {}
        self._last_sent: dict[str, bytes] = {}
        # Build and publish under one lock, so an older message can never be sent after a
        # newer one of the same hall (the retained one must be the latest).
        self._publish_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.published = 0

    def start(self, client: Any) -> None:
        """Publish through ``client`` from now on: anything with
        ``publish_many([(topic, payload), ...], retain)`` that sends QoS 0 and returns
        False when it could not (an :class:`collector.mqtt_receive.MqttReceiver`)."""
        with self._cond:
            self._client = client
            self._stopping = False
        self._thread = threading.Thread(target=self._run, name="stored-acks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Publish what is pending, then stop the thread; the client is left to its owner."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        # Written before the connection closes (publish_many returns once the socket has
        # taken them); the next connect republishes everything anyway.
        self.flush()
        with self._cond:
            self._client = None

    def changed(self, *halls: str) -> None:
        """These halls' stored state changed (a group committed): one hold of the lock and
        one wake-up for all of them."""
        with self._cond:
            self._dirty.update(halls)
            self._cond.notify_all()

    def republish_all(self) -> None:
        """Send every known hall's watermarks again, soon, even if unchanged: on (re)connect."""
        halls = self._halls()
        with self._cond:
            self._dirty.update(halls)
            self._forced.update(halls)
            for hall in halls:
                self._last_at.pop(hall, None)
            self._cond.notify_all()

    def message(self, hall: str) -> StoredWatermarks:
        """The hall's watermark message as it would be published now."""
        return StoredWatermarks(hall, self._watermarks([hall])[hall])

    def flush(self) -> None:
        """Publish every pending hall now, ignoring the interval."""
        with self._cond:
            due, self._dirty = sorted(self._dirty), set()
            forced, self._forced = self._forced, set()
        self._publish(due, forced)

    # --- internals --------------------------------------------------------------------

    def _run(self) -> None:
        last_round = -ROUND_GAP_S
        while True:
            with self._cond:
                now = time.monotonic()
                if now - last_round < ROUND_GAP_S and not self._stopping:
                    self._cond.wait(ROUND_GAP_S - (now - last_round))
                    continue
                due, wait = self._take_due(time.monotonic())
                if not due:
                    if self._stopping:
                        return
                    self._cond.wait(wait)
                    continue
                forced = self._forced & set(due)
                self._forced -= forced
            last_round = time.monotonic()
            try:
                self._publish(due, forced)
            except Exception:
                # A failing round must not end the thread: the next change retries.
                log.exception("stored watermarks of halls %s not published", due)

    def _take_due(self, now: float) -> tuple[list[str], float | None]:
        """Halls whose interval has passed (taken off the dirty set), and how long until the
        next one is due (None: nothing pending)."""
        due = [h for h in self._dirty if now - self._last_at.get(h, -1e18) >= self.interval_s]
        for hall in due:
            self._dirty.discard(hall)
            self._last_at[hall] = now
        if due or not self._dirty:
            return sorted(due), None
        nearest = min(self._last_at[h] + self.interval_s for h in self._dirty)
        return [], max(0.0, nearest - now)

    def _publish(self, halls: list[str], forced: set[str]) -> None:
        """One round: read the halls' watermarks, make the store durable, publish them."""
        with self._publish_lock:
            client = self._client
            if client is None or not halls:
                return
            marks = self._watermarks(halls)
            payloads = {hall: StoredWatermarks(hall, marks[hall]).encode() for hall in halls}
            payloads = {
                hall: payload
                for hall, payload in payloads.items()
                if hall in forced or self._last_sent.get(hall) != payload
            }
            if not payloads:
                return
            # Read first, sync second: the sync covers every commit the watermarks reflect.
            self._make_durable()
            # QoS 0 (module docstring): while disconnected nothing is sent, and the
            # reconnect republishes every hall.
            if client.publish_many(
                [(stored_topic(hall), payload) for hall, payload in payloads.items()],
                retain=True,
            ):
                self._last_sent.update(payloads)
                self.published += len(payloads)
