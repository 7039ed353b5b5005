"""The wait on the ticket against ZMS's queue-length estimator, in one simulated hall.

Each run drives :class:`simulation.hall_sim.HallSimulation` (the real kiosk flow, window desks
and :class:`flows.queue.HallQueue` over a hall database) through a scenario. Every ticket the
kiosk issues carries the product's estimate (``ticket.issued``); at the same instant, on the
same queue, the harness computes the baseline that Berlin/Munich's ZMS shows
(``QueueList::withEstimatedWaitingTime``, ``docs/wait-estimate.md``)::

    (people ahead + 1) × the service's configured handling time
        ÷ the signed-in, unpaused windows that serve the service

Both are scored against the waits the queue recorded, through the collector's own fold
(:mod:`collector.wait_accuracy`), so the figures are the ones a hall would report.

Scenarios (:data:`SCENARIOS`): the multi-service morning peak of :mod:`simulation.scenarios`
as it is, and a morning on which windows sign in late, open for the peak, pause and sign out
(:data:`SHIFTS`). Windows no schedule names stay as the scenario staffs them.

The simulation is this project's own model of a hall (log-normal handling times, Poisson
arrivals); the estimator does not know its parameters (it learns handling times from the
queue's history, with the configured ones as a prior), but a real hall's logs remain the test
that matters: ``collector.wait_accuracy`` measures it there.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from collector.wait_accuracy import Estimate, WaitAccuracy, figures
from core.clock import SimClock, at_hall_time
from core.config import HallConfig, load_hall_config
from core.events import Kind
from flows.queue import HallQueue
from flows.screens import Screen
from flows.ticketing import TicketFlow
from flows.wait_estimate import LONG_MIN, rounded_range
from flows.window_desk import WindowDesk
from hallstore import journal
from simulation.devices import FrontOfHouse
from simulation.hall_sim import HallSimulation
from simulation.scenarios import SCENARIOS as HALL_SCENARIOS
from simulation.scenarios import Scenario

#: Seeds the estimator's constants were chosen on; the reported figures use others.
TUNING_SEEDS = (1, 2, 3)
#: Fixed seeds never used while tuning: the comparison's repeatable part.
HELD_OUT_SEEDS = tuple(range(101, 111))


@dataclass(frozen=True)
class Change:
    """A window's staffing change at a hall-clock time: ``open`` (签到), ``close`` (签退),
    ``pause`` (暂停) or ``resume``. A window serving a citizen closes or pauses once done."""

    at: str
    action: str
    window: int


@dataclass(frozen=True)
class WaitScenario:
    """A scenario of :mod:`simulation.scenarios` and the window changes during it."""

    scenario: Scenario
    changes: tuple[Change, ...] = ()

    @property
    def name(self) -> str:
        return self.scenario.name


#: Windows 1 and 2 open at 08:30; 3 signs in late, 4 opens for the business peak (潮汐),
#: 1 takes a 20-minute break, 2 is called away and 4 closes again before noon.
SHIFTS = WaitScenario(
    Scenario(
        name="morning-shifts",
        day="2026-11-24",
        start="08:30",
        end="11:30",
        arrivals_per_hour={"social": 26.0, "household": 8.0, "business": 4.0},
        open_windows=(1, 2),
        description="Tuesday morning: windows sign in late, open for the peak, pause, close.",
    ),
    (
        Change("08:50", "open", 3),
        Change("09:30", "open", 4),
        Change("10:00", "pause", 1),
        Change("10:20", "resume", 1),
        Change("10:40", "close", 2),
        Change("11:00", "close", 4),
    ),
)

SCENARIOS: dict[str, WaitScenario] = {
    "morning-peak": WaitScenario(HALL_SCENARIOS["morning-peak"]),
    SHIFTS.name: SHIFTS,
}


class CompareSimulation(HallSimulation):
    """The hall simulation with window changes, noting ZMS's estimate beside each ticket."""

    def __init__(self, front: FrontOfHouse, clock: SimClock, ws: WaitScenario, seed: int) -> None:
        super().__init__(front, clock, ws.scenario, seed)
        self.queue = front.kiosks[0].queue
        #: ZMS's estimate of each ticket, by ticket number.
        self.zms: dict[str, float] = {}
        self._leaving: dict[int, str] = {}  # window → "close"/"pause" once it is free
        for kiosk in front.kiosks:
            if isinstance(kiosk, _Kiosk):
                kiosk.on_ticket = self._note_zms
        for change in ws.changes:
            self._at(at_hall_time(ws.scenario.day, change.at), "change", change)

    def _note_zms(self, data: dict[str, Any]) -> None:
        """ZMS's queue-length estimate, on the queue as it is when the ticket comes out."""
        hall = self.queue.hall
        service = next(s for s in hall.services if s.name == data["service_name"])
        serving = [w.no for w in hall.windows if service.code in w.services]
        views = [self.queue.window_view(no) for no in serving]
        working = sum(v.is_open and not v.paused for v in views) or len(serving)
        self.zms[data["ticket_no"]] = (data["people_ahead"] + 1) * service.aht_s / working

    def _on_change(self, change: Change) -> None:
        desk = self.hall.desks[change.window]
        if change.action == "open":
            desk.sign_in(f"staff-{change.window}")
            self._at(self.clock.now(), "window_free", change.window)
        elif change.action == "resume":
            desk.resume()
            self._at(self.clock.now(), "window_free", change.window)
        elif change.window in self._idle:
            self._idle.discard(change.window)
            self._leave(change.window, change.action)
        else:
            self._leaving[change.window] = change.action

    def _on_window_free(self, window: int) -> None:
        action = self._leaving.pop(window, None)
        if action is not None:
            self._leave(window, action)
            return
        super()._on_window_free(window)

    def _on_rate(self, window: int) -> None:
        pass  # no rating pads here: ratings do not move anyone's wait

    def _leave(self, window: int, action: str) -> None:
        desk = self.hall.desks[window]
        if action == "close":
            desk.sign_out()
        else:
            desk.pause("休息")


