"""朗读: a screen's text read aloud offline, and in a real window the 朗读 button making audio
of what the screen shows; 远程帮办 from the same bar, journaled and cancelled."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from core.events import Kind
from hallstore import journal
from kiosk.speech import Speaker, speech_text, to_pinyin
from tests.ui.fixtures import UiLauncher


def seconds(wav: Path) -> float:
    with wave.open(str(wav)) as audio:
        return audio.getnframes() / audio.getframerate()


def test_the_text_is_the_labels_read_once_without_markup() -> None:
    assert speech_text(["取号", "[b]社保医保[/b]\n[size=26]等候2人[/size]", "", "取号"]) == (
        "取号。社保医保\n等候2人")


def test_chinese_becomes_toned_pinyin_and_a_ticket_is_spelt_digit_by_digit() -> None:
    assert to_pinyin("你好") == "ni3 hao3"
    assert to_pinyin("请A003号") == "qing3 A ling2 ling2 san1 hao4"
    assert to_pinyin("等候12人。") == "deng3 hou4 12 ren2"


def test_a_screen_is_spoken_into_audio_of_a_listening_length(tmp_path: Path) -> None:
    short = Speaker(tmp_path / "a").synthesize("取号")
    long = Speaker(tmp_path / "b").synthesize("请选择业务。社保医保，等候2人。户籍办理，等候0人。")
    assert seconds(short) > 0.3
    assert seconds(long) > 3 * seconds(short)
    slow = Speaker(tmp_path / "c").synthesize("请选择业务。社保医保，等候2人。", care=True)
    fast = Speaker(tmp_path / "d").synthesize("请选择业务。社保医保，等候2人。")
    assert seconds(slow) > seconds(fast) * 1.15  # care mode reads more slowly
    assert (tmp_path / "b" / "speech.txt").read_text(encoding="utf-8").startswith("请选择业务")


@pytest.mark.ui
def test_read_aloud_speaks_the_screen_and_help_is_journaled_then_cancelled(
    ui: UiLauncher, tmp_path: Path
) -> None:
    spool = tmp_path / "tmp"
    spool.mkdir()
    speaking = UiLauncher({**ui.env, "TMPDIR": str(spool)}, ui.work, ui.artifacts)
    db = tmp_path / "hall.db"
    try:
        result = speaking.run(
            ["kiosk", "--hall-db", str(db), "--device-id", "kiosk-3",
             "--printer", "sim://usb-printer"],
            [
                {"op": "tap", "id": "take_button"},
                {"op": "wait_on_screen", "id": "service_social"},
                {"op": "tap", "id": "read_aloud_button"},
                {"op": "wait_file", "path": str(spool / "hall-edge-speech" / "speech.txt")},
                {"op": "tap", "id": "help_button"},
                {"op": "wait_text", "id": "help_waiting", "match": "请稍候"},
                {"op": "snapshot", "name": "help"},
                {"op": "pause", "seconds": 0.3},
                {"op": "screenshot", "name": "help"},
                {"op": "tap", "id": "help_cancel"},
                {"op": "wait_on_screen", "id": "service_social"},
            ],
        )
    finally:
        for run in speaking.runs:
            run.stop()
    said = (spool / "hall-edge-speech" / "speech.txt").read_text(encoding="utf-8")
    assert said.startswith("取号") and "请选择业务" in said and "社保医保" in said
    assert "返回首页" in said and "朗读" not in said  # the bar is not read each time
    assert seconds(spool / "hall-edge-speech" / "speech.wav") > 3
    assert result["snapshots"]["help"]["help_waiting"] == "已呼叫远程帮办，请稍候"
    conn = journal.connect(db)
    try:
        helps = [p.event for p in journal.pending(conn, 1000)
                 if p.event.kind == Kind.KIOSK_HELP_REQUESTED]
    finally:
        conn.close()
    assert [(e.device_id, e.data) for e in helps] == [
        ("kiosk-3", {"function": "ticket", "screen": "choose_service"})]
