"""生活缴费 as a citizen meets it: look a bill up, pay by scanning, get a receipt; and what the
citizen is told, and what is charged, when the payment times out, is paid late, the printer
fails, or the citizen walks away. Real channel clients against strict simulators, a real CUPS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.events import Kind
from devices.document_printer import DocumentPrinter
from flows.bill_payment import BillPaymentFlow
from flows.kiosk_functions import KioskContext, KioskHome, built_in
from hallstore import journal
from hardware_sim.cups_server import CupsServer, StatePrinter
from tests.conftest import HallDb
from tests.payment_rig import PaymentRig, channels_from, platform_from, start_rig

ROW = built_in("bill_payment")


@pytest.fixture
def rig() -> Iterator[PaymentRig]:
    rig = start_rig()
    try:
        yield rig
    finally:
        rig.stop()


def _context(hall_db: HallDb, rig: PaymentRig, data_dir: Path, printer: DocumentPrinter | None,
             timeout_s: float = 3.0) -> KioskContext:  # fmt: skip
    return KioskContext(
        queue=hall_db.queue, device_id="kiosk-1", clock=hall_db.clock, data_dir=data_dir,
        platform=platform_from(rig.config), payment_channels=channels_from(rig.config, timeout_s),
        document_printer=printer,
    )  # fmt: skip


def _transactions(hall_db: HallDb) -> list[dict]:
    return [p.event.data for p in journal.pending(hall_db.conn, 10_000)
            if p.event.kind == Kind.KIOSK_TRANSACTION]  # fmt: skip


def _to_qr(flow: BillPaymentFlow, channel: str = "alipay", account: str = "0630118827"):
    flow.start()
    flow.choose_type("electricity")
    bill = flow.lookup(account)
    assert bill.name == "bill", bill
    return flow.pay(channel)


def _until_paid(flow: BillPaymentFlow, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        screen = flow.check()
        if screen.name != "scan_qr":
            return screen
        time.sleep(0.1)
    raise AssertionError("still waiting")


@pytest.mark.parametrize("channel", ["alipay", "icbc", "ccb"])
def test_a_citizen_pays_an_electricity_bill_and_takes_one_receipt(
    hall_db: HallDb, rig: PaymentRig, cups_pdf: DocumentPrinter, cups: CupsServer, tmp_path: Path,
    channel: str,
) -> None:
    before = set(cups.pdfs())
    flow = BillPaymentFlow(_context(hall_db, rig, tmp_path / "kiosk", cups_pdf))
    flow.start()
    flow.choose_type("electricity")
    bill = flow.lookup("0630118827")
    assert bill.data["amount_yuan"] == "158.73" and bill.data["holder"] == "李*"
    qr = flow.pay(channel)
    assert qr.name == "scan_qr" and qr.data["qr_code"].startswith("https://")
    number = qr.data["out_trade_no"]
    assert flow.check().name == "scan_qr"  # not paid yet
    rig.ledgers()[channel].scan_and_pay(number)
    paid = _until_paid(flow)
    assert paid.name == "paid" and paid.error_key is None and paid.data["printed"]
    assert rig.charges() == [number]
    assert rig.bills.paid("E202511-00417") == number
    assert len([p for p in cups.pdfs() if p not in before]) == 1
    events = _transactions(hall_db)
    assert [e["outcome"] for e in events] == ["unknown", "done"]
    assert events[-1] == {"function": "bill_payment", "item": "electricity", "outcome": "done",
                          "ref": number, "amount_fen": 15873, "channel": channel}  # fmt: skip
    assert "李" not in str(events)
    # The bill is paid: looking it up again says so, and no second order can be opened.
    flow.start()
    flow.choose_type("electricity")
    assert flow.lookup("0630118827").error_key == "platform_not_found"


def test_a_payment_that_times_out_is_closed_and_nothing_is_charged(
    hall_db: HallDb, rig: PaymentRig, tmp_path: Path
) -> None:
    flow = BillPaymentFlow(_context(hall_db, rig, tmp_path / "kiosk", None), pay_timeout_s=60)
    qr = _to_qr(flow)
    hall_db.clock.advance(61)
    ended = flow.check()
    assert ended.name == "timed_out" and ended.error_key == "payment_expired"
    assert ended.error_text == "支付超时，订单已关闭，未扣款"
    # The citizen's phone confirms afterwards: the channel refuses, nothing is charged.
    assert rig.alipay.ledger.scan_and_pay(qr.data["out_trade_no"]) is False
    assert rig.charges() == []
    assert [e["outcome"] for e in _transactions(hall_db)] == ["unknown", "cancelled"]


def test_a_payment_confirmed_after_the_kiosk_gave_up_is_given_back(
    hall_db: HallDb, rig: PaymentRig, tmp_path: Path
) -> None:
    flow = BillPaymentFlow(_context(hall_db, rig, tmp_path / "kiosk", None, timeout_s=1.0),
                           pay_timeout_s=60)  # fmt: skip
    qr = _to_qr(flow)
    number = qr.data["out_trade_no"]
    # The channel stops answering as the kiosk gives up: its cancel cannot get through…
    rig.alipay.fault("timeout", delay_s=2.0)
    hall_db.clock.advance(61)
    ended = flow.check()
    assert ended.name == "timed_out" and ended.error_key == "payment_reversed"
    # …and the citizen's payment lands after that.
    assert rig.alipay.ledger.scan_and_pay(number) is True
    rig.alipay.clear_faults()
    time.sleep(2.2)  # the held requests drain
    flow.start()  # the next citizen's tap settles what was left
    assert rig.charges() == []
    assert rig.alipay.ledger.trades[number].refunded_at is not None
    assert rig.bills.paid("E202511-00417") is None
    assert [e["outcome"] for e in _transactions(hall_db)] == ["unknown", "cancelled"]
    assert _transactions(hall_db)[-1]["refunded"] is True


def test_an_unknown_precreate_result_never_opens_a_second_order(
    hall_db: HallDb, rig: PaymentRig, tmp_path: Path
) -> None:
    rig.alipay.unknown_result("alipay.trade.precreate", after_work=True)
    flow = BillPaymentFlow(_context(hall_db, rig, tmp_path / "kiosk", None))
    qr = _to_qr(flow)
    assert qr.name == "scan_qr"
    assert list(rig.alipay.ledger.trades) == [qr.data["out_trade_no"]]


def test_a_citizen_who_walks_away_leaves_nothing_charged(
    hall_db: HallDb, rig: PaymentRig, tmp_path: Path
) -> None:
    context = _context(hall_db, rig, tmp_path / "kiosk", None)
    home = KioskHome(context, [ROW])
    home.open("bill_payment")
    home.step("bill_payment", lambda f: f.choose_type("water"))
    home.step("bill_payment", lambda f: f.lookup("3201008812"))
    qr = home.step("bill_payment", lambda f: f.pay("icbc"))
    hall_db.clock.advance(context.idle_timeout_s + 1)
    assert home.tick().name == "home"
    number = qr.data["out_trade_no"]
    assert rig.icbc.ledger.scan_and_pay(number) is False
    assert rig.charges() == []
    assert home.flows["bill_payment"].citizen.bill is None  # the holder's name is forgotten


def test_a_printer_fault_mid_flow_keeps_the_payment_and_says_so(
    hall_db: HallDb, rig: PaymentRig, a4: DocumentPrinter, state: StatePrinter, tmp_path: Path
) -> None:
    state.set("media-empty-error")
    flow = BillPaymentFlow(_context(hall_db, rig, tmp_path / "kiosk", a4))
    qr = _to_qr(flow, channel="ccb")
    rig.ccb.ledger.scan_and_pay(qr.data["out_trade_no"])
    paid = _until_paid(flow, timeout_s=30)
    assert paid.name == "paid" and paid.error_key == "paper_out"
    assert paid.error_text == "打印机缺纸，请联系工作人员"
    assert not paid.data["printed"]
    assert rig.charges() == [qr.data["out_trade_no"]]
    assert _transactions(hall_db)[-1]["outcome"] == "done"
    state.set()
    again = flow.reprint()
    assert again.error_key is None and again.data["printed"]
    assert rig.charges() == [qr.data["out_trade_no"]]


def test_switching_channel_closes_the_first_order_without_a_refund(
    hall_db: HallDb, rig: PaymentRig, tmp_path: Path
) -> None:
    flow = BillPaymentFlow(_context(hall_db, rig, tmp_path / "kiosk", None))
    first = _to_qr(flow, channel="alipay")
    back = flow.change_channel()
    assert back.name == "bill"
    second = flow.pay("icbc")
    assert second.name == "scan_qr"
    assert rig.alipay.ledger.trades[first.data["out_trade_no"]].state == "TRADE_CLOSED"
    assert first.data["out_trade_no"] != second.data["out_trade_no"]


def test_no_request_line_of_a_bill_payment_holds_the_account(
    hall_db: HallDb, rig: PaymentRig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The account (户号) identifies a household: it goes to the platform in a lookup's body,
    and to no channel at all. Every request of a payment that tries all three channels is
    heard: urllib3's lines on the kiosk (the banks, the platform; the Alipay SDK uses urllib)
    and every simulator's access line (Alipay's gateway, whose SDK puts the whole order in
    the query, included)."""
    account = "3201008812"
    flow = BillPaymentFlow(_context(hall_db, rig, tmp_path / "kiosk", None))
    with caplog.at_level(logging.DEBUG):
        flow.start()
        flow.choose_type("water")
        assert flow.lookup(account).name == "bill"
        for channel in ("alipay", "icbc"):
            assert flow.pay(channel).name == "scan_qr"
            assert flow.change_channel().name == "bill"
        qr = flow.pay("ccb")
        rig.ccb.ledger.scan_and_pay(qr.data["out_trade_no"])
        assert _until_paid(flow).name == "paid"
    assert rig.bills.paid("W202511-00173") == qr.data["out_trade_no"]
    lines = [r.getMessage() for r in caplog.records
             if r.name in ("urllib3.connectionpool", "upstream_sim.server")]  # fmt: skip
    heard = "\n".join(lines)
    for request in ("/utility/bills/search", "/utility/bills/W202511-00173/payments",
                    "/gateway.do?", "/api/cardbusiness/qrcode/qrgenerate/V3",
                    "/CCBIS/ccbMain"):  # fmt: skip
        assert request in heard, request
    assert [line for line in lines if account in line] == []
