"""Simulated citizens and window staff driving a real hall queue on an accelerated clock.

A discrete-event simulation: citizens arrive as a Poisson process per service and take tickets
at the kiosks; each staffed window calls the next ticket when it is free, serves it for a
log-normally distributed time around the service's handling time, sometimes meets a no-show
(recall, then 过号), and after 办结 the citizen may press a key on the rating pad. Every action
goes through the real flows and devices (:mod:`simulation.devices`): tickets are printed as
ESC/POS bytes on simulated USB printers, calls go to the call display, ratings come back from
the pads, so the journal, the publisher and the collector see exactly what a real hall would
produce.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.clock import SimClock, at_hall_time
from hardware_sim import simulator_of
from simulation.devices import FrontOfHouse
from simulation.scenarios import Scenario

#: How long staff at an idle window take to call a citizen who just took a ticket.
STAFF_REACTION_S = 10.0
#: In real time (the demo), how often staff at an idle window look for someone to call: people
#: also take tickets at the kiosk by hand, and the simulation does not see those arrive.
IDLE_LOOK_S = 5.0
#: A no-show is recalled after this long and skipped after twice this long.
NO_SHOW_RECALL_S = 30.0
#: After arrivals stop, windows keep serving everyone holding a ticket, up to this long.
OVERTIME_LIMIT_S = 4 * 3600.0
#: Spread of handling times: sigma of the underlying normal of the log-normal.
SERVICE_SIGMA = 0.35
RATING_SHARE = 0.8
#: How long after 办结 a citizen who rates presses the key (hall seconds).
RATING_DELAY_S = 15.0
#: Real seconds to wait for a pad to show a request before giving up on that rating.
PAD_WAIT_S = 2.0


class StopSimulation(Exception):
    """Raised by a pace function to end a run early (the demo's shutdown)."""


@dataclass
class SimStats:
    tickets_issued: int = 0
    tickets_printed: int = 0
    print_failures: int = 0
    display_failures: int = 0
    tickets_served: int = 0
    tickets_skipped: int = 0
    ratings: int = 0
    max_wait_s: float = 0.0
    total_wait_s: float = 0.0
    calls: int = 0
    sim_start: float = 0.0
    sim_end: float = 0.0

    @property
    def mean_wait_s(self) -> float:
        return self.total_wait_s / self.calls if self.calls else 0.0


class HallSimulation:
    """Runs one scenario through a hall's kiosks and window desks.

    Args:
        hall: the kiosks and desks (their queue's clock must be ``clock``); desks for every
            window the scenario staffs.
        clock: the simulated hall clock this simulation advances.
        scenario: who arrives when and which windows are staffed.
        seed: random seed; the same seed gives the same morning.
        idle_look_s: when set, staff at an idle window also look for a ticket this often,
            so tickets issued outside the simulation (a person at the kiosk) are called too.
            Off in accelerated runs, where every ticket is the simulation's own.
    """

    def __init__(
        self,
        hall: FrontOfHouse,
        clock: SimClock,
        scenario: Scenario,
        seed: int = 7,
        idle_look_s: float | None = None,
    ) -> None:
        self.hall = hall
        self.idle_look_s = idle_look_s
        self.clock = clock
        self.scenario = scenario
        self.rng = random.Random(seed)
        self._idle: set[int] = set()
        self.stats = SimStats()
        self._heap: list[tuple[float, int, str, object]] = []
        self._order = 0

    def run(
        self, pace: Callable[[float], None] | None = None, start_at: float | None = None
    ) -> SimStats:
        """Run the scenario to its end and return what happened.

        Args:
            pace: called with each next hall time before it happens; lets the caller slow the
                simulation to an accelerated-but-real pace so telemetry flows as it would.
                It may raise :class:`StopSimulation` to end the run early.
            start_at: start at this hall time instead of the scenario's day and start, keeping
                the scenario's length (the demo runs the hall from "now").
        """
        sc = self.scenario
        start = at_hall_time(sc.day, sc.start)
        self.arrivals_end = at_hall_time(sc.day, sc.end)
        if start_at is not None:
            self.arrivals_end += start_at - start
            start = start_at
        self.clock.set(start)
        self.stats.sim_start = start
        for w in sc.open_windows:
            self.hall.desks[w].sign_in(f"staff-{w}")
            self._at(start, "window_free", w)
        for service, rate in sc.arrivals_per_hour.items():
            if rate > 0:
                self._at(start + self._interarrival(rate), "arrive", service)
        while self._heap:
            when, _, action, arg = heapq.heappop(self._heap)
            if when > self.arrivals_end + OVERTIME_LIMIT_S:
                break
            if pace is not None:
                try:
                    pace(when)
                except StopSimulation:
                    break
            self.clock.set(when)
            getattr(self, f"_on_{action}")(arg)
        for w in sc.open_windows:
            self.hall.desks[w].sign_out()  # refused, harmlessly, while a citizen is at it
        self.stats.sim_end = self.clock.now()
        return self.stats

    # --- actions ---------------------------------------------------------------------

    def _on_arrive(self, service: str) -> None:
        kiosk = self.rng.choice(self.hall.kiosks)
        kiosk.choose_service()
        ticket = kiosk.take(service)
        kiosk.home()
        self.stats.tickets_issued += 1
        if ticket.data["printed"]:
            self.stats.tickets_printed += 1
        else:
            self.stats.print_failures += 1
        now = self.clock.now()
        for w in sorted(self._idle):
            if service in self.hall.desks[w].window.services:
                self._idle.discard(w)
                self._at(now + STAFF_REACTION_S, "window_free", w)
        nxt = now + self._interarrival(self.scenario.arrivals_per_hour[service])
        if nxt < self.arrivals_end:
            self._at(nxt, "arrive", service)

    def _on_window_free(self, window: int) -> None:
        desk = self.hall.desks[window]
        screen = desk.call()
        now = self.clock.now()
        current = screen.data["current"]
        if current is None:
            # Nobody waits for this window: it is idle until a citizen it serves arrives.
            self._idle.add(window)
            if self.idle_look_s is not None:
                self._at(now + self.idle_look_s, "idle_look", window)
            return
        if screen.data["notice"]:
            self.stats.display_failures += 1
        wait = current["waited_s"]
        self.stats.calls += 1
        self.stats.total_wait_s += wait
        self.stats.max_wait_s = max(self.stats.max_wait_s, wait)
        if self.rng.random() < self.scenario.no_show:
            self._at(now + NO_SHOW_RECALL_S, "recall", window)
            self._at(now + 2 * NO_SHOW_RECALL_S, "skip", window)
        else:
            service = desk.queue.hall.service(current["service"])
            self._at(now + self._service_time(service.aht_s), "finish", window)

    def _on_idle_look(self, window: int) -> None:
        # An arrival may have woken this window already; then this look is stale.
        if window in self._idle:
            self._idle.discard(window)
            self._on_window_free(window)

    def _on_recall(self, window: int) -> None:
        self.hall.desks[window].recall()

    def _on_skip(self, window: int) -> None:
        self.hall.desks[window].skip()
        self.stats.tickets_skipped += 1
        self._at(self.clock.now(), "window_free", window)

    def _on_finish(self, window: int) -> None:
        self.hall.desks[window].finish()
        self.stats.tickets_served += 1
        if self.rng.random() < RATING_SHARE:
            self._at(self.clock.now() + RATING_DELAY_S, "rate", window)
        self._at(self.clock.now(), "window_free", window)

    def _on_rate(self, window: int) -> None:
        sim = simulator_of(self.hall.pads.get(window))
        if sim is None:
            return
        weights = self.scenario.rating_weights
        level = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        # The pad shows the request once its RATE arrived; the next citizen may already have
        # replaced it, and then this citizen has walked away unrated.
        deadline = time.monotonic() + PAD_WAIT_S
        while sim.pending is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if sim.press(level) is not None:
            self.stats.ratings += 1

    # --- helpers ---------------------------------------------------------------------

    def _at(self, when: float, action: str, arg: object) -> None:
        self._order += 1
        heapq.heappush(self._heap, (when, self._order, action, arg))

    def _interarrival(self, per_hour: float) -> float:
        return self.rng.expovariate(per_hour / 3600.0)

    def _service_time(self, mean: float) -> float:
        # Log-normal with the given mean: handling times are skewed, never negative.
        mu = math.log(mean) - SERVICE_SIGMA**2 / 2
        return self.rng.lognormvariate(mu, SERVICE_SIGMA)


def paced(speed: float) -> Callable[[float], None]:
    """A pacing function that maps hall time to wall time at ``speed``× real time."""
    origin: list[float] = []

    def pace(hall_t: float) -> None:
        if not origin:
            origin.extend((hall_t, time.monotonic()))
            return
        due = origin[1] + (hall_t - origin[0]) / speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    return pace


def simulate_waits(
    arrivals_per_h: float,
    aht_s: float,
    windows: int,
    duration_s: float,
    seed: int = 7,
    waiting_at_start: int = 0,
) -> list[float]:
    """The waits (issued → called) of one service in the hall model above, without devices.

    The same citizens and staff as :class:`HallSimulation`: Poisson arrivals, log-normal
    handling times around ``aht_s`` (:data:`SERVICE_SIGMA`), first come first served, staff
    at an idle window calling :data:`STAFF_REACTION_S` after a ticket is taken. Thousands of
    mornings run in a second, so the collector's staffing advice can be checked against it
    (``tests/test_tidal_advice_sim.py``); :class:`HallSimulation` drives the real flows.

    Args:
        arrivals_per_h: arrival rate.
        aht_s: mean handling time.
        windows: staffed windows, all open for the whole run.
        duration_s: how long citizens keep arriving; everyone who arrived is served.
        seed: random seed.
        waiting_at_start: citizens already waiting at the start (a backlog).
    """
    rng = random.Random(seed)
    mu = math.log(aht_s) - SERVICE_SIGMA**2 / 2
    arrivals = [0.0] * waiting_at_start
    t = 0.0
    while True:
        t += rng.expovariate(arrivals_per_h / 3600.0)
        if t >= duration_s:
            break
        arrivals.append(t)
    free_at = [0.0] * windows  # when each window can call next
    heapq.heapify(free_at)
    waits = []
    for issued in arrivals:
        free = heapq.heappop(free_at)
        called = free if free > issued else issued + (STAFF_REACTION_S if issued > 0 else 0.0)
        waits.append(called - issued)
        heapq.heappush(free_at, called + rng.lognormvariate(mu, SERVICE_SIGMA))
    return waits
