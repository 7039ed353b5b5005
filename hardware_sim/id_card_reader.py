"""A SAM-module ID card reader (二代证阅读器) on a paced pty at 115200 baud, with injectable faults.

The real :class:`drivers.serial_port.SerialPort` opens :attr:`IdCardReaderSim.path` as it would
open ``/dev/ttyUSB0``. The module is strict the way the SAM module is (reference §1.2–§1.4,
§1.11): a host frame with a bad checksum is answered SW3 ``10``, a length that does not fit the
command (or a frame left unfinished) ``11``, an unknown command ``21``. Card handling is the
state machine find (``9F``) → select (``90``) → read (``90``); select without find and read
without select fail as on the module (``81``, ``41``).

Timing: the :class:`~hardware_sim.pty_link.PtyLink` paces every byte at the baud rate; the module
adds its own RF time per command (:class:`ModuleTiming`).
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from dataclasses import dataclass, replace
from datetime import date
from enum import Enum

from core.errors import SamFrameError
from hardware_sim.pty_link import PtyLink
from protocols.id_card import (
    PHOTO_LEN,
    CardKind,
    Foreigner2023Layout,
    IdCard,
    check_digit,
    encode_card,
)
from protocols.sam_frame import Cmd, Command, FrameParser, Sw3, command_of, encode_response

#: The module's default line speed (reference §1.1).
BAUD = 115200
#: The longest host frame the module accepts: ``61 FF n`` has Len 4.
MAX_HOST_LEN = 4
#: How long a started frame may stay unfinished before the module gives up on it.
FRAME_GAP_S = 0.1
#: Host commands and the Len each must carry (reference §1.3); the baud-rate commands too.
HOST_LEN: dict[tuple[int, int], int] = {
    **{(c.cmd, c.para): 3 for c in Cmd},
    **{(0x60, p): 3 for p in range(5)},
    (0x61, 0xFF): 4,
}
#: Line noise sent before answers under the ``garbage`` fault: partial preambles included, so
#: the driver's resync is really exercised.
NOISE = b"\x00\xff\xaa\x55\xaa\xaa\x96\x13\xaa\xaa\xaa\x96\x00"

#: The SAM number data (16 bytes) the simulated module reports: 05.01-20260101-000000123-
#: 000004567 once formatted (reference §1.10).
SAM_ID_DATA = (
    bytes((5, 0, 1, 0))
    + (20260101).to_bytes(4, "little")
    + (123).to_bytes(4, "little")
    + (4567).to_bytes(4, "little")
)


@dataclass(frozen=True)
class ModuleTiming:
    """Seconds the module itself spends on a command, before its answer goes on the wire.

    Attributes:
        find_s: RF search for a card.
        select_s: anticollision and select.
        read_s: authentication and reading the card's files (dominates, reference §1.10).
        slow_s: extra delay under the ``slow`` fault, beyond any host timeout.
    """

    find_s: float
    select_s: float
    read_s: float
    slow_s: float = 3.0


#: Timing profiles by name (``sim://id-reader?timing=instant``). ``typical`` is an estimate
#: inside the host timeouts published for real modules (reference §1.10: hosts wait 800 ms for
#: find, 300 ms for select, 1100 ms for read, and retry reads with 500 ms) — [UNCONFIRMED] as
#: a measurement of any one model. ``instant`` leaves only the wire time.
TIMINGS: dict[str, ModuleTiming] = {
    "typical": ModuleTiming(find_s=0.05, select_s=0.03, read_s=0.35),
    "instant": ModuleTiming(find_s=0.0, select_s=0.0, read_s=0.0),
}


class Fault(str, Enum):
    """Faults a test injects with :meth:`IdCardReaderSim.inject`; all stay until cleared,
    except ``card_removed``, which happens once, during the next read."""

    UNPLUG = "unplug"
    GARBAGE = "garbage"
    BAD_CHECKSUM = "bad_checksum"
    WRONG_LENGTH = "wrong_length"
    SLOW = "slow"
    NO_CARD = "no_card"
    CARD_REMOVED = "card_removed"
    READ_FAILED = "read_failed"
    AUTH_FAILED = "auth_failed"
    SELF_TEST_FAILED = "self_test_failed"
    SAM_NOT_AUTHORISED = "sam_not_authorised"


def fake_number(prefix17: str) -> str:
    """An 18-character number with a valid MOD 11-2 check digit (fake identities only)."""
    return prefix17 + check_digit(prefix17)


#: One fake card per layout, by the names used in ``sim://id-reader?card=…``.
SAMPLE_CARDS: dict[str, IdCard] = {
    "resident": IdCard(
        CardKind.RESIDENT,
        name="测试甲",
        sex_code="2",
        birth=date(1990, 3, 7),
        id_number=fake_number("11010119900307002"),
        valid_from=date(2016, 5, 1),
        valid_to=None,
        address="北京市东城区示范路1号",
        issuer="北京市公安局东城分局",
        nation_code="01",
    ),
    "resident-10y": IdCard(
        CardKind.RESIDENT,
        name="测试乙",
        sex_code="1",
        birth=date(1985, 11, 30),
        id_number=fake_number("44030519851130001"),
        valid_from=date(2020, 1, 15),
        valid_to=date(2030, 1, 15),
        address="广东省深圳市南山区示范街2号",
        issuer="深圳市公安局南山分局",
        nation_code="08",
    ),
    "hk_macao_taiwan": IdCard(
        CardKind.HK_MACAO_TAIWAN,
        name="测试丙",
        sex_code="1",
        birth=date(1978, 6, 1),
        id_number=fake_number("81000019780601001"),
        valid_from=date(2021, 9, 1),
        valid_to=date(2026, 9, 1),
        address="广东省深圳市福田区示范大道3号",
        issuer="深圳市公安局",
        pass_number="H12345678",
        issue_count="02",
    ),
    "foreigner": IdCard(
        CardKind.FOREIGNER,
        name="测试丁",
        sex_code="2",
        birth=date(1970, 2, 3),
        id_number="USA110070020301",
        valid_from=date(2015, 4, 1),
        valid_to=date(2025, 4, 1),
        english_name="TESTER, ALICE",
        nationality="USA",
        card_version="01",
        authority_code="1100",
    ),
    "foreigner_2023": IdCard(
        CardKind.FOREIGNER_2023,
        name="测试戊",
        sex_code="1",
        birth=date(1982, 12, 24),
        id_number=fake_number("93311019821224001"),
        valid_from=date(2024, 3, 1),
        valid_to=date(2034, 3, 1),
        english_name="TESTER, BOB",
        nationality="CAN",
        raw_fields={"32:4": "01".encode("utf-16-le")},
    ),
    # The two readings of the disputed span at 220 (reference §1.7 [CONFLICT]): a 2023 card
    # whose English name runs past 35 characters and continues there ([H4]
    # Johann356/readinfo PCSCGetData.h), and one that holds a pass number and issue count
    # there instead ([H5] yzfuture ForeignerInfoNew).
    "foreigner_2023_long_name": IdCard(
        CardKind.FOREIGNER_2023,
        name="测试己",
        sex_code="2",
        birth=date(1979, 8, 15),
        id_number=fake_number("93311019790815002"),
        valid_from=date(2024, 6, 1),
        valid_to=date(2034, 6, 1),
        # 45 characters whose 35th is a space: the first span ends in the space that
        # separates it from the continuation, which a careless join would lose.
        english_name="VANDERBERG-MONTGOMERY, ALEXANDRINA ELIZA KATE",
        nationality="GBR",
        layout=Foreigner2023Layout.NAME_CONTINUES,
    ),
    "foreigner_2023_pass_number": IdCard(
        CardKind.FOREIGNER_2023,
        name="测试庚",
        sex_code="1",
        birth=date(1988, 1, 9),
        id_number=fake_number("93311019880109003"),
        valid_from=date(2024, 9, 1),
        valid_to=date(2034, 9, 1),
        english_name="TESTER, CARL",
        nationality="DEU",
        issuer="国家移民管理局",
        pass_number="F12345678",
        issue_count="01",
        layout=Foreigner2023Layout.PASS_NUMBER,
    ),
}


def photo_of(card: IdCard) -> bytes:
    """A fixed 1024-byte stand-in for the card's WLT photo, distinct per card."""
    seed = card.id_number.encode()
    out = b""
    while len(out) < PHOTO_LEN:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return out[:PHOTO_LEN]


