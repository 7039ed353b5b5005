"""What every payment channel (Alipay, ICBC, CCB) offers the kiosk: :class:`PaymentChannel`.

The kiosk shows a QR code and the citizen scans it with their phone (merchant-presented,
"C scans B"). Each channel's own API differs in names and signatures; behind this protocol they
share one life of an order, named after Alipay's (the reference's §5):

=============  ==========================  ============================================
state          Alipay ``trade_status``     meaning for the kiosk
=============  ==========================  ============================================
``waiting``    ``WAIT_BUYER_PAY``          created, nobody has paid yet
``paid``       ``TRADE_SUCCESS``,          the citizen's money is taken
               ``TRADE_FINISHED``
``closed``     ``TRADE_CLOSED`` (unpaid)   will never be paid: timed out, closed
``refunded``   ``TRADE_CLOSED`` (after a   was paid, and the money went back
               payment)
``not_found``  ``ACQ.TRADE_NOT_EXIST``     the channel never created it
=============  ==========================  ============================================

Amounts are integer fen everywhere in the kiosk; a channel converts at its edge (Alipay's
``total_amount`` is yuan with two decimals). The order number (``out_trade_no``) is the kiosk's
own: a channel treats a repeat of it as the same order, never as a second one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

#: The channels' shared rule for merchant order numbers (Alipay: at most 64 characters of
#: letters, digits and underscore; the banks accept fewer, 32).
ORDER_NO = re.compile(r"^[A-Za-z0-9_]{1,32}$")


class OrderState(StrEnum):
    """Where an order stands at its channel (see the module's table)."""

    WAITING = "waiting"
    PAID = "paid"
    CLOSED = "closed"
    REFUNDED = "refunded"
    NOT_FOUND = "not_found"

    @property
    def final(self) -> bool:
        """Nothing can change it any more (``paid`` can: a reversal refunds it)."""
        return self in (OrderState.CLOSED, OrderState.REFUNDED, OrderState.NOT_FOUND)


@dataclass(frozen=True)
class QrOrder:
    """An order created at a channel, ready to be shown.

    Attributes:
        out_trade_no: the kiosk's order number.
        qr_code: what the QR code on screen holds (a URL the citizen's app opens).
    """

    out_trade_no: str
    qr_code: str


@dataclass(frozen=True)
class OrderStatus:
    """An order as its channel knows it now.

    Attributes:
        out_trade_no: the kiosk's order number.
        state: see :class:`OrderState`.
        amount_fen: the order's amount at the channel; None when it does not exist.
        trade_no: the channel's own number for it (Alipay's ``trade_no``), once it has one.
        channel_state: the channel's own word for the state (``TRADE_SUCCESS``), for logs.
    """

    out_trade_no: str
    state: OrderState
    amount_fen: int | None = None
    trade_no: str | None = None
    channel_state: str = ""


@dataclass(frozen=True)
class StatementLine:
    """One line of a channel's daily statement (对账单).

    Attributes:
        out_trade_no: the kiosk's order number.
        trade_no: the channel's number.
        kind: ``pay`` (money taken) or ``refund`` (money given back).
        amount_fen: the line's amount, positive for both kinds.
        at: when the channel booked it, as its statement prints it (Beijing time).
    """

    out_trade_no: str
    trade_no: str
    kind: str
    amount_fen: int
    at: str


@runtime_checkable
class PaymentChannel(Protocol):
    """One payment channel as the bill payment flow uses it.

    Every call may raise a :class:`core.errors.PaymentError`. Only
    :class:`core.errors.PaymentRefused` (853) says the channel answered and refused; every
    other error (unreachable 851, timeout 852, unreadable or unverifiable answer 854) leaves
    the outcome of a call that changes state unknown, and the caller settles it with
    :meth:`query`.

    Attributes:
        id: the channel's id in configs, the order book and events (``alipay``).
        name: its name on screen (``支付宝``).
    """

    id: str
    name: str

    def precreate(self, out_trade_no: str, amount_fen: int, subject: str) -> QrOrder:
        """Create the order and get its QR code. Sending the same order number and amount
        again returns the same order (how a lost answer is recovered), never a second one."""
        ...

    def query(self, out_trade_no: str) -> OrderStatus:
        """The order's state now (``not_found`` when the channel has none)."""
        ...

    def close(self, out_trade_no: str) -> OrderStatus:
        """Close an unpaid order (the citizen chose another way to pay). An order that was
        paid meanwhile is not touched: the answer says ``paid``."""
        ...

    def cancel(self, out_trade_no: str) -> OrderStatus:
        """Reverse an order (撤销): closed when unpaid, refunded when paid. The kiosk calls it
        once it has given up and told the citizen nothing was charged."""
        ...

    def statement(self, day: dt.date) -> list[StatementLine]:
        """The channel's statement of ``day`` (Beijing time): every payment and refund."""
        ...


def yuan(amount_fen: int) -> str:
    """``1234`` → ``"12.34"``, the yuan string channels and receipts use."""
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"


def fen(amount_yuan: str) -> int:
    """``"12.34"`` → ``1234``; exact (no float).

    Raises:
        ValueError: not a yuan amount with at most two decimals.
    """
    text = amount_yuan.strip()
    if not re.fullmatch(r"\d+(\.\d{1,2})?", text):
        raise ValueError(f"not a yuan amount: {amount_yuan!r}")
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])
