"""The hall's call announcer: every call spoken offline, one after the other.

A call display with a loudspeaker (the simulated one, or a screen the hall box drives) hands
each call it accepts to :meth:`CallAnnouncer.announce`. The announcer says it in Mandarin,
``请A零零一号到三号窗口办理`` (``protocols.call_speech``: digits one by one, 1 as the hall's
一 or 幺, the window as a cardinal), 重呼 first for a recall. Calls are queued and spoken by one
thread, each to its end before the next: two windows calling in the same second are both heard
and neither cuts the other off (FQM#138). Speech is espeak-ng offline (``drivers.espeak_tts``);
each call's WAV is kept in the spool, the last :data:`KEEP` of them, for a technician to hear
what citizens heard.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import HallEdgeError
from drivers import espeak_tts
from drivers.espeak_tts import WavStats
from protocols.call_speech import call_pinyin, call_speech

log = logging.getLogger(__name__)

#: WAVs kept in the spool.
KEEP = 50


@dataclass(frozen=True)
class Announced:
    """One call as it was spoken.

    Attributes:
        speech: the sentence, ``请A零零一号到三号窗口办理``.
        wav: the audio, or None when synthesis failed (``error`` says why).
        started, ended: ``time.monotonic()`` around synthesis and playback.
        stats: the audio's length and loudness.
    """

    ticket_no: str
    window_no: int
    recall: bool
    speech: str
    wav: Path | None
    started: float
    ended: float
    stats: WavStats | None = None
    error: str | None = None


class CallAnnouncer:
    """Speaks calls in order, never two at once.

    Args:
        spool: where each call's WAV is written.
        one: how the digit 1 of a ticket number is read (``[calls] read_one_as``).
        play: plays a WAV to its end; by default the machine's player, or a wait as long as
            the sound when it has none.
        on_spoken: called (on the announcer's thread) after each call.
    """

    def __init__(
        self,
        spool: Path | str,
        *,
        one: str = "一",
        play: Callable[[Path], None] | None = None,
        on_spoken: Callable[[Announced], None] | None = None,
    ) -> None:
        self.spool = Path(spool)
        self.one = one
        command = espeak_tts.player()
        self._play = play or (lambda wav: espeak_tts.play(wav, command))
        self.on_spoken = on_spoken
        #: Every call spoken, in order.
        self.spoken: list[Announced] = []
        self._count = 0
        self._queue: queue.Queue[tuple[str, int, bool] | None] = queue.Queue()
        self._speaking = threading.Lock()
        self._done = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> CallAnnouncer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="call-announcer", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the call being spoken; calls still queued are dropped."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def announce(self, ticket_no: str, window_no: int, recall: bool = False) -> None:
        """Queue a call; it is spoken after those before it."""
        self._queue.put((ticket_no, window_no, recall))

    def wait_spoken(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` calls have been spoken; False on timeout."""
        with self._done:
            return self._done.wait_for(lambda: len(self.spoken) >= count, timeout)

    def speak(self, ticket_no: str, window_no: int, recall: bool = False) -> Announced:
        """Say one call now and return when it is over (after any call being spoken)."""
        speech = call_speech(ticket_no, window_no, recall, self.one)
        with self._speaking:
            self._count += 1
            wav = self.spool / f"call-{self._count % KEEP:02d}.wav"
            started = time.monotonic()
            try:
                espeak_tts.synthesize(call_pinyin(ticket_no, window_no, recall, self.one), wav)
                stats = espeak_tts.measure(wav)
                self._play(wav)
            except HallEdgeError as err:
                log.warning("call %s not spoken: %s", ticket_no, err)
                done = Announced(
                    ticket_no, window_no, recall, speech, None, started, time.monotonic(),
                    error=str(err),
                )
            else:
                done = Announced(
                    ticket_no, window_no, recall, speech, wav, started, time.monotonic(), stats
                )
        with self._done:
            self.spoken.append(done)
            self._done.notify_all()
        if self.on_spoken is not None:
            self.on_spoken(done)
        return done

    def _run(self) -> None:
        while (call := self._queue.get()) is not None:
            try:
                self.speak(*call)
            except Exception:  # noqa: BLE001 - one bad call must not silence the hall
                log.exception("announcing %s failed", call[0])
