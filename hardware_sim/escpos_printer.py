"""A strict ESC/POS thermal printer: parses the byte stream and prints tickets you can read back.

The simulator is as strict as a real printer is unforgiving. A real printer that meets a byte it
does not understand prints garbage; this one records a :class:`ProtocolError` that a test can
see. It parses incrementally, so a command split across two USB transfers is still one command.

Paper is modelled as a roll of so many millimetres with a near-end sensor, and a cover. Faults
(:class:`Fault`) are injected on command. Real-time status queries (``DLE EOT n``) are answered
at once with the byte of reference §2.3; all other replies the printer does not make.

Byte values and meanings follow the Epson ESC/POS command reference (the tables python-escpos
``constants.py`` labels "as labelled in" the TM-T20 manual) and reference §2.2–§2.4.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from protocols.escpos import (
    CR,
    DLE,
    EOT,
    ESC,
    FS,
    GS,
    STATUS_BASE,
    STATUS_COVER_OPEN,
    STATUS_CUTTER_ERROR,
    STATUS_ERROR,
    STATUS_NEAR_END,
    STATUS_OFFLINE,
    STATUS_PAPER_END,
    STATUS_PAPER_END_STOP,
)
from protocols.escpos import (
    LF_BYTE as LF,
)
from protocols.qr_size import qr_modules

#: 203 dpi print head: 8 dots per millimetre.
DOTS_PER_MM = 8
#: Default line spacing, ESC 2 (1/6 inch on a 180 dpi grid ~ 30 dots at 203 dpi).
DEFAULT_LINE_SPACING = 30
#: Glyph widths in dots: font A 12x24, font B 9x17, Chinese characters 24x24.
FONT_A_WIDTH, FONT_B_WIDTH, HANZI_WIDTH, GLYPH_HEIGHT = 12, 9, 24, 24

_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
_QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}


class Fault(str, Enum):
    """Faults a test can inject with :meth:`EscPosPrinterSim.inject`."""

    PAPER_OUT = "paper_out"
    NEAR_END = "near_end"
    COVER_OPEN = "cover_open"
    CUTTER_ERROR = "cutter_error"
    UNPLUGGED = "unplugged"
    #: A printer that never answers DLE EOT (some USB firmwares, reference §2.3).
    NO_STATUS_REPLY = "no_status_reply"


@dataclass(frozen=True)
class RenderedLine:
    """One printed line.

    Attributes:
        text: the characters as decoded from the stream.
        align: ``left``, ``center`` or ``right`` (as set at the start of the line).
        width: horizontal magnification (1–8), the largest on the line.
        height: vertical magnification (1–8), the largest on the line.
        bold: any character on the line was emphasised.
        wrapped: the line is the continuation of one that did not fit the paper width.
    """

    text: str
    align: str = "left"
    width: int = 1
    height: int = 1
    bold: bool = False
    wrapped: bool = False


@dataclass(frozen=True)
class RenderedTicket:
    """What came out of the printer between two cuts.

    Attributes:
        lines: printed text lines in order (blank lines included).
        qr_payloads: the data of each QR code printed, decoded as UTF-8.
        images: number of raster images printed (GS v 0).
        cut: ``full`` or ``partial``.
        complete: False when printing stopped (paper end, cover, cutter) before the cut.
    """

    lines: tuple[RenderedLine, ...]
    qr_payloads: tuple[str, ...] = ()
    images: int = 0
    cut: str = "full"
    complete: bool = True

    @property
    def texts(self) -> list[str]:
        """The text of every line."""
        return [line.text for line in self.lines]

    def line(self, text: str) -> RenderedLine:
        """The first line whose text is ``text``.

        Raises:
            KeyError: no such line.
        """
        for candidate in self.lines:
            if candidate.text == text:
                return candidate
        raise KeyError(text)

    def to_record(self) -> dict[str, Any]:
        """The JSON-ready form written to the ``record=`` file."""
        return {
            "lines": self.texts,
            "qr_payloads": list(self.qr_payloads),
            "cut": self.cut,
            "layout": [
                {"text": ln.text, "align": ln.align, "width": ln.width, "height": ln.height,
                 "bold": ln.bold}
                for ln in self.lines
            ],
        }


@dataclass(frozen=True)
class ProtocolError:
    """Bytes the printer could not make sense of.

    Attributes:
        offset: position of the first offending byte in everything received.
        data: the bytes skipped.
        reason: what was wrong.
    """

    offset: int
    data: bytes
    reason: str


@dataclass
class _Mode:
    """Print modes that ESC @ resets."""

    bold: bool = False
    underline: int = 0
    font_b: bool = False
    width: int = 1
    height: int = 1
    align: str = "left"
    line_spacing: int = DEFAULT_LINE_SPACING
    code_page: int = 0
    qr_model: int = 2
    qr_size: int = 3
    qr_ec: str = "L"
    qr_data: bytes | None = None


@dataclass
class _Line:
    text: list[str] = field(default_factory=list)
    dots: int = 0
    align: str = "left"
    width: int = 1
    height: int = 1
    bold: bool = False
    wrapped: bool = False


class EscPosPrinterSim:
    """A 58 mm (or wider) ESC/POS printer with a paper roll, a cover and a cutter.

    Args:
        paper_mm: paper left on the roll, in millimetres.
        near_end_mm: the near-end sensor trips when this much paper or less is left.
        dots_per_line: printable width in dots (384 for 58 mm, 576 for 80 mm).
        chinese_mode: whether the printer powers on in Chinese (GB18030) mode. Off by default,
            so a host that forgets ``FS &`` is caught.
        record: append each complete ticket as one JSON line to this file.

    Attributes:
        tickets: complete tickets, oldest first.
        incomplete_tickets: tickets cut (or abandoned) after printing stopped.
        protocol_errors: everything the parser could not accept.
        received: every byte received, for exact-byte assertions.
        status_queries: the ``n`` of each DLE EOT received.
    """

    def __init__(
        self,
        *,
        paper_mm: float = 50_000.0,
        near_end_mm: float = 1_500.0,
        dots_per_line: int = 384,
        chinese_mode: bool = False,
        record: str | Path | None = None,
    ) -> None:
        self.paper_mm = float(paper_mm)
        self.near_end_mm = float(near_end_mm)
        self.full_roll_mm = max(float(paper_mm), 50_000.0)
        self.dots_per_line = dots_per_line
        self.chinese_mode = chinese_mode
        self.record = Path(record) if record else None
        self.cover_open = False
        self.cutter_error = False
        self.plugged = True
        #: Told when the cable is pulled (False) or put back (True): a transport that is a
        #: real cable (the serial link) follows the printer's unplug fault.
        self.on_plug: Callable[[bool], None] | None = None
        #: Counts unplugs, so a USB handle from before a replug can be told apart.
        self.unplug_count = 0
        self.answers_status = True
        self.tickets: list[RenderedTicket] = []
        self.incomplete_tickets: list[RenderedTicket] = []
        self.protocol_errors: list[ProtocolError] = []
        self.received = bytearray()
        self.status_queries: list[int] = []
        self._lock = threading.RLock()
        self._reply_ready = threading.Condition(self._lock)
        self._replies = bytearray()
        self._buf = bytearray()
        self._consumed = 0
        self._mode = _Mode()
        self._line = _Line()
        self._lines: list[RenderedLine] = []
        self._qr: list[str] = []
        self._images = 0
        self._stopped_mid_ticket = False

    # --- state a test or the status reply reads ---------------------------------------------

    @property
    def paper_out(self) -> bool:
        """No paper left."""
        return self.paper_mm <= 0

    @property
    def near_end(self) -> bool:
        """The near-end sensor sees the roll running low (but not out)."""
        return 0 < self.paper_mm <= self.near_end_mm

    @property
    def halted(self) -> bool:
        """Printing is stopped: paper end, cover open or cutter error."""
        return self.paper_out or self.cover_open or self.cutter_error

    @property
    def pending(self) -> bytes:
        """Bytes of a command not yet complete."""
        with self._lock:
            return bytes(self._buf)

    def current_lines(self) -> list[RenderedLine]:
        """Lines printed since the last cut (the ticket still on the printer)."""
        with self._lock:
            return list(self._lines)

    def status_byte(self, n: int) -> int:
        """The reply to ``DLE EOT n`` (reference §2.3).

        Raises:
            ValueError: ``n`` is not 1–4.
        """
        byte = STATUS_BASE
        if n == 1:
            if self.halted:
                byte |= STATUS_OFFLINE
        elif n == 2:
            if self.cover_open:
                byte |= STATUS_COVER_OPEN
            if self.paper_out:
                byte |= STATUS_PAPER_END_STOP
            if self.cutter_error:
                byte |= STATUS_ERROR
        elif n == 3:
            if self.cutter_error:
                byte |= STATUS_CUTTER_ERROR
        elif n == 4:
            if self.paper_out:
                byte |= STATUS_PAPER_END
            elif self.near_end:
                byte |= STATUS_NEAR_END
        else:
            raise ValueError(f"DLE EOT {n} is not a status query")
        return byte

    # --- faults -----------------------------------------------------------------------------

    def inject(self, fault: Fault | str) -> None:
        """Make a fault happen now (``paper_out`` empties the roll, ``unplugged`` pulls the
        cable)."""
        fault = Fault(fault)
        self._apply_fault(fault)
        if fault is Fault.UNPLUGGED and self.on_plug is not None:
            self.on_plug(False)

    def _apply_fault(self, fault: Fault) -> None:
        with self._lock:
            if fault is Fault.PAPER_OUT:
                self.paper_mm = 0.0
            elif fault is Fault.NEAR_END:
                self.paper_mm = self.near_end_mm / 2
            elif fault is Fault.COVER_OPEN:
                self.cover_open = True
            elif fault is Fault.CUTTER_ERROR:
                self.cutter_error = True
            elif fault is Fault.UNPLUGGED:
                self.plugged = False
                self.unplug_count += 1
                self._buf.clear()  # a transfer cut off by the unplug never completes
                self._reply_ready.notify_all()
            elif fault is Fault.NO_STATUS_REPLY:
                self.answers_status = False

    def clear(self, fault: Fault | str) -> None:
        """Undo a fault (``paper_out``/``near_end`` load a fresh roll, ``unplugged`` replugs)."""
        fault = Fault(fault)
        self._clear_fault(fault)
        if fault is Fault.UNPLUGGED and self.on_plug is not None:
            self.on_plug(True)

    def _clear_fault(self, fault: Fault) -> None:
        with self._lock:
            if fault in (Fault.PAPER_OUT, Fault.NEAR_END):
                self.load_paper(self.full_roll_mm)
            elif fault is Fault.COVER_OPEN:
                self.cover_open = False
            elif fault is Fault.CUTTER_ERROR:
                self.cutter_error = False
            elif fault is Fault.UNPLUGGED:
                self.plugged = True
            elif fault is Fault.NO_STATUS_REPLY:
                self.answers_status = True

    def load_paper(self, mm: float) -> None:
        """Put a roll with ``mm`` millimetres of paper in."""
        with self._lock:
            self.paper_mm = float(mm)

    # --- the byte stream --------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Receive bytes from the host, parsing every complete command."""
        with self._lock:
            self.received += data
            self._buf += data
            while self._buf:
                used = self._step()
                if used == 0:
                    break  # an incomplete command waits for the next transfer
                del self._buf[:used]
                self._consumed += used

    def read_reply(self, size: int, timeout_s: float | None) -> bytes:
        """Take up to ``size`` reply bytes, waiting up to ``timeout_s`` (None: forever).

        Returns:
            The bytes, or ``b""`` when nothing came in time or the cable was pulled.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._reply_ready:
            while not self._replies and self.plugged:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return b""
                self._reply_ready.wait(left)
            out = bytes(self._replies[:size])
            del self._replies[:size]
            return out

    # --- parser -----------------------------------------------------------------------------

    def _step(self) -> int:
        """Parse one command at the head of the buffer; the bytes used, 0 if incomplete."""
        b0 = self._buf[0]
        if b0 == LF:
            self._print_line()
            return 1
        if b0 == CR:
            return 1
        if 0x20 <= b0 <= 0x7E:
            self._put_char(chr(b0), FONT_B_WIDTH if self._mode.font_b else FONT_A_WIDTH)
            return 1
        if b0 >= 0x80:
            return self._hanzi()
        if b0 == ESC:
            return self._esc()
        if b0 == GS:
            return self._gs()
        if b0 == FS:
            return self._fs()
        if b0 == DLE:
            return self._dle()
        return self._error(1, f"unknown control byte 0x{b0:02X}")

    def _error(self, used: int, reason: str) -> int:
        self.protocol_errors.append(
            ProtocolError(self._consumed, bytes(self._buf[:used]), reason)
        )
        return used

    def _hanzi(self) -> int:
        buf = self._buf
        if not self.chinese_mode:
            return self._error(1, f"byte 0x{buf[0]:02X} outside Chinese mode (no FS &)")
        if not 0x81 <= buf[0] <= 0xFE:
            return self._error(1, f"0x{buf[0]:02X} cannot start a GB18030 character")
        if len(buf) < 2:
            return 0
        if 0x30 <= buf[1] <= 0x39:
            if len(buf) < 4:
                return 0
            size = 4
        elif 0x40 <= buf[1] <= 0xFE and buf[1] != 0x7F:
            size = 2
        else:
            return self._error(1, f"bad GB18030 trail byte 0x{buf[1]:02X}")
        try:
            char = bytes(buf[:size]).decode("gb18030")
        except UnicodeDecodeError:
            return self._error(1, "undecodable GB18030 sequence")
        self._put_char(char, HANZI_WIDTH)
        return size

    def _esc(self) -> int:
        buf, mode = self._buf, self._mode
        if len(buf) < 2:
            return 0
        cmd = buf[1]
        if cmd == 0x40:  # ESC @ initialise; Chinese mode survives it (reference §2.4)
            self._line = _Line()
            self._mode = _Mode()
            return 2
        if cmd == 0x32:  # ESC 2 default line spacing
            mode.line_spacing = DEFAULT_LINE_SPACING
            return 2
        if cmd not in (0x74, 0x21, 0x45, 0x61, 0x2D, 0x4D, 0x64, 0x33):
            return self._error(2, f"unknown command ESC 0x{cmd:02X}")
        if len(buf) < 3:
            return 0
        n = buf[2]
        if cmd == 0x74:  # ESC t n code page
            mode.code_page = n
        elif cmd == 0x21:  # ESC ! n print mode
            mode.font_b = bool(n & 0x01)
            mode.bold = bool(n & 0x08)
            mode.height = 2 if n & 0x10 else 1
            mode.width = 2 if n & 0x20 else 1
            mode.underline = 1 if n & 0x80 else 0
        elif cmd == 0x45:  # ESC E n emphasis
            mode.bold = bool(n & 0x01)
        elif cmd == 0x61:  # ESC a n justification, honoured only at the start of a line
            if n not in _ALIGN:
                return self._error(3, f"ESC a {n}: no such justification")
            mode.align = _ALIGN[n]
        elif cmd == 0x2D:  # ESC - n underline
            if n not in (0, 1, 2, 48, 49, 50):
                return self._error(3, f"ESC - {n}: no such underline")
            mode.underline = n % 48
        elif cmd == 0x4D:  # ESC M n font
            if n not in (0, 1, 48, 49):
                return self._error(3, f"ESC M {n}: no such font")
            mode.font_b = n % 48 == 1
        elif cmd == 0x64:  # ESC d n print and feed n lines
            self._print_line(keep_empty=False)
            self._advance(n * mode.line_spacing)
        elif cmd == 0x33:  # ESC 3 n line spacing in dots
            mode.line_spacing = n
        return 3

    def _gs(self) -> int:
        buf = self._buf
        if len(buf) < 2:
            return 0
        cmd = buf[1]
        if cmd == 0x21:  # GS ! n character size
            if len(buf) < 3:
                return 0
            n = buf[2]
            if n >> 4 > 7 or n & 0x0F > 7:
                return self._error(3, f"GS ! 0x{n:02X}: size out of range")
            self._mode.width, self._mode.height = (n >> 4) + 1, (n & 0x0F) + 1
            return 3
        if cmd == 0x56:
            return self._cut()
        if cmd == 0x28:
            return self._gs_paren()
        if cmd == 0x76:
            return self._raster()
        return self._error(2, f"unknown command GS 0x{cmd:02X}")

    def _cut(self) -> int:
        buf = self._buf
        if len(buf) < 3:
            return 0
        m = buf[2]
        if m in (0, 1, 48, 49):  # GS V m: cut where the paper is
            used, feed = 3, 0
        elif m in (65, 66):  # GS V m n: feed n dots, then cut
            if len(buf) < 4:
                return 0
            used, feed = 4, buf[3]
        else:
            return self._error(3, f"GS V {m}: no such cut")
        self._print_line(keep_empty=False)
        self._advance(feed)
        self._finish_ticket("full" if m in (0, 48, 65) else "partial")
        return used

    def _gs_paren(self) -> int:
        buf = self._buf
        if len(buf) < 5:
            return 0
        size = buf[3] | buf[4] << 8
        if len(buf) < 5 + size:
            return 0
        if buf[2] != 0x6B:
            return self._error(5 + size, f"unsupported GS ( 0x{buf[2]:02X}")
        body = bytes(buf[5 : 5 + size])
        reason = self._qr_function(body)
        if reason:
            return self._error(5 + size, reason)
        return 5 + size

    def _qr_function(self, body: bytes) -> str | None:
        """Run one GS ( k function; the reason it was refused, or None."""
        if len(body) < 2 or body[0] != 0x31:
            return "GS ( k: not a QR code function (cn != 49)"
        fn, args, mode = body[1], body[2:], self._mode
        if fn == 0x41:  # model
            if len(args) != 2 or args[0] not in (49, 50, 51) or args[1] != 0:
                return "GS ( k 165: bad QR model"
            mode.qr_model = args[0] - 48
        elif fn == 0x43:  # module size
            if len(args) != 1 or not 1 <= args[0] <= 16:
                return "GS ( k 167: QR module size must be 1-16"
            mode.qr_size = args[0]
        elif fn == 0x45:  # error correction
            if len(args) != 1 or args[0] not in _QR_EC:
                return "GS ( k 169: bad QR error correction level"
            mode.qr_ec = _QR_EC[args[0]]
        elif fn == 0x50:  # store data
            if not args or args[0] != 0x30 or len(args) < 2:
                return "GS ( k 180: bad QR store (m != 48 or no data)"
            mode.qr_data = bytes(args[1:])
        elif fn == 0x51:  # print stored symbol
            if args != b"\x30":
                return "GS ( k 181: bad QR print parameter"
            return self._print_qr()
        else:
            return f"GS ( k: unsupported QR function {fn}"
        return None

    def _print_qr(self) -> str | None:
        mode = self._mode
        if mode.qr_data is None:
            return "QR print with no data stored"
        try:
            side = qr_modules(mode.qr_data, mode.qr_ec) * mode.qr_size
        except ValueError:
            return "QR data too long for any symbol version"
        if side > self.dots_per_line:
            return f"QR symbol {side} dots wide does not fit {self.dots_per_line}"
        self._print_line(keep_empty=False)
        if self._advance(side):
            try:
                self._qr.append(mode.qr_data.decode("utf-8"))
            except UnicodeDecodeError:
                self._qr.append(mode.qr_data.decode("latin-1"))
        return None

    def _raster(self) -> int:
        buf = self._buf
        if len(buf) < 3:
            return 0
        if buf[2] != 0x30:
            return self._error(3, f"unsupported GS v 0x{buf[2]:02X}")
        if len(buf) < 8:
            return 0
        m, xbytes, ydots = buf[3], buf[4] | buf[5] << 8, buf[6] | buf[7] << 8
        size = 8 + xbytes * ydots
        if len(buf) < size:
            return 0
        if m not in (0, 1, 2, 3, 48, 49, 50, 51):
            return self._error(size, f"GS v 0 mode {m} undefined")
        if xbytes * 8 > self.dots_per_line:
            return self._error(size, "raster image wider than the paper")
        self._print_line(keep_empty=False)
        if self._advance(ydots):
            self._images += 1
        return size

    def _fs(self) -> int:
        buf = self._buf
        if len(buf) < 2:
            return 0
        if buf[1] == 0x26:  # FS & Chinese mode on
            self.chinese_mode = True
            return 2
        if buf[1] == 0x2E:  # FS . Chinese mode off
            self.chinese_mode = False
            return 2
        return self._error(2, f"unknown command FS 0x{buf[1]:02X}")

    def _dle(self) -> int:
        buf = self._buf
        if len(buf) < 2:
            return 0
        if buf[1] != EOT:
            return self._error(1, f"DLE followed by 0x{buf[1]:02X}")
        if len(buf) < 3:
            return 0
        n = buf[2]
        if not 1 <= n <= 4:
            return self._error(3, f"DLE EOT {n}: no such status")
        self.status_queries.append(n)
        if self.answers_status:
            self._replies.append(self.status_byte(n))
            self._reply_ready.notify_all()
        return 3

    # --- printing ---------------------------------------------------------------------------

    def _put_char(self, char: str, glyph_width: int) -> None:
        mode, line = self._mode, self._line
        width = glyph_width * mode.width
        if line.text and line.dots + width > self.dots_per_line:
            self._print_line()
            self._line.wrapped = True
            line = self._line
        if not line.text:
            line.align = mode.align
        line.text.append(char)
        line.dots += width
        line.width = max(line.width, mode.width)
        line.height = max(line.height, mode.height)
        line.bold = line.bold or mode.bold

    def _print_line(self, keep_empty: bool = True) -> None:
        line = self._line
        self._line = _Line()
        if not line.text and not keep_empty:
            return
        height = max(self._mode.line_spacing, GLYPH_HEIGHT * line.height)
        if self._advance(height):
            self._lines.append(
                RenderedLine("".join(line.text), line.align if line.text else self._mode.align,
                             line.width, line.height, line.bold, line.wrapped)
            )

    def _advance(self, dots: int) -> bool:
        """Move the paper; False when nothing could be printed (paper end, cover, cutter)."""
        if self.halted:
            self._stopped_mid_ticket = True
            return False
        need = dots / DOTS_PER_MM
        if need > self.paper_mm:
            self.paper_mm = 0.0
            self._stopped_mid_ticket = True
            return False
        self.paper_mm -= need
        return True

    def _finish_ticket(self, cut: str) -> None:
        complete = not self._stopped_mid_ticket and not self.halted
        ticket = RenderedTicket(tuple(self._lines), tuple(self._qr), self._images, cut, complete)
        self._lines, self._qr, self._images = [], [], 0
        self._stopped_mid_ticket = False
        if not complete:
            self.incomplete_tickets.append(ticket)
            return
        self.tickets.append(ticket)
        if self.record is not None:
            with self.record.open("a", encoding="utf-8") as out:
                out.write(json.dumps(ticket.to_record(), ensure_ascii=False) + "\n")
