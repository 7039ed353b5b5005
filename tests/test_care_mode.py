"""关爱模式 (care mode): switched on any screen, kept while the citizen moves between functions,
off again for the next citizen; in a real window, larger text and deeper colours."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.kiosk_functions import KioskContext, KioskHome
from tests.conftest import HallDb
from tests.ui.fixtures import UiLauncher


def test_care_mode_is_kept_across_screens_and_ends_with_the_citizen(hall_db: HallDb) -> None:
    home = KioskHome.for_context(
        KioskContext(hall_db.queue, "kiosk-1", hall_db.clock, idle_timeout_s=60)
    )
    services = home.open("ticket")
    assert home.toggle_care() is services and home.care  # the same screen, redrawn
    home.home()
    home.open("ticket")
    assert home.care
    hall_db.clock.advance(61)
    assert home.tick().name == "home" and not home.care  # the next citizen starts plain
    home.toggle_care()
    hall_db.clock.advance(61)
    home.tick()
    assert not home.care  # switched on at the home screen and left: off again


@pytest.mark.ui
def test_care_mode_makes_every_screen_larger_and_darker_and_switches_back(
    ui: UiLauncher, tmp_path: Path
) -> None:
    result = ui.run(
        ["kiosk", "--hall-db", str(tmp_path / "hall.db"), "--printer", "sim://usb-printer"],
        [
            {"op": "wait_on_screen", "id": "take_button"},
            {"op": "colours", "name": "home"},
            {"op": "tap", "id": "care_button"},
            {"op": "wait_text", "id": "care_button", "match": "^退出关爱$"},
            {"op": "colours", "name": "home_care"},
            {"op": "screenshot", "name": "1-home-care"},
            {"op": "tap", "id": "take_button"},
            {"op": "wait_on_screen", "id": "service_social"},
            {"op": "wait_on_screen", "id": "home_button"},
            {"op": "colours", "name": "services_care"},
            {"op": "screenshot", "name": "2-services-care"},
            {"op": "tap", "id": "care_button"},
            {"op": "wait_text", "id": "care_button", "match": "^关爱模式$"},
            {"op": "colours", "name": "services"},
        ],
    )
    colours = result["colours"]

    def size(shot: str, ui_id: str) -> float:
        return next(c["font_size"] for c in colours[shot] if c["ui_id"] == ui_id)

    def colour(shot: str, ui_id: str) -> list[float]:
        return next(c["background"] for c in colours[shot] if c["ui_id"] == ui_id)

    assert size("home_care", "hall_name") > size("home", "hall_name") * 1.2
    assert size("services_care", "service_social") > size("services", "service_social") * 1.2
    assert size("services_care", "home_button") > size("services", "home_button") * 1.2
    # Deeper fills in care mode, and the normal ones back after it.
    assert sum(colour("services_care", "service_social")[:3]) < sum(
        colour("services", "service_social")[:3])
    assert colour("home", "header_title") != colour("home_care", "header_title")
