"""How many windows a service needs: Erlang C (M/M/c), with square-root staffing beside it.

A business type with arrival rate λ and average handling time AHT offers A = λ·AHT erlangs of
work. With c open windows, Erlang C gives the chance a citizen has to wait at all, the mean
wait, and the share served within a target wait (reference B2). The recommendation is the
smallest c that serves 80 % of citizens within the hall's yellow wait threshold while keeping
the windows no more than 85 % busy (reference B4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Share of citizens that must be called within the target wait.
TARGET_SERVICE_LEVEL = 0.8
#: Busier windows than this burn out staff and leave no slack for a surge.
MAX_OCCUPANCY = 0.85
#: A search bound far above any hall; reaching it means the inputs are absurd.
MAX_WINDOWS = 500

OPEN_TEXT = "建议增开{n}个窗口"
MERGE_TEXT = "建议合并窗口，可减少{n}个"


def erlang_c(windows: int, load: float) -> float:
    """Probability that an arriving citizen has to wait, P(wait) = C(c, A).

    Args:
        windows: open windows c.
        load: offered load A = λ·AHT in erlangs.

    Returns:
        The probability in [0, 1]; 1.0 when the windows cannot keep up (A ≥ c).
    """
    if load <= 0:
        return 0.0
    if windows <= load:
        return 1.0
    # Erlang B by its recurrence, then C from B: stable where the factorial form overflows.
    b = 1.0
    for k in range(1, windows + 1):
        b = load * b / (k + load * b)
    return windows * b / (windows - load * (1.0 - b))


@dataclass(frozen=True)
class QueueFigures:
    """Erlang C figures for one window count.

    Attributes:
        windows: open windows c.
        p_wait: probability of waiting at all.
        mean_wait_s: expected wait E[Wq] in seconds (``inf`` when overloaded).
        service_level: P(Wq ≤ target wait).
        occupancy: share of time a window is busy, A / c.
    """

    windows: int
    p_wait: float
    mean_wait_s: float
    service_level: float
    occupancy: float


def queue_figures(
    windows: int, arrivals_per_h: float, aht_s: float, target_wait_s: float
) -> QueueFigures:
    """Erlang C figures for ``windows`` open windows.

    Args:
        windows: open windows c (≥ 1).
        arrivals_per_h: arrival rate λ, citizens per hour.
        aht_s: average handling time in seconds.
        target_wait_s: the wait ``service_level`` is measured against.
    """
    lam = max(arrivals_per_h, 0.0) / 3600.0
    load = lam * aht_s
    c_wait = erlang_c(windows, load)
    spare = windows / aht_s - lam  # cμ − λ: how fast the queue drains
    if spare <= 0:
        return QueueFigures(windows, 1.0, math.inf, 0.0, 1.0 if load else 0.0)
    return QueueFigures(
        windows=windows,
        p_wait=c_wait,
        mean_wait_s=c_wait / spare,
        service_level=1.0 - c_wait * math.exp(-spare * target_wait_s),
        occupancy=load / windows,
    )


def square_root_staffing(load: float, beta: float = 1.0) -> int:
    """The square-root rule c = ⌈A + β·√A⌉ (Halfin–Whitt), a sanity figure beside Erlang C."""
    if load <= 0:
        return 0
    return math.ceil(load + beta * math.sqrt(load) - 1e-9)


@dataclass(frozen=True)
class StaffingAdvice:
    """The recommended window count and how it was reached.

    Attributes:
        windows: smallest c meeting both the service level and the occupancy cap (≥ 1).
        figures: the Erlang C figures at that c.
        load: offered load A in erlangs.
        sqrt_windows: the square-root rule's count with β = 1, for comparison.
    """

    windows: int
    figures: QueueFigures
    load: float
    sqrt_windows: int


def recommend_windows(
    arrivals_per_h: float,
    aht_s: float,
    target_wait_s: float,
    service_level: float = TARGET_SERVICE_LEVEL,
    max_occupancy: float = MAX_OCCUPANCY,
) -> StaffingAdvice:
    """Smallest window count with P(Wq ≤ target) ≥ ``service_level`` and occupancy ≤ cap.

    Args:
        arrivals_per_h: arrival rate λ, citizens per hour.
        aht_s: average handling time in seconds (> 0).
        target_wait_s: the wait citizens should be called within (the yellow threshold).
        service_level: required share called within the target.
        max_occupancy: highest acceptable share of busy time per window.

    Returns:
        The advice; at least one window, since a service on offer needs someone to serve it.

    Raises:
        ValueError: a handling time that is not positive, or no count up to 500 suffices.
    """
    if aht_s <= 0:
        raise ValueError(f"handling time must be positive, got {aht_s}")
    load = max(arrivals_per_h, 0.0) / 3600.0 * aht_s
    for c in range(max(1, math.floor(load)), MAX_WINDOWS + 1):
        figures = queue_figures(c, arrivals_per_h, aht_s, target_wait_s)
        if figures.service_level >= service_level and figures.occupancy <= max_occupancy:
            return StaffingAdvice(c, figures, load, square_root_staffing(load))
    raise ValueError(f"no window count up to {MAX_WINDOWS} serves a load of {load:.1f} erlangs")


@dataclass(frozen=True)
class Recommendation:
    """What a warning tells the hall manager to do.

    Attributes:
        action: ``open`` (增开) or ``merge`` (合并).
        windows: how many windows to open, or how many can be released.
        text: the sentence shown to managers and window leads.
    """

    action: str
    windows: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "windows": self.windows, "text": self.text}


def open_recommendation(
    arrivals_per_h: float,
    aht_s: float,
    target_wait_s: float,
    open_windows: int,
    waiting_count: int,
) -> Recommendation:
    """How many windows to open for a service in a peak warning.

    Erlang C sizes the windows for the arrival rate; the backlog already in the hall needs
    its own capacity on top, since a queue over the threshold does not drain by itself when
    the windows only just match the arrivals. Always at least one: the warning is real.

    Args:
        arrivals_per_h: recent arrival rate λ, citizens per hour.
        aht_s: average handling time in seconds.
        target_wait_s: the yellow wait threshold.
        open_windows: windows serving the service now.
        waiting_count: citizens waiting now.
    """
    steady = _steady_windows(arrivals_per_h, aht_s, target_wait_s)
    backlog = (
        math.ceil(waiting_count * max(aht_s, 0.0) / target_wait_s) if target_wait_s > 0 else 0
    )
    extra = max(1, max(steady, backlog) - open_windows)
    return Recommendation("open", extra, OPEN_TEXT.format(n=extra))


def merge_recommendation(
    arrivals_per_h: float, aht_s: float, target_wait_s: float, open_windows: int
) -> Recommendation:
    """How many windows an idle service can release to other work (at least one).

    Args:
        arrivals_per_h: recent arrival rate λ, citizens per hour.
        aht_s: average handling time in seconds.
        target_wait_s: the yellow wait threshold.
        open_windows: windows serving the service now.
    """
    needed = _steady_windows(arrivals_per_h, aht_s, target_wait_s)
    spare = max(1, open_windows - needed)
    return Recommendation("merge", spare, MERGE_TEXT.format(n=spare))


def _steady_windows(arrivals_per_h: float, aht_s: float, target_wait_s: float) -> int:
    """Erlang C's window count; for inputs it cannot size (no positive handling time, a load
    beyond :data:`MAX_WINDOWS`) the square-root rule, capped there. A warning must always
    carry advice, whatever a hall's data says."""
    try:
        return recommend_windows(arrivals_per_h, aht_s, target_wait_s).windows
    except ValueError:
        load = max(arrivals_per_h, 0.0) / 3600.0 * max(aht_s, 0.0)
        return max(1, min(MAX_WINDOWS, square_root_staffing(load)))
