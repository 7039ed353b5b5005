"""The weekly baseline (以周为单位): what each service's queue usually looks like in each
weekday time slot, from the hall's own stored events.

For one hall, every business day of the last ``weeks`` weeks (today left out) is rebuilt with
the live metrics' own code (:class:`collector.metrics.HallMetrics`, fed that day's ticket
events) and read every :data:`SAMPLE_STEP_S` while the hall was open, so a baseline reading
means exactly what a live reading means: ``wait_s`` (issued → called, with the oldest waiting
ticket's age), ``time_in_hall_s`` (issued → finished) and ``waiting_count``. The readings of a
(service, metric, weekday, slot) over the weeks give its quantiles; arrivals per slot give
the rate the staffing advice expects.

Left out: holidays and make-up working days (:mod:`collector.holidays`), and, per service,
every day before the latest change point of its daily arrivals or waits
(:mod:`collector.change_points`). A slot with readings from fewer than ``min_days`` days has
no quantiles: the cold-start rule gives it the hall's promise (:class:`BaselineLevels`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import fmean
from typing import Any

from collector.change_points import deseasonalised, latest_change
from collector.holidays import HolidayCalendar
from collector.metrics import HallMetrics
from collector.tidal_config import TidalSettings
from core.clock import business_day, hall_time
from core.config import HallConfig, Level, Thresholds
from core.events import Event, Kind

#: Hall seconds between two readings of a past day.
SAMPLE_STEP_S = 300.0
METRICS = ("wait_s", "time_in_hall_s", "waiting_count")


@dataclass(frozen=True)
class SlotLevels:
    """The baseline of one (service, metric, weekday, slot).

    Attributes:
        yellow, red: the yellow and red quantiles of the readings.
        days: how many days the readings come from.
        samples: how many readings.
    """

    yellow: float
    red: float
    days: int
    samples: int


@dataclass
class BaselineTable:
    """One hall's baseline, as computed on ``business_day``.

    Attributes:
        levels: by (service, metric, weekday 0=Monday, slot).
        arrivals_per_h: mean arrivals per hour by (service, weekday, slot).
        since: per service, the first day used when a change point cut the history.
        days_used: per service, how many days the baseline rests on.
        skipped_days: holidays and make-up days left out of the window.
    """

    hall: str
    business_day: str
    computed_at: float
    slot_min: int
    levels: dict[tuple[str, str, int, int], SlotLevels] = field(default_factory=dict)
    arrivals_per_h: dict[tuple[str, int, int], float] = field(default_factory=dict)
    since: dict[str, str] = field(default_factory=dict)
    days_used: dict[str, int] = field(default_factory=dict)
    skipped_days: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What the dashboard and the CLI say about the baseline."""
        return {
            "business_day": self.business_day,
            "computed_at": self.computed_at,
            "slot_min": self.slot_min,
            "slots": len(self.levels),
            "since": dict(self.since),
            "days_used": dict(self.days_used),
            "skipped_days": list(self.skipped_days),
        }


def slot_of(at: float, slot_min: int) -> tuple[int, int]:
    """(weekday, slot) of a hall time."""
    t = hall_time(at)
    return t.weekday(), (t.hour * 60 + t.minute) // slot_min


def compute_baseline(
    config: HallConfig,
    events: Iterable[Event],
    today: str,
    settings: TidalSettings,
    calendar: HolidayCalendar,
    computed_at: float,
) -> BaselineTable:
    """The baseline of one hall from its stored events.

    Args:
        config: the hall (its services and configured handling times).
        events: the hall's stored events, any order, any kinds; only ticket events are read.
        today: the business day computed on; the window is the ``weeks`` weeks before it.
        settings: window, slot, quantiles, cold start.
        calendar: the days to skip.
        computed_at: when (for the record).
    """
    first = (date.fromisoformat(today) - timedelta(weeks=settings.weeks)).isoformat()
    by_day: dict[str, list[Event]] = defaultdict(list)
    skipped: set[str] = set()
    for event in events:
        if event.kind not in Kind.TICKETS:
            continue
        issued = event.data.get("issued_at")
        if not isinstance(issued, (int, float)) or not math.isfinite(issued):
            continue
        day = business_day(float(issued))
        if not first <= day < today:
            continue
        if calendar.is_irregular(day):
            skipped.add(day)
            continue
        by_day[day].append(event)

    readings: dict[str, _DayReadings] = {
        day: _read_day(config, by_day[day], settings.slot_min) for day in sorted(by_day)
    }
    table = BaselineTable(
        config.hall_id, today, computed_at, settings.slot_min, skipped_days=sorted(skipped)
    )
    services = sorted({s for r in readings.values() for s in r.services} |
                      {s.code for s in config.services})  # fmt: skip
    for service in services:
        days = _days_after_change(readings, service)
        if len(days) < len(readings):
            table.since[service] = days[0] if days else today
        table.days_used[service] = len(days)
        _fill(table, readings, days, service, settings)
    return table


@dataclass
class _DayReadings:
    weekday: int
    services: set[str] = field(default_factory=set)
    #: (service, metric, slot) -> readings
    values: dict[tuple[str, str, int], list[float]] = field(default_factory=dict)
    #: (service, slot) -> tickets issued
    arrivals: dict[tuple[str, int], int] = field(default_factory=dict)
    #: slots the hall was open in
    open_slots: set[int] = field(default_factory=set)


