"""Ticket numbers: the hall box's own counter and the blocks it reserves for kiosks.

A ticket number is the service's prefix and a per-day number, ``A001``, ``A9001``
(:func:`ticket_no`); the hall line protocol carries 1–3 letters and 1–5 digits
(``protocols/hall_line.py``), so a number is at most :data:`MAX_NUMBER`.

* **The hall box's own numbers** count up from 1 per business day and prefix
  (``ticket_counter``), as they always have: the morning's first walk-in is ``A001``.
* **Offline ranges.** A kiosk on its own machine must go on issuing while it cannot reach the
  hall box. The hall box reserves it, ahead of time, a block of :data:`RANGE_SIZE` numbers per
  service and business day (``ticket_ranges``), taken from a band that starts at
  :data:`OFFLINE_FIRST` (``A9001`` …) and never below the hall box's own counter. Ranges of one
  day and prefix never overlap, each belongs to one kiosk, and the hall box's own counter skips
  any reserved number (:func:`next_own_number`), so no two machines can ever issue the same
  number, however long a kiosk stays cut off and however busy the hall is. Why a band rather
  than blocks cut from the running counter: a block reserved in the morning would make the
  first walk-in's number jump (``A041`` in an empty hall), and each unused block would leave a
  hole in the numbers people see called; a four-digit number in the band is also how staff
  tell a ticket issued while the kiosk was cut off.

Connection-level functions: called inside the caller's write transaction
(:class:`flows.queue.HallQueue`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from core.errors import NumberRangeExhausted

#: The first number of the offline band (``A9001``).
OFFLINE_FIRST = 9001
#: The largest number the hall line protocol carries (5 digits).
MAX_NUMBER = 99_999
#: Numbers per reserved block: some hours of one kiosk's tickets for one service.
RANGE_SIZE = 50


@dataclass(frozen=True)
class NumberRange:
    """A block of numbers reserved for one kiosk, one service, one business day.

    Attributes:
        day: the business day (``YYYY-MM-DD``, hall time).
        service: the service code.
        prefix: the service's ticket prefix.
        first: the first number of the block.
        last: the last number of the block (inclusive).
    """

    day: str
    service: str
    prefix: str
    first: int
    last: int


def ticket_no(prefix: str, number: int) -> str:
    """The printed number: ``A`` and at least three digits (``A001``, ``A9001``)."""
    return f"{prefix}{number:03d}"


def number_of(prefix: str, ticket_number: str) -> int | None:
    """The number in ``ticket_number`` when it is ``prefix`` and digits, else None."""
    digits = ticket_number[len(prefix) :]
    if not ticket_number.startswith(prefix) or not digits.isdigit():
        return None
    return int(digits)


def next_own_number(conn: sqlite3.Connection, day: str, prefix: str) -> int:
    """The hall box's next own number for ``prefix`` on ``day``, past every reserved block."""
    while True:
        number = int(
            conn.execute(
                "INSERT INTO ticket_counter(day, prefix, last) VALUES (?, ?, 1) "
                "ON CONFLICT(day, prefix) DO UPDATE SET last = last + 1 RETURNING last",
                (day, prefix),
            ).fetchone()[0]
        )
        block = conn.execute(
            "SELECT last FROM ticket_ranges WHERE day = ? AND prefix = ? AND first <= ?"
            " AND last >= ?",
            (day, prefix, number, number),
        ).fetchone()
        if block is None:
            return number
        conn.execute(
            "UPDATE ticket_counter SET last = ? WHERE day = ? AND prefix = ?",
            (int(block[0]), day, prefix),
        )


def reserve(
    conn: sqlite3.Connection,
    day: str,
    service: str,
    prefix: str,
    device_id: str,
    now: float,
    size: int = RANGE_SIZE,
) -> NumberRange:
    """Reserve the next block of the offline band for ``device_id``.

    Raises:
        NumberRangeExhausted (207): the band has no room for another block that day.
    """
    top = conn.execute(
        "SELECT MAX(last) FROM ticket_ranges WHERE day = ? AND prefix = ?", (day, prefix)
    ).fetchone()[0]
    own = conn.execute(
        "SELECT last FROM ticket_counter WHERE day = ? AND prefix = ?", (day, prefix)
    ).fetchone()
    first = max(OFFLINE_FIRST, int(top or 0) + 1, int(own[0]) + 1 if own else 0)
    last = first + size - 1
    if last > MAX_NUMBER:
        raise NumberRangeExhausted(
            f"no offline numbers left for {service} on {day}", service=service, day=day
        )
    conn.execute(
        "INSERT INTO ticket_ranges(day, prefix, first, last, service, device_id, reserved_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (day, prefix, first, last, service, device_id, now),
    )
    return NumberRange(day, service, prefix, first, last)


def reserved_for(
    conn: sqlite3.Connection, day: str, prefix: str, number: int, device_id: str
) -> bool:
    """Whether ``number`` lies in a block of ``day`` and ``prefix`` reserved for ``device_id``."""
    row = conn.execute(
        "SELECT device_id FROM ticket_ranges WHERE day = ? AND prefix = ? AND first <= ?"
        " AND last >= ?",
        (day, prefix, number, number),
    ).fetchone()
    return row is not None and row[0] == device_id
