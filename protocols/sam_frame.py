"""The SAM module frame (二代证阅读器, reference §1.2): shared by the reader driver and its simulator.

Every frame, either way::

    AA AA AA 96 69 | Len1 Len2 | body… | CHK

``Len`` is big-endian and counts the body *and* the checksum; ``CHK`` is the XOR of every byte
from ``Len1`` to the last body byte. A host body is ``CMD Para Data…``, a reader body is
``SW1 SW2 SW3 Data…``. Pure functions encode and decode one frame; :class:`FrameParser` cuts
frames out of a byte stream, skipping line noise until the next preamble.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from core.errors import SamFrameError

#: Frame preamble: ``AA AA AA`` syncs the UART, ``96 69`` marks the frame start (§1.2).
PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
#: Preamble plus the two length bytes: what must arrive before the length is known.
HEADER_LEN = len(PREAMBLE) + 2
#: The shortest legal Len: a host frame is CMD Para CHK.
MIN_LEN = 3
#: The longest frame body the reader sends: a ``30 10`` read with two fingerprints is 2321 bytes
#: in all (§1.5), Len 2314. Anything longer is line noise, not a frame to wait for.
MAX_LEN = 2314


class Cmd(IntEnum):
    """Command pairs ``CMD << 8 | Para`` (reference §1.3)."""

    RESET = 0x10FF
    STATUS = 0x11FF
    SAM_ID = 0x12FF
    FIND_CARD = 0x2001
    SELECT_CARD = 0x2002
    READ_TEXT_PHOTO = 0x3001
    READ_WITH_FINGERPRINT = 0x3010

    @property
    def cmd(self) -> int:
        return self.value >> 8

    @property
    def para(self) -> int:
        return self.value & 0xFF


class Sw3(IntEnum):
    """The reader's status byte (reference §1.4)."""

    OK = 0x90
    NO_CONTENT = 0x91
    FIND_OK = 0x9F
    CHECKSUM_ERROR = 0x10
    LENGTH_ERROR = 0x11
    COMMAND_ERROR = 0x21
    UNAUTHORISED_OPERATION = 0x23
    UNKNOWN_ERROR = 0x24
    CARD_AUTH_SAM_FAILED = 0x31
    SAM_AUTH_CARD_FAILED = 0x32
    VERIFY_FAILED = 0x33
    WRONG_CARD_TYPE = 0x40
    READ_FAILED = 0x41
    RANDOM_FAILED = 0x47
    SELF_TEST_FAILED = 0x60
    SAM_NOT_AUTHORISED = 0x66
    NO_CARD = 0x80
    SELECT_FAILED = 0x81


@dataclass(frozen=True)
class Command:
    """A host → reader frame's body."""

    cmd: int
    para: int
    data: bytes = b""

    @classmethod
    def of(cls, command: Cmd, data: bytes = b"") -> Command:
        return cls(command.cmd, command.para, data)

    @property
    def known(self) -> Cmd | None:
        """The command this is, or None for one the module does not know."""
        try:
            return Cmd(self.cmd << 8 | self.para)
        except ValueError:
            return None


@dataclass(frozen=True)
class Response:
    """A reader → host frame's body."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    @property
    def ok(self) -> bool:
        return self.sw3 in (Sw3.OK, Sw3.FIND_OK)


def checksum(data: bytes) -> int:
    """XOR of ``data`` (pass ``Len1 Len2 body``)."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode_frame(body: bytes) -> bytes:
    """Wrap a body in preamble, length and checksum.

    Raises:
        ValueError: the body is too short or too long for a frame (a programming error).
    """
    length = len(body) + 1
    if not MIN_LEN <= length <= 0xFFFF:
        raise ValueError(f"frame body of {len(body)} bytes")
    head = length.to_bytes(2, "big") + body
    return PREAMBLE + head + bytes((checksum(head),))


def encode_command(command: Command | Cmd, data: bytes = b"") -> bytes:
    """The exact bytes the host sends, e.g. ``AA AA AA 96 69 00 03 20 01 22`` for find card."""
    if isinstance(command, Cmd):
        command = Command.of(command, data)
    return encode_frame(bytes((command.cmd, command.para)) + command.data)


def encode_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """The exact bytes the reader answers, e.g. ``… 00 04 00 00 80 84`` for no card."""
    return encode_frame(bytes((sw1, sw2, sw3)) + data)


