"""The collector service: ingest → metrics → tidal-window warnings → retained MQTT warnings.

Every stored batch is evaluated at once on its hall's clock (the event-time watermark), so an
accelerated simulation raises the same warnings as a real morning. With a live clock, a timer
also re-evaluates between batches: a queue that nobody touches still ages, and a hold that
ends while its hall sends nothing is warned within half a second.

Whenever a hall's warnings change, the hall's full list of active warnings is published to
``halledge/v1/<hall_id>/warnings`` with QoS 1 and the retain flag, so a PAD that connects
late sees the current state at once (``docs/topics.md``).

Each warning transition and each 差评 is also texted to the people configured for it
(``collector/alerts.py``, ``collector/notify.py``), and each 差评 is kept for its follow-up
(``collector/rating_followup.py``). The weekly baseline behind the warning levels is loaded
at start and recomputed in the background when a hall's business day turns
(``collector/baseline.py``).

Nothing one hall sends can stop another: the ingest dead-letters what does not pass
(``collector/ingest.py``), each hall is evaluated on its own (``collector/monitor.py``), the
restart replay leaves out stored events whose times are not believable, and the dashboard
state is built hall by hall, a hall that fails showing as unavailable.
"""

from __future__ import annotations

import gc
import json
import logging
import queue
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from collector.alerts import bad_rating_messages, warning_messages
from collector.baseline import compute_baseline
from collector.baseline_store import BaselineStore
from collector.dead_letters import UNKNOWN_HALL
from collector.holidays import HolidayCalendar
from collector.ingest import Ingestor, drain
from collector.ingest_process import IngestProcess
from collector.kpis import DayEvents, KpiInputs, availability, day_kpis, live_floor
from collector.monitor import HallMonitor, hall_runs
from collector.notify import GatewayClient, Notifier
from collector.platform_totals import PlatformTotals
from collector.presence import PresenceListener, PresenceView
from collector.rating_followup import BadRating, BadRatingDesk, bad_rating_of
from collector.store import EventStore
from collector.tidal_config import CollectorHallSettings
from collector.warnings import Transition
from core.clock import Clock, business_day
from core.config import HallConfig
from core.errors import BrokerUnavailable, IngestError, MalformedMessage
from core.events import TIME_WINDOW, Event, TimeWindow, validate_event
from core.mqtt import ConnectionStatus, MqttAuth, watched_client
from core.topics import warnings_topic

log = logging.getLogger(__name__)

#: Seconds of real time between timer evaluations of every hall when a live clock is given.
EVAL_INTERVAL_S = 5.0
#: And between those of the halls whose running hold has ended (:meth:`HallMonitor.due`): a
#: hold that ends while the hall sends nothing is warned this late at most, not at the next
#: pass over a province (5 s, plus 1-6 s for the pass at 24,000 halls).
DUE_INTERVAL_S = 0.5
#: Real seconds between checks whether a hall's baseline is due (its business day turned).
BASELINE_CHECK_S = 60.0
#: Most halls one ``/api/kpis`` answers (a wall screen shows one hall, a few at most).
KPI_MAX_HALLS = 16
#: Groups of new events the ingest may hand over before it waits for the fold thread: the
#: backlog between storing and metrics stays bounded (at most this many groups of up to
#: ``GROUP_MAX_MESSAGES`` messages), and a slow fold holds the broker's delivery back
#: instead of growing memory.
FOLD_BACKLOG_GROUPS = 64
_STOP = object()
#: A 差评 found in the store at start-up (stored, but the collector stopped before telling
#: anyone) is texted only if it is this recent; older ones are kept for follow-up silently.
LATE_RATING_NOTICE_S = 24 * 3600.0
#: A full collection of Python's cycle collector that stalled the process this long makes
#: the fold freeze what survived it (:class:`_LongLivedState`).
GC_FREEZE_AFTER_S = 0.05


