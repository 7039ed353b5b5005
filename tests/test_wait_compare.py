"""On one fixed morning the estimate on the ticket beats ZMS's queue-length estimator
(accuracy, not speed). One morning is too noisy to hold the issue's 30 % margin to: the
benchmark ``python main.py bench wait`` measures that over held-out and fresh seeds."""

from __future__ import annotations

import pytest

from simulation.wait_compare import HELD_OUT_SEEDS, compare


@pytest.mark.parametrize("scenario", ["morning-peak", "morning-shifts"])
def test_the_estimate_beats_the_queue_length_baseline_on_a_held_out_seed(scenario: str) -> None:
    result = compare(scenario, HELD_OUT_SEEDS[:1])
    ours, zms = result["estimator"], result["zms"]
    assert ours["count"] == zms["count"] > 50  # the same tickets, scored the same way
    assert ours["mae_s"] < zms["mae_s"]
    assert ours["under_mae_s"] < zms["under_mae_s"]
