"""The daily reconciliation (对账) of the kiosk's payments against each channel's statement.

For one day (Beijing time), the kiosk's order book says which orders it holds as paid; each
channel's statement says which payments it took and which it gave back. Every difference is
named, one :class:`Mismatch` each:

* ``channel_only``: the channel kept money for an order the book does not hold as paid
  (a payment the kiosk never saw, or one it reversed and the channel did not);
* ``book_only``: the book holds an order as paid that the channel has no payment for;
* ``amount_mismatch``: both hold it as paid, for different amounts.

A payment refunded the same day nets to nothing at the channel and matches an order the book
holds as ``refunded`` or ``closed``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from payments.channel import PaymentChannel
from payments.order_book import OrderBook

BEIJING = dt.timezone(dt.timedelta(hours=8))
KINDS = ("channel_only", "book_only", "amount_mismatch")


@dataclass(frozen=True)
class Mismatch:
    """One difference between the book and a channel.

    Attributes:
        kind: one of :data:`KINDS`.
        channel: the channel's id.
        out_trade_no: the order.
        book_fen: what the book holds as paid (None: not paid in the book).
        channel_fen: what the channel kept (None: nothing).
    """

    kind: str
    channel: str
    out_trade_no: str
    book_fen: int | None
    channel_fen: int | None


@dataclass
class Reconciliation:
    """One day's result.

    Attributes:
        day: the day reconciled.
        matched: orders paid in both, for the same amount.
        mismatches: every difference.
        paid_fen: the day's total kept by the channels, by channel.
    """

    day: dt.date
    matched: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    paid_fen: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.mismatches


def day_bounds(day: dt.date) -> tuple[float, float]:
    """Epoch seconds of the day's start and the next day's start, Beijing time."""
    start = dt.datetime.combine(day, dt.time(), BEIJING)
    return start.timestamp(), (start + dt.timedelta(days=1)).timestamp()


def reconcile(
    book: OrderBook, channels: Mapping[str, PaymentChannel], day: dt.date
) -> Reconciliation:
    """Reconcile ``day``.

    Raises:
        PaymentError: a channel's statement could not be fetched (nothing is concluded from
            a missing statement).
    """
    result = Reconciliation(day)
    start, end = day_bounds(day)
    # An order created just before midnight may be paid after it: look a day back.
    orders = [o for o in book.between(start - 86400, end)]
    paid_in_book = {o.out_trade_no: o for o in orders if o.state == "paid"}
    for channel_id, channel in channels.items():
        kept: dict[str, int] = {}
        for line in channel.statement(day):
            sign = 1 if line.kind == "pay" else -1
            kept[line.out_trade_no] = kept.get(line.out_trade_no, 0) + sign * line.amount_fen
        kept = {no: fen for no, fen in kept.items() if fen != 0}
        result.paid_fen[channel_id] = sum(kept.values())
        in_book = {
            no: o for no, o in paid_in_book.items()
            if o.channel == channel_id and start <= o.updated_at < end + 86400
        }  # fmt: skip
        for no, fen in sorted(kept.items()):
            order = in_book.get(no)
            if order is None:
                result.mismatches.append(Mismatch("channel_only", channel_id, no, None, fen))
            elif order.amount_fen != fen:
                result.mismatches.append(
                    Mismatch("amount_mismatch", channel_id, no, order.amount_fen, fen)
                )
            else:
                result.matched += 1
        for no, order in sorted(in_book.items()):
            if no not in kept and start <= order.created_at < end:
                result.mismatches.append(
                    Mismatch("book_only", channel_id, no, order.amount_fen, None)
                )
    return result
