"""Named hall scenarios: who arrives when, and which windows are staffed."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    """A stretch of a hall day.

    Attributes:
        name: what ``--scenario`` takes.
        day: the business day it runs on (Beijing time).
        start, end: hall-clock "HH:MM" when citizens start and stop arriving.
        arrivals_per_hour: Poisson arrival rate per service code.
        open_windows: windows signed in for the whole scenario.
        no_show: share of called citizens who never come to the window (过号).
    """

    name: str
    day: str
    start: str
    end: str
    arrivals_per_hour: dict[str, float]
    open_windows: tuple[int, ...]
    no_show: float = 0.03
    description: str = ""
    rating_weights: dict[int, float] = field(
        default_factory=lambda: {5: 0.6, 4: 0.25, 3: 0.1, 2: 0.04, 1: 0.01}
    )


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            name="morning-peak",
            day="2026-11-23",
            start="08:30",
            end="11:30",
            # About 236 window-minutes of work arrive each hour for 180 available: the queue
            # grows by roughly a third of an hour every hour.
            arrivals_per_hour={"social": 32.0, "household": 8.0, "business": 3.0},
            open_windows=(1, 2, 3),
            description="Monday morning rush: arrivals outrun the three open windows.",
        ),
        Scenario(
            name="quiet-afternoon",
            day="2026-11-25",
            start="14:00",
            end="17:00",
            arrivals_per_hour={"social": 6.0, "household": 3.0, "business": 2.0},
            open_windows=(1, 2, 3, 4),
            description="Wednesday afternoon: four windows open for a trickle of citizens.",
        ),
    )
}
