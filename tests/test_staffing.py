"""Erlang C staffing against published figures (reference B2)."""

from __future__ import annotations

import math

import pytest

from collector.staffing import (
    erlang_c,
    merge_recommendation,
    open_recommendation,
    queue_figures,
    recommend_windows,
    square_root_staffing,
)

# 60 citizens an hour, 10 minutes each: A = 10 erlangs. Columns: c, P(wait), E[Wq] in
# minutes, P(Wq <= 15 min), occupancy (the worked table in the reference, section B2).
WORKED_TABLE = [
    (11, 0.682, 6.82, 0.848, 0.91),
    (12, 0.449, 2.25, 0.978, 0.83),
    (13, 0.285, 0.95, 0.997, 0.77),
    (14, 0.174, 0.44, 1.000, 0.71),
]


@pytest.mark.parametrize("windows, p_wait, wait_min, within_15, occupancy", WORKED_TABLE)
def test_the_worked_table_for_sixty_an_hour_and_ten_minute_cases(
    windows, p_wait, wait_min, within_15, occupancy
):
    figures = queue_figures(windows, arrivals_per_h=60, aht_s=600, target_wait_s=900)

    assert figures.p_wait == pytest.approx(p_wait, abs=5e-4)
    assert figures.mean_wait_s / 60 == pytest.approx(wait_min, abs=5e-3)
    assert figures.service_level == pytest.approx(within_15, abs=5e-4)
    assert figures.occupancy == pytest.approx(occupancy, abs=5e-3)


def test_pyworkforce_published_example():
    """ErlangC(transactions=100, asa=20/60, aht=3, interval=30): 14 positions, SL 0.888."""
    advice = recommend_windows(arrivals_per_h=200, aht_s=180, target_wait_s=20)

    assert advice.windows == 14
    assert advice.load == pytest.approx(10.0)
    assert advice.figures.p_wait == pytest.approx(0.1741, abs=1e-4)
    assert advice.figures.service_level == pytest.approx(0.8884, abs=1e-4)
    assert advice.figures.occupancy == pytest.approx(0.7143, abs=1e-4)


def test_square_root_staffing_matches_the_reference():
    assert [square_root_staffing(10, beta) for beta in (0.5, 1, 2)] == [12, 14, 17]


def test_the_occupancy_cap_can_decide_the_count():
    # With a 15-minute target, 11 windows serve 84.8 % in time but are 91 % busy.
    advice = recommend_windows(arrivals_per_h=60, aht_s=600, target_wait_s=900)

    assert advice.windows == 12
    assert queue_figures(11, 60, 600, 900).service_level >= 0.8


def test_overloaded_windows_always_make_citizens_wait():
    figures = queue_figures(5, arrivals_per_h=60, aht_s=600, target_wait_s=900)

    assert erlang_c(5, 10.0) == 1.0
    assert figures.mean_wait_s == math.inf
    assert figures.service_level == 0.0


def test_no_arrivals_still_needs_one_window():
    advice = recommend_windows(arrivals_per_h=0, aht_s=300, target_wait_s=900)

    assert advice.windows == 1
    assert advice.figures.p_wait == 0.0


def test_erlang_c_stays_finite_for_a_very_large_hall():
    assert 0.0 < erlang_c(400, 380.0) < 1.0


def test_a_handling_time_of_zero_is_refused():
    with pytest.raises(ValueError):
        recommend_windows(arrivals_per_h=10, aht_s=0, target_wait_s=900)


def test_open_recommendation_in_chinese():
    advice = open_recommendation(
        arrivals_per_h=60, aht_s=600, target_wait_s=900, open_windows=9, waiting_count=5
    )

    assert (advice.action, advice.windows, advice.text) == ("open", 3, "建议增开3个窗口")


def test_a_backlog_asks_for_more_windows_than_the_arrivals_alone():
    # Few new arrivals, but 20 people already wait 5 minutes' work each, 15-minute target.
    advice = open_recommendation(
        arrivals_per_h=6, aht_s=300, target_wait_s=900, open_windows=2, waiting_count=20
    )

    assert advice.windows == 5  # ceil(20 × 300 / 900) = 7 windows, 2 open


def test_merge_recommendation_in_chinese():
    advice = merge_recommendation(arrivals_per_h=4, aht_s=300, target_wait_s=900, open_windows=3)

    assert (advice.action, advice.windows, advice.text) == ("merge", 2, "建议合并窗口，可减少2个")
    assert advice.to_dict() == {"action": "merge", "windows": 2, "text": "建议合并窗口，可减少2个"}
