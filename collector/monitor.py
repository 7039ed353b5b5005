"""Metrics plus warning engines behind one lock: what the collector knows about each hall.

The MQTT network thread feeds events in, a timer thread re-evaluates as the hall clock moves,
and the dashboard's HTTP threads read; all go through :class:`HallMonitor`'s lock. Nothing here
speaks MQTT, so the dashboard and the tests can use it on its own.

One hall cannot take the others down: each event is folded in, and each hall evaluated, inside
its own ``try``; a failure is logged with the hall id and code 500 (``IngestError``), counted
in :attr:`HallMonitor.failures`, and the next hall goes on.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

from collector.baseline import BaselineLevels, BaselineTable
from collector.holidays import HolidayCalendar
from collector.metrics import HallMetrics
from collector.tidal_config import CollectorHallSettings
from collector.warnings import HallFacts, TidalWarningEngine, Transition
from core.clock import hall_time
from core.config import HallConfig, Thresholds
from core.errors import IngestError
from core.events import SCHEMA_VERSION, Event, Kind

log = logging.getLogger(__name__)

#: Hall-time step between evaluations when rebuilding state from stored events.
REPLAY_STEP_S = 30.0
#: The kinds that change what the warning machines look at (a service's queue, a window).
_QUEUE_KINDS = Kind.TICKETS | Kind.WINDOWS


class HallMonitor:
    """Per-hall metrics and tidal-window warnings, safe to share between threads.

    Args:
        halls: hall configurations by hall id. A hall not listed is still watched, with the
            default thresholds and the services its events mention.
        settings: per hall, the collector's ``[tidal]`` and ``[notify]`` settings; defaults
            for a hall not listed.
    """

    def __init__(
        self,
        halls: dict[str, HallConfig],
        settings: dict[str, CollectorHallSettings] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._configs = dict(halls)
        self._settings = dict(settings or {})
        self._levels: dict[str, BaselineLevels] = {}
        self._metrics = HallMetrics(self._configs)
        self._engines: dict[str, TidalWarningEngine] = {}
        self._calendars: dict[tuple[str, ...], HolidayCalendar] = {}
        self._evaluated_at: dict[str, float] = {}
        #: Per hall with a hold running, the hall time it ends (as of its last evaluation).
        self._due_at: dict[str, float] = {}
        self._transitions: list[Transition] = []
        #: Per hall, events that could not be folded in and evaluations that failed.
        self.failures: Counter[str] = Counter()
        #: Per hall, stored events a replay left out (a time no clock can show).
        self.replay_skipped: Counter[str] = Counter()

    @property
    def transitions(self) -> list[Transition]:
        """Every transition raised so far (including clears), oldest first."""
        with self._lock:
            return list(self._transitions)

    def halls(self) -> list[str]:
        """Configured halls first, then halls known only from their events."""
        with self._lock:
            known = list(self._configs)
            return known + [h for h in self._metrics.halls() if h not in self._configs]

    def config_halls(self) -> list[str]:
        """The halls with a configuration, in the order given."""
        return list(self._configs)

    def hall_clock(self, hall: str) -> float | None:
        """The hall's event-time watermark (latest event time seen), or None before any."""
        with self._lock:
            return self._metrics.watermark(hall)

    def observe(self, events: Iterable[Event]) -> dict[str, list[Transition]]:
        """Fold events in, evaluating each hall at its watermark after each run of its
        events (consecutive events of one hall: a message, or messages of one hall that
        were stored one after the other), and within a run whenever hall time moves on by
        :data:`REPLAY_STEP_S`. The warning machines sample their conditions at every
        evaluation: a run evaluated only at its end would start a pending period at the
        end of a gap instead of its start.

        Returns:
            The transitions raised, by hall; halls without a change are left out.
        """
        with self._lock:
            found: dict[str, list[Transition]] = {}
            hall: str | None = None
            queue_moved = False
            for event in events:
                if event.hall_id != hall:
                    if hall is not None and (queue_moved or self._sample_due(hall)):
                        found.setdefault(hall, []).extend(self.evaluate(hall))
                    hall, queue_moved = event.hall_id, False
                else:
                    # A run that spans hall time (a backlog, or several messages stored in
                    # one group) is sampled every REPLAY_STEP_S, as a replay is: a queue
                    # that was over its level before the gap starts its pending period then.
                    clock = self._metrics.watermark(hall)
                    if clock is not None and event.at >= clock + REPLAY_STEP_S:
                        found.setdefault(hall, []).extend(self.evaluate(hall))
                self._fold(event)
                if event.kind in _QUEUE_KINDS:
                    queue_moved = True
            if hall is not None and (queue_moved or self._sample_due(hall)):
                found.setdefault(hall, []).extend(self.evaluate(hall))
            return {h: t for h, t in found.items() if t}

    def _sample_due(self, hall: str) -> bool:
        """After a run of events that left the hall's queues and windows as they were (a
        device's health, a kiosk's transaction, a rating): whether the warning machines
        must sample the hall anyway, because its clock moved on by a replay's step since
        they last did (waits age) or a running hold ended. Otherwise nothing they look at
        changed. (In the province bench's mix a tenth of the evaluations; in a real hall,
        whose devices report health every minute, most of them.)"""
        clock = self._metrics.watermark(hall)
        last = self._evaluated_at.get(hall)
        if clock is None or last is None or clock >= last + REPLAY_STEP_S:
            return True
        due = self._due_at.get(hall)
        return due is not None and due <= clock

    def due_by(self, times: dict[str, float]) -> set[str]:
        """The halls among ``times`` (hall → a hall time, the latest of its events about to
        be folded in) whose running hold (:meth:`TidalWarningEngine.due_at`) ends by then:
        the evaluation after those events may raise or clear a warning. The collector folds
        these halls' events first."""
        with self._lock:
            due_at = self._due_at
            return {h for h, t in times.items() if (end := due_at.get(h)) is not None
                    and end <= max(t, self._evaluated_at.get(h, t))}  # fmt: skip

    def due(self, now: float | None = None) -> list[str]:
        """The halls whose running hold has ended by ``now`` on their clock (the later of
        ``now`` and their watermark): evaluated now, they may raise or clear a warning.
        Between its passes over every hall, the collector's timer evaluates these."""
        with self._lock:
            return [h for h, end in self._due_at.items()
                    if (at := self._clock_for(h, now)) is not None and end <= at]  # fmt: skip

    def replay(self, events: Iterable[Event], step_s: float = REPLAY_STEP_S) -> int:
        """Rebuild metrics and warning states from stored events, e.g. after a restart.

        The warning state machines need time to pass (pending, clear-after), so the events
        are folded in hall-time order and every hall is evaluated each ``step_s`` of hall
        time, as if they had arrived live. The transitions found on the way are not new and
        are not recorded; only the resulting states (and :meth:`active`) are kept.

        Every step takes at least one event, so the replay ends for any stored value. An
        event whose time no clock can show (not finite, before 1970, after 9999) is left out
        and counted in :attr:`replay_skipped`.

        Returns:
            How many events were left out.
        """
        kept: list[Event] = []
        skipped: Counter[str] = Counter()
        for event in events:
            if _showable(event.at):
                kept.append(event)
            else:
                skipped[event.hall_id] += 1
        ordered = sorted(kept, key=lambda e: e.at)
        with self._lock:
            self.replay_skipped.update(skipped)
            start = 0
            while start < len(ordered):
                until = ordered[start].at + step_s
                end = start + 1
                while end < len(ordered) and ordered[end].at < until:
                    end += 1
                chunk = ordered[start:end]
                for event in chunk:
                    self._fold(event)
                for hall in sorted({e.hall_id for e in chunk}):
                    self._evaluate_contained(hall, None)
                start = end
        for hall, n in skipped.items():
            log.warning("replay of hall %s left out %d events with impossible times", hall, n)
        return sum(skipped.values())

    def evaluate(self, hall: str, now: float | None = None) -> list[Transition]:
        """Run the hall's warning engine on every service at ``now``.

        Args:
            hall: the hall id.
            now: hall time; the watermark by default. Never earlier than the watermark or a
                previous evaluation: the hall clock only moves forward.

        Returns:
            The transitions this evaluation raised.
        """
        with self._lock:
            raised = self._evaluate_contained(hall, now)
            self._transitions.extend(raised)
            return raised

    def set_baseline(self, hall: str, table: BaselineTable) -> None:
        """Warn with this baseline from now on (a nightly recomputation, or one loaded)."""
        with self._lock:
            self._engine(hall)
            self._levels[hall].table = table

    def baseline(self, hall: str) -> BaselineTable | None:
        with self._lock:
            levels = self._levels.get(hall)
            return None if levels is None else levels.table

    def settings(self, hall: str) -> CollectorHallSettings:
        return self._settings.get(hall) or CollectorHallSettings()

    def config(self, hall: str) -> HallConfig | None:
        return self._configs.get(hall)

    def active(self, hall: str) -> list[Transition]:
        """The warnings firing in a hall now, red first."""
        with self._lock:
            engine = self._engines.get(hall)
            return [] if engine is None else engine.active(hall)

    def warning_message(self, hall: str) -> dict[str, Any]:
        """The retained payload for ``halledge/v1/<hall>/warnings`` (docs/topics.md)."""
        with self._lock:
            return {
                "v": SCHEMA_VERSION,
                "hall": hall,
                "at": self._evaluated_at.get(hall, self._metrics.watermark(hall)),
                "warnings": [t.to_dict() for t in self.active(hall)],
            }

    def state(self, hall: str) -> dict[str, Any]:
        """Everything the manager dashboard shows for one hall, JSON-ready.

        The figures are taken at the hall time of the last evaluation, so the page and the
        warnings always describe the same moment.
        """
        with self._lock:
            config = self._configs.get(hall)
            at = self._evaluated_at.get(hall, self._metrics.watermark(hall))
            names = {s.code: s.name for s in config.services} if config else {}
            body: dict[str, Any] = {
                "hall": hall,
                "name": config.name if config else hall,
                "at": at,
                "clock": hall_time(at).strftime("%Y-%m-%d %H:%M:%S") if at is not None else None,
                "warnings": [
                    t.to_dict() | {"service_name": names.get(t.service, t.service)}
                    for t in self.active(hall)
                ],
            }
            if at is None:
                return body | {"totals": None, "services": []}
            snapshot = self._metrics.hall_snapshot(hall, at).to_dict()
            engine = self._engine(hall)
            levels = self._levels[hall]
            for service in snapshot["services"]:
                code = service["service"]
                service["name"] = names.get(code, code)
                service["states"] = engine.states(hall, code)
                service["levels"] = {
                    m: {"yellow": lv.yellow, "red": lv.red,
                        "basis": levels.basis(hall, code, m, at)}  # fmt: skip
                    for m in ("wait_s", "time_in_hall_s", "waiting_count")
                    if (lv := levels.levels(hall, code, m, at))
                }
            baseline = levels.table
            return body | {
                "baseline": baseline.summary() if baseline is not None else None,
                "totals": {k: v for k, v in snapshot.items() if k != "services"},
                "services": snapshot["services"],
            }

    # --- internals --------------------------------------------------------------------

    def _fold(self, event: Event) -> None:
        try:
            self._metrics.observe(event)
        except Exception as err:
            self._failed(event.hall_id, f"event {event.event_id} not folded in", err)

    def _evaluate_contained(self, hall: str, now: float | None) -> list[Transition]:
        try:
            return self._evaluate(hall, now)
        except Exception as err:
            self._failed(hall, "evaluation failed", err)
            return []

    def _failed(self, hall: str, what: str, err: Exception) -> None:
        self.failures[hall] += 1
        failure = IngestError(f"hall {hall}: {what}: {err!r}", hall=hall)
        log.error("code=%d hall=%s %s", failure.code, hall, failure, exc_info=err)

    def _evaluate(self, hall: str, now: float | None) -> list[Transition]:
        at = self._clock_for(hall, now)
        if at is None:
            return []
        self._evaluated_at[hall] = at
        engine = self._engine(hall)
        raised: list[Transition] = []
        for snapshot in self._metrics.snapshots(hall, at):
            raised.extend(engine.evaluate(snapshot))
        due_at = engine.due_at()
        if due_at is None:
            self._due_at.pop(hall, None)
        else:
            self._due_at[hall] = due_at
        return raised

    def _engine(self, hall: str) -> TidalWarningEngine:
        engine = self._engines.get(hall)
        if engine is None:
            config = self._configs.get(hall)
            tidal = self.settings(hall).tidal
            promise = config.thresholds if config else Thresholds()
            calendar = self._calendars.get(tidal.holidays)
            if calendar is None:
                # One per set of extra days, not per hall: building one parses every date of
                # the national list, and a province brings 24,000 halls.
                calendar = self._calendars[tidal.holidays] = HolidayCalendar(extra=tidal.holidays)
            levels = BaselineLevels(promise, tidal, calendar)
            facts = (
                HallFacts.of(config, tidal.closes_at, tidal.kiosk_services)
                if config
                else HallFacts(closes_at=tidal.closes_at)
            )
            engine = TidalWarningEngine(promise, levels, facts)
            self._levels[hall] = levels
            self._engines[hall] = engine
        return engine

    def _clock_for(self, hall: str, now: float | None) -> float | None:
        at = self._metrics.watermark(hall)
        if at is None:
            return None  # nothing known about the hall yet: nothing to warn about
        # The latest of the watermark, the last evaluation and ``now``.
        last = self._evaluated_at.get(hall)
        if last is not None and last > at:
            at = last
        if now is not None and now > at:
            at = now
        return at


def hall_runs(events: list[Event]) -> list[list[Event]]:
    """``events`` cut into runs: consecutive events of one hall. :meth:`HallMonitor.observe`
    evaluates a hall at the end of each run, so observing the runs one by one, in any order
    that keeps each hall's runs in theirs, evaluates every hall exactly as observing
    ``events`` at once would (the halls share nothing)."""
    runs: list[list[Event]] = []
    hall: str | None = None
    for event in events:
        if event.hall_id != hall:
            hall = event.hall_id
            runs.append([])
        runs[-1].append(event)
    return runs


#: Epoch seconds of 9999-12-31, the last time ``datetime`` can show.
_LAST_SHOWABLE = 253402300799.0


def _showable(at: float) -> bool:
    return math.isfinite(at) and 0.0 <= at <= _LAST_SHOWABLE
