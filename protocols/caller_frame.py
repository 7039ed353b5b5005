"""The serial window caller / 4-key rating pad frame (``FF 68 L L 68 A F data CS 16``).

One codec for the host side (:mod:`devices.window_caller`) and the simulator
(:mod:`hardware_sim.window_caller`), so both hold the same rules. The layout is an IEC
60870-5 FT1.2-style variable frame with an ``FF`` wake byte (reference
``device-protocols.md`` §5.2, from JackQChen/QueueSystem ``CallSystem/frmMain.cs``)::

    FF 68 | L | L' | 68 | A | F | data … | CS | 16
    L = L' = 2 + len(data)        CS = (A + F + sum(data)) mod 256

The bus is RS-485 at 9600 8N1; ``docs/devices/window-caller.md`` is the prose version.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import CallerChecksum, CallerFrameInvalid, DeviceError

#: Wake byte before every frame (§5.2 ``Head[0]``).
WAKE = 0xFF
#: FT1.2 start character, sent before L and again after L' (§5.2 ``Head[1]``, ``fixedvalue``).
START = 0x68
#: FT1.2 end character (§5.2 ``End``).
END = 0x16
#: Bytes of a frame around its data: FF 68 L L' 68 A F … CS 16.
OVERHEAD = 9
#: L counts A and F besides the data.
L_BASE = 2
#: Largest L one length byte can carry.
MAX_L = 0xFF

# Function codes (§5.2).
#: Rating pad → host: data[0] is the key value 0–3.
F_RATING = 0x11
#: Host → rating pad: acknowledges a rating (same data[0]); also "start rating" with data 0B.
F_RATING_ACK = 0x01
#: Host → caller: the caller's 3+3 digit display (``SendTicket``/``SendWait``).
F_DISPLAY = 0x02
#: Host → caller: beep, no data (``SendBeep``).
F_BEEP = 0x03
#: Caller → host key press. §5.2's host ignores F for keys (any F but 0x11 is a key); this is
#: the value our simulator sends. [UNCONFIRMED] what real callers send.
F_KEY = 0x05
#: data of the "start rating" command (``SendStartE``: ``F=01 data=0B``).
START_RATING_DATA = b"\x0b"
#: A blank digit on the caller's display.
BLANK_DIGIT = 0x0A

#: What the host accepts from a device, per §5.2's receive code: L ≤ 2 carries no key, and the
#: installation refuses L > 5.
HOST_MIN_L, HOST_MAX_L = 3, 5
#: What a caller accepts from the host: a beep has L = 2, a display frame L = 8.
DEVICE_MIN_L, DEVICE_MAX_L = 2, 8


@dataclass(frozen=True)
class Frame:
    """One frame on the bus.

    Attributes:
        address: the caller's or pad's bus address (1 byte).
        function: F.
        data: the bytes between F and CS.
    """

    address: int
    function: int
    data: bytes = b""

    @property
    def length(self) -> int:
        """L: A, F and the data."""
        return L_BASE + len(self.data)


def checksum(address: int, function: int, data: bytes) -> int:
    """CS = (A + F + Σdata) mod 256 (§5.2)."""
    return (address + function + sum(data)) & 0xFF


def encode_frame(frame: Frame) -> bytes:
    """The frame's bytes, wake byte and end character included.

    Raises:
        ValueError: an address or function outside one byte, or more data than L can count
            (a programming error: callers build frames from the key and display tables).
    """
    if not (0 <= frame.address <= 0xFF and 0 <= frame.function <= 0xFF):
        raise ValueError(f"address/function outside one byte: {frame}")
    length = frame.length
    if length > MAX_L:
        raise ValueError(f"{len(frame.data)} data bytes do not fit one frame")
    cs = checksum(frame.address, frame.function, frame.data)
    return bytes(
        (WAKE, START, length, length, START, frame.address, frame.function, *frame.data, cs, END)
    )


def decode_frame(raw: bytes, min_l: int = 2, max_l: int = MAX_L) -> Frame:
    """Decode exactly one frame.

    Args:
        raw: the frame's bytes, nothing before or after.
        min_l, max_l: the L a receiver accepts (:data:`HOST_MIN_L` … for the host).

    Raises:
        CallerFrameInvalid (350): a broken frame; ``details["reason"]`` says which rule.
        CallerChecksum (351): CS does not match.
    """
    parser = FrameParser(min_l, max_l)
    results = parser.feed(raw)
    for result in results:
        if isinstance(result, DeviceError):
            raise result
    if len(results) == 1 and parser.pending == 0 and parser.skipped == 0:
        return results[0]
    raise CallerFrameInvalid("not exactly one frame", reason="truncated", raw=raw.hex(" "))


class FrameParser:
    """Incremental parser: bytes in any chunks in, frames and typed errors out.

    It never raises and never holds more than one frame's bytes: noise before a ``FF 68`` is
    dropped (counted in :attr:`skipped`), and after any broken frame it resynchronises on the
    next ``FF 68`` *after* the broken frame's first byte, so a real frame that started inside
    the broken one is not lost.

    Args:
        min_l, max_l: the L this receiver accepts; others are ``bad_length`` errors.
    """

    def __init__(self, min_l: int = 2, max_l: int = MAX_L) -> None:
        self.min_l = min_l
        self.max_l = max_l
        self._buf = bytearray()
        #: Noise bytes dropped while looking for a frame.
        self.skipped = 0

    @property
    def pending(self) -> int:
        """Bytes held of a frame not complete yet."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | CallerFrameInvalid]:
        """Take the next bytes from the line.

        Returns:
            Every frame completed by these bytes, and a :class:`CallerFrameInvalid` (350) or
            :class:`CallerChecksum` (351) for each broken one, in line order.
        """
        self._buf += data
        out: list[Frame | CallerFrameInvalid] = []
        while self._sync():
            result = self._take()
            if result is None:
                break
            out.append(result)
        return out

    def flush(self) -> CallerFrameInvalid | None:
        """End of the line's burst: a partial frame is reported as truncated and dropped.

        The host calls this when the line has been quiet longer than a frame takes, so a
        frame cut off by a pulled cable or a stuck sender never swallows the next one.
        """
        if not self._buf:
            return None
        held, self._buf = bytes(self._buf), bytearray()
        if held == bytes((WAKE,)):
            self.skipped += 1
            return None
        return CallerFrameInvalid("frame cut off", reason="truncated", raw=held.hex(" "))

    def _sync(self) -> bool:
        """Drop noise up to the next FF 68; True when a frame start is at the buffer head."""
        at = self._buf.find(bytes((WAKE, START)))
        if at < 0:
            # Keep a trailing FF: its 68 may be in the next chunk.
            keep = 1 if self._buf.endswith(bytes((WAKE,))) else 0
            self.skipped += len(self._buf) - keep
            del self._buf[: len(self._buf) - keep]
            return False
        self.skipped += at
        del self._buf[:at]
        return True

    def _take(self) -> Frame | CallerFrameInvalid | None:
        buf = self._buf
        if len(buf) < 5:
            return None
        length, length2 = buf[2], buf[3]
        if length != length2:
            return self._broken("length_mismatch", f"L={length} L'={length2}")
        if not self.min_l <= length <= self.max_l:
            return self._broken("bad_length", f"L={length} outside {self.min_l}..{self.max_l}")
        if buf[4] != START:
            return self._broken("bad_start", f"0x{buf[4]:02X} where 68 belongs")
        total = OVERHEAD - L_BASE + length
        if len(buf) < total:
            return None
        address, function = buf[5], buf[6]
        data = bytes(buf[7 : 7 + length - L_BASE])
        cs, end = buf[total - 2], buf[total - 1]
        if end != END:
            return self._broken("bad_end", f"0x{end:02X} where 16 belongs")
        want = checksum(address, function, data)
        if cs != want:
            raw = bytes(buf[:total])
            del buf[:1]
            return CallerChecksum(
                f"CS 0x{cs:02X}, expected 0x{want:02X}",
                reason="bad_checksum",
                address=address,
                raw=raw.hex(" "),
            )
        del buf[:total]
        return Frame(address, function, data)

    def _broken(self, reason: str, why: str) -> CallerFrameInvalid:
        raw = bytes(self._buf[:OVERHEAD])
        # Drop only the wake byte: the next FF 68 may begin inside what looked like a frame.
        del self._buf[:1]
        return CallerFrameInvalid(f"broken caller frame: {why}", reason=reason, raw=raw.hex(" "))