class _LongLivedState:
    """Keeps a province's state out of Python's full garbage collections.

    A full collection walks every tracked object and holds the GIL meanwhile, so it stops
    every thread of the collector, ingest tail, fold and publisher alike: 0.57-1.02 s at
    8,000 halls on the loaded 2-core machine (24,000 halls' metrics and warning machines
    alone are a million objects), and it comes back each time the state has grown by a
    quarter. After a full collection that took :data:`GC_FREEZE_AFTER_S` or longer, the
    fold freezes what survived it (``gc.freeze``): that is the long-lived state, and later
    full collections walk only what came after. Frozen objects are still freed when nothing
    refers to them; only a reference cycle among them would wait, until the last service
    of the process stops and unfreezes them (a test's or a tool's small process seldom
    collects that slowly; if it does, the same holds).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._services = 0
        self._began = 0.0
        self._due = False
        self._frozen = False

    def attach(self) -> None:
        with self._lock:
            if self._services == 0:
                gc.callbacks.append(self._watch)
            self._services += 1

    def detach(self) -> None:
        with self._lock:
            self._services -= 1
            if self._services > 0:
                return
            gc.callbacks.remove(self._watch)
            self._due = False
            if self._frozen:
                gc.unfreeze()  # a stopped service's state must be collectable
                self._frozen = False

    def _watch(self, phase: str, info: dict[str, Any]) -> None:
        # Runs inside the collector, on whichever thread allocated: note the time only.
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        elif time.perf_counter() - self._began >= GC_FREEZE_AFTER_S:
            self._due = True

    def settle(self) -> None:
        """Freeze what the last slow full collection left alive (the fold, between rounds)."""
        if not self._due:
            return
        with self._lock:
            if self._due and self._services:
                self._due = False
                gc.freeze()
                self._frozen = True
                log.info("%d long-lived objects frozen out of full collections",
                         gc.get_freeze_count())  # fmt: skip


_long_lived = _LongLivedState()


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
        eval_interval_s: real seconds between timer evaluations of every hall; a hall whose
            hold has ended is evaluated within :data:`DUE_INTERVAL_S`.
        client_id: the ingest session name; the publisher uses it with ``-warnings``.
        auth: the collector's broker credentials and TLS, for all its connections;
            anonymous plain TCP when None.
        window: which event times the ingest and the restart replay believe, against the
            wall clock (``docs/topics.md``, "Limits").
        settings: per hall, ``[tidal]`` and ``[notify]`` of its config file.
        baseline_check_s: real seconds between checks whether a baseline is due; None
            computes baselines only when :meth:`refresh_baselines` is called (tests).
        ingest_process: run the ingest in a process of its own
            (:class:`collector.ingest_process.IngestProcess`), so a province's collector
            folds on a second core while the ingest stores on one; ``ingestor`` is then
            read over a pipe.
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
        settings: dict[str, CollectorHallSettings] | None = None,
        baseline_check_s: float | None = BASELINE_CHECK_S,
        ingest_process: bool = False,
    ) -> None:
        self.host = host
        self.auth = auth
        self.port = port
        self.clock = clock
        self.eval_interval_s = eval_interval_s
        self.monitor = HallMonitor(halls, settings)
        self.store = EventStore(store_path)
        self.baselines = BaselineStore(store_path)
        self.ratings = BadRatingDesk(store_path)
        self.notifier = Notifier(
            store_path,
            {
                hall: GatewayClient(s.notify.gateway, s.notify.channel)
                for hall, s in (settings or {}).items()
                if s.notify.gateway
            },
        )
        self.baseline_check_s = baseline_check_s
        self._baseline_thread: threading.Thread | None = None
        ingest = IngestProcess if ingest_process else Ingestor
        self.ingestor: Any = ingest(
            self.store, host, port, on_events=self._hand_over, client_id=client_id, auth=auth,
            window=window,
        )
        # Stored events reach metrics, warnings, KPIs and 差评 on a thread of their own: the
        # ingest's thread stores and acknowledges only; the fold takes what piled up
        # meanwhile, in store order.
        self._fold_queue: queue.Queue[Any] = queue.Queue(maxsize=FOLD_BACKLOG_GROUPS)
        self._fold_thread: threading.Thread | None = None
        # 差评 are kept on a thread of their own, behind the fold (see _keep_ratings).
        self._ratings_queue: queue.Queue[Any] = queue.Queue(maxsize=FOLD_BACKLOG_GROUPS)
        self._ratings_thread: threading.Thread | None = None
        self._unfolded = 0
        self._folded = threading.Condition()
        self.presence = PresenceView()
        #: Today's events per hall for the live KPIs (the wall screen), and the platform's
        #: daily totals next to the database (the denominator of 自助机办件率).
        self.today = DayEvents(self.store.events_since)
        self.platform_totals = PlatformTotals.beside(store_path)
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
        for hall in dict.fromkeys([*self.monitor.halls(), *self.store.halls()]):
            table = self.baselines.load(hall)
            if table is not None:
                self.monitor.set_baseline(hall, table)
        self._replay()
        self.notifier.start()
        if self.baseline_check_s is not None:
            self._baseline_thread = threading.Thread(
                target=self._keep_baselines, name="collector-baseline", daemon=True
            )
            self._baseline_thread.start()
        self._start_publisher()
        for hall in self.monitor.halls():
            self._publish(hall)  # replace whatever a previous run left retained
        self._ratings_thread = threading.Thread(
            target=self._keep_ratings_thread, name="collector-ratings", daemon=True
        )
        self._ratings_thread.start()
        self._fold_thread = threading.Thread(target=self._fold, name="collector-fold", daemon=True)
        _long_lived.attach()
        self._fold_thread.start()
        self.ingestor.start()
        self._presence_listener.start()
        if self.clock is not None:
            self._stopping.clear()
            self._timer = threading.Thread(target=self._tick, name="collector-timer", daemon=True)
            self._timer.start()

    def wait_ready(self, timeout: float) -> bool:
        """Block until the warning publisher is connected and the ingest subscribed."""
        return self._connected.wait(timeout) and self.ingestor.wait_subscribed(timeout)

    def wait_folded(self, timeout: float) -> bool:
        """Block until every event stored so far is in the metrics, the warnings (evaluated
        and published), the KPIs and the 差评. Returns False on timeout."""
        deadline = time.monotonic() + timeout
        if not self.ingestor.wait_handed_on(timeout):
            return False
        with self._folded:
            return self._folded.wait_for(
                lambda: self._unfolded == 0, max(0.0, deadline - time.monotonic())
            )

    def stop(self) -> None:
        """Stop the timer, the ingest and the publisher; close the store."""
        self._stopping.set()
        if self._timer is not None:
            self._timer.join(timeout=30)
            self._timer = None
        if self._baseline_thread is not None:
            self._baseline_thread.join(timeout=60)
            self._baseline_thread = None
        # The ingest first: what it still hands on (a 差评 to keep and send) must find the
        # ratings, baselines and notifier open.
        self.ingestor.stop()
        if self._fold_thread is not None:
            self._fold_queue.put(_STOP)
            self._fold_thread.join(timeout=60)
            self._fold_thread = None
            _long_lived.detach()
        if self._ratings_thread is not None:
            self._ratings_queue.put(_STOP)
            self._ratings_thread.join(timeout=60)
            self._ratings_thread = None
        self._presence_listener.stop()
        self.notifier.stop()
        self.ratings.close()
        self.baselines.close()
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

    def kpi_state(self, halls: list[str] | None = None) -> dict[str, Any]:
        """The KPIs of its current business day, its floor plan with each window's state
        and its trends against the baseline, for each hall asked (the wall screen's
        ``/api/kpis?hall=…``; by default the configured halls, at most
        :data:`KPI_MAX_HALLS`). Only halls a screen asks for are followed
        (:class:`DayEvents`): a province's 24,000 halls are never built per poll. A hall
        whose KPIs cannot be built shows as unavailable beside the others; a hall the
        collector does not know shows with no day."""
        if halls is None:
            halls = list(self.monitor.config_halls())
        return {"v": 1, "halls": [self._hall_kpis(h) for h in halls[:KPI_MAX_HALLS]]}

    def _hall_kpis(self, hall: str) -> dict[str, Any]:
        try:
            watermark = self.monitor.hall_clock(hall)
            if watermark is None:
                return {"hall": hall, "day": None, "floor": live_floor(
                    hall, self.monitor.config(hall), [], None)}  # fmt: skip
            self.today.follow(hall, business_day(watermark), time.monotonic())
            day = self.today.day(hall) or business_day(watermark)
            clock = [t for t in (watermark, self.clock.now() if self.clock else None)
                     if t is not None]  # fmt: skip
            until = max(clock)

            def build() -> dict[str, Any]:
                config = self.monitor.config(hall)
                events = self.today.events(hall)
                inputs = KpiInputs(
                    config=config,
                    baseline=self.monitor.baseline(hall),
                    bad_ratings=[r.to_dict() for r in self.ratings.listing(hall, limit=1000)],
                    platform=self.platform_totals.load(hall, day),
                    presence=[d for d in self.presence.devices() if d["hall"] == hall],
                )
                body = day_kpis(hall, day, events, inputs, until)
                body["availability"] = availability(body["devices"])
                body["floor"] = live_floor(hall, config, events, until)
                return body

            return self.today.cached(hall, time.monotonic(), build)
        except Exception as err:
            self._failed(hall, "KPIs not built", err)
            return {"hall": hall, "error": "state_unavailable", "code": IngestError.code}

    def save_platform_totals(self, hall: str, day: str, body: dict[str, Any]) -> dict[str, Any]:
        """Keep the platform's totals of a day (``PUT /api/platform-totals/<hall>/<day>``).

        Raises:
            ValueError: not a known hall, a day, or ``{"items": {item: count}}``.
        """
        if hall not in self.monitor.halls():
            raise ValueError(f"unknown hall {hall!r}")
        saved = self.platform_totals.save(hall, day, body)
        self.today.invalidate(hall)
        return {"hall": hall, "day": day, "items": len(saved.items)}

    def follow_up(self, rating_id: int, state: str, by: str, note: str = "") -> dict[str, Any]:
        """Move a bad rating's follow-up on (the dashboard's POST, the CLI).

        Raises:
            BadRatingNotFound (521), FollowUpInvalid (520).
        """
        return self.ratings.step(rating_id, state, by, note, time.time()).to_dict()

    def refresh_baselines(self, force: bool = False) -> list[str]:
        """Recompute the baseline of every hall whose business day turned since its last one
        (every hall with ``force``), save it and warn with it. Returns the halls recomputed."""
        done: list[str] = []
        live = self.clock.now() if self.clock is not None else None
        for hall in self.monitor.halls():
            config = self.monitor.config(hall)
            clock = [t for t in (self.monitor.hall_clock(hall), live) if t is not None]
            if config is None or not clock:
                continue
            today = business_day(max(clock))
            known = self.monitor.baseline(hall)
            if not force and known is not None and known.business_day == today:
                continue
            try:
                tidal = self.monitor.settings(hall).tidal
                table = compute_baseline(
                    config, self.store.all_events(hall), today, tidal,
                    HolidayCalendar(extra=tidal.holidays), time.time(),
                )  # fmt: skip
                self.baselines.save(table)
                self.monitor.set_baseline(hall, table)
                done.append(hall)
                log.info("baseline of hall %s recomputed for %s: %s", hall, today,
                         table.summary())  # fmt: skip
            except Exception as err:
                self._failed(hall, "baseline not recomputed", err)
        return done

    def evaluate(self, halls: Iterable[str] | None = None) -> None:
        """Evaluate these halls (every hall by default) now (hall clock, or the live clock if
        later) and publish changes."""
        live = self.clock.now() if self.clock is not None else None
        for hall in self.monitor.halls() if halls is None else halls:
            try:
                raised = self.monitor.evaluate(hall, live)
                if raised:
                    self._notify_warnings(hall, raised)
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
            self.today.observe(kept)
            # A 差评 stored while the collector was stopping: keep it, and text it if recent.
            recent = now - LATE_RATING_NOTICE_S
            for rating in self.ratings.record(kept):
                if rating.rated_at >= recent:
                    self._notify_rating(rating)

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
            body["bad_ratings"] = [r.to_dict() for r in self.ratings.listing(hall, limit=50)]
            body["bad_rating_counts"] = self.ratings.counts(hall)
            # The page is for the hall's managers; the audit's full numbers stay in the database.
            body["notifications"] = [
                m | {"address": _masked(m["address"])} for m in self.notifier.audit(hall, limit=20)
            ]
        except Exception as err:
            self._failed(hall, "follow-up and audit not read", err)
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

    def _hand_over(self, events: list[Event]) -> None:
        """The ingest's hook (its thread, after each commit): queue the new events for the
        fold thread; waits while :data:`FOLD_BACKLOG_GROUPS` groups are already queued."""
        with self._folded:
            self._unfolded += 1
        if self._fold_thread is None:
            self._fold_round([events])  # not started (tests, tools): fold at once
            return
        self._fold_queue.put(events)

    def _fold(self) -> None:
        """The fold thread: take every group queued and fold them, in the order stored."""
        while True:
            groups, stop = drain(self._fold_queue, _STOP)
            if groups:
                self._fold_round(groups)
            if stop:
                return

    def _fold_round(self, groups: list[list[Event]]) -> None:
        try:
            self._fold_groups(groups)
        except Exception:
            # The events are stored; a bug here must not end the thread (each hall's own
            # failures are contained and counted by the monitor already).
            log.exception("code=%d events not folded in", IngestError.code)
        finally:
            _long_lived.settle()
            with self._folded:
                self._unfolded -= len(groups)
                self._folded.notify_all()

    def _fold_groups(self, groups: list[list[Event]]) -> None:
        """Fold groups of new events (each one commit, in store order) into today's KPIs,
        the metrics and warnings, and hand them to the 差评 desk.

        A hall is evaluated after each run of its events (:meth:`HallMonitor.observe`), and
        a group's end ends its runs: the warning machines sample at evaluations, so these
        points stay where they were. The runs are folded one by one, first those of the
        halls whose running hold (a pending period, a clear's wait) ends by the time of their
        new events (:meth:`HallMonitor.due_by`), and a hall's warning list is published as
        soon as a run of it raised something: a warning that is due waits neither for the
        other halls of its group nor for the groups queued behind it (at province scale,
        thousands of events).
        """
        for group in groups:
            self.today.observe(group)
        runs = [run for group in groups for run in hall_runs(group)]
        latest: dict[str, float] = {}
        for run in runs:
            hall, at = run[0].hall_id, max(e.at for e in run)
            latest[hall] = max(at, latest.get(hall, at))
        due = self.monitor.due_by(latest)
        if due:
            runs = [r for r in runs if r[0].hall_id in due] + [
                r for r in runs if r[0].hall_id not in due]  # fmt: skip
        for run in runs:
            for hall, raised in self.monitor.observe(run).items():
                self._notify_warnings(hall, raised)
                try:
                    self._publish(hall)
                except Exception as err:
                    self._failed(hall, "warnings not published", err)
        for group in groups:
            self._keep_ratings(group)

    def _keep_ratings(self, events: list[Event]) -> None:
        """Hand the 差评 among new events to the desk: on a thread of its own once started.
        The desk commits to the database the ingest writes, and waiting there for the
        ingest's write lock and for the disk (up to 0.6 s a commit at province scale) held
        up the warnings of every group behind it."""
        bad = [e for e in events if bad_rating_of(e) is not None]
        if not bad:
            return
        if self._ratings_thread is None:
            self._record_ratings(bad)
            return
        with self._folded:
            self._unfolded += 1
        self._ratings_queue.put(bad)

    def _keep_ratings_thread(self) -> None:
        """The 差评 thread: record what piled up meanwhile in one commit, in store order."""
        while True:
            groups, stop = drain(self._ratings_queue, _STOP)
            try:
                if groups:
                    self._record_ratings([e for group in groups for e in group])
            finally:
                with self._folded:
                    self._unfolded -= len(groups)
                    self._folded.notify_all()
            if stop:
                return

    def _record_ratings(self, events: list[Event]) -> None:
        try:
            for rating in self.ratings.record(events):
                self._notify_rating(rating)
        except Exception as err:
            self._failed(events[0].hall_id if events else "?", "bad ratings not kept", err)

    def _names(self, hall: str) -> tuple[str, dict[str, str]]:
        config = self.monitor.config(hall)
        if config is None:
            return hall, {}
        return config.name, {s.code: s.name for s in config.services}

    def _notify_warnings(self, hall: str, raised: list[Transition]) -> None:
        book = self.monitor.settings(hall).notify.recipients
        hall_name, services = self._names(hall)
        try:
            self.notifier.enqueue(
                m for t in raised
                for m in warning_messages(t, book, hall_name, services.get(t.service, t.service))
            )  # fmt: skip
        except Exception as err:
            self._failed(hall, "warning messages not kept", err)

    def _notify_rating(self, rating: BadRating) -> None:
        book = self.monitor.settings(rating.hall).notify.recipients
        hall_name, services = self._names(rating.hall)
        service = services.get(rating.service or "", rating.service)
        try:
            self.notifier.enqueue(bad_rating_messages(rating, book, hall_name, service))
        except Exception as err:
            self._failed(rating.hall, "bad-rating message not kept", err)

    def _keep_baselines(self) -> None:
        interval = self.baseline_check_s or BASELINE_CHECK_S
        while True:
            try:
                self.refresh_baselines()
            except Exception:
                log.exception("baseline round failed")
            if self._stopping.wait(interval):
                return

    def _tick(self) -> None:
        # Every hall each eval_interval_s (a queue nobody touches still ages into a hold),
        # and in between, each DUE_INTERVAL_S, only the halls whose hold has ended.
        every_at = time.monotonic() + self.eval_interval_s
        while not self._stopping.wait(min(DUE_INTERVAL_S, self.eval_interval_s)):
            try:
                if time.monotonic() >= every_at:
                    self.evaluate()
                    every_at = time.monotonic() + self.eval_interval_s
                else:
                    self.evaluate(self.monitor.due(self.clock.now() if self.clock else None))
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


def _masked(address: str) -> str:
    """13812345678 → 138****5678."""
    return address[:3] + "****" + address[-4:] if len(address) >= 11 else address
