"""Grammar of the hall line protocol spoken by the call display and the rating pad.

One place for the limits and the exact line forms, shared by the host-side devices and the
simulators; ``docs/devices/hall-display-protocol.md`` is the prose version and the tests hold
the two together. Lines are UTF-8 text without the terminating LF.
"""

from __future__ import annotations

import re
from enum import IntEnum

from core.errors import BadResponse, DeviceRejected

#: Longest line in bytes, LF excluded. The longest valid line (a RESULT or CALL) is under 32
#: bytes; the margin leaves room for later fields without letting a runaway peer fill memory.
MAX_LINE_BYTES = 128

#: Protocol version reported in PONG.
PROTOCOL_VERSION = 1

KIND_CALL_DISPLAY = "call-display"
KIND_RATING_PAD = "rating-pad"

#: 1–3 uppercase letters (the service prefix) then 1–5 digits, e.g. ``A001``.
TICKET_RE = re.compile(r"[A-Z]{1,3}[0-9]{1,5}")
#: 1–999, no sign, no leading zero.
WINDOW_RE = re.compile(r"[1-9][0-9]{0,2}")
LEVEL_RE = re.compile(r"[1-5]")
REASON_RE = re.compile(r"[a-z_]{1,32}")
ERR_RE = re.compile(r"ERR ([0-9]{3}) ([a-z_]{1,32})")
PONG_RE = re.compile(r"PONG ([a-z-]{1,32}) ([0-9]{1,3})")

#: Replies are what answers a host command; every other line a device sends is unsolicited.
REPLY_WORDS = frozenset({"OK", "ERR", "PONG"})
EVENT_WORDS = frozenset({"RESULT"})


class ErrCode(IntEnum):
    """Codes a device puts in ``ERR <code> <reason>``. Numbers borrow HTTP's meanings."""

    #: not UTF-8, a control character (CR and TAB included), or stray spaces
    BAD_LINE = 400
    #: the first word is no command this device knows
    UNKNOWN_COMMAND = 401
    #: wrong number of arguments or an argument out of its grammar
    BAD_ARGUMENT = 422
    #: longer than MAX_LINE_BYTES; the rest up to the next LF is discarded
    LINE_TOO_LONG = 413


def err_line(code: ErrCode, reason: str) -> str:
    """The ERR line a device sends, e.g. ``ERR 422 bad_window``."""
    return f"ERR {int(code)} {reason}"


def check_ticket_no(ticket_no: str) -> str:
    """Return the ticket number if the protocol can carry it.

    Raises:
        DeviceRejected (305): not 1–3 uppercase letters followed by 1–5 digits.
    """
    if not isinstance(ticket_no, str) or not TICKET_RE.fullmatch(ticket_no):
        raise DeviceRejected(
            f"ticket number {ticket_no!r} outside the protocol", reason="bad_ticket"
        )
    return ticket_no


def check_window_no(window_no: int) -> int:
    """Return the window number if the protocol can carry it.

    Raises:
        DeviceRejected (305): not an integer in 1–999.
    """
    if isinstance(window_no, bool) or not isinstance(window_no, int) or not 1 <= window_no <= 999:
        raise DeviceRejected(f"window number {window_no!r} outside 1..999", reason="bad_window")
    return window_no


def encode_call(window_no: int, ticket_no: str, recall: bool) -> str:
    """``CALL <window_no> <ticket_no> <0|1>``.

    Raises:
        DeviceRejected (305): a number the protocol cannot carry.
    """
    return f"CALL {check_window_no(window_no)} {check_ticket_no(ticket_no)} {int(bool(recall))}"


def encode_clear(window_no: int, ticket_no: str) -> str:
    """``CLEAR <window_no> <ticket_no>``: the window no longer calls this ticket (过号, 转移);
    the call display takes it off its headline and its board.

    Raises:
        DeviceRejected (305): a number the protocol cannot carry.
    """
    return f"CLEAR {check_window_no(window_no)} {check_ticket_no(ticket_no)}"


def encode_rate(ticket_no: str, window_no: int) -> str:
    """``RATE <ticket_no> <window_no>``.

    Raises:
        DeviceRejected (305): a number the protocol cannot carry.
    """
    return f"RATE {check_ticket_no(ticket_no)} {check_window_no(window_no)}"


def encode_cancel(ticket_no: str) -> str:
    """``CANCEL <ticket_no>``.

    Raises:
        DeviceRejected (305): a ticket number the protocol cannot carry.
    """
    return f"CANCEL {check_ticket_no(ticket_no)}"


def encode_ack(ticket_no: str) -> str:
    """``ACK <ticket_no>``: the host has a RESULT for this ticket; the pad stops resending it.

    Raises:
        DeviceRejected (305): a ticket number the protocol cannot carry.
    """
    return f"ACK {check_ticket_no(ticket_no)}"


def encode_result(ticket_no: str, level: int) -> str:
    """``RESULT <ticket_no> <level>``, the line a rating pad sends when a key is pressed."""
    return f"RESULT {ticket_no} {level}"


def parse_result(line: str) -> tuple[str, int]:
    """Split a RESULT line into ticket number and level 1–5.

    Raises:
        BadResponse (304): not ``RESULT <ticket_no> <1-5>``.
    """
    words = line.split(" ")
    if (
        len(words) != 3
        or words[0] != "RESULT"
        or not TICKET_RE.fullmatch(words[1])
        or not LEVEL_RE.fullmatch(words[2])
    ):
        raise BadResponse(f"malformed rating result {line!r}", line=line)
    return words[1], int(words[2])


def expect_ok(line: str) -> None:
    """Accept an ``OK`` reply.

    Raises:
        DeviceRejected (305): the device answered ``ERR <code> <reason>``.
        BadResponse (304): anything else.
    """
    if line == "OK":
        return
    raise_for_err(line)
    raise BadResponse(f"expected OK, got {line!r}", line=line)


def expect_pong(line: str, kind: str) -> int:
    """Accept ``PONG <kind> <version>`` from the expected kind of device; return the version.

    Raises:
        DeviceRejected (305): the device answered ``ERR``.
        BadResponse (304): another reply, or another kind of device on that address.
    """
    raise_for_err(line)
    match = PONG_RE.fullmatch(line)
    if match is None:
        raise BadResponse(f"expected PONG, got {line!r}", line=line)
    if match.group(1) != kind:
        raise BadResponse(
            f"a {match.group(1)} answers where a {kind} was expected",
            line=line,
            found=match.group(1),
        )
    return int(match.group(2))


def raise_for_err(line: str) -> None:
    """Raise DeviceRejected (305) if the line is a well-formed ERR reply."""
    match = ERR_RE.fullmatch(line)
    if match is not None:
        raise DeviceRejected(
            f"device refused the command: {line}",
            device_code=int(match.group(1)),
            reason=match.group(2),
        )
