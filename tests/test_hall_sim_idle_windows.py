"""The demo's simulated staff also call tickets a person took at the kiosk by hand.

Found as a new user: windows 1 and 2 waited only for simulated walk-ins, so a ticket tapped at
the real kiosk window waited for ever while a red "增开窗口" fired beside two idle windows.
"""

from __future__ import annotations

from simulation.devices import open_front_of_house
from simulation.hall_sim import IDLE_LOOK_S, HallSimulation, StopSimulation
from simulation.scenarios import Scenario
from tests.conftest import HallDb

#: When the person takes a ticket, in hall seconds after the simulation starts.
TAKEN_AFTER_S = 20.0
#: How long the test watches before giving up, in hall seconds.
WATCH_S = 120.0


def _called_ticket_after_a_hand_issued_one(hall_db: HallDb, idle_look_s: float | None) -> dict:
    # Nobody simulated arrives: every ticket in the hall is the person's own.
    scenario = Scenario("quiet", "2026-01-05", "09:00", "10:00", {"social": 1e-9}, (1, 2))
    front = open_front_of_house(hall_db.queue, hall_db.clock, scenario.open_windows,
                                kiosk_ids=("kiosk-2",))
    taken: dict = {}
    start: list[float] = []

    def pace(hall_t: float) -> None:
        start[:] = start or [hall_t]
        if not taken and hall_t - start[0] >= TAKEN_AFTER_S:
            hall_db.clock.set(hall_t)
            taken.update(ticket=hall_db.queue.issue("social", "kiosk-1"))
        if hall_t - start[0] > WATCH_S:
            raise StopSimulation

    try:
        HallSimulation(front, hall_db.clock, scenario, seed=1, idle_look_s=idle_look_s).run(pace)
    finally:
        front.close()
    row = hall_db.conn.execute(
        "SELECT called_at, window_no FROM tickets WHERE ticket_id = ?",
        (taken["ticket"].ticket.ticket_id,),
    ).fetchone()
    return {"issued_at": taken["ticket"].ticket.issued_at, "called_at": row[0], "window": row[1]}


def test_an_idle_window_calls_a_ticket_taken_by_hand(hall_db: HallDb) -> None:
    result = _called_ticket_after_a_hand_issued_one(hall_db, IDLE_LOOK_S)
    assert result["window"] in (1, 2)
    assert 0 <= result["called_at"] - result["issued_at"] <= IDLE_LOOK_S + 1

