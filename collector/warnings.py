"""Tidal-window (潮汐窗口) warnings: red/yellow peaks and idle valleys per service.

Each (hall, service, metric) has a small state machine on the hall clock, in the manner of
Prometheus/Grafana alert rules (reference B3)::

    normal ──value above yellow──▶ pending ──held pending_s──▶ firing(yellow)
    firing(yellow) ──above red, held pending_s──▶ firing(red)
    firing ──below yellow──▶ recovering ──held clear_after_s──▶ normal (clear)
    recovering ──above yellow again──▶ firing (no message)

A red that stays between the two levels for ``clear_after_s`` steps down to yellow. The
engine reports a :class:`Transition` only when the firing level changes, so a warning is
pushed once, not on every evaluation.

The valley warning is separate: a service with at least two windows open whose citizens are
all called at once (nobody has waited ``valley_wait_s``) for ``valley_for_s`` is told it
can merge windows. It clears as soon as fewer than two windows serve it, or when citizens
have waited ``valley_wait_s`` or more for ``pending_s``.

Levels come from a :class:`LevelSource`; :class:`FixedLevels` reads the hall's configured
thresholds, and :class:`collector.baseline.BaselineLevels` the weekly baseline floored by them.
The advice is bounded by the hall (:class:`HallFacts`): opening never asks for more windows
than the hall has for the service, and merging never releases windows the baseline expects
to be needed in the next slot.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from collector.metrics import ServiceSnapshot
from collector.staffing import Recommendation, merge_recommendation, open_recommendation
from core.clock import hall_time
from core.config import HallConfig, Level, Thresholds

#: The peak metrics, as named in warnings and on the wire.
METRICS = ("wait_s", "time_in_hall_s", "waiting_count")
#: The pseudo-metric key under which the valley state of a service is kept.
VALLEY = "valley"
_SEVERITY = {"red": 0, "yellow": 1, "valley": 2}


class LevelSource(Protocol):
    """Where the yellow and red levels for a metric come from."""

    def levels(self, hall: str, service: str, metric: str, at: float) -> Level:
        """The levels in force for ``metric`` of a service at hall time ``at``."""
        ...


@dataclass(frozen=True)
class HallFacts:
    """What the advice needs to know about the hall beyond its queue.

    Attributes:
        capacity: per service, the windows configured to serve it; a service not listed has
            no cap (a hall the collector has no config for).
        closes_at: closing time ``HH:MM``; None: unknown.
        kiosk_services: services the hall's self-service kiosks also offer.
    """

    capacity: dict[str, int] = field(default_factory=dict)
    closes_at: str | None = None
    kiosk_services: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, config: HallConfig, closes_at: str | None = None, kiosk_services: tuple[str, ...] = ()
    ) -> HallFacts:
        capacity = {s.code: sum(1 for w in config.windows if s.code in w.services)
                    for s in config.services}  # fmt: skip
        return cls(capacity, closes_at, frozenset(kiosk_services))

    def s_to_close(self, at: float) -> float | None:
        if self.closes_at is None:
            return None
        now = hall_time(at)
        hh, mm = (int(x) for x in self.closes_at.split(":"))
        close = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        if close < now - timedelta(hours=12):
            return None
        return (close - now).total_seconds()


class FixedLevels:
    """The hall's configured absolute thresholds, the same at every hour."""

    def __init__(self, thresholds: Thresholds) -> None:
        self._thresholds = thresholds

    def levels(self, hall: str, service: str, metric: str, at: float) -> Level:
        return getattr(self._thresholds, metric)


@dataclass(frozen=True)
class Transition:
    """A warning started, changed level, or cleared.

    Attributes:
        level: ``yellow``, ``red``, ``valley`` or ``clear``.
        metric: ``wait_s``, ``time_in_hall_s`` or ``waiting_count``; ``wait_s`` for valleys.
        value: the metric's value when the level changed.
        threshold: the level crossed (for ``clear``: the yellow level, or the valley wait).
        at: hall time of the change.
        recommendation: what to do, for ``yellow``, ``red`` and ``valley``.
        previous: the level before (None when a warning starts).
        basis: where the level came from: ``baseline`` (this weekday slot's quantile) or
            ``promise`` (the hall's configured level); None for valleys and clears.
    """

    hall: str
    service: str
    level: str
    metric: str
    value: float
    threshold: float
    at: float
    recommendation: Recommendation | None = None
    previous: str | None = None
    basis: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "hall": self.hall,
            "service": self.service,
            "level": self.level,
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "at": self.at,
        }
        if self.recommendation is not None:
            body["recommendation"] = self.recommendation.to_dict()
        if self.previous is not None:
            body["previous"] = self.previous
        if self.basis is not None:
            body["basis"] = self.basis
        return body


@dataclass
class _Track:
    """Where one (hall, service, metric) stands. ``*_since`` are hall times, None = not now."""

    level: str | None = None
    raised: Transition | None = None
    above_yellow_since: float | None = None
    above_red_since: float | None = None
    below_yellow_since: float | None = None
    below_red_since: float | None = None

    def state(self) -> str:
        if self.level is None:
            return "pending" if self.above_yellow_since is not None else "normal"
        if self.below_yellow_since is not None:
            return "recovering"
        return f"firing:{self.level}"


