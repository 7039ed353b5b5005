"""The simulated channels' books: every order a channel holds, its state machine, and the
simulated citizen who scans the QR code and pays.

One :class:`TradeLedger` per simulated channel (Alipay's gateway, ICBC, CCB). States use
Alipay's names (reference §5): ``WAIT_BUYER_PAY`` → ``TRADE_SUCCESS`` (paid) or
``TRADE_CLOSED`` (closed, expired, or reversed after payment: refunded); ``TRADE_SUCCESS`` →
``TRADE_FINISHED`` once the refund window is over (never, in a test's lifetime). An order
number is unique per merchant for ever: a second order with the same number is refused unless
it repeats the first one exactly (then the first is returned).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

BEIJING = dt.timezone(dt.timedelta(hours=8))

WAIT_BUYER_PAY, TRADE_SUCCESS = "WAIT_BUYER_PAY", "TRADE_SUCCESS"
TRADE_CLOSED, TRADE_FINISHED = "TRADE_CLOSED", "TRADE_FINISHED"


class TradeRefused(Exception):
    """A call the channel refuses on its merits; ``reason`` is the ledger's word for why:
    ``exists_differently``, ``has_success``, ``has_closed``, ``not_exist``, ``status_error``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Trade:
    out_trade_no: str
    trade_no: str
    amount_fen: int
    subject: str
    qr_code: str
    created_at: float
    expires_at: float
    state: str = WAIT_BUYER_PAY
    paid_at: float | None = None
    closed_at: float | None = None
    refunded_at: float | None = None


@dataclass
class TradeLedger:
    """One channel's orders.

    Attributes:
        prefix: the channel's own trade numbers start with it.
        qr_base: the QR codes' URL base.
        now: the channel's clock (epoch seconds); a test moves it to a day it reconciles.
        scans: every buyer attempt, (out_trade_no, paid?), for tests.
    """

    prefix: str
    qr_base: str
    now: Callable[[], float] = time.time
    trades: dict[str, Trade] = field(default_factory=dict)
    scans: list[tuple[str, bool]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    _auto_pay_s: float | None = None

    # --- the merchant's calls ------------------------------------------------------------

    def create(self, out_trade_no: str, amount_fen: int, subject: str, ttl_s: float) -> Trade:
        """Create an order, or return the same one when it is repeated exactly.

        Raises:
            TradeRefused: the number exists with another amount (``exists_differently``), or
                is paid (``has_success``) or closed (``has_closed``).
        """
        with self._lock:
            trade = self._current(out_trade_no)
            if trade is not None:
                if trade.amount_fen != amount_fen:
                    raise TradeRefused("exists_differently")
                if trade.state in (TRADE_SUCCESS, TRADE_FINISHED):
                    raise TradeRefused("has_success")
                if trade.state == TRADE_CLOSED:
                    raise TradeRefused("has_closed")
                return trade
            at = self.now()
            number = f"{hall_day(at).strftime('%Y%m%d')}{self.prefix}{next(self._numbers):010d}"
            trade = Trade(out_trade_no, number, amount_fen, subject,
                          f"{self.qr_base}/{number}", at, at + ttl_s)  # fmt: skip
            self.trades[out_trade_no] = trade
            auto = self._auto_pay_s
        if auto is not None:
            self.pay_after(out_trade_no, auto)
        return trade

    def get(self, out_trade_no: str) -> Trade:
        """The order now (an expired unpaid one is closed first).

        Raises:
            TradeRefused: ``not_exist``.
        """
        with self._lock:
            trade = self._current(out_trade_no)
            if trade is None:
                raise TradeRefused("not_exist")
            return trade

    def close(self, out_trade_no: str) -> Trade:
        """Close an unpaid order; a paid one is refused (``status_error``)."""
        with self._lock:
            trade = self._current(out_trade_no)
            if trade is None:
                raise TradeRefused("not_exist")
            if trade.state in (TRADE_SUCCESS, TRADE_FINISHED):
                raise TradeRefused("status_error")
            if trade.state == WAIT_BUYER_PAY:
                trade.state, trade.closed_at = TRADE_CLOSED, self.now()
            return trade

    def cancel(self, out_trade_no: str) -> tuple[Trade, str]:
        """Reverse an order: ``close`` when unpaid, ``refund`` when paid (then closed)."""
        with self._lock:
            trade = self._current(out_trade_no)
            if trade is None:
                raise TradeRefused("not_exist")
            if trade.state == TRADE_FINISHED:
                raise TradeRefused("status_error")
            if trade.state == TRADE_SUCCESS:
                trade.state, trade.refunded_at = TRADE_CLOSED, self.now()
                trade.closed_at = trade.refunded_at
                return trade, "refund"
            if trade.state == WAIT_BUYER_PAY:
                trade.state, trade.closed_at = TRADE_CLOSED, self.now()
            return trade, "refund" if trade.refunded_at is not None else "close"

    def statement(self, day: dt.date) -> list[tuple[Trade, str, float]]:
        """The day's lines (Beijing time): (trade, ``pay`` or ``refund``, when)."""
        with self._lock:
            lines = []
            for trade in self.trades.values():
                for kind, at in (("pay", trade.paid_at), ("refund", trade.refunded_at)):
                    if at is not None and hall_day(at) == day:
                        lines.append((trade, kind, at))
            return sorted(lines, key=lambda line: line[2])

    # --- the simulated citizen -------------------------------------------------------------

    def scan_and_pay(self, out_trade_no: str) -> bool:
        """The citizen scans the code and confirms: paid when the order still waits."""
        with self._lock:
            trade = self._current(out_trade_no)
            paid = trade is not None and trade.state == WAIT_BUYER_PAY
            if paid and trade is not None:
                trade.state, trade.paid_at = TRADE_SUCCESS, self.now()
            self.scans.append((out_trade_no, paid))
            return paid

    def pay_after(self, out_trade_no: str, delay_s: float) -> threading.Timer:
        """The citizen pays ``delay_s`` from now (perhaps after the kiosk gave up)."""
        timer = threading.Timer(delay_s, self.scan_and_pay, args=(out_trade_no,))
        timer.daemon = True
        timer.start()
        return timer

    def auto_pay(self, delay_s: float | None) -> None:
        """Every order created from now on is paid ``delay_s`` after it was created (None
        stops it): a kiosk in another process is paid without the test knowing its numbers."""
        with self._lock:
            self._auto_pay_s = delay_s

    def charges(self) -> list[Trade]:
        """Orders whose money is taken and not given back."""
        with self._lock:
            return [t for t in self.trades.values() if t.state in (TRADE_SUCCESS, TRADE_FINISHED)]

    # --- internals -------------------------------------------------------------------------

    def _current(self, out_trade_no: str) -> Trade | None:
        trade = self.trades.get(out_trade_no)
        if trade is not None and trade.state == WAIT_BUYER_PAY and self.now() >= trade.expires_at:
            trade.state, trade.closed_at = TRADE_CLOSED, trade.expires_at
        return trade


def hall_day(at: float) -> dt.date:
    """The Beijing calendar day of an instant."""
    return dt.datetime.fromtimestamp(at, BEIJING).date()


def beijing(at: float) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time."""
    return dt.datetime.fromtimestamp(at, BEIJING).strftime("%Y-%m-%d %H:%M:%S")
