"""打印/复印审计: the kiosk's own record of every document it printed or copied, queryable by
period (seed 004: 统一扎口相应证明生成和复印的产生时间和数据内容，并支持按照时间进行查询、进行报表统计).

Where the records come from: every print at the kiosk is already journaled as one
``document.printed`` event (证明打印, 办事指南, 缴费凭条, 便民查询 through
:mod:`flows.document_printing`; 自助复印 through :mod:`flows.copy_print`). The journal cannot be
read back for the audit: it is an outbox, and a row goes once the collector has stored it. So
the kiosk keeps an audit table of its own, ``print-audit.db`` in its ``data_dir``, written by
:class:`AuditedJournal`, the kiosk's transaction journal with one more duty: when it has
committed a ``document.printed`` event it writes the audit row, keyed by the event's
``(device_id, seq)``. Nothing else writes there, so no function can print unaudited, and a
function written later is audited with no change.

A power cut between the event's commit and the audit row's loses that one row here, not the
print's record: the event still reaches the collector, which counts it per hall
(:mod:`collector.kiosk_usage`).

What a row holds: when, which kiosk, which function and item (the certificate type, the
service item, the copy's purpose), pages, copies, outcome, and the codes of a fault met or of
the error that failed it. Only these fields are copied from the event, never the rest of its
data; a number in an item that looks like personal data (an ID number, a mobile number,
standing alone rather than inside an item code) is masked as it is stored, by the rule of
``docs/privacy.md`` (:func:`core.privacy.mask_number`: ``110101********1234``), whatever a
function put there.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.clock import business_day
from core.events import Event, Kind
from core.privacy import mask_number
from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic
from flows.transactions import TransactionJournal

FILE_NAME = "print-audit.db"

#: An ID number (18 or 15 characters) or a mobile number, not part of a longer code.
_PERSONAL_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15}|1[3-9]\d{9})(?![0-9A-Za-z])")

SCHEMA = Migrations(
    "print_audit",
    (
        Migration(
            1,
            "one row per document printed or copied",
            (
                "CREATE TABLE prints ("
                " device_id TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL,"
                " day TEXT NOT NULL, function TEXT NOT NULL, item TEXT NOT NULL,"
                " pages INTEGER NOT NULL, copies INTEGER NOT NULL, outcome TEXT NOT NULL,"
                " fault_code INTEGER, error_code INTEGER, PRIMARY KEY (device_id, seq))",
                "CREATE INDEX prints_day ON prints(day, at)",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class PrintRecord:
    """One document printed, copied or attempted.

    Attributes:
        device_id: the kiosk.
        seq: its ``document.printed`` event's seq (with ``device_id``, the record's key).
        at: when it ended (hall clock, epoch seconds).
        day: the business day (``2026-12-07``).
        function: the kiosk function (``certificates``, ``self_copy``).
        item: what was printed (certificate type, service item, the copy's purpose).
        pages: pages of one copy.
        copies: copies printed.
        outcome: ``done``, ``failed`` or ``cancelled``.
        fault_code: a printer fault met on the way (310 paper out), resumed or cancelled after.
        error_code: the error that failed it.
    """

    device_id: str
    seq: int
    at: float
    day: str
    function: str
    item: str
    pages: int
    copies: int
    outcome: str
    fault_code: int | None = None
    error_code: int | None = None

    @property
    def sheets(self) -> int:
        """Pages that came out (pages × copies) when it printed, else 0."""
        return self.pages * self.copies if self.outcome == "done" else 0


class PrintAudit:
    """The audit table (``print-audit.db``). Thread-safe: prints end on the kiosk's worker,
    the report runs wherever staff ask for it.

    Args:
        path: the SQLite file, created and migrated on open.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # An audit row is a record staff may be asked for: as durable as the journal's.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._lock = threading.Lock()
        SCHEMA.apply(self._conn)

    @classmethod
    def in_dir(cls, data_dir: Path | str) -> PrintAudit:
        """The audit of the kiosk whose ``data_dir`` this is."""
        return cls(Path(data_dir) / FILE_NAME)

    def add(self, event: Event) -> bool:
        """Record a ``document.printed`` event; False for another kind or one already in.

        Raises:
            ValueError: the event's data lacks ``function``, ``pages`` or ``outcome``.
        """
        if event.kind != Kind.DOCUMENT_PRINTED:
            return False
        record = _record_of(event)
        with self._lock, atomic(self._conn) as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO prints VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (record.device_id, record.seq, record.at, record.day, record.function,
                 record.item, record.pages, record.copies, record.outcome,
                 record.fault_code, record.error_code),
            )  # fmt: skip
            return cursor.rowcount == 1

    def records(self, first_day: str, last_day: str) -> list[PrintRecord]:
        """Every record of the business days ``first_day`` to ``last_day`` (``YYYY-MM-DD``,
        both included), oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM prints WHERE day BETWEEN ? AND ? ORDER BY at, device_id, seq",
                (first_day, last_day),
            ).fetchall()
        return [PrintRecord(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class AuditedJournal:
    """A kiosk's transaction journal that also keeps the print audit.

    Every event goes to ``journal`` as before; a ``document.printed`` one is then added to
    ``audit``. The launcher hands this to the kiosk as :attr:`KioskContext.journal`.

    Args:
        journal: the kiosk's journal (the hall store's, or the kiosk's own disk's).
        audit: the audit table.
    """

    def __init__(self, journal: TransactionJournal, audit: PrintAudit) -> None:
        self.journal = journal
        self.audit = audit

    def record(self, kind: str, data: dict[str, Any]) -> Event:
        event = self.journal.record(kind, data)
        if kind == Kind.DOCUMENT_PRINTED:
            self.audit.add(event)
        return event


@dataclass(frozen=True)
class Totals:
    """One line of the report's totals: a function and item over the period."""

    function: str
    item: str
    prints: int
    done: int
    failed: int
    cancelled: int
    sheets: int


def totals(records: list[PrintRecord]) -> list[Totals]:
    """Per (function, item): attempts, their outcomes, and sheets that came out."""
    grouped: dict[tuple[str, str], list[PrintRecord]] = {}
    for r in records:
        grouped.setdefault((r.function, r.item), []).append(r)
    return [
        Totals(function, item, len(rs), *(_count(rs, o) for o in ("done", "failed", "cancelled")),
               sum(r.sheets for r in rs))
        for (function, item), rs in sorted(grouped.items())
    ]  # fmt: skip


def failures(records: list[PrintRecord]) -> list[PrintRecord]:
    """The records that did not print: failed or cancelled."""
    return [r for r in records if r.outcome != "done"]


def _count(records: list[PrintRecord], outcome: str) -> int:
    return sum(1 for r in records if r.outcome == outcome)


def _record_of(event: Event) -> PrintRecord:
    data = event.data
    try:
        function, outcome = str(data["function"]), str(data["outcome"])
        pages = int(data["pages"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"document.printed without function/pages/outcome: {err}") from err
    return PrintRecord(
        device_id=event.device_id,
        seq=event.seq,
        at=event.at,
        day=business_day(event.at),
        function=function,
        item=_PERSONAL_NUMBER.sub(lambda m: mask_number(m.group(0)), str(data.get("item", ""))),
        pages=pages,
        copies=int(data.get("copies", 1)),  # prints journaled before copies existed made one
        outcome=outcome,
        fault_code=_code(data.get("fault_code")),
        error_code=_code(data.get("error_code")),
    )


def _code(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None

