"""The three channels behind one interface, against simulators as strict as the real gateways:
the same order life everywhere, signatures checked both ways, a repeat never a second order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from core.clock import HALL_TZ
from core.errors import PaymentBadResponse, PaymentRefused, PaymentTimeout
from payments.alipay import AlipayChannel
from payments.channel import OrderState, PaymentChannel
from payments.rsa_sign import new_key_pair
from tests.payment_rig import ALIPAY_APP_ID, PaymentRig, channels_from, start_rig


@pytest.fixture(scope="module")
def rig() -> Iterator[PaymentRig]:
    rig = start_rig()
    try:
        yield rig
    finally:
        rig.stop()


@pytest.fixture(scope="module")
def channels(rig: PaymentRig) -> dict[str, PaymentChannel]:
    return channels_from(rig.config, timeout_s=1.0)


@pytest.mark.parametrize("channel_id", ["alipay", "icbc", "ccb"])
def test_every_channel_takes_an_order_through_the_same_life(
    rig: PaymentRig, channels: dict[str, PaymentChannel], channel_id: str
) -> None:
    channel, ledger = channels[channel_id], rig.ledgers()[channel_id]
    assert isinstance(channel, PaymentChannel)
    no = f"life_{channel_id}"
    assert channel.query(no).state is OrderState.NOT_FOUND
    qr = channel.precreate(no, 4260, "水费 W202511-00173")
    assert channel.precreate(no, 4260, "水费 W202511-00173") == qr  # a repeat, same order
    with pytest.raises(PaymentRefused):
        channel.precreate(no, 4261, "水费")  # same number, other amount: refused
    assert channel.query(no).state is OrderState.WAITING
    ledger.scan_and_pay(no)
    paid = channel.query(no)
    assert paid.state is OrderState.PAID and paid.amount_fen == 4260
    assert channel.close(no).state is OrderState.PAID  # close never refunds
    assert channel.cancel(no).state is OrderState.REFUNDED  # a reversal does
    unpaid = f"unpaid_{channel_id}"
    channel.precreate(unpaid, 100, "燃气费")
    assert channel.close(unpaid).state is OrderState.CLOSED
    assert ledger.scan_and_pay(unpaid) is False


def test_the_alipay_gateway_refuses_a_request_signed_with_another_key(rig: PaymentRig) -> None:
    forged = AlipayChannel(rig.alipay.gateway_url, ALIPAY_APP_ID, new_key_pair()[0],
                           rig.alipay.public_key)  # fmt: skip
    with pytest.raises(PaymentRefused) as refused:
        forged.query("anything")
    assert refused.value.details["upstream_code"] == "40002"


def test_an_answer_not_signed_by_alipay_is_not_believed(rig: PaymentRig) -> None:
    fooled = AlipayChannel(rig.alipay.gateway_url, ALIPAY_APP_ID, rig.config["private_key"],
                           new_key_pair()[1])  # fmt: skip
    with pytest.raises(PaymentBadResponse):
        fooled.query("anything")


def test_a_gateway_that_holds_the_request_is_a_timeout(
    rig: PaymentRig, channels: dict[str, PaymentChannel]
) -> None:
    rig.alipay.fault("timeout", delay_s=1.5, count=1)
    with pytest.raises(PaymentTimeout) as timed_out:
        channels["alipay"].query("x")
    assert timed_out.value.code == 852


def test_statements_list_payments_and_refunds_of_a_past_day(
    rig: PaymentRig, channels: dict[str, PaymentChannel]
) -> None:
    for channel_id in ("alipay", "icbc", "ccb"):
        channels[channel_id].precreate(f"stmt_{channel_id}", 9650, "燃气费")
        rig.ledgers()[channel_id].scan_and_pay(f"stmt_{channel_id}")
    # The channels' day is Beijing's (the machine's own date lags it from 16:00 UTC).
    today = dt.datetime.now(HALL_TZ).date()
    with pytest.raises(PaymentRefused):
        channels["alipay"].statement(today)  # Alipay publishes a day's statement the next day
    real_now = rig.alipay.ledger.now
    rig.alipay._skew_free = True
    rig.alipay.ledger.now = lambda: real_now() + 86400
    try:
        for channel_id, channel in channels.items():
            lines = [x for x in channel.statement(today) if x.out_trade_no == f"stmt_{channel_id}"]
            assert [(x.kind, x.amount_fen) for x in lines] == [("pay", 9650)], channel_id
    finally:
        rig.alipay.ledger.now = real_now
        rig.alipay._skew_free = False