class IdCardReaderSim:
    """The module at the far end of a :class:`PtyLink`.

    Args:
        card: the card lying on the reader at start, or None.
        timing: the module's own time per command.
        repeat_find: True if find keeps answering ``9F`` for a card left on the reader after
            it was read; False if it answers ``80`` until the card is lifted (models differ,
            reference §1.10).
        fingerprint: fingerprint bytes the card holds (``30 10`` returns them), often empty.
        baud: line speed.
    """

    def __init__(
        self,
        card: IdCard | None = None,
        timing: ModuleTiming = TIMINGS["typical"],
        repeat_find: bool = True,
        fingerprint: bytes = b"",
        baud: int = BAUD,
    ) -> None:
        self.card = card
        self.timing = timing
        self.repeat_find = repeat_find
        self.fingerprint = fingerprint
        self.faults: set[Fault] = set()
        #: Every host command the module accepted, in order (``Cmd`` or raw ``(cmd, para)``).
        self.commands: list[Cmd | tuple[int, int]] = []
        #: SW3 of every answer sent, in order.
        self.answers: list[int] = []
        self._found = self._selected = self._read_done = False
        self._parser = FrameParser(max_len=MAX_HOST_LEN)
        self._inbox: queue.Queue[bytes | None] = queue.Queue()
        self._lock = threading.Lock()
        self.link = PtyLink(baud, self._inbox.put, name="ttySIM-idreader")
        self._worker: threading.Thread | None = None

    @property
    def path(self) -> str:
        """The serial port the driver opens."""
        return self.link.path

    def start(self) -> IdCardReaderSim:
        self.link.start()
        self._worker = threading.Thread(target=self._run, name="idreader-sim", daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        self._inbox.put(None)
        if self._worker is not None:
            self._worker.join(timeout=5)
        self.link.stop()

    # --- what a citizen does ------------------------------------------------------------------

    def place(self, card: IdCard) -> None:
        """Lay a card on the reader."""
        with self._lock:
            self.card = card
            self._found = self._selected = self._read_done = False

    def lift(self) -> None:
        """Take the card away."""
        with self._lock:
            self.card = None
            self._found = self._selected = self._read_done = False

    # --- faults -------------------------------------------------------------------------------

    def inject(self, fault: Fault | str) -> None:
        """Make a fault happen (``unplug`` pulls the cable now; ``no_card`` lifts the card)."""
        fault = Fault(fault)
        if fault is Fault.UNPLUG:
            self.link.unplug()
        elif fault is Fault.NO_CARD:
            self.lift()
        with self._lock:
            self.faults.add(fault)

    def clear(self, fault: Fault | str) -> None:
        """Undo a fault (``unplug`` plugs the cable back in)."""
        fault = Fault(fault)
        if fault is Fault.UNPLUG:
            self.link.plug()
        with self._lock:
            self.faults.discard(fault)

    # --- the module ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                data = self._inbox.get(timeout=FRAME_GAP_S if self._parser.pending else 0.5)
            except queue.Empty:
                if self._parser.pending:
                    # A frame started but its declared length never arrived.
                    self._parser.reset()
                    self._answer(Sw3.LENGTH_ERROR)
                continue
            if data is None:
                return
            self._parser.feed(data)
            self._drain()

    def _drain(self) -> None:
        while True:
            try:
                for body in self._parser.frames():
                    self._handle(command_of(body), len(body) + 1)
                return
            except SamFrameError as err:
                fault = err.details.get("fault")
                self._answer(Sw3.CHECKSUM_ERROR if fault == "checksum" else Sw3.LENGTH_ERROR)

    def _handle(self, command: Command, length: int) -> None:
        key = (command.cmd, command.para)
        expected = HOST_LEN.get(key)
        if expected is None:
            self._answer(Sw3.COMMAND_ERROR)
            return
        if length != expected:
            self._answer(Sw3.LENGTH_ERROR)
            return
        known = command.known
        self.commands.append(known if known is not None else key)
        with self._lock:
            faults = set(self.faults)
        if Fault.SELF_TEST_FAILED in faults:
            self._answer(Sw3.SELF_TEST_FAILED)
        elif Fault.SAM_NOT_AUTHORISED in faults and known not in (Cmd.RESET, Cmd.STATUS):
            self._answer(Sw3.SAM_NOT_AUTHORISED)
        elif known is Cmd.FIND_CARD:
            self._find()
        elif known is Cmd.SELECT_CARD:
            self._select()
        elif known in (Cmd.READ_TEXT_PHOTO, Cmd.READ_WITH_FINGERPRINT):
            self._read(known, faults)
        elif known is Cmd.SAM_ID:
            self._answer(Sw3.OK, SAM_ID_DATA)
        else:
            if known is Cmd.RESET:
                with self._lock:
                    self._found = self._selected = False
            self._answer(Sw3.OK)

    def _find(self) -> None:
        time.sleep(self.timing.find_s)
        with self._lock:
            visible = self.card is not None and (self.repeat_find or not self._read_done)
            self._found, self._selected = visible, False
        if visible:
            self._answer(Sw3.FIND_OK, bytes(4))
        else:
            self._answer(Sw3.NO_CARD)

    def _select(self) -> None:
        time.sleep(self.timing.select_s)
        with self._lock:
            ok = self._found and self.card is not None
            self._selected = ok
        if ok:
            self._answer(Sw3.OK, bytes(8))
        else:
            self._answer(Sw3.SELECT_FAILED)

    def _read(self, command: Cmd, faults: set[Fault]) -> None:
        with self._lock:
            card, ready = self.card, self._selected and self.card is not None
            self._found = self._selected = False
        if not ready or card is None:
            self._answer(Sw3.READ_FAILED)
            return
        if Fault.CARD_REMOVED in faults:
            # The card leaves the field half-way through the RF read.
            time.sleep(self.timing.read_s / 2)
            with self._lock:
                self.faults.discard(Fault.CARD_REMOVED)
            self.lift()
            self._answer(Sw3.READ_FAILED)
            return
        time.sleep(self.timing.read_s)
        if Fault.AUTH_FAILED in faults:
            self._answer(Sw3.SAM_AUTH_CARD_FAILED)
            return
        if Fault.READ_FAILED in faults:
            self._answer(Sw3.READ_FAILED)
            return
        with self._lock:
            self._read_done = True
        text, photo = encode_card(card), photo_of(card)
        sizes = len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
        if command is Cmd.READ_WITH_FINGERPRINT:
            sizes += len(self.fingerprint).to_bytes(2, "big")
            self._answer(Sw3.OK, sizes + text + photo + self.fingerprint)
        else:
            self._answer(Sw3.OK, sizes + text + photo)

    def _answer(self, sw3: int, data: bytes = b"") -> None:
        with self._lock:
            faults = set(self.faults)
        if Fault.UNPLUG in faults:
            return
        frame = bytearray(encode_response(sw3, data))
        if Fault.BAD_CHECKSUM in faults:
            frame[-1] ^= 0xFF
        if Fault.WRONG_LENGTH in faults:
            length = int.from_bytes(frame[5:7], "big") + 1
            frame[5:7] = length.to_bytes(2, "big")
        if Fault.GARBAGE in faults:
            frame[:0] = NOISE
        if Fault.SLOW in faults:
            time.sleep(self.timing.slow_s)
        self.answers.append(sw3)
        self.link.send(bytes(frame))


def with_timing(sim: IdCardReaderSim, **changes: float) -> None:
    """Change some of a running simulator's module times (e.g. a shorter ``slow_s``)."""
    sim.timing = replace(sim.timing, **changes)
