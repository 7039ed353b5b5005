"""生活缴费 (bill payment): water, electricity, gas and fixed-phone bills, paid by scanning a QR
code with Alipay, ICBC or CCB, followed to its end, and a receipt printed.

Steps: ``choose_bill_type`` → ``enter_account`` → ``bill`` (the amount and the channels) →
``scan_qr`` (polled with :meth:`BillPaymentFlow.check`) → ``paid`` (receipt printed, or the
printer's fault) or ``timed_out``.

Never charge twice, and never lose a payment:

* The order number is written to the kiosk's order book (:mod:`payments.order_book`, a
  ``synchronous=FULL`` SQLite file in ``context.data_dir``) and journaled ``unknown`` before
  the first call to the channel.
* A call whose answer is lost is settled by asking: precreate is re-sent with the *same*
  number (the channel returns the same order), then the order is queried. No second order is
  opened while a bill has one that may still be paid; the book's unique index refuses it.
* A kiosk that gives up (the citizen did not pay in time, walked away, or the kiosk restarted
  while a code was on screen) *reverses* the order (``cancel``: closed if unpaid, refunded if
  the payment slipped in), because the citizen was told nothing was charged. Switching to
  another channel *closes* it (``close`` never refunds; a payment that slipped in is kept and
  the bill is paid).
* A payment the kiosk has not given up on is honoured whenever it is seen, after a crash too:
  the biller is told (销账, idempotent by order), the transaction is journaled ``done`` and the
  receipt is printed once (:mod:`flows.bill_receipt`).

On start-up, and whenever the tile is tapped, :meth:`BillPaymentFlow.resume` settles every
order the book still owes an answer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import (
    BillAlreadyPaid,
    DeviceError,
    HallEdgeError,
    PaymentError,
    PaymentExpired,
    PaymentPending,
    PaymentRefused,
    PaymentReversed,
    PaymentUnavailable,
    PlatformError,
    PlatformRefused,
)
from core.events import Kind
from flows import bill_receipt
from flows.kiosk_functions import KioskContext
from flows.screens import Screen
from flows.transactions import transaction_event
from payments.channel import OrderState, OrderStatus, PaymentChannel, yuan
from payments.order_book import BillHasLiveOrder, Order, OrderBook
from payments.utility_bills import BILL_TYPES, Bill, UtilityBills

log = logging.getLogger(__name__)

FUNCTION_ID = "bill_payment"
#: How long the QR code waits for the citizen before the kiosk gives up and reverses the order
#: (the channel's own expiry, 5 minutes, is longer, so the kiosk always decides first).
PAY_TIMEOUT_S = 120.0
#: How often the screen asks :meth:`BillPaymentFlow.check` (seconds).
POLL_S = 2.0


@dataclass
class _Citizen:
    """What the flow knows of the citizen at the kiosk; forgotten in :meth:`leave`."""

    bill_type: str | None = None
    bill: Bill | None = None
    out_trade_no: str | None = None
    deadline: float = 0.0


class BillPaymentFlow:
    """The ``bill_payment`` kiosk function's flow (a :class:`flows.kiosk_functions.KioskFlow`).

    Args:
        context: the kiosk's context: ``platform`` reaches the billers, ``payment_channels``
            the channels, ``data_dir`` holds the order book and receipts,
            ``document_printer`` prints receipts.
        pay_timeout_s: see :data:`PAY_TIMEOUT_S`.
    """

    def __init__(self, context: KioskContext, *, pay_timeout_s: float = PAY_TIMEOUT_S) -> None:
        self.context = context
        self.clock = context.clock
        self.channels: dict[str, PaymentChannel] = dict(context.payment_channels)
        self.bills = UtilityBills(context.platform) if context.platform is not None else None
        self.data_dir: Path | None = context.data_dir
        self.book = (
            OrderBook(context.data_dir, context.device_id) if context.data_dir is not None else None
        )
        self.printer = context.document_printer
        self.pay_timeout_s = pay_timeout_s
        self.citizen = _Citizen()
        self._lock = threading.RLock()
        self.resume()

    @classmethod
    def for_kiosk(cls, context: KioskContext) -> BillPaymentFlow:
        """The flow of the kiosk's ``bill_payment`` function (its registry factory)."""
        return cls(context)

    @property
    def available(self) -> bool:
        return bool(self.channels) and self.bills is not None and self.book is not None

    # --- the kiosk's steps ---------------------------------------------------------------

    def start(self) -> Screen:
        """The tile tapped: settle what an earlier citizen left, then the bill types."""
        with self._lock:
            self.citizen = _Citizen()
            if not self.available:
                return Screen("unavailable", "result", {}, PaymentUnavailable.key)
            self.resume()
            return self._types()

    def leave(self) -> None:
        """The citizen went home or walked away: an order still waiting is reversed (they
        were never told it was paid), and everything about them is forgotten."""
        with self._lock:
            order = self._current_order()
            if order is not None and order.state in ("new", "waiting"):
                self._give_up(order)
            self.citizen = _Citizen()

    # --- the function's steps ------------------------------------------------------------

    def choose_type(self, bill_type: str) -> Screen:
        """A bill type tapped: ask for the account."""
        with self._lock:
            if bill_type not in BILL_TYPES:
                return self._types()
            self.citizen = _Citizen(bill_type=bill_type)
            return self._account_form(None)

    def lookup(self, account: str) -> Screen:
        """查询 tapped: the account's bill, or why there is none."""
        with self._lock:
            bill_type = self.citizen.bill_type
            if bill_type is None or self.bills is None or self.book is None:
                return self._types()
            try:
                bill = self.bills.lookup(bill_type, account.strip())
            except PlatformError as err:
                return self._account_form(err.key)
            self.citizen.bill = bill
            live = self.book.live_for_bill(bill.bill_no)
            if live is not None:
                return self._resume_for_citizen(live)
            return self._bill_screen(None)

    def pay(self, channel_id: str) -> Screen:
        """A channel tapped: open the order (book first), create it, show its QR code."""
        with self._lock:
            bill, book = self.citizen.bill, self.book
            channel = self.channels.get(channel_id)
            if bill is None or book is None or channel is None:
                return self._types()
            now = self.clock.now()
            number = book.new_order_no(now)
            try:
                order = book.open(number, bill.bill_no, bill.bill_type, channel_id,
                                  bill.amount_fen, now)  # fmt: skip
            except BillHasLiveOrder:
                return self._bill_screen(PaymentPending.key)
            try:
                self._journal(order, "unknown")
            except HallEdgeError as err:
                # Not journaled, so not asked of the channel: the order never existed.
                book.update(number, self.clock.now(), state="closed", journaled="failed")
                return self._bill_screen(err.key)
            self.citizen.out_trade_no = number
            # Shown in the buyer's app and, through Alipay's SDK, sent in a URL: the type and
            # the biller's reference, never the account (it identifies a household).
            subject = f"{BILL_TYPES[bill.bill_type]} {bill.bill_no}"
            try:
                qr = self._precreate(channel, order, subject)
            except PaymentError as err:
                return self._precreate_failed(order, err)
            order = book.update(number, self.clock.now(), state="waiting", qr_code=qr)
            self.citizen.deadline = self.clock.now() + self.pay_timeout_s
            return self._scan_screen(order, None)

    def check(self) -> Screen:
        """The QR screen's poll: has the citizen paid?"""
        with self._lock:
            order = self._current_order()
            if order is None:
                return self._types()
            if order.state == "paid":
                return self._paid_screen(order, None)
            if order.state not in ("new", "waiting"):
                return self._ended_screen(order)
            try:
                status = self._channel(order).query(order.out_trade_no)
            except PaymentError as err:
                if self.clock.now() >= self.citizen.deadline:
                    return self._ended_screen(self._give_up(order))
                return self._scan_screen(order, err.key)
            if status.state is OrderState.PAID:
                return self._complete(order, status)
            if status.state is OrderState.WAITING and self.clock.now() < self.citizen.deadline:
                return self._scan_screen(order, None)
            if status.state is OrderState.WAITING:
                return self._ended_screen(self._give_up(order))
            return self._ended_screen(self._record_end(order, status, gave_up=False))

    def change_channel(self) -> Screen:
        """换一种支付方式: close the order (never a refund); back to the channels."""
        with self._lock:
            order = self._current_order()
            if order is None or order.state not in ("new", "waiting"):
                return self._bill_screen(None) if self.citizen.bill else self._types()
            try:
                status = self._channel(order).close(order.out_trade_no)
            except PaymentError as err:
                return self._scan_screen(order, err.key)
            if status.state is OrderState.PAID:
                return self._complete(order, status)
            self._record_end(order, status, gave_up=False, outcome="cancelled")
            self.citizen.out_trade_no = None
            return self._bill_screen(None)

    def reprint(self) -> Screen:
        """重新打印 after a printer fault."""
        with self._lock:
            order = self._current_order()
            if order is None or order.state != "paid" or self.book is None:
                return self._types()
            order = self.book.update(order.out_trade_no, self.clock.now(), receipt="due",
                                     receipt_job=None)  # fmt: skip
            error_key = self._print_receipt(order)
            return self._paid_screen(self.book_get(order), error_key)

    def resume(self) -> list[Order]:
        """Settle every order the book still owes an answer (not the one on screen now).
        Errors leave an order for the next time; they never stop the kiosk.

        Returns:
            The orders as they stand afterwards.
        """
        if self.book is None:
            return []
        settled = []
        with self._lock:
            for order in self.book.unsettled():
                if order.out_trade_no == self.citizen.out_trade_no:
                    continue
                try:
                    settled.append(self._settle(order))
                except HallEdgeError as err:
                    log.warning("bill payment %s not settled yet: %s", order.out_trade_no, err)
                    settled.append(order)
        return settled

    # --- settling ------------------------------------------------------------------------

    def _settle(self, order: Order) -> Order:
        """Bring one order from the book to its end (resume after a crash or a lost answer)."""
        if order.state in ("new", "waiting"):
            status = self._channel(order).query(order.out_trade_no)
            if status.state is OrderState.PAID and not order.gave_up:
                order = self._mark_paid(order, status)
            elif status.state in (OrderState.PAID, OrderState.WAITING):
                # Nobody is looking at this code any more: it must not be paid from now on.
                return self._give_up(order)
            else:
                return self._record_end(order, status, gave_up=order.gave_up)
        if order.state == "paid":
            self._finish(order)
            return self.book_get(order)
        if order.journaled == "unknown":
            self._journal(order, "cancelled")
        return self.book_get(order)

    def _precreate(self, channel: PaymentChannel, order: Order, subject: str) -> str:
        try:
            return channel.precreate(order.out_trade_no, order.amount_fen, subject).qr_code
        except PaymentError as first:
            if isinstance(first, PaymentRefused):
                raise
            log.info("precreate %s: %s; sent again with the same number", order.out_trade_no,
                     first)  # fmt: skip
            return channel.precreate(order.out_trade_no, order.amount_fen, subject).qr_code

    def _precreate_failed(self, order: Order, err: PaymentError) -> Screen:
        """No QR code to show: find out whether the order exists, and end it."""
        self.citizen.out_trade_no = None
        try:
            status = self._channel(order).query(order.out_trade_no)
            if status.state in (OrderState.WAITING, OrderState.PAID):
                # It exists but the citizen never saw its code: reverse it.
                status = self._channel(order).cancel(order.out_trade_no)
        except PaymentError:
            log.warning("order %s left for resume: %s", order.out_trade_no, err)
            return self._bill_screen(err.key)
        self._record_end(order, status, gave_up=True, outcome="failed")
        return self._bill_screen(err.key)

    def _give_up(self, order: Order) -> Order:
        """Reverse an order the citizen was (or will be) told is not paid."""
        assert self.book is not None
        order = self.book.update(order.out_trade_no, self.clock.now(), gave_up=1)
        try:
            status = self._channel(order).cancel(order.out_trade_no)
        except PaymentError as err:
            log.warning("cancel %s failed, left for resume: %s", order.out_trade_no, err)
            return order
        return self._record_end(order, status, gave_up=True)

    def _record_end(self, order: Order, status: OrderStatus, *, gave_up: bool,
                    outcome: str = "cancelled") -> Order:  # fmt: skip
        """An order that will never be paid (closed, refunded, never created)."""
        assert self.book is not None
        state = "refunded" if status.state is OrderState.REFUNDED else "closed"
        order = self.book.update(order.out_trade_no, self.clock.now(), state=state,
                                 gave_up=int(gave_up or order.gave_up),
                                 trade_no=status.trade_no or order.trade_no)  # fmt: skip
        if order.journaled in ("", "unknown"):
            self._journal(order, outcome, refunded=state == "refunded")
        return self.book_get(order)

    def _mark_paid(self, order: Order, status: OrderStatus) -> Order:
        assert self.book is not None
        if status.amount_fen is not None and status.amount_fen != order.amount_fen:
            log.error("order %s paid %s fen at %s, book says %s", order.out_trade_no,
                      status.amount_fen, order.channel, order.amount_fen)  # fmt: skip
        return self.book.update(order.out_trade_no, self.clock.now(), state="paid",
                                trade_no=status.trade_no, receipt="due")  # fmt: skip

    def _complete(self, order: Order, status: OrderStatus) -> Screen:
        order = self._mark_paid(order, status)
        return self._paid_screen(*self._finish(order))

    def _finish(self, order: Order) -> tuple[Order, str | None]:
        """A paid order: tell the biller, journal ``done``, print the receipt; each once."""
        assert self.book is not None
        if not order.written_off and self.bills is not None:
            try:
                self.bills.write_off(order.bill_no, order.out_trade_no, order.channel,
                                     order.amount_fen)  # fmt: skip
                order = self.book.update(order.out_trade_no, self.clock.now(), written_off=1)
            except PlatformRefused as err:
                # Paid at the channel but refused by the biller (paid twice across kiosks):
                # staff settle it from the reconciliation; the citizen still gets a receipt.
                log.error("write-off of %s refused: %s", order.out_trade_no, err.as_dict())
            except PlatformError as err:
                log.warning("write-off of %s left for resume: %s", order.out_trade_no, err)
        if order.journaled != "done":
            try:
                self._journal(order, "done")
            except HallEdgeError as err:
                log.warning("done of %s not journaled yet: %s", order.out_trade_no, err)
        error_key = None
        if order.receipt in ("due", "printing"):
            error_key = self._print_receipt(order)
        return self.book_get(order), error_key

    def _print_receipt(self, order: Order) -> str | None:
        """Print the receipt unless a job of it was already accepted; the fault's key if any."""
        assert self.book is not None
        if self.printer is None:
            self.book.update(order.out_trade_no, self.clock.now(), receipt="failed")
            return "device_not_found"
        try:
            job = order.receipt_job
            title = f"receipt-{order.out_trade_no}"
            if job is None and order.receipt == "printing":
                # Killed after submitting, before recording the id: find that job.
                job = bill_receipt.submitted_job(self.printer, title)
                if job is not None:
                    self.book.update(order.out_trade_no, self.clock.now(), receipt_job=job)
            if job is None or bill_receipt.needs_new_job(self.printer, job):
                path = bill_receipt.receipt_pdf(self._receipt(order), self._receipt_path(order))
                self.book.update(order.out_trade_no, self.clock.now(), receipt="printing")
                job = bill_receipt.submit(self.printer, path, title)
                self.book.update(order.out_trade_no, self.clock.now(), receipt_job=job)
            self.printer.follow(job)
        except DeviceError as err:
            # A job held by the fault would print once it clears, for whoever stands there
            # then, and beside a reprint: it is cancelled.
            if job is not None:
                try:
                    self.printer.driver.cancel(job)
                except DeviceError:
                    log.warning("receipt job %s of %s not cancelled", job, order.out_trade_no)
            self.book.update(order.out_trade_no, self.clock.now(), receipt="failed")
            return err.key
        self.book.update(order.out_trade_no, self.clock.now(), receipt="printed")
        return None

    def _receipt(self, order: Order) -> bill_receipt.ReceiptContent:
        channel = self.channels.get(order.channel)
        return bill_receipt.ReceiptContent(
            hall_name=self.context.hall.name,
            type_name=BILL_TYPES.get(order.bill_type, order.bill_type),
            bill_no=order.bill_no,
            amount_yuan=yuan(order.amount_fen),
            channel_name=channel.name if channel is not None else order.channel,
            out_trade_no=order.out_trade_no,
            trade_no=order.trade_no or "",
            paid_at=order.updated_at,
        )

    def _receipt_path(self, order: Order) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "receipts" / f"{order.out_trade_no}.pdf"

    def _journal(self, order: Order, outcome: str, **extra: Any) -> None:
        """Journal an outcome (durable when this returns), then note it in the book so a
        resume does not journal it again. No personal data: type, order, amount, channel."""
        assert self.book is not None
        self.context.transactions.record(
            Kind.KIOSK_TRANSACTION,
            transaction_event(FUNCTION_ID, outcome, item=order.bill_type, ref=order.out_trade_no,
                              amount_fen=order.amount_fen, channel=order.channel,
                              **extra),  # fmt: skip
        )
        self.book.update(order.out_trade_no, self.clock.now(), journaled=outcome)

    def _resume_for_citizen(self, live: Order) -> Screen:
        """The citizen's bill already has an order: settle it rather than open a second."""
        if live.state == "paid":
            return self._account_form(BillAlreadyPaid.key)
        try:
            status = self._channel(live).query(live.out_trade_no)
        except PaymentError:
            return self._account_form(PaymentPending.key)
        if status.state is OrderState.PAID and not live.gave_up:
            self.citizen.out_trade_no = live.out_trade_no
            return self._complete(live, status)
        if status.state is OrderState.WAITING and not live.gave_up and live.qr_code:
            # The same order, its same code: the citizen can still pay it.
            self.citizen.out_trade_no = live.out_trade_no
            self.citizen.deadline = self.clock.now() + self.pay_timeout_s
            return self._scan_screen(live, None)
        try:
            ended = self._settle(live)
        except PaymentError:
            return self._account_form(PaymentPending.key)
        if ended.state in ("new", "waiting", "paid"):
            return self._account_form(PaymentPending.key)
        return self._bill_screen(None)

    # --- screens -------------------------------------------------------------------------

    def _types(self) -> Screen:
        types = [{"id": k, "name": v} for k, v in BILL_TYPES.items()]
        return Screen("choose_bill_type", "menu", {"types": types})

    def _account_form(self, error_key: str | None) -> Screen:
        bill_type = self.citizen.bill_type or "water"
        return Screen("enter_account", "form",
                      {"bill_type": bill_type, "type_name": BILL_TYPES[bill_type]},
                      error_key)  # fmt: skip

    def _bill_screen(self, error_key: str | None) -> Screen:
        bill = self.citizen.bill
        if bill is None:
            return self._types()
        data = {
            "bill_type": bill.bill_type, "type_name": BILL_TYPES[bill.bill_type],
            "biller": bill.biller, "account": bill.account, "holder": bill.holder,
            "period": bill.period, "amount_yuan": yuan(bill.amount_fen),
            "channels": [{"id": c.id, "name": c.name} for c in self.channels.values()],
        }  # fmt: skip
        return Screen("bill", "menu", data, error_key)

    def _scan_screen(self, order: Order, error_key: str | None) -> Screen:
        remaining = max(0, int(self.citizen.deadline - self.clock.now()))
        data = {
            "qr_code": order.qr_code or "", "amount_yuan": yuan(order.amount_fen),
            "channel": order.channel, "channel_name": self._channel(order).name,
            "type_name": BILL_TYPES[order.bill_type], "out_trade_no": order.out_trade_no,
            "remaining_s": remaining, "poll_s": POLL_S,
        }  # fmt: skip
        return Screen("scan_qr", "result", data, error_key)

    def _paid_screen(self, order: Order, error_key: str | None) -> Screen:
        data = {
            "amount_yuan": yuan(order.amount_fen), "type_name": BILL_TYPES[order.bill_type],
            "out_trade_no": order.out_trade_no, "printed": order.receipt == "printed",
        }  # fmt: skip
        return Screen("paid", "result", data, error_key)

    def _ended_screen(self, order: Order) -> Screen:
        """The order ended unpaid: why, and that nothing was charged (or is given back)."""
        if order.state == "paid":
            return self._paid_screen(order, None)
        key = PaymentReversed.key if order.state != "closed" else PaymentExpired.key
        data = {"type_name": BILL_TYPES[order.bill_type], "out_trade_no": order.out_trade_no}
        return Screen("timed_out", "result", data, key)

    # --- helpers -------------------------------------------------------------------------

    def _current_order(self) -> Order | None:
        if self.citizen.out_trade_no is None or self.book is None:
            return None
        return self.book.get(self.citizen.out_trade_no)

    def _channel(self, order: Order) -> PaymentChannel:
        channel = self.channels.get(order.channel)
        if channel is None:
            raise PaymentUnavailable(f"channel {order.channel!r} not offered any more",
                                     channel=order.channel)  # fmt: skip
        return channel

    def book_get(self, order: Order) -> Order:
        assert self.book is not None
        return self.book.get(order.out_trade_no)


__all__ = ["BillPaymentFlow", "FUNCTION_ID", "PAY_TIMEOUT_S"]
