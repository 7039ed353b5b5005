"""Offline speech for the hall's call announcer: espeak-ng's ``cmn-latn-pinyin`` voice to a WAV,
played to the end by a command-line player, and measured.

The ``cmn`` voice of Debian 12's espeak-ng 1.51 reads tone numbers aloud (espeak-ng#1028), so the
announcer hands this voice tone-numbered pinyin it built itself
(:func:`protocols.call_speech.call_pinyin`), never Chinese characters. Playback blocks until the
sound is over: the announcer must know when one call ends before the next begins.
"""

from __future__ import annotations

import array
import math
import shutil
import subprocess
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from core.errors import SpeechFailed

ENGINE = "espeak-ng"
VOICE = "cmn-latn-pinyin"
#: Words a minute: slower than espeak-ng's 175, for a hall full of people and echo.
RATE_WPM = 140
SYNTH_TIMEOUT_S = 20.0
#: Command-line players tried in turn; each takes the WAV path last and returns when done.
PLAYERS = (("pw-play",), ("paplay",), ("aplay", "-q"))


@dataclass(frozen=True)
class WavStats:
    """How long and how loud a WAV is.

    Attributes:
        duration_s: its length.
        rms_dbfs: loudness of the voiced part (samples above -50 dBFS), dB below full scale.
        peak: the largest sample as a fraction of full scale (1.0 clips).
    """

    duration_s: float
    rms_dbfs: float
    peak: float


def synthesize(pinyin: str, wav: Path, rate_wpm: int = RATE_WPM) -> Path:
    """Speak tone-numbered pinyin into ``wav`` (blocks for a second or so).

    Raises:
        SpeechFailed (370): espeak-ng is not installed, failed or took too long.
    """
    binary = shutil.which(ENGINE)
    if binary is None:
        raise SpeechFailed("espeak-ng is not installed (Debian package espeak-ng)", engine=ENGINE)
    wav.parent.mkdir(parents=True, exist_ok=True)
    command = [binary, "-v", VOICE, "-s", str(rate_wpm), "-w", str(wav), pinyin]
    try:
        done = subprocess.run(command, capture_output=True, timeout=SYNTH_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as err:
        raise SpeechFailed("espeak-ng took too long", engine=ENGINE, reason="timeout") from err
    if done.returncode != 0 or not wav.exists():
        reason = done.stderr.decode("utf-8", "replace").strip()[:200]
        raise SpeechFailed(f"espeak-ng failed: {reason}", engine=ENGINE, reason=reason)
    return wav


def player() -> tuple[str, ...] | None:
    """The first command-line player this machine has, or None."""
    for command in PLAYERS:
        if shutil.which(command[0]):
            return command
    return None


def play(wav: Path, command: tuple[str, ...] | None) -> None:
    """Play ``wav`` to its end. Without a player (a machine with no sound), wait as long as it
    lasts, so that announcements keep their real rhythm."""
    if command is not None:
        done = subprocess.run(
            [*command, str(wav)], capture_output=True, timeout=60, check=False
        )
        if done.returncode == 0:
            return
    time.sleep(measure(wav).duration_s)


def measure(wav: Path) -> WavStats:
    """Length and loudness of a 16-bit PCM WAV (mono or the first channel)."""
    with wave.open(str(wav), "rb") as f:
        rate, channels, width, frames = (
            f.getframerate(),
            f.getnchannels(),
            f.getsampwidth(),
            f.readframes(f.getnframes()),
        )
    if width != 2:
        raise SpeechFailed(f"{wav} is not 16-bit PCM", engine=ENGINE, reason="format")
    samples = array.array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    mono = samples[::channels]
    duration = len(mono) / rate if rate else 0.0
    if not mono:
        return WavStats(duration, -math.inf, 0.0)
    floor = 32768 * 10 ** (-50 / 20)
    voiced = [s for s in mono if abs(s) > floor]
    peak = max(abs(s) for s in mono) / 32768
    if not voiced:
        return WavStats(duration, -math.inf, peak)
    rms = math.sqrt(sum(s * s for s in voiced) / len(voiced))
    return WavStats(duration, 20 * math.log10(rms / 32768), peak)
