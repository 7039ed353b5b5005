"""The kiosk's own book of payment orders: a SQLite file in the kiosk's data directory.

An order's row is committed (``synchronous=FULL``) *before* the first call to its channel, so
whatever happens next (a timeout, a crash, a kill -9) the kiosk knows the number and settles
it by asking the channel, never by opening a second order. A partial unique index makes the
database itself refuse a second open or paid order for one bill.

Life of a row (``state``): ``new`` (written, channel perhaps not called) → ``waiting`` (the QR
code is shown) → ``paid`` | ``closed`` (never paid) | ``refunded`` (paid after the kiosk gave
up, and reversed). Beside it: ``gave_up`` (the citizen was told nothing was charged, so a late
payment is reversed, not kept), ``written_off`` (the biller knows), ``receipt`` (``none``,
``due``, ``printing``, ``printed``, ``failed``) and ``receipt_job`` (the print job's id), and
``journaled`` (the last outcome journaled, so a resume does not journal it twice).
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic

FILE_NAME = "payment_orders.db"
OPEN_STATES = ("new", "waiting")

SCHEMA = Migrations(
    "payment_orders",
    (
        Migration(1, "orders", (
            "CREATE TABLE orders ("
            " out_trade_no TEXT PRIMARY KEY, bill_no TEXT NOT NULL, bill_type TEXT NOT NULL,"
            " channel TEXT NOT NULL, amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),"
            " state TEXT NOT NULL DEFAULT 'new'"
            "  CHECK (state IN ('new','waiting','paid','closed','refunded')),"
            " qr_code TEXT, trade_no TEXT, gave_up INTEGER NOT NULL DEFAULT 0,"
            " written_off INTEGER NOT NULL DEFAULT 0, receipt TEXT NOT NULL DEFAULT 'none',"
            " receipt_job INTEGER, journaled TEXT NOT NULL DEFAULT '',"
            " created_at REAL NOT NULL, updated_at REAL NOT NULL)",
            # One order at a time per bill while it may still be paid, and never after one
            # paid: the database refuses a second.
            "CREATE UNIQUE INDEX one_live_order_per_bill ON orders (bill_no)"
            " WHERE state IN ('new','waiting','paid')",
            "CREATE INDEX orders_by_day ON orders (created_at)",
        )),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Order:
    """One row of the book (see the module's description of the fields)."""

    out_trade_no: str
    bill_no: str
    bill_type: str
    channel: str
    amount_fen: int
    state: str
    qr_code: str | None
    trade_no: str | None
    gave_up: bool
    written_off: bool
    receipt: str
    receipt_job: int | None
    journaled: str
    created_at: float
    updated_at: float


class BillHasLiveOrder(Exception):
    """The bill already has an order that may still be paid, or was paid."""


class OrderBook:
    """The book in ``data_dir``.

    Args:
        data_dir: the kiosk's own directory (created if missing).
        device_id: the kiosk, the first part of every order number.
    """

    def __init__(self, data_dir: Path, device_id: str) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / FILE_NAME
        self.prefix = "".join(c for c in device_id if c.isalnum())[:10] or "kiosk"
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        # Deleted rows are overwritten with zeros, not just unlinked (docs/privacy.md).
        self.conn.execute("PRAGMA secure_delete=ON")
        self._lock = threading.Lock()
        SCHEMA.apply(self.conn)

    def new_order_no(self, at: float) -> str:
        """A fresh order number: ``<kiosk>_<yyMMddHHmmss>_<random>``, at most 32 characters of
        letters, digits and underscore (what every channel accepts)."""
        import datetime as dt

        stamp = dt.datetime.fromtimestamp(at, dt.timezone(dt.timedelta(hours=8)))
        return f"{self.prefix}_{stamp:%y%m%d%H%M%S}_{secrets.token_hex(3)}"

    def open(self, out_trade_no: str, bill_no: str, bill_type: str, channel: str,
             amount_fen: int, at: float) -> Order:  # fmt: skip
        """Write a new order, durable when this returns.

        Raises:
            BillHasLiveOrder: the bill has an order that is open or paid.
        """
        with self._lock:
            try:
                with atomic(self.conn):
                    self.conn.execute(
                        "INSERT INTO orders (out_trade_no, bill_no, bill_type, channel,"
                        " amount_fen, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
                        (out_trade_no, bill_no, bill_type, channel, amount_fen, at, at),
                    )
            except sqlite3.IntegrityError as err:
                raise BillHasLiveOrder(bill_no) from err
        return self.get(out_trade_no)

    def update(self, out_trade_no: str, at: float, **fields: Any) -> Order:
        """Change fields of an order, durable when this returns."""
        names = ", ".join(f"{name} = ?" for name in fields)
        with self._lock, atomic(self.conn):
            self.conn.execute(
                f"UPDATE orders SET {names}, updated_at = ? WHERE out_trade_no = ?",
                (*fields.values(), at, out_trade_no),
            )
        return self.get(out_trade_no)

    def get(self, out_trade_no: str) -> Order:
        """An order by number.

        Raises:
            KeyError: no such order.
        """
        rows = self._select("WHERE out_trade_no = ?", (out_trade_no,))
        if not rows:
            raise KeyError(out_trade_no)
        return rows[0]

    def live_for_bill(self, bill_no: str) -> Order | None:
        """The bill's order that is open or paid, if any."""
        rows = self._select("WHERE bill_no = ? AND state IN ('new','waiting','paid')", (bill_no,))
        return rows[0] if rows else None

    def unsettled(self) -> list[Order]:
        """Orders the kiosk still owes an answer: open at their channel, or paid with the biller
        not yet told or the receipt not yet out."""
        return self._select(
            "WHERE state IN ('new','waiting') OR (state = 'paid' AND (written_off = 0"
            " OR receipt IN ('due','printing') OR journaled != 'done'))"
            " OR (state IN ('closed','refunded') AND journaled = 'unknown')",
            (),
        )

    def between(self, start: float, end: float) -> list[Order]:
        """Orders created in [start, end), for the daily reconciliation."""
        return self._select("WHERE created_at >= ? AND created_at < ?", (start, end))

    def scrub(self) -> None:
        """End of a citizen's visit (:mod:`kiosk.session_purge`): move the WAL into the file and
        truncate it, so no older page versions stay in ``-wal``; ``secure_delete`` (set at
        open) has zeroed what was deleted. The file is this kiosk's alone, so no other process's
        reader holds the checkpoint back."""
        with self._lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.conn.close()

    def _select(self, where: str, args: tuple[Any, ...]) -> list[Order]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT out_trade_no, bill_no, bill_type, channel, amount_fen, state, qr_code,"
                " trade_no, gave_up, written_off, receipt, receipt_job, journaled, created_at,"
                f" updated_at FROM orders {where} ORDER BY created_at",
                args,
            ).fetchall()
        return [
            Order(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), bool(r[9]),
                  r[10], r[11], r[12], r[13], r[14])  # fmt: skip
            for r in rows
        ]
