"""The call is heard: every call spoken offline as audio, in order, never two at once.

Real espeak-ng (Debian ``espeak-ng``, ``cmn-latn-pinyin`` voice) writes each call's WAV; the
tests measure its length and loudness, so a silent or truncated announcement fails. Playback is
replaced by a short wait (a test machine has no loudspeaker), which keeps the ordering real.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from devices.call_announcer import Announced, CallAnnouncer
from devices.open import open_call_display
from drivers.espeak_tts import measure
from hardware_sim.call_display import CallDisplaySim
from protocols.call_speech import call_pinyin, call_speech, cardinal_zh, spell_ticket_no

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng missing")


@pytest.mark.parametrize(
    ("window", "said"),
    [(1, "一"), (3, "三"), (10, "十"), (12, "十二"), (20, "二十"), (101, "一百零一"),
     (110, "一百一十"), (999, "九百九十九")],
)
def test_the_window_is_said_as_a_cardinal(window: int, said: str) -> None:
    assert cardinal_zh(window) == said
    assert f"到{said}号窗口" in call_speech("A001", window)


def test_the_hall_chooses_yi_or_yao_for_the_digit_one_of_a_ticket_only() -> None:
    assert call_speech("A011", 11) == "请A零一一号到十一号窗口办理"
    assert call_speech("A011", 11, one="幺") == "请A零幺幺号到十一号窗口办理"
    assert spell_ticket_no("B1", "幺") == "B幺"
    with pytest.raises(ValueError):
        spell_ticket_no("A1", "壹")
    assert "yao1 yao1" in call_pinyin("A011", 11, one="幺")
    assert call_pinyin("A001", 3) == (
        "qing3 ei1 ling2 ling2 yi1 hao4 dao4 san1 hao4 chuang1 kou3 ban4 li3"
    )


def test_a_recall_says_so_first() -> None:
    assert call_speech("A001", 3, recall=True) == "重呼，请A零零一号到三号窗口办理"
    assert call_pinyin("A001", 3, recall=True).startswith("chong2 hu1 ,")


@needs_espeak
def test_each_call_is_audio_of_a_believable_length_and_loudness(tmp_path: Path) -> None:
    announcer = CallAnnouncer(tmp_path, play=lambda wav: None)
    done = announcer.speak("A001", 3)
    assert done.wav is not None and done.error is None
    stats = measure(done.wav)
    # 13 syllables at 140 words a minute: some 3–7 seconds, clearly audible, not clipped.
    assert 2.5 < stats.duration_s < 8.0
    assert -30.0 < stats.rms_dbfs < -3.0
    assert stats.peak < 1.0
    recall = announcer.speak("A001", 3, recall=True)
    # 重呼 adds two syllables and a pause: the recall is longer.
    assert recall.stats is not None and recall.stats.duration_s > stats.duration_s + 0.3
    yao = announcer.speak("A011", 3)
    yao_hall = CallAnnouncer(tmp_path / "yao", one="幺", play=lambda wav: None).speak("A011", 3)
    assert yao_hall.speech == "请A零幺幺号到三号窗口办理"
    assert yao_hall.wav.read_bytes() != yao.wav.read_bytes()


@needs_espeak
def test_calls_at_the_same_moment_queue_and_never_overlap(tmp_path: Path) -> None:
    playing: list[tuple[float, float]] = []

    def play(wav: Path) -> None:
        start = time.monotonic()
        time.sleep(0.3)
        playing.append((start, time.monotonic()))

    announcer = CallAnnouncer(tmp_path, play=play).start()
    try:
        starters = [
            threading.Thread(target=announcer.announce, args=(f"A00{i}", i, i == 3))
            for i in (1, 2, 3)
        ]
        for t in starters:
            t.start()
        for t in starters:
            t.join()
        assert announcer.wait_spoken(3, 60)
    finally:
        announcer.stop()
    spoken: list[Announced] = announcer.spoken
    assert sorted(a.ticket_no for a in spoken) == ["A001", "A002", "A003"]
    for before, after in zip(spoken, spoken[1:], strict=False):
        assert before.ended <= after.started
    for (_, end), (start, _) in zip(playing, playing[1:], strict=False):
        assert end <= start
    [recall] = [a for a in spoken if a.recall]
    assert recall.speech.startswith("重呼")
    assert all(a.stats is not None and a.stats.duration_s > 2.0 for a in spoken)


@needs_espeak
def test_the_simulated_display_speaks_every_call_it_accepts(tmp_path: Path) -> None:
    announcer = CallAnnouncer(tmp_path, one="幺", play=lambda wav: time.sleep(0.05))
    sim = CallDisplaySim(0, announcer=announcer, one="幺").start()
    try:
        display = open_call_display(f"tcp://127.0.0.1:{sim.port}", "display-1")
        display.announce("A001", 3)
        display.announce("B012", 12, recall=True)
        assert sim.wait_announced(2, 60)
        assert [s.call.speech for s in sim.announced] == [
            "请A零零幺号到三号窗口办理",
            "重呼，请B零幺二号到十二号窗口办理",
        ]
        assert all(s.wav is not None and measure(s.wav).duration_s > 2.0 for s in sim.announced)
        display.clear("B012", 12)
        assert [r.ticket_no for r in sim.board] == ["A001"]
        display.close()
    finally:
        sim.stop()
