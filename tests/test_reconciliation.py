"""The daily 对账 names every mismatch between the kiosk's book and the channels' records."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.reconciliation import reconcile
from payments.order_book import OrderBook
from tests.payment_rig import PaymentRig, channels_from, start_rig


@pytest.fixture
def rig() -> Iterator[PaymentRig]:
    rig = start_rig()
    try:
        yield rig
    finally:
        rig.stop()


def test_a_day_reconciles_and_each_mismatch_is_named(rig: PaymentRig, tmp_path: Path) -> None:
    channels = channels_from(rig.config)
    book = OrderBook(tmp_path, "kiosk-1")
    now = time.time()
    today = dt.datetime.fromtimestamp(now, dt.timezone(dt.timedelta(hours=8))).date()

    def order(no: str, bill: str, channel: str, fen: int, *, pay: bool, book_paid: bool) -> None:
        book.open(no, bill, "water", channel, fen, now)
        channels[channel].precreate(no, fen, "水费")
        if pay:
            rig.ledgers()[channel].scan_and_pay(no)
        book.update(no, now, state="paid" if book_paid else "closed")

    order("k1_match", "B1", "alipay", 4260, pay=True, book_paid=True)
    order("k1_lost", "B2", "icbc", 3900, pay=True, book_paid=False)  # paid, book says closed
    order("k1_ghost", "B3", "ccb", 9650, pay=False, book_paid=True)  # book paid, bank no
    order("k1_amount", "B4", "alipay", 15873, pay=True, book_paid=True)
    book.conn.execute("UPDATE orders SET amount_fen = 15800 WHERE out_trade_no = 'k1_amount'")

    rig.alipay._skew_free = True
    rig.alipay.ledger.now = lambda: time.time() + 86400  # the statement is out the next day
    result = reconcile(book, channels, today)
    named = {(m.kind, m.channel, m.out_trade_no) for m in result.mismatches}
    assert named == {
        ("channel_only", "icbc", "k1_lost"),
        ("book_only", "ccb", "k1_ghost"),
        ("amount_mismatch", "alipay", "k1_amount"),
    }
    assert result.matched == 1 and not result.clean
    assert result.paid_fen == {"alipay": 4260 + 15873, "icbc": 3900, "ccb": 0}


def test_a_payment_given_back_the_same_day_is_no_mismatch(rig: PaymentRig, tmp_path: Path) -> None:
    channels = channels_from(rig.config)
    book = OrderBook(tmp_path, "kiosk-1")
    now = time.time()
    book.open("k1_back", "B9", "electricity", "ccb", 2000, now)
    channels["ccb"].precreate("k1_back", 2000, "电费")
    rig.ccb.ledger.scan_and_pay("k1_back")
    channels["ccb"].cancel("k1_back")
    book.update("k1_back", now, state="refunded")
    today = dt.datetime.fromtimestamp(now, dt.timezone(dt.timedelta(hours=8))).date()
    result = reconcile(book, {"ccb": channels["ccb"]}, today)
    assert result.clean and result.paid_fen == {"ccb": 0}