@dataclass
class _ValleyTrack:
    firing: bool = False
    raised: Transition | None = None
    idle_since: float | None = None
    busy_since: float | None = None


class TidalWarningEngine:
    """Turns service snapshots into warning transitions.

    Not thread-safe: the caller serialises access.

    Args:
        thresholds: hold times, valley rule, and the levels unless ``levels`` is given.
        levels: where yellow/red levels come from (the weekly baseline, or the config).
        facts: the hall's window capacity, closing time and kiosk services, for the advice.
    """

    def __init__(
        self,
        thresholds: Thresholds,
        levels: LevelSource | None = None,
        facts: HallFacts | None = None,
    ) -> None:
        self.thresholds = thresholds
        self._levels = levels or FixedLevels(thresholds)
        self.facts = facts or HallFacts()
        #: Per (hall, service), one track per metric in :data:`METRICS` order: every
        #: evaluation steps all three, and a key per metric was a tenth of its work.
        self._tracks: dict[tuple[str, str], tuple[_Track, ...]] = {}
        self._valleys: dict[tuple[str, str], _ValleyTrack] = {}
        self._last_at: dict[tuple[str, str], float] = {}

    def evaluate(self, snap: ServiceSnapshot) -> list[Transition]:
        """Advance every state machine of the snapshot's service to ``snap.at``.

        Returns:
            The transitions this evaluation caused; empty when nothing changed level. A
            snapshot older than one already evaluated for the service is ignored.
        """
        key = (snap.hall, snap.service)
        last = self._last_at.get(key)
        if last is not None and snap.at < last:
            return []
        self._last_at[key] = snap.at
        tracks = self._tracks.get(key)
        if tracks is None:
            tracks = self._tracks[key] = tuple(_Track() for _ in METRICS)
        changes = [
            c for m, track in zip(METRICS, tracks)
            if (c := self._step_peak(snap, m, track)) is not None
        ]
        valley = self._step_valley(snap)
        if valley is not None:
            changes.append(valley)
        return changes

    def active(self, hall: str | None = None) -> list[Transition]:
        """The warnings firing now, red first, each as the transition that raised its level."""
        raised = [t.raised for t in self._all_tracks() if t.level is not None and t.raised]
        raised += [v.raised for v in self._valleys.values() if v.firing and v.raised]
        if hall is not None:
            raised = [t for t in raised if t.hall == hall]
        return sorted(raised, key=lambda t: (_SEVERITY[t.level], t.hall, t.service, t.metric))

    def due_at(self) -> float | None:
        """The earliest hall time at which a hold running now ends (a level held for
        ``pending_s``, a fall held for ``clear_after_s``, a valley's idle or busy time): from
        then on an evaluation may raise or clear a warning, if the condition still holds.
        None while no hold runs: a warning can change only after one starts (or, with a
        hold of 0 s, at any evaluation), or, for a valley, when its windows close."""
        th = self.thresholds
        ends: list[float] = []
        for t in self._all_tracks():
            if t.above_red_since is not None and t.level != "red":
                ends.append(t.above_red_since + th.pending_s)
            if t.level is None:
                if t.above_yellow_since is not None:
                    ends.append(t.above_yellow_since + th.pending_s)
                continue
            if t.below_yellow_since is not None:
                ends.append(t.below_yellow_since + th.clear_after_s)
            if t.level == "red" and t.below_red_since is not None:
                ends.append(t.below_red_since + th.clear_after_s)
        for v in self._valleys.values():
            if not v.firing and v.idle_since is not None:
                ends.append(v.idle_since + th.valley_for_s)
            elif v.firing and v.busy_since is not None:
                ends.append(v.busy_since + th.pending_s)
        return min(ends, default=None)

    def states(self, hall: str, service: str) -> dict[str, str]:
        """Each metric's state (``normal``, ``pending``, ``firing:red`` …) for the dashboard."""
        tracks = self._tracks.get((hall, service)) or tuple(_Track() for _ in METRICS)
        found = {m: track.state() for m, track in zip(METRICS, tracks)}
        valley = self._valleys.get((hall, service), _ValleyTrack())
        found[VALLEY] = (
            "firing" if valley.firing else ("pending" if valley.idle_since else "normal")
        )
        return found

    def _all_tracks(self) -> Iterator[_Track]:
        return (t for tracks in self._tracks.values() for t in tracks)

    # --- peaks ------------------------------------------------------------------------

    def _step_peak(self, snap: ServiceSnapshot, metric: str, track: _Track) -> Transition | None:
        value = snap.value(metric)
        t = snap.at
        lv = self._levels.levels(snap.hall, snap.service, metric, t)
        above_yellow, above_red = value > lv.yellow, value > lv.red
        if (
            track.level is None and not above_yellow and not above_red
            and track.above_yellow_since is None and track.above_red_since is None
        ):
            # Quiet and staying quiet, as nearly every service of a province is at any
            # moment: nothing can fire, only the "below" clocks start. The same as the steps
            # below, without them.
            if track.below_yellow_since is None:
                track.below_yellow_since = t
            if track.below_red_since is None:
                track.below_red_since = t
            return None
        track.above_yellow_since = _since(track.above_yellow_since, above_yellow, t)
        track.above_red_since = _since(track.above_red_since, above_red, t)
        track.below_yellow_since = _since(track.below_yellow_since, not above_yellow, t)
        track.below_red_since = _since(track.below_red_since, not above_red, t)

        target = self._peak_target(track, t, above_yellow)
        if target == track.level:
            return None
        threshold = lv.red if target == "red" else lv.yellow
        advice = self._open_advice(snap) if target is not None else None
        basis = getattr(self._levels, "basis", None)
        change = Transition(
            snap.hall,
            snap.service,
            target or "clear",
            metric,
            value,
            threshold,
            t,
            advice,
            track.level,
            (basis(snap.hall, snap.service, metric, t) if basis else "promise") if target else None,
        )
        track.level = target
        track.raised = change if target is not None else None
        return change

    def _peak_target(self, track: _Track, t: float, above_yellow: bool) -> str | None:
        pending, clear = self.thresholds.pending_s, self.thresholds.clear_after_s
        if _held(track.above_red_since, t, pending):
            return "red"
        if track.level is None:
            return "yellow" if _held(track.above_yellow_since, t, pending) else None
        if _held(track.below_yellow_since, t, clear):
            return None
        if track.level == "red" and above_yellow and _held(track.below_red_since, t, clear):
            return "yellow"
        return track.level

    def _open_advice(self, snap: ServiceSnapshot) -> Recommendation:
        # The promise, not the slot's baseline: the advice is about serving citizens within
        # what the hall promised them, whatever this hour usually looks like.
        target_wait = self.thresholds.wait_s.yellow
        return open_recommendation(
            arrivals_per_h=max(snap.arrivals_30m * 2.0, self._expected(snap, 0.0)),
            aht_s=snap.aht_s,
            target_wait_s=target_wait,
            open_windows=len(snap.open_windows),
            waiting_count=snap.waiting_count,
            capacity=self.facts.capacity.get(snap.service),
            s_to_close=self.facts.s_to_close(snap.at),
            kiosk_service=snap.service in self.facts.kiosk_services,
        )

    def _expected(self, snap: ServiceSnapshot, ahead_s: float) -> float:
        """The baseline's arrival rate for the slot ``ahead_s`` from now (0 without one)."""
        expected = getattr(self._levels, "expected_arrivals_per_h", None)
        if expected is None:
            return 0.0
        rate = float(expected(snap.service, snap.at, ahead_s))
        return rate if math.isfinite(rate) else 0.0

    # --- valleys ----------------------------------------------------------------------

    def _step_valley(self, snap: ServiceSnapshot) -> Transition | None:
        th = self.thresholds
        valley_key = (snap.hall, snap.service)
        track = self._valleys.get(valley_key)
        if track is None:
            track = self._valleys[valley_key] = _ValleyTrack()
        t, windows = snap.at, len(snap.open_windows)
        # A walk-in called within the valley wait does not end the valley: with idle windows
        # nobody is really queueing, and a strict "nobody waiting" would reset on every ticket.
        idle = windows >= 2 and snap.wait_s < th.valley_wait_s and snap.waiting_count < windows
        busy = snap.wait_s >= th.valley_wait_s
        track.idle_since = _since(track.idle_since, idle, t)
        track.busy_since = _since(track.busy_since, busy, t)
        if not track.firing:
            if not _held(track.idle_since, t, th.valley_for_s):
                return None
            # Size for the busier of now and the next half hour as the baseline knows them:
            # windows released at 13:50 are missed at the usual 14:00 rush.
            arrivals = max(
                snap.arrivals_30m * 2.0, self._expected(snap, 0.0), self._expected(snap, 1800.0)
            )
            advice = merge_recommendation(arrivals, snap.aht_s, th.wait_s.yellow, windows)
            if advice.windows < 1:
                return None  # idle, but every open window is needed soon: nothing to merge
            change = Transition(
                snap.hall,
                snap.service,
                "valley",
                "wait_s",
                snap.wait_s,
                th.valley_wait_s,
                t,
                advice,
            )
            track.firing, track.raised = True, change
            return change
        if windows >= 2 and not _held(track.busy_since, t, th.pending_s):
            return None
        track.firing, track.raised = False, None
        return Transition(
            snap.hall,
            snap.service,
            "clear",
            "wait_s",
            snap.wait_s,
            th.valley_wait_s,
            t,
            previous="valley",
        )


def _since(since: float | None, condition: bool, t: float) -> float | None:
    if not condition:
        return None
    return t if since is None else since


def _held(since: float | None, t: float, duration: float) -> bool:
    return since is not None and t - since >= duration
