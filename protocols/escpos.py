"""ESC/POS as the ticket printer and its simulator both speak it.

Values are those of the Epson ESC/POS command reference (the same bytes python-escpos 3.1
emits); section numbers refer to ``../shared/reference/device-protocols.md`` §2. The driver
side (:mod:`devices.ticket_printer`) builds commands from these and decodes status replies;
the simulator (:mod:`hardware_sim.escpos_printer`) parses the same commands and encodes the
same replies, so the two can never drift apart.
"""

from __future__ import annotations

# --- single control bytes, as labelled in the Epson reference ---------------------------------
#: ESC, "escape": starts most print-mode commands.
ESC = 0x1B
#: GS, "group separator": starts size, cut, QR and raster commands.
GS = 0x1D
#: FS, "file separator": starts the Chinese-mode commands (FS &, FS .).
FS = 0x1C
#: DLE: with EOT, the real-time status query.
DLE = 0x10
#: EOT, second byte of DLE EOT n.
EOT = 0x04
#: LF prints the line buffer and feeds one line.
LF_BYTE = 0x0A
#: CR is ignored when the printer feeds on LF (the USB default of every model we know).
CR = 0x0D

# --- commands the ticket printer sends (§2.2) -------------------------------------------------
#: ESC @: initialise the printer (modes back to default; Chinese mode survives).
INIT = b"\x1b\x40"
#: FS &: Chinese character mode, so GB18030 bytes print as characters (§2.4).
CHINESE_MODE_ON = b"\x1c\x26"
#: ESC a n: justification left / centre.
ALIGN_LEFT, ALIGN_CENTER = b"\x1b\x61\x00", b"\x1b\x61\x01"
#: ESC E n: emphasis off / on.
BOLD_OFF, BOLD_ON = b"\x1b\x45\x00", b"\x1b\x45\x01"
#: GS ! n: character size; 0x11 is double width and double height.
SIZE_NORMAL, SIZE_DOUBLE = b"\x1d\x21\x00", b"\x1d\x21\x11"
#: LF: print the line.
LF = b"\n"
#: ESC d n: print and feed n lines.
FEED_LINES = b"\x1b\x64"
#: GS V 65 / 66 n: feed to the cutter (+n dots), then full / partial cut.
CUT_FULL, CUT_PARTIAL = b"\x1d\x56\x41\x00", b"\x1d\x56\x42\x00"
#: DLE EOT n: real-time status; n = 1 printer, 2 offline cause, 3 error cause, 4 paper sensor.
STATUS_QUERY = b"\x10\x04"
#: GS ( k, cn 49: the QR code function group.
QR_FUNCTION = b"\x1d\x28\x6b"
#: Error correction level byte of GS ( k fn 69, by level letter.
QR_EC_LEVELS = {"L": 48, "M": 49, "Q": 50, "H": 51}

# --- bits of the DLE EOT n reply (§2.3) -------------------------------------------------------
#: Bits 1 and 4 are fixed 1, bits 0 and 7 fixed 0: ``reply & STATUS_FIXED_MASK`` must equal
#: :data:`STATUS_BASE`, or the byte is not a status reply.
STATUS_FIXED_MASK = 0x93
#: A healthy reply: only the fixed bits set.
STATUS_BASE = 0x12
#: DLE EOT 1, bit 3: printer is offline.
STATUS_OFFLINE = 0x08
#: DLE EOT 2, bit 2: cover open.
STATUS_COVER_OPEN = 0x04
#: DLE EOT 2, bit 5: printing stopped because the paper ended.
STATUS_PAPER_END_STOP = 0x20
#: DLE EOT 2, bit 6: an error occurred.
STATUS_ERROR = 0x40
#: DLE EOT 3, bit 3: auto-cutter error.
STATUS_CUTTER_ERROR = 0x08
#: DLE EOT 4, bits 2+3: roll paper near end.
STATUS_NEAR_END = 0x0C
#: DLE EOT 4, bits 5+6: roll paper end.
STATUS_PAPER_END = 0x60


def is_status_reply(byte: int) -> bool:
    """True when a byte has the fixed bits every DLE EOT reply carries."""
    return byte & STATUS_FIXED_MASK == STATUS_BASE
