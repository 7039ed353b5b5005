"""Every text the kiosk and the PAD draw meets WCAG AA contrast (4.5:1); in 关爱模式, AAA (7:1).

The pairs are not listed by hand: the windows run for real and the UI driver reports, for
each label on screen, its text colour and the colour behind it (a button's face, else the
nearest panel). The state colours a run may not show (every tile colour, every warning
level) are taken from the tables the windows draw them from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from kiosk.pad_app import LEVEL_COLOURS
from kiosk.widgets import (
    CARE_CONTRAST_MIN,
    CARE_PALETTE,
    CONTRAST_MIN,
    DISABLED_FILL,
    DISABLED_INK,
    TILE_COLOURS,
    WHITE,
)
from tests.test_keyboard_ui import ExtrasLauncher, taps
from tests.ui.fixtures import UiLauncher


def contrast_ratio(text: Sequence[float], background: Sequence[float]) -> float:
    """WCAG 2.x contrast ratio of two sRGB colours (components 0–1)."""

    def luminance(colour: Sequence[float]) -> float:
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
                   for c in colour[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(text), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def too_faint(seen: Iterable[dict], minimum: float) -> list[str]:
    return [
        f"{c['ui_id'] or c['text'][:12]!r}: {contrast_ratio(c['colour'], c['background']):.2f}"
        for c in seen
        if contrast_ratio(c["colour"], c["background"]) < minimum
    ]


def test_the_ratio_is_the_wcag_one() -> None:
    assert contrast_ratio((0, 0, 0), (1, 1, 1)) == pytest.approx(21.0)
    assert contrast_ratio((1, 1, 1), (1, 1, 1)) == pytest.approx(1.0)
    grey_777 = (0x77 / 255,) * 3  # the classic just-failing grey on white
    assert contrast_ratio(grey_777, (1, 1, 1)) == pytest.approx(4.48, abs=0.01)


def test_white_text_is_readable_on_every_tile_and_warning_colour_in_both_modes() -> None:
    fills = {*map(tuple, TILE_COLOURS.values()), *map(tuple, LEVEL_COLOURS.values())}
    for fill in fills:
        assert contrast_ratio(WHITE, fill) >= CONTRAST_MIN, fill
        assert contrast_ratio(WHITE, CARE_PALETTE[fill]) >= CARE_CONTRAST_MIN, fill
    assert contrast_ratio(DISABLED_INK, DISABLED_FILL) >= CONTRAST_MIN
    assert contrast_ratio(CARE_PALETTE[DISABLED_INK], CARE_PALETTE[DISABLED_FILL]) >= 7


def _kiosk_tour(mode: str) -> list[dict]:
    """Every kind of kiosk screen, its colours recorded under ``<screen>-<mode>``."""
    return [
        {"op": "wait_on_screen", "id": "take_button"},
        {"op": "colours", "name": f"home-{mode}"},
        {"op": "tap", "id": "take_button"},
        {"op": "wait_on_screen", "id": "service_social"},
        {"op": "colours", "name": f"services-{mode}"},
        {"op": "tap", "id": "service_social"},
        {"op": "wait_text", "id": "ticket_no", "match": r"^A\d{3}$"},
        {"op": "colours", "name": f"ticket-{mode}"},
        {"op": "tap", "id": "help_button"},
        {"op": "wait", "id": "help_cancel"},
        {"op": "colours", "name": f"help-{mode}"},
        {"op": "tap", "id": "help_cancel"},
        {"op": "wait_gone", "id": "help_cancel"},
        {"op": "tap", "id": "home_button"},
        {"op": "scroll_to", "id": "function_form_probe"},
        {"op": "tap", "id": "function_form_probe"},
        *taps("form_name", "bj"),
        {"op": "wait_text", "id": "form_name_candidate_0", "match": "."},
        {"op": "colours", "name": f"keyboard-{mode}"},
        {"op": "tap", "id": "home_button"},
        {"op": "scroll_to", "id": "function_rating"},
        {"op": "tap", "id": "function_rating"},
        {"op": "wait", "id": "rating_level_5"},
        {"op": "colours", "name": f"rating-{mode}"},
        {"op": "scroll_to", "id": "rating_level_1"},
        {"op": "tap", "id": "rating_level_1"},
        {"op": "tap", "id": "rating_reason_0"},
        # As a citizen does: submit once the tick shows. The kiosk drops a tap that comes
        # while it is still taking the one before (no double submission), and under load the
        # reason's step could still be running when the submit button was found.
        {"op": "wait_text", "id": "rating_reason_0", "match": "^√"},
        {"op": "tap", "id": "rating_submit"},
        {"op": "wait", "id": "rating_thanks"},
        {"op": "colours", "name": f"rated-{mode}"},
        {"op": "pause", "seconds": 0.3},
        {"op": "screenshot", "name": f"rated-{mode}"},
        {"op": "tap", "id": "home_button"},
        {"op": "wait_on_screen", "id": "take_button"},
    ]


@pytest.fixture
def extras_ui(ui: UiLauncher) -> Iterator[ExtrasLauncher]:
    launcher = ExtrasLauncher(ui.env, ui.work, ui.artifacts)
    try:
        yield launcher
    finally:
        for run in launcher.runs:
            run.stop()


@pytest.mark.ui
def test_every_kiosk_text_meets_aa_and_in_care_mode_aaa(
    extras_ui: ExtrasLauncher, tmp_path: Path
) -> None:
    result = extras_ui.run(
        ["kiosk", "--hall-db", str(tmp_path / "hall.db"), "--printer",
         "sim://usb-printer?faults=paper_out",  # the red error lines too
         "--functions", "ticket,form_probe,rating"],
        [
            *_kiosk_tour("normal"),
            {"op": "tap", "id": "care_button"},
            {"op": "wait_text", "id": "care_button", "match": "退出"},
            *_kiosk_tour("care"),
        ],
    )
    shots = result["colours"]
    assert len(shots) == 14
    for name, seen in shots.items():
        assert seen, name
        minimum = CARE_CONTRAST_MIN if name.endswith("-care") else CONTRAST_MIN
        assert too_faint(seen, minimum) == [], name
    # The pairs a new user measured: 返回首页 and the red paper-out line.
    home_button = next(c for c in shots["ticket-normal"] if c["ui_id"] == "home_button")
    assert contrast_ratio(home_button["colour"], home_button["background"]) >= CONTRAST_MIN
    assert any(c["ui_id"] == "error_line" for c in shots["ticket-normal"])


@pytest.mark.ui
def test_every_pad_text_meets_aa(ui: UiLauncher, tmp_path: Path) -> None:
    result = ui.run(
        ["pad", "--hall-db", str(tmp_path / "hall.db"), "--window", "1", "--staff", "",
         "--display", "sim://call-display", "--rating-pad", "sim://rating-pad"],
        [
            {"op": "wait", "id": "sign_in_button"},
            {"op": "colours", "name": "sign_in"},
            {"op": "type", "id": "staff_input", "text": "007"},
            {"op": "tap", "id": "sign_in_button"},
            {"op": "wait", "id": "skip_button"},
            {"op": "tap", "id": "finish_button"},
            {"op": "wait_text", "id": "message_line", "match": "."},
            {"op": "colours", "name": "desk"},
        ],
        name="pad",
    )
    shots = result["colours"]
    for name, seen in shots.items():
        assert too_faint(seen, CONTRAST_MIN) == [], name
    skip = next(c for c in shots["desk"] if c["ui_id"] == "skip_button")
    assert contrast_ratio(skip["colour"], skip["background"]) >= CONTRAST_MIN