def _read_day(config: HallConfig, events: list[Event], slot_min: int) -> _DayReadings:
    metrics = HallMetrics({config.hall_id: config})
    times: list[float] = []
    for event in events:
        metrics.observe(event)
        for key in ("issued_at", "called_at", "finished_at"):
            value = event.data.get(key)
            if isinstance(value, (int, float)):
                times.append(float(value))
    start = min(times)
    out = _DayReadings(weekday=hall_time(start).weekday())
    for event in events:
        if event.kind == Kind.TICKET_ISSUED:
            service = str(event.data.get("service"))
            _, slot = slot_of(float(event.data["issued_at"]), slot_min)
            out.arrivals[(service, slot)] = out.arrivals.get((service, slot), 0) + 1
    services = metrics.services(config.hall_id)
    out.services.update(services)
    t = math.floor(start / SAMPLE_STEP_S) * SAMPLE_STEP_S
    end = max(times)
    while t <= end:
        _, slot = slot_of(t, slot_min)
        out.open_slots.add(slot)
        for service in services:
            snap = metrics.snapshot(config.hall_id, service, t)
            for metric in METRICS:
                out.values.setdefault((service, metric, slot), []).append(snap.value(metric))
        t += SAMPLE_STEP_S
    return out


def _days_after_change(readings: dict[str, _DayReadings], service: str) -> list[str]:
    """The days of the window from the service's latest change point on (all if none)."""
    days = sorted(readings)
    weekdays = [readings[d].weekday for d in days]
    arrivals = [float(sum(n for (s, _), n in readings[d].arrivals.items() if s == service))
                for d in days]  # fmt: skip
    waits = [
        fmean(vs) if (vs := [v for (s, m, _), values in readings[d].values.items()
                             if s == service and m == "wait_s" for v in values]) else 0.0
        for d in days
    ]  # fmt: skip
    cut = 0
    for series in (arrivals, waits):
        scale = fmean(abs(v) for v in series) if series else 0.0
        found = latest_change(deseasonalised(series, weekdays), scale=scale)
        if found is not None:
            cut = max(cut, found)
    return days[cut:]


def _fill(
    table: BaselineTable,
    readings: dict[str, _DayReadings],
    days: list[str],
    service: str,
    settings: TidalSettings,
) -> None:
    pooled: dict[tuple[str, int, int], list[float]] = defaultdict(list)
    pooled_days: dict[tuple[str, int, int], set[str]] = defaultdict(set)
    arrivals: dict[tuple[int, int], list[float]] = defaultdict(list)
    per_hour = 60.0 / settings.slot_min
    for day in days:
        r = readings[day]
        for (s, metric, slot), values in r.values.items():
            if s == service:
                pooled[(metric, r.weekday, slot)].extend(values)
                pooled_days[(metric, r.weekday, slot)].add(day)
        for slot in r.open_slots:
            arrivals[(r.weekday, slot)].append(r.arrivals.get((service, slot), 0) * per_hour)
    for (metric, weekday, slot), values in pooled.items():
        n_days = len(pooled_days[(metric, weekday, slot)])
        if n_days < settings.min_days:
            continue  # cold start for this slot: the promise decides
        values.sort()
        table.levels[(service, metric, weekday, slot)] = SlotLevels(
            quantile(values, settings.yellow_quantile),
            quantile(values, settings.red_quantile),
            n_days,
            len(values),
        )
    for (weekday, slot), rates in arrivals.items():
        if len(rates) >= settings.min_days:
            table.arrivals_per_h[(service, weekday, slot)] = fmean(rates)


def quantile(ordered: list[float], q: float) -> float:
    """The q-quantile of sorted values, interpolating linearly (numpy's default)."""
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


class BaselineLevels:
    """The warning levels of a slot: baseline quantiles floored by the hall's promise.

    yellow = max(yellow quantile, promised yellow); red = max(red quantile, promised red,
    that yellow). A slot still in cold start (too few days), a holiday or make-up day, and a
    hall without a baseline yet all get the promise itself. Implements
    :class:`collector.warnings.LevelSource`.

    Args:
        promise: the hall's service promise (its configured ``[thresholds]``).
        settings: slot length (the table's own is used when it differs).
        calendar: irregular days.
    """

    def __init__(
        self, promise: Thresholds, settings: TidalSettings, calendar: HolidayCalendar
    ) -> None:
        self.promise = promise
        self.settings = settings
        self.calendar = calendar
        self.table: BaselineTable | None = None

    def levels(self, hall: str, service: str, metric: str, at: float) -> Level:
        floor: Level = getattr(self.promise, metric)
        if self.table is None:
            return floor  # a new hall, the usual case at every evaluation until its first week
        found = self._slot(service, metric, at)
        if found is None:
            return floor
        yellow = max(found.yellow, floor.yellow)
        return Level(yellow, max(found.red, floor.red, yellow))

    def basis(self, hall: str, service: str, metric: str, at: float) -> str:
        """``baseline`` when the slot's quantiles set a level, else ``promise``."""
        floor: Level = getattr(self.promise, metric)
        found = self._slot(service, metric, at)
        if found is None or (found.yellow <= floor.yellow and found.red <= floor.red):
            return "promise"
        return "baseline"

    def expected_arrivals_per_h(self, service: str, at: float, ahead_s: float = 0.0) -> float:
        """The baseline's arrival rate for the slot of ``at + ahead_s`` (0 when unknown)."""
        table = self.table
        if table is None or self.calendar.is_irregular_at(at + ahead_s):
            return 0.0
        weekday, slot = slot_of(at + ahead_s, table.slot_min)
        return table.arrivals_per_h.get((service, weekday, slot), 0.0)

    def _slot(self, service: str, metric: str, at: float) -> SlotLevels | None:
        table = self.table
        if table is None or self.calendar.is_irregular_at(at):
            return None
        weekday, slot = slot_of(at, table.slot_min)
        return table.levels.get((service, metric, weekday, slot))
