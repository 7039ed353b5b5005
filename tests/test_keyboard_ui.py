"""The on-screen keyboard in a real kiosk window, typed by touch: a name in pinyin, an ID
number with its X, a phone number; then the citizen rates the transaction with a typed reason.

The app runs under ``python -m tests.kiosk_extras`` (键盘测试 and 服务评价 registered in its
process). Screenshots: ``test-artifacts/ui/<test name>/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.events import Kind
from hallstore import journal
from tests.ui.fixtures import UiLauncher

pytestmark = pytest.mark.ui


class ExtrasLauncher(UiLauncher):
    """Runs apps under ``python -m tests.kiosk_extras``."""

    @property
    def driver(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("tests.kiosk_extras",)


@pytest.fixture
def extras_ui(ui: UiLauncher) -> Iterator[ExtrasLauncher]:
    launcher = ExtrasLauncher(ui.env, ui.work, ui.artifacts)
    try:
        yield launcher
    finally:
        for run in launcher.runs:
            run.stop()


def taps(field: str, keys: str) -> list[dict]:
    return [{"op": "tap", "id": f"{field}_key_{k}"} for k in keys]


def test_a_citizen_types_a_name_an_id_number_and_a_phone_by_touch_and_rates_with_a_reason(
    extras_ui: ExtrasLauncher, tmp_path: Path
) -> None:
    db = tmp_path / "hall.db"
    result = extras_ui.run(
        ["kiosk", "--hall-db", str(db), "--printer", "sim://usb-printer",
         "--functions", "ticket,form_probe,rating"],
        [
            {"op": "tap", "id": "function_form_probe"},
            {"op": "wait_on_screen", "id": "form_name_key_z"},
            # 张 from zhang: the first candidate; then 三 from san.
            *taps("form_name", "zhang"),
            {"op": "wait_text", "id": "form_name_candidate_0", "match": "^张$"},
            {"op": "screenshot", "name": "1-pinyin-zhang"},
            {"op": "tap", "id": "form_name_candidate_0"},
            *taps("form_name", "san"),
            {"op": "wait_text", "id": "form_name_candidate_0", "match": "^三$"},
            {"op": "tap", "id": "form_name_key_space"},
            {"op": "wait_text", "id": "form_name", "match": "^张三$"},
            # A phrase in one go, picked as one word: 北京.
            *taps("form_name", "beijing"),
            {"op": "wait_text", "id": "form_name_candidate_0", "match": "^北京$"},
            {"op": "tap", "id": "form_name_candidate_0"},
            {"op": "wait_text", "id": "form_name", "match": "^张三北京$"},
            {"op": "tap", "id": "form_name_key_backspace"},
            {"op": "tap", "id": "form_name_key_backspace"},
            {"op": "wait_text", "id": "form_name", "match": "^张三$"},
            {"op": "tap", "id": "form_next"},
            {"op": "wait_on_screen", "id": "form_id_key_x"},
            # X is only the 18th character: a tap before it does nothing.
            {"op": "tap", "id": "form_id_key_x"},
            *taps("form_id", "43010219900101123"),
            {"op": "tap", "id": "form_id_key_x"},
            {"op": "tap", "id": "form_id_key_5"},  # a 19th character: refused
            {"op": "wait_text", "id": "form_id", "match": "^43010219900101123X$"},
            {"op": "screenshot", "name": "2-id-number"},
            {"op": "tap", "id": "form_next"},
            {"op": "wait_on_screen", "id": "form_phone_key_1"},
            *taps("form_phone", "13800000000"),
            {"op": "tap", "id": "form_submit"},
            {"op": "wait_text", "id": "form_echo_name", "match": "."},
            {"op": "snapshot", "name": "echo"},
            # 评价: 不满意 needs a reason; one picked, one typed on the keyboard.
            {"op": "tap", "id": "form_rate"},
            {"op": "wait_on_screen", "id": "rating_level_2"},
            {"op": "snapshot", "name": "levels"},
            {"op": "tap", "id": "rating_level_2"},
            {"op": "wait_on_screen", "id": "rating_submit"},
            {"op": "tap", "id": "rating_submit"},
            {"op": "wait_text", "id": "error_line", "match": "原因"},
            {"op": "snapshot", "name": "refused"},
            {"op": "tap", "id": "rating_reason_1"},
            {"op": "wait_text", "id": "rating_reason_1", "match": "^√"},
            {"op": "tap", "id": "rating_write_note"},
            {"op": "wait_on_screen", "id": "rating_note_key_m"},
            *taps("rating_note", "mafan"),
            {"op": "wait_text", "id": "rating_note_candidate_0", "match": "^麻烦$"},
            {"op": "tap", "id": "rating_note_candidate_0"},
            {"op": "wait_text", "id": "rating_note", "match": "^麻烦$"},
            {"op": "screenshot", "name": "3-rating-note"},
            {"op": "tap", "id": "rating_note_done"},
            {"op": "wait_text", "id": "rating_note_text", "match": "麻烦"},
            {"op": "screenshot", "name": "4-rating-reasons"},
            {"op": "tap", "id": "rating_submit"},
            {"op": "wait_text", "id": "rating_thanks", "match": "感谢"},
            {"op": "snapshot", "name": "thanks"},
        ],
    )
    echo = result["snapshots"]["echo"]
    assert echo["form_echo_name"] == "张三"
    assert echo["form_echo_id"] == "43010219900101123X"
    assert echo["form_echo_phone"] == "13800000000"
    assert result["snapshots"]["levels"]["rating_level_1"] == "非常不满意"
    assert result["snapshots"]["refused"]["error_line"] == "请选择或填写不满意的原因"
    assert result["snapshots"]["thanks"]["rating_result"] == "您的评价：不满意"
    conn = journal.connect(db)
    try:
        rated = [p.event.data for p in journal.pending(conn, 1000)
                 if p.event.kind == Kind.KIOSK_RATED]
    finally:
        conn.close()
    assert rated == [{
        "function": "form_probe", "item": "键盘测试事项", "ref": "KB-0001", "level": 2,
        "label": "不满意", "reasons": ["等待时间太长"], "reason": "等待时间太长；麻烦",
    }]
