"""How many windows a service needs: Erlang C (M/M/c), with square-root staffing beside it.

A business type with arrival rate λ and average handling time AHT offers A = λ·AHT erlangs of
work. With c open windows, Erlang C gives the chance a citizen has to wait at all, the mean
wait, and the share served within a target wait (reference B2). The recommendation is the
smallest c that serves 80 % of citizens within the hall's yellow wait threshold while keeping
the windows no more than 85 % busy (reference B4).

The advice is bounded by the hall: it never asks for more windows than are configured for a
service. Beyond that it names what else the hall can do (延时服务, 预约分流, 自助终端) and why.
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

#: 延时服务 is weighed only this close to closing time: earlier, today's rate says too little
#: about the evening, and there is still time to open windows or divert.
EXTEND_HOURS_WITHIN_S = 2 * 3600.0

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
class Alternative:
    """Advice beyond opening windows, with the reason it is given.

    Attributes:
        action: ``extend_hours`` (延时服务), ``appointments`` (预约分流) or ``kiosk``
            (引导至自助终端).
        text: the advice, e.g. ``延时服务``.
        reason: why, in figures the manager can check.
    """

    action: str
    text: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "text": self.text, "reason": self.reason}


@dataclass(frozen=True)
class Recommendation:
    """What a warning tells the hall manager to do.

    Attributes:
        action: ``open`` (增开), ``merge`` (合并), or ``divert`` (every window the service
            can use is open already: only the alternatives are left).
        windows: how many windows to open, or how many can be released.
        text: the sentence shown to managers and window leads.
        needed: for peaks, the windows Erlang C and the backlog call for in all.
        capacity: for peaks, the windows of the hall that can serve the service.
        alternatives: 延时服务, 预约分流, 自助终端 when the windows cannot be enough.
    """

    action: str
    windows: int
    text: str
    needed: int | None = None
    capacity: int | None = None
    alternatives: tuple[Alternative, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"action": self.action, "windows": self.windows, "text": self.text}
        if self.needed is not None:
            body["needed"] = self.needed
        if self.capacity is not None:
            body["capacity"] = self.capacity
        if self.alternatives:
            body["alternatives"] = [a.to_dict() for a in self.alternatives]
        return body


def open_recommendation(
    arrivals_per_h: float,
    aht_s: float,
    target_wait_s: float,
    open_windows: int,
    waiting_count: int,
    capacity: int | None = None,
    s_to_close: float | None = None,
    kiosk_service: bool = False,
) -> Recommendation:
    """How many windows to open for a service in a peak warning, and what else to do.

    Erlang C sizes the windows for the arrival rate; the backlog already in the hall needs
    its own capacity on top, since a queue over the threshold does not drain by itself when
    the windows only just match the arrivals. The count never exceeds what the hall can open
    (``capacity`` − open). When even every window is not enough, the advice goes on to
    预约分流 (the arrivals or the backlog exceed the windows), 引导至自助终端 (for a service
    the kiosks also offer) and 延时服务 (the citizens expected before closing cannot all be
    served by then), each with its reason.

    Args:
        arrivals_per_h: arrival rate λ, citizens per hour (recent, or the baseline's if higher).
        aht_s: average handling time in seconds.
        target_wait_s: the wait most citizens should be called within (the yellow wait level).
        open_windows: windows serving the service now.
        waiting_count: citizens waiting now.
        capacity: windows of the hall configured for the service; None: no cap (a hall the
            collector has no config for).
        s_to_close: seconds until the hall closes; None: unknown (no 延时服务 advice).
        kiosk_service: the service can also be done at the hall's self-service kiosks.
    """
    steady = _steady_windows(arrivals_per_h, aht_s, target_wait_s)
    backlog = (
        math.ceil(waiting_count * max(aht_s, 0.0) / target_wait_s) if target_wait_s > 0 else 0
    )
    needed = max(steady, backlog, open_windows + 1)
    if capacity is None:
        extra = needed - open_windows
        return Recommendation("open", extra, OPEN_TEXT.format(n=extra), needed=needed)
    extra = max(0, min(needed, capacity) - open_windows)
    alternatives = _alternatives(
        arrivals_per_h, aht_s, target_wait_s, waiting_count, capacity, steady, backlog,
        s_to_close, kiosk_service,
    )  # fmt: skip
    if extra > 0:
        text = OPEN_TEXT.format(n=extra)
        if needed > capacity:
            text += f"（本业务最多可开{capacity}个窗口，按测算需{needed}个）"
    else:
        text = f"本业务{capacity}个窗口已全部开放"
    if alternatives:
        text += "；另建议" + "、".join(a.text for a in alternatives)
    return Recommendation(
        "open" if extra > 0 else "divert", extra, text, needed, capacity, tuple(alternatives)
    )


def _alternatives(
    arrivals_per_h: float,
    aht_s: float,
    target_wait_s: float,
    waiting_count: int,
    capacity: int,
    steady: int,
    backlog: int,
    s_to_close: float | None,
    kiosk_service: bool,
) -> list[Alternative]:
    found: list[Alternative] = []
    minutes = aht_s / 60.0
    closing_soon = s_to_close is not None and s_to_close <= EXTEND_HOURS_WITHIN_S
    if closing_soon and s_to_close is not None and capacity > 0 and aht_s > 0:
        # Who is still to be served today: those waiting plus those expected before closing,
        # against what every window can do by then.
        left = max(s_to_close, 0.0)
        expected = waiting_count + arrivals_per_h * left / 3600.0
        servable = capacity * left / aht_s
        if expected > servable:
            found.append(Alternative(
                "extend_hours", "延时服务",
                f"距闭厅{left / 60:.0f}分钟，预计还有{expected:.0f}人待办，"
                f"全部{capacity}个窗口按平均{minutes:.0f}分钟一件只能办{servable:.0f}人",
            ))  # fmt: skip
    if steady > capacity:
        found.append(Alternative(
            "appointments", "预约分流",
            f"每小时到达约{arrivals_per_h:.0f}人、平均办理{minutes:.0f}分钟，"
            f"需{steady}个窗口才能在{target_wait_s / 60:.0f}分钟内叫号，本业务最多{capacity}个",
        ))  # fmt: skip
    elif backlog > capacity:
        found.append(Alternative(
            "appointments", "预约分流",
            f"已有{waiting_count}人等候，全部{capacity}个窗口办完约需"
            f"{waiting_count * aht_s / capacity / 60:.0f}分钟，超过{target_wait_s / 60:.0f}分钟",
        ))  # fmt: skip
    if kiosk_service and max(steady, backlog) > capacity:
        found.append(Alternative(
            "kiosk", "引导群众到自助终端办理", "该业务可在大厅自助终端办理，可分流部分群众",
        ))  # fmt: skip
    return found


def merge_recommendation(
    arrivals_per_h: float, aht_s: float, target_wait_s: float, open_windows: int
) -> Recommendation:
    """How many windows an idle service can release to other work (zero when none can).

    Args:
        arrivals_per_h: arrival rate λ, citizens per hour: the recent one, or what the
            baseline expects now and in the next slot when that is higher, so windows are
            not released just before the usual afternoon rush.
        aht_s: average handling time in seconds.
        target_wait_s: the yellow wait threshold.
        open_windows: windows serving the service now.
    """
    needed = _steady_windows(arrivals_per_h, aht_s, target_wait_s)
    spare = max(0, open_windows - needed)
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
