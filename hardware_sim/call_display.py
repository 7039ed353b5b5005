"""Simulator of the hall call display (叫号显示屏) with its voice announcer.

It speaks the hall line protocol on loopback TCP, keeps the board of the last tickets called,
and announces calls one after the other from a queue: two windows calling in the same second
must both be heard, neither cut off (FQM#138). The Kivy display window embeds it and listens
through ``on_call`` / ``on_announce``; both run on simulator threads, not the UI thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import HallEdgeError
from devices.call_announcer import CallAnnouncer
from drivers import espeak_tts
from hardware_sim.line_server import LineServer, SimClient
from protocols.call_speech import call_pinyin
from protocols.call_speech import call_speech, call_text
from protocols.hall_line import KIND_CALL_DISPLAY, TICKET_RE, WINDOW_RE, ErrCode, err_line

#: Tickets on the board, newest first; enough for a typical 4-row LED strip plus one.
BOARD_SIZE = 5


@dataclass(frozen=True)
class CallRecord:
    """One CALL the display accepted."""

    window_no: int
    ticket_no: str
    recall: bool
    text: str
    speech: str
    #: time.monotonic() when it arrived
    at: float


@dataclass(frozen=True)
class Spoken:
    """One announcement the announcer finished, with its monotonic start and end."""

    call: CallRecord
    started: float
    ended: float
    wav: Path | None = None


class CallDisplaySim(LineServer):
    """A hall call display on 127.0.0.1.

    Args:
        port: TCP port; 0 picks a free one.
        speak_s: how long one announcement takes (the announcer is busy that long).
        board_size: how many tickets the board shows.
        wav_dir: if given and ``espeak-ng`` is installed, each announcement is also spoken
            into ``<wav_dir>/<n>-<ticket>.wav`` with the Mandarin voice (not played).
        announcer: speaks each call aloud (:class:`devices.call_announcer.CallAnnouncer`), in
            the announcer thread's turn; ``speak_s`` is then a minimum.
        one: how the digit 1 of a ticket number is read (``[calls] read_one_as``).
        on_call: called with each accepted :class:`CallRecord` (board changed).
        on_clear: called with the ticket number a CLEAR took off the board.
        on_announce: called with each finished :class:`Spoken`.

    Attributes:
        calls: every accepted call, in arrival order.
        announced: every finished announcement, in the order spoken.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        speak_s: float = 0.0,
        board_size: int = BOARD_SIZE,
        wav_dir: Path | str | None = None,
        announcer: CallAnnouncer | None = None,
        one: str = "一",
        on_call: Callable[[CallRecord], None] | None = None,
        on_clear: Callable[[str], None] | None = None,
        on_announce: Callable[[Spoken], None] | None = None,
    ) -> None:
        super().__init__(port, kind=KIND_CALL_DISPLAY)
        self.speak_s = speak_s
        self.board_size = board_size
        self.wav_dir = Path(wav_dir) if wav_dir is not None else None
        self.on_call = on_call
        self.on_clear = on_clear
        self.announcer = announcer
        self.one = one
        self.on_announce = on_announce
        self.calls: list[CallRecord] = []
        self.announced: list[Spoken] = []
        self._board: list[CallRecord] = []
        self._pending: queue.Queue[CallRecord | None] = queue.Queue()
        self._idle = threading.Condition()
        self._announcer: threading.Thread | None = None

    def start(self) -> CallDisplaySim:
        """Start listening and the announcer."""
        super().start()
        if self._announcer is None or not self._announcer.is_alive():
            self._announcer = threading.Thread(
                target=self._announce_forever, name="call-display-announcer", daemon=True
            )
            self._announcer.start()
        return self

    def stop(self) -> None:
        """Stop serving; announcements still queued are dropped."""
        self._pending.put(None)
        super().stop()
        if self._announcer is not None:
            self._announcer.join(timeout=5)
            self._announcer = None

    @property
    def board(self) -> list[CallRecord]:
        """The last tickets called, newest first, each ticket once (a recall moves it up)."""
        with self._lock:
            return list(self._board)

    def wait_announced(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` announcements have finished; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while len(self.announced) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def handle(self, client: SimClient, words: list[str]) -> str:
        if words[0] == "CLEAR":
            return self._clear(words)
        if words[0] != "CALL":
            return super().handle(client, words)
        if len(words) != 4:
            return err_line(ErrCode.BAD_ARGUMENT, "bad_arguments")
        _, window, ticket, recall = words
        if not WINDOW_RE.fullmatch(window):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_window")
        if not TICKET_RE.fullmatch(ticket):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_ticket")
        if recall not in ("0", "1"):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_recall")
        self._accept(int(window), ticket, recall == "1")
        return "OK"

    def _clear(self, words: list[str]) -> str:
        """``CLEAR <window> <ticket>``: the window no longer calls the ticket (过号, 转移)."""
        if len(words) != 3:
            return err_line(ErrCode.BAD_ARGUMENT, "bad_arguments")
        _, window, ticket = words
        if not WINDOW_RE.fullmatch(window):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_window")
        if not TICKET_RE.fullmatch(ticket):
            return err_line(ErrCode.BAD_ARGUMENT, "bad_ticket")
        with self._lock:
            self._board = [
                r for r in self._board if (r.ticket_no, r.window_no) != (ticket, int(window))
            ]
        self.notify(self.on_clear, ticket)
        return "OK"

    def _accept(self, window_no: int, ticket_no: str, recall: bool) -> None:
        record = CallRecord(
            window_no=window_no,
            ticket_no=ticket_no,
            recall=recall,
            text=call_text(ticket_no, window_no, recall),
            speech=call_speech(ticket_no, window_no, recall, self.one),
            at=time.monotonic(),
        )
        with self._lock:
            self.calls.append(record)
            self._board = [record] + [r for r in self._board if r.ticket_no != ticket_no]
            del self._board[self.board_size :]
            self._pending.put(record)
        self.notify(self.on_call, record)

    def _announce_forever(self) -> None:
        while True:
            record = self._pending.get()
            if record is None:
                return
            started = time.monotonic()
            wav = self._speak_to_wav(record, len(self.announced) + 1)
            left = self.speak_s - (time.monotonic() - started)
            if left > 0 and self.sleep(left):
                return
            spoken = Spoken(record, started, time.monotonic(), wav)
            with self._idle:
                self.announced.append(spoken)
                self._idle.notify_all()
            self.notify(self.on_announce, spoken)

    def _speak_to_wav(self, record: CallRecord, n: int) -> Path | None:
        if self.announcer is not None:
            return self.announcer.speak(record.ticket_no, record.window_no, record.recall).wav
        if self.wav_dir is None:
            return None
        wav = self.wav_dir / f"{n:04d}-{record.ticket_no}.wav"
        pinyin = call_pinyin(record.ticket_no, record.window_no, record.recall, self.one)
        try:
            return espeak_tts.synthesize(pinyin, wav)
        except HallEdgeError:
            return None  # the board still shows the call
