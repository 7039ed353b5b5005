"""The collector service: ingest → metrics → tidal-window warnings → retained MQTT warnings.

Every stored batch is evaluated at once on its hall's clock (the event-time watermark), so an
accelerated simulation raises the same warnings as a real morning. With a live clock, a timer
also re-evaluates between batches: a queue that nobody touches still ages.

Whenever a hall's warnings change, the hall's full list of active warnings is published to
``halledge/v1/<hall_id>/warnings`` with QoS 1 and the retain flag, so a PAD that connects
late sees the current state at once (``docs/topics.md``).

Nothing one hall sends can stop another: the ingest dead-letters what does not pass
(``collector/ingest.py``), each hall is evaluated on its own (``collector/monitor.py``), the
restart replay leaves out stored events whose times are not believable, and the dashboard
state is built hall by hall, a hall that fails showing as unavailable.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from collector.dead_letters import UNKNOWN_HALL
from collector.ingest import Ingestor
from collector.monitor import HallMonitor
from collector.presence import PresenceListener, PresenceView
from collector.store import EventStore
from collector.warnings import Transition
from core.clock import Clock
from core.config import HallConfig
from core.errors import BrokerUnavailable, IngestError, MalformedMessage
from core.events import TIME_WINDOW, Event, TimeWindow, validate_event
from core.mqtt import ConnectionStatus, MqttAuth, watched_client
from core.topics import warnings_topic

log = logging.getLogger(__name__)

#: Seconds of real time between timer evaluations when a live clock is given.
EVAL_INTERVAL_S = 5.0


class CollectorService:
    """The running collector for a set of halls.

    Args:
        store_path: the collector's event database (created if missing).
        host: MQTT broker address.
        port: MQTT broker port.
        halls: hall configurations by hall id (thresholds, services, windows).
        clock: a live clock (wall clock, or a simulation's SimClock); when given, warnings
            are also re-evaluated every ``eval_interval_s`` seconds at
            max(watermark, clock.now()).
        eval_interval_s: real seconds between timer evaluations.
        client_id: the ingest session name; the publisher uses it with ``-warnings``.
        auth: the collector's broker credentials and TLS, for all its connections;
            anonymous plain TCP when None.
        window: which event times the ingest and the restart replay believe, against the
            wall clock (``docs/topics.md``, "Limits").
    """

    def __init__(
        self,
        store_path: Path | str,
        host: str,
        port: int,
        halls: dict[str, HallConfig],
        clock: Clock | None = None,
        eval_interval_s: float = EVAL_INTERVAL_S,
        client_id: str = "halledge-collector",
        auth: MqttAuth | None = None,
        window: TimeWindow = TIME_WINDOW,
    ) -> None:
        self.host = host
        self.auth = auth
        self.port = port
        self.clock = clock
        self.eval_interval_s = eval_interval_s
        self.monitor = HallMonitor(halls)
        self.store = EventStore(store_path)
        self.ingestor = Ingestor(
            self.store, host, port, on_events=self._on_events, client_id=client_id, auth=auth,
            window=window,
        )
        self.presence = PresenceView()
        self._presence_listener = PresenceListener(
            self.presence, host, port, client_id=f"{client_id}-presence", auth=auth
        )
        self._publisher_id = f"{client_id}-warnings"
        self._publisher: Any = None
        #: The warning publisher's connection: ``.last_error`` is 410, 470 or 471 when it fails.
        self.warnings_status = ConnectionStatus("warning publisher", host, port, log)
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._timer: threading.Thread | None = None
        self._publish_lock = threading.Lock()
        self.published = 0

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Rebuild state from the store, then connect publisher and ingest in the background."""
        self._replay()
        self._start_publisher()
        for hall in self.monitor.halls():
            self._publish(hall)  # replace whatever a previous run left retained
        self.ingestor.start()
        self._presence_listener.start()
        if self.clock is not None:
            self._stopping.clear()
            self._timer = threading.Thread(target=self._tick, name="collector-timer", daemon=True)
            self._timer.start()

    def wait_ready(self, timeout: float) -> bool:
        """Block until the warning publisher is connected and the ingest subscribed."""
        return self._connected.wait(timeout) and self.ingestor.wait_subscribed(timeout)

    def stop(self) -> None:
        """Stop the timer, the ingest and the publisher; close the store."""
        self._stopping.set()
        if self._timer is not None:
            self._timer.join(timeout=30)
            self._timer = None
        self.ingestor.stop()
        self._presence_listener.stop()
        if self._publisher is not None:
            self._publisher.disconnect()
            self._publisher.loop_stop()
            self._publisher = None
        self.store.close()
        self.ingestor.telemetry.close()

    def __enter__(self) -> CollectorService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- reading ----------------------------------------------------------------------

    @property
    def transitions(self) -> list[Transition]:
        """Every warning transition raised so far (yellow, red, valley, clear), oldest first.

        Each has ``hall, service, level, metric, value, at`` (and ``to_dict()`` for JSON).
        """
        return self.monitor.transitions

    def state(self, hall: str) -> dict[str, Any]:
        """The dashboard's view of one hall (see :meth:`HallMonitor.state`)."""
        return self.monitor.state(hall)

    def dashboard_state(self) -> dict[str, Any]:
        """Every hall, for the dashboard's ``/api/state``; a hall whose state cannot be built
        shows as unavailable (``error``, code 500) and the others still show."""
        return {
            "v": 1,
            "halls": [self._hall_state(h) for h in self._dashboard_halls()],
            "devices": self.presence.devices(),
            "ingest": self.ingestor.counters(),
        }

    def evaluate(self) -> None:
        """Evaluate every hall now (hall clock, or the live clock if later) and publish changes."""
        live = self.clock.now() if self.clock is not None else None
        for hall in self.monitor.halls():
            try:
                if self.monitor.evaluate(hall, live):
                    self._publish(hall)
            except Exception as err:
                # monitor.evaluate contains its own failures; this is the publishing.
                self._failed(hall, "warnings not published", err)

    # --- internals --------------------------------------------------------------------

    def _replay(self) -> None:
        """Fold in what the store already holds, so a restarted collector knows the morning.

        Every stored event goes through the ingest's checks again: events stored by an older
        collector with times that are not believable (not finite, far in the future or the
        past) are left out and counted, so they can neither hang the replay nor move a
        hall's clock.
        """
        now = self.ingestor.clock.now()
        for hall in dict.fromkeys([*self.monitor.halls(), *self.store.halls()]):
            kept: list[Event] = []
            for wire in self.store.stored_payloads(hall):
                try:
                    checked = validate_event(
                        json.loads(wire), hall_id=hall, now=now, window=self.ingestor.window,
                        wire=wire,
                    )
                    kept.append(checked.event)
                except (ValueError, RecursionError, MalformedMessage):
                    self.monitor.replay_skipped[hall] += 1
            skipped = self.monitor.replay_skipped[hall]
            if skipped:
                log.warning(
                    "replay of hall %s: %d stored events left out (times or values not"
                    " believable)", hall, skipped,
                )
            self.monitor.replay(kept)

    def _dashboard_halls(self) -> list[str]:
        halls = [*self.monitor.halls(), *self.ingestor.known_halls()]
        halls += [h for h in self.store.dead_letter_counts() if h != UNKNOWN_HALL]
        return list(dict.fromkeys(halls))

    def _hall_state(self, hall: str) -> dict[str, Any]:
        try:
            body = self.monitor.state(hall)
        except Exception as err:
            self._failed(hall, "dashboard state not built", err)
            body = {
                "hall": hall, "name": hall, "at": None, "clock": None, "warnings": [],
                "totals": None, "services": [], "error": "state_unavailable",
                "code": IngestError.code,
            }
        try:
            body["ingest"] = self.ingestor.hall_counters(hall) | {
                "replay_skipped": self.monitor.replay_skipped[hall],
                "failures": self.monitor.failures[hall],
            }
        except Exception as err:
            self._failed(hall, "ingest counters not read", err)
        return body

    def _failed(self, hall: str, what: str, err: Exception) -> None:
        failure = IngestError(f"hall {hall}: {what}: {err!r}", hall=hall)
        log.error("code=%d hall=%s %s", failure.code, hall, failure, exc_info=err)

    def _on_events(self, events: list[Event]) -> None:
        for hall in self.monitor.observe(events):
            try:
                self._publish(hall)
            except Exception as err:
                self._failed(hall, "warnings not published", err)

    def _tick(self) -> None:
        while not self._stopping.wait(self.eval_interval_s):
            try:
                self.evaluate()
            except Exception:
                # The timer must outlive one bad evaluation; the next batch retries anyway.
                log.exception("timer evaluation failed")

    def _start_publisher(self) -> None:
        status = self.warnings_status
        client = watched_client(status, self._publisher_id, self.auth, connection="warnings")
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.on_connect = lambda c, u, f, rc, p: status.connack(rc) and self._connected.set()
        client.on_disconnect = lambda c, u, f, rc, p: (self._connected.clear(), status.closed())
        self._publisher = client
        try:
            client.connect_async(self.host, self.port, keepalive=30)
        except (OSError, ValueError) as err:
            raise BrokerUnavailable(
                f"cannot reach {self.host}:{self.port}", port=self.port
            ) from err
        client.loop_start()

    def _publish(self, hall: str) -> None:
        # One lock around build-and-publish: the ingest thread and the timer must not
        # overtake each other, or an older list could become the retained one.
        with self._publish_lock:
            body = self.monitor.warning_message(hall)
            if self._publisher is None:
                return
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            # paho queues QoS 1 messages while disconnected and sends them on reconnect.
            self._publisher.publish(warnings_topic(hall), payload, qos=1, retain=True)
            self.published += 1
