"""朗读: read a kiosk screen aloud with offline Mandarin speech.

The engine is espeak-ng (Debian package ``espeak-ng``), offline and in every Debian. Its
``cmn`` voice in Debian 12's 1.51 reads each character's tone number aloud in English (你好
comes out as "ni three hao three", espeak-ng#1028), so the text is turned into tone-numbered
pinyin here with pypinyin (``ni3 hao3``) and spoken by the ``cmn-latn-pinyin`` voice, which
reads pinyin with real tones. Numbers stay digits (that voice reads ``12`` as 十二); ticket
numbers are spelt digit by digit first, as the hall's announcer does
(:func:`protocols.call_speech.spell_ticket_no`).

The speech is a WAV file (``<spool>/speech.wav``, the text beside it as ``speech.txt`` so a
technician can see what a citizen heard), played by the first player the machine has
(PipeWire, PulseAudio, ALSA), or by Kivy's audio when it has none. Nothing here touches a
widget: the window collects the text (:func:`speech_text`) and plays the result.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from core.errors import SpeechFailed
from protocols.call_speech import spell_ticket_no

log = logging.getLogger(__name__)

ENGINE = "espeak-ng"
VOICE = "cmn-latn-pinyin"
#: Words a minute: espeak-ng's default is 175; older citizens follow a slower voice, and care
#: mode (关爱模式) slows it further.
RATE_WPM = 150
CARE_RATE_WPM = 115
#: Command-line players tried in turn; each takes the WAV path as its last argument.
PLAYERS = (("pw-play",), ("paplay",), ("aplay", "-q"))
#: The longest a synthesis may take before it is given up.
SYNTH_TIMEOUT_S = 20.0

_MARKUP = re.compile(r"\[/?[a-z_]+(=[^\]]*)?\]")
_TICKET = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,2}\d{3,4})(?![A-Za-z0-9])")
_HANZI = re.compile(r"[\u3400-\u9fff]+")
#: Punctuation becomes a pause: a comma for espeak-ng.
_PAUSE = re.compile(r"[，。！？；：、,.!?;:\n…（）()\-—·|]+")


def speech_text(texts: Iterable[str]) -> str:
    """The sentence to read for a screen, from its labels' texts top to bottom.

    Kivy markup (``[b]``, ``[size=24]``) is dropped, empty labels skipped, a text shown twice
    read once, and each label ends with a pause.
    """
    said: list[str] = []
    for text in texts:
        plain = _MARKUP.sub("", text).strip()
        if plain and plain not in said:
            said.append(plain)
    return "。".join(said)


def to_pinyin(text: str) -> str:
    """What the ``cmn-latn-pinyin`` voice reads: tone-numbered pinyin, digits and pauses.

    ``请A003号`` → ``qing3 A ling2 ling2 san1 hao4``.
    """
    # pypinyin loads its dictionaries on import: on the first read-aloud, not at kiosk start.
    from pypinyin import Style, lazy_pinyin

    text = _TICKET.sub(lambda m: spell_ticket_no(m.group(1)), text)
    words: list[str] = []
    position = 0
    for run in _HANZI.finditer(text):
        words.append(_other(text[position : run.start()]))
        syllables = lazy_pinyin(run.group(), style=Style.TONE3, neutral_tone_with_five=True)
        words.append(" ".join(syllables))
        position = run.end()
    words.append(_other(text[position:]))
    return re.sub(r"\s+", " ", " ".join(w for w in words if w)).strip(" ,")


def _other(text: str) -> str:
    """Text between Chinese runs: digits and letters as they are, punctuation as a pause."""
    return _PAUSE.sub(" , ", text).strip()


class Speaker:
    """Speaks text offline through espeak-ng into a WAV, then plays it.

    Args:
        spool: where the WAV (and the text it says) is written; made if missing.
        players: command-line players to try, in order (:data:`PLAYERS`).
    """

    def __init__(self, spool: Path, players: Iterable[tuple[str, ...]] = PLAYERS) -> None:
        self.spool = spool
        self.players = tuple(players)
        self._playing: subprocess.Popen[bytes] | None = None

    @property
    def wav(self) -> Path:
        """The latest speech."""
        return self.spool / "speech.wav"

    def synthesize(self, text: str, care: bool = False) -> Path:
        """Speak ``text`` into :attr:`wav`; blocks (run it off the Kivy thread).

        Raises:
            SpeechFailed (370): espeak-ng is not installed, failed or took too long.
        """
        binary = shutil.which(ENGINE)
        if binary is None:
            raise SpeechFailed(
                "espeak-ng is not installed (Debian package espeak-ng)", engine=ENGINE
            )
        self.spool.mkdir(parents=True, exist_ok=True)
        rate = CARE_RATE_WPM if care else RATE_WPM
        command = [binary, "-v", VOICE, "-s", str(rate), "-w", str(self.wav), to_pinyin(text)]
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=SYNTH_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as err:
            raise SpeechFailed("espeak-ng took too long", engine=ENGINE, reason="timeout") from err
        if done.returncode != 0 or not self.wav.exists():
            reason = done.stderr.decode("utf-8", "replace").strip()[:200]
            raise SpeechFailed(f"espeak-ng failed: {reason}", engine=ENGINE, reason=reason)
        (self.spool / "speech.txt").write_text(text, encoding="utf-8")
        return self.wav

    def player(self) -> tuple[str, ...] | None:
        """The first command-line player this machine has, or None."""
        for command in self.players:
            if shutil.which(command[0]):
                return command
        return None

    def play_with_command(self, wav: Path) -> bool:
        """Play through a command-line player; False when the machine has none.

        The player runs on in the background: a citizen may tap on while it speaks.
        """
        command = self.player()
        if command is None:
            return False
        self.stop()
        self._playing = subprocess.Popen(
            [*command, str(wav)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return True

    def stop(self) -> None:
        """Stop what is being read (a new screen's reading replaces the old one)."""
        playing, self._playing = self._playing, None
        if playing is not None and playing.poll() is None:
            playing.terminate()

    def forget(self) -> None:
        """The citizen left (the session purge): stop reading, overwrite the speech and the
        text it said with zeros, and delete both. A screen read aloud may have said a name."""
        self.stop()
        for path in (self.wav, self.spool / "speech.txt"):
            overwrite_and_delete(path)


def overwrite_and_delete(path: Path) -> None:
    """Zero a file's bytes on disk, then unlink it; a missing file is fine.

    Overwriting first matters on filesystems that do not reuse the blocks at once (ext4 keeps
    an unlinked file's data until the blocks are reused); on copy-on-write or flash with wear
    levelling it is best effort (docs/privacy.md).
    """
    try:
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.write(bytes(size))
            handle.flush()
            os.fsync(handle.fileno())
    except FileNotFoundError:
        return
    except OSError as err:
        log.warning("cannot overwrite %s: %s", path, err)
    path.unlink(missing_ok=True)
