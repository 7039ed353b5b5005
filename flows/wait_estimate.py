"""The wait a citizen is told when a ticket comes out: a range, from a replay of the queue.

The usual hall display, people ahead × average handling time ÷ open windows, is wrong in the
ways citizens notice (issue #14): the average of one 16-second service stands for the morning,
windows that sign in but do not call count as serving, and a social-security ticket is told
nothing of the household tickets ahead of it at the windows that serve both. Here the queue
*as it is* is replayed forward instead:

* **who calls whom**: each window that serves now (signed in, not paused, not idle while
  its citizens wait, :data:`IDLE_GRACE_S`) calls, whenever it is free, the first ticket of
  its own call order (the queue hands over each window's waiting tickets in the order
  ``call_next`` would take them: 绿色通道, special groups, appointments, then issue time,
  transfers to a window). So shared windows, other services' tickets ahead and priority
  tickets ahead are counted where they really take a window's time;
* **how long each takes**: per service, the recent window occupancies (call → 办结 or 过号)
  with the configured handling time as a prior worth :data:`PRIOR_WEIGHT` observations, and
  each occupancy clamped to a band around the median so one 16-second slip (or one
  forgotten 办结) cannot drag the estimate (:class:`HandlingTimes`);
* **who is at a window now**: the remaining time of a current service is drawn given how
  long it has already lasted.

The replay runs :data:`REPLAYS` times with handling times drawn from those samples; the range
is the :data:`LOW_Q`–:data:`HIGH_Q` quantiles of the replayed waits, reaching at least
:data:`MIN_BELOW` below and :data:`MIN_ABOVE` above their median (the replay does not know of
breaks or of windows that will open or close), and the point (``est_wait_s``) is its
midpoint. Citizens see it rounded
(:func:`wait_text`): 不到5分钟, 约15–25分钟, 超过60分钟.

Pure: the queue reads the hall database and hands over :class:`Desk` values, so this module
is tested on constructed halls, and the same seed gives the same estimate.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist, fmean, median

#: Replays per estimate: enough for stable 10 %/90 % quantiles, a few milliseconds at a kiosk.
REPLAYS = 80
#: Recent window occupancies per service behind its handling times.
HISTORY = 30
#: The configured handling time counts as this many observations: one odd service among few
#: does not set the morning's pace, and a month of history outweighs a stale configuration.
PRIOR_WEIGHT = 5
#: Spread assumed around the configured handling time (coefficient of variation): wider than a
#: typical service's, since it is a guess until history exists.
PRIOR_CV = 0.5
#: An occupancy counts at most this factor away from the median of the service's samples:
#: a 16-second slip or a 2-hour forgotten 办结 is kept as a plausible bound, not believed.
CLAMP_FACTOR = 4.0
#: Quantiles of the replayed waits that bound the range the citizen is told.
LOW_Q, HIGH_Q = 0.1, 0.9
#: The range reaches at least this share below and above the replays' median: the replay knows
#: the queue, not the breaks, the window that will close or the 绿色通道 ticket that will come,
#: and those lengthen waits more often than they shorten them.
MIN_BELOW, MIN_ABOVE = 0.2, 0.3
#: A window signed in, not serving, with a citizen it serves waiting longer than this and no
#: call or 办结 of its own for as long, is not counted as serving: nobody is at it.
IDLE_GRACE_S = 180.0
#: When a current service has lasted longer than every sample, what is left of it: this share
#: of the mean handling time (it is nearly done, or it is a long one; either way not zero).
OVERRUN_SHARE = 0.25


@dataclass(frozen=True)
class Desk:
    """A window as the replay sees it.

    Attributes:
        window_no: the window.
        calls: the ids of the waiting tickets it may call, in the order it would call them.
        serving: the service of the ticket at it now, or None when it is free.
        serving_for_s: how long that service has lasted.
        counts: whether it serves now (signed in, not paused, not idle while its citizens
            wait); a desk that does not count calls nobody in the replay.
    """

    window_no: int
    calls: tuple[str, ...]
    serving: str | None = None
    serving_for_s: float = 0.0
    counts: bool = True


@dataclass(frozen=True)
class WaitEstimate:
    """What the citizen is told: a range and its midpoint, in seconds."""

    low_s: float
    high_s: float

    @property
    def mid_s(self) -> float:
        return (self.low_s + self.high_s) / 2

    @property
    def text(self) -> str:
        """预计等候… as the kiosk shows it and the ticket prints it."""
        return wait_text(self.low_s, self.high_s)


class HandlingTimes:
    """One service's window occupancy (call → 办结 or 过号), learned with a prior.

    Args:
        prior_s: the configured average handling time (``[[services]] aht_s``).
        samples: recent occupancies in seconds, any order; at most :data:`HISTORY` are used
            by the queue, non-positive ones are ignored.
    """

    def __init__(self, prior_s: float, samples: Iterable[float] = ()) -> None:
        prior_s = max(float(prior_s), 1.0)
        sigma = math.sqrt(math.log(1 + PRIOR_CV**2))
        mu = math.log(prior_s) - sigma**2 / 2
        unit = NormalDist()
        # The prior as PRIOR_WEIGHT evenly spread quantiles of a log-normal around it.
        prior = [
            math.exp(mu + sigma * unit.inv_cdf((i + 0.5) / PRIOR_WEIGHT))
            for i in range(PRIOR_WEIGHT)
        ]
        seen = [float(s) for s in samples if s > 0]
        centre = median(prior + seen)
        lo, hi = centre / CLAMP_FACTOR, centre * CLAMP_FACTOR
        #: What a replay draws from: the prior's points and the clamped observations.
        self.pool: tuple[float, ...] = tuple(sorted(prior + [min(max(s, lo), hi) for s in seen]))
        self.mean_s = fmean(self.pool)
        self.observed = len(seen)

    def draw(self, rng: random.Random) -> float:
        # ``random()`` scaled, not ``choice``: a third of the cost, and a replay draws once
        # per citizen ahead.
        return self.pool[int(rng.random() * len(self.pool))]


def estimate_wait(
    desks: Sequence[Desk],
    ticket_id: str,
    services: Mapping[str, str],
    handling: Mapping[str, HandlingTimes],
    *,
    seed: str | int | None = None,
    replays: int = REPLAYS,
) -> WaitEstimate:
    """How long ``ticket_id`` will wait, replaying the queue ``replays`` times.

    Args:
        desks: every window of the hall that is signed in (those that do not count call
            nobody); when none counts and can call the ticket, the caller passes the
            configured windows instead (:func:`assumed_desks`).
        ticket_id: the ticket just issued (in the ``calls`` of the desks that may call it).
        services: each waiting ticket's service, by id.
        handling: each service's handling times.
        seed: makes the estimate repeatable (the queue passes the ticket's number and time).

    Returns:
        The range. A ticket no counting desk can call gets the replays' longest plausible
        answer: nothing; callers avoid that with :func:`assumed_desks`.
    """
    rng = random.Random(seed)
    serving = [d for d in desks if d.counts]
    if not any(ticket_id in d.calls for d in serving):
        return WaitEstimate(0.0, 0.0)
    if any(d.serving is None and d.calls[:1] == (ticket_id,) for d in serving):
        # A free window calls it next, in every replay: nothing to draw.
        return WaitEstimate(0.0, 0.0)
    # Windows with the same call order share one place in it: what one of them took, the
    # others need not step over again (a hall's windows mostly serve the same services).
    lists: dict[tuple[str, ...], int] = {}
    shared = [lists.setdefault(tuple(d.calls), len(lists)) for d in serving]
    busy = [_Busy.of(d, handling) for d in serving]
    waits = sorted(
        _replay(serving, busy, shared, ticket_id, services, handling, rng)
        for _ in range(replays)
    )
    low, high = _quantile(waits, LOW_Q), _quantile(waits, HIGH_Q)
    middle = _quantile(waits, 0.5)
    low = min(low, middle * (1 - MIN_BELOW))
    high = max(high, middle * (1 + MIN_ABOVE))
    return WaitEstimate(round(max(low, 0.0)), round(max(high, 0.0)))


def assumed_desks(window_calls: Mapping[int, tuple[str, ...]]) -> list[Desk]:
    """Before the windows that serve a ticket have signed in (the hall is about to open),
    the configured ones are assumed to open now, free."""
    return [Desk(no, calls) for no, calls in window_calls.items()]


def is_idle_while_waited_for(
    now: float, last_activity: float, oldest_waiting_issued_at: float | None
) -> bool:
    """A free window whose oldest citizen has waited :data:`IDLE_GRACE_S` while it did
    nothing for as long: staff are not at it, and it does not shorten anyone's wait."""
    if oldest_waiting_issued_at is None:
        return False
    return now - oldest_waiting_issued_at > IDLE_GRACE_S and now - last_activity > IDLE_GRACE_S


@dataclass(frozen=True)
class _Busy:
    """What is left of a desk's current service, drawn in each replay: a draw among the
    occupancies longer than it has lasted (``longer``), less ``elapsed_s``; when none is
    longer, a fixed ``overrun_s``. Worked out once per estimate, not once per replay."""

    longer: tuple[float, ...]
    elapsed_s: float
    overrun_s: float

    @staticmethod
    def of(desk: Desk, handling: Mapping[str, HandlingTimes]) -> _Busy | None:
        times = handling.get(desk.serving) if desk.serving is not None else None
        if times is None:
            return None
        first = bisect.bisect_right(times.pool, desk.serving_for_s)  # the pool is sorted
        return _Busy(times.pool[first:], desk.serving_for_s, OVERRUN_SHARE * times.mean_s)

    def draw(self, rng: random.Random) -> float:
        if not self.longer:
            return self.overrun_s
        return self.longer[int(rng.random() * len(self.longer))] - self.elapsed_s


def _replay(
    desks: Sequence[Desk],
    busy: Sequence[_Busy | None],
    shared: Sequence[int],
    ticket_id: str,
    services: Mapping[str, str],
    handling: Mapping[str, HandlingTimes],
    rng: random.Random,
) -> float:
    """One replay: windows take their next ticket whenever free; when is ``ticket_id`` called.
    ``shared[i]`` numbers desk ``i``'s call order; desks with the same order share a place."""
    free: list[tuple[float, int, int]] = []  # (free at, window, index into desks)
    for i, d in enumerate(desks):
        left = busy[i]
        free.append((0.0 if left is None else left.draw(rng), d.window_no, i))
    heapq.heapify(free)
    taken: set[str] = set()
    next_index = [0] * (max(shared, default=-1) + 1)
    while free:
        at, window_no, i = heapq.heappop(free)
        calls = desks[i].calls
        k = next_index[shared[i]]
        while k < len(calls) and calls[k] in taken:
            k += 1
        next_index[shared[i]] = k + 1
        if k >= len(calls):
            continue  # nothing left it would call: it leaves the replay
        called = calls[k]
        if called == ticket_id:
            return at
        taken.add(called)
        times = handling.get(services.get(called, ""))
        heapq.heappush(free, (at + (times.draw(rng) if times else 0.0), window_no, i))
    return 0.0  # unreachable while a counting desk lists the ticket


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of sorted values."""
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --- what the citizen reads ---------------------------------------------------------------

#: Below this the range is not worth telling: 不到5分钟.
SHORT_MIN = 5
#: From this the range is not worth telling either: 超过60分钟.
LONG_MIN = 60
#: Citizens are told minutes in steps of this many.
STEP_MIN = 5


def rounded_range(low_s: float, high_s: float) -> tuple[int, int]:
    """The range in whole minutes as a person would say it: each end to the nearest
    :data:`STEP_MIN` minutes, at least one step wide."""
    low_m, high_m = max(low_s, 0.0) / 60, max(high_s, low_s, 0.0) / 60
    lo = int(math.floor(low_m / STEP_MIN + 0.5)) * STEP_MIN
    hi = int(math.floor(high_m / STEP_MIN + 0.5)) * STEP_MIN
    return lo, max(hi, lo + STEP_MIN)


def wait_text(low_s: float, high_s: float) -> str:
    """预计等候不到5分钟 / 预计等候约15–25分钟 / 预计等候45分钟以上 / 预计等候超过60分钟."""
    lo, hi = rounded_range(low_s, high_s)
    if hi <= SHORT_MIN:
        return f"预计等候不到{SHORT_MIN}分钟"
    if lo >= LONG_MIN:
        return f"预计等候超过{LONG_MIN}分钟"
    if hi > LONG_MIN:
        return f"预计等候{lo}分钟以上"
    if lo == 0:
        return f"预计等候不到{hi}分钟"
    return f"预计等候约{lo}–{hi}分钟"


def point_text(est_wait_s: float) -> str:
    """The wait from a point alone (a hall box that sends no range): 预计等候约M分钟."""
    minutes = math.ceil(max(est_wait_s, 0.0) / 60)
    if minutes < 1:
        return "预计等候不到1分钟"
    return f"预计等候约{minutes}分钟"