class _Kiosk(TicketFlow):
    """A kiosk flow that reports each ticket it issues (the harness's hook)."""

    on_ticket: Callable[[dict[str, Any]], None] | None = None

    def take(self, service_code: str) -> Screen:
        screen = super().take(service_code)
        if screen.name == "ticket" and self.on_ticket is not None:
            self.on_ticket(screen.data)
        return screen


def run_once(
    ws: WaitScenario, seed: int, hall: HallConfig | None = None
) -> dict[str, list[Estimate]]:
    """One morning: the product's and ZMS's estimates beside the actual waits."""
    hall = hall or load_hall_config()
    windows = tuple(sorted({*ws.scenario.open_windows, *(c.window for c in ws.changes)}))
    product, baseline = WaitAccuracy(), WaitAccuracy()
    with tempfile.TemporaryDirectory(prefix="halledge-wait-") as tmp:
        clock = SimClock(0)
        conn = journal.connect(Path(tmp) / "hall.db")
        # The harness measures accuracy, not durability: spare the shared disk the fsyncs.
        conn.execute("PRAGMA synchronous=OFF")
        try:
            queue = HallQueue(conn, hall, clock)
            kiosks = [_Kiosk(queue, None, k, clock) for k in ("kiosk-1", "kiosk-2")]
            desks = {w: WindowDesk(queue, w, f"pad-{w}", None, None, clock) for w in windows}
            sim = CompareSimulation(FrontOfHouse(list(kiosks), desks), clock, ws, seed)
            sim.run()
            events = [p.event for p in journal.pending(conn, 1_000_000)]
        finally:
            conn.close()
    for event in events:
        product.observe(event)
        if event.kind == Kind.TICKET_ISSUED:
            # The same ticket, told what ZMS would have told it.
            zms = sim.zms[event.data["ticket_no"]]
            data = event.data | {"est_wait_s": zms, "est_wait_low_s": None,
                                 "est_wait_high_s": None}  # fmt: skip
            event = replace(event, data=data)
        baseline.observe(event)
    return {"estimator": product.estimates(), "zms": baseline.estimates()}


def compare(scenario: str, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Both estimators over ``seeds`` mornings of ``scenario``: their figures pooled, and
    per seed the two MAEs."""
    ws = SCENARIOS[scenario]
    pooled: dict[str, list[Estimate]] = {"estimator": [], "zms": []}
    per_seed = []
    for seed in seeds:
        run = run_once(ws, seed)
        for name, es in run.items():
            pooled[name] += es
        per_seed.append({
            "seed": seed,
            "tickets": len(run["estimator"]),
            "estimator_mae_s": figures(run["estimator"])["mae_s"],
            "zms_mae_s": figures(run["zms"])["mae_s"],
        })  # fmt: skip
    ours = figures(pooled["estimator"]) | {"told_late_share": told_late_share(pooled["estimator"])}
    zms = figures(pooled["zms"])
    return {
        "scenario": scenario,
        "seeds": list(seeds),
        "estimator": ours,
        "zms": zms,
        "mae_reduction": _reduction(ours["mae_s"], zms["mae_s"]),
        "under_mae_reduction": _reduction(ours["under_mae_s"], zms["under_mae_s"]),
        "seeds_beaten": sum(s["estimator_mae_s"] < s["zms_mae_s"] for s in per_seed),
        "per_seed": per_seed,
    }


def told_late_share(estimates: list[Estimate]) -> float | None:
    """Share of tickets that waited past the upper end of the range *as printed* (rounded,
    :func:`flows.wait_estimate.rounded_range`); "超过60分钟" has no upper end."""
    ranged = [e for e in estimates if e.low_s is not None and e.high_s is not None]
    if not ranged:
        return None
    late = 0
    for e in ranged:
        low, high = rounded_range(e.low_s or 0.0, e.high_s or 0.0)
        late += low < LONG_MIN and e.actual_s > 60 * min(high, LONG_MIN)
    return round(late / len(ranged), 4)


def _reduction(ours: float | None, baseline: float | None) -> float | None:
    if ours is None or not baseline:
        return None
    return round(1 - ours / baseline, 4)