def decode_frame(raw: bytes) -> bytes:
    """The body of one complete frame, checked.

    Raises:
        SamFrameError (321): wrong preamble, length or checksum (``details["fault"]`` says which).
    """
    if raw[: len(PREAMBLE)] != PREAMBLE:
        raise SamFrameError("no SAM preamble", fault="preamble", frame=raw[:16].hex())
    if len(raw) < HEADER_LEN:
        raise SamFrameError("frame cut short", fault="truncated", frame=raw.hex())
    length = int.from_bytes(raw[5:7], "big")
    if not MIN_LEN <= length <= MAX_LEN or len(raw) != HEADER_LEN + length:
        raise SamFrameError(
            f"Len {length} for a {len(raw)}-byte frame", fault="length", frame=raw[:16].hex()
        )
    if checksum(raw[5:-1]) != raw[-1]:
        raise SamFrameError("frame checksum mismatch", fault="checksum", frame=raw[:16].hex())
    return raw[HEADER_LEN:-1]


def command_of(body: bytes) -> Command:
    """A host frame's body as a :class:`Command` (Len ≥ 3 guarantees CMD and Para)."""
    return Command(body[0], body[1], bytes(body[2:]))


def response_of(body: bytes) -> Response:
    """A reader frame's body as a :class:`Response`.

    Raises:
        SamFrameError (321): the body is too short to carry SW1 SW2 SW3.
    """
    if len(body) < 3:
        raise SamFrameError("reader frame without SW1 SW2 SW3", fault="length", frame=body.hex())
    return Response(body[0], body[1], body[2], bytes(body[3:]))


def decode_response(raw: bytes) -> Response:
    """One complete reader frame as a :class:`Response`.

    Raises:
        SamFrameError (321): see :func:`decode_frame`.
    """
    return response_of(decode_frame(raw))


class FrameParser:
    """Cuts frames out of a byte stream, resynchronising on the preamble after noise.

    Feed whatever the line delivers; take frames with :meth:`frames`. Bytes before a preamble
    are skipped (counted in :attr:`discarded`). A frame with a bad length or checksum is
    reported once as :class:`SamFrameError` and only its first byte is dropped, so a good frame
    hidden inside the bad one's declared length is still found. Memory stays bounded: at most
    one frame of ``max_len`` is ever waited for.

    Args:
        max_len: the largest Len accepted; a simulated module passes the longest host frame.
    """

    def __init__(self, max_len: int = MAX_LEN) -> None:
        self.max_len = max_len
        self._buf = bytearray()
        #: Bytes skipped as noise since the last :meth:`reset`.
        self.discarded = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def pending(self) -> int:
        """Bytes held of a frame begun but not complete (its preamble has arrived)."""
        self._sync()
        return len(self._buf) if self._buf.startswith(PREAMBLE) else 0

    @property
    def buffered(self) -> int:
        """Bytes held in all, frame or not (never more than one frame of ``max_len``)."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget everything buffered (a new exchange starts)."""
        self._buf.clear()
        self.discarded = 0

    def frames(self) -> Iterator[bytes]:
        """Yield the body of each complete, valid frame buffered so far.

        Raises:
            SamFrameError (321): the next frame in the stream is malformed. Its first byte is
                already dropped; iterate again to resume after it.
        """
        while True:
            self._sync()
            if len(self._buf) < HEADER_LEN or not self._buf.startswith(PREAMBLE):
                return
            length = int.from_bytes(self._buf[5:7], "big")
            if not MIN_LEN <= length <= self.max_len:
                self._drop(1)
                raise SamFrameError(f"impossible Len {length}", fault="length", length=length)
            if len(self._buf) < HEADER_LEN + length:
                return
            raw = bytes(self._buf[: HEADER_LEN + length])
            if checksum(raw[5:-1]) != raw[-1]:
                self._drop(1)
                raise SamFrameError("frame checksum mismatch", fault="checksum", length=length)
            del self._buf[: len(raw)]
            yield raw[HEADER_LEN:-1]

    def _sync(self) -> None:
        """Drop noise up to the next preamble; keep a tail that may be a preamble's start."""
        at = self._buf.find(PREAMBLE)
        if at < 0:
            keep = _partial_preamble(self._buf)
            self._drop(len(self._buf) - keep)
        elif at > 0:
            self._drop(at)

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self.discarded += n


def _partial_preamble(buf: bytearray) -> int:
    """How many trailing bytes of ``buf`` could be the start of a preamble."""
    for keep in range(min(len(buf), len(PREAMBLE) - 1), 0, -1):
        if buf.endswith(PREAMBLE[:keep]):
            return keep
    return 0
