"""The payment channels and billers a bill-payment test runs against: the three simulated
gateways and the bill simulator, keys made at run time, and the kiosk's real channel clients
pointed at them. Shared by the bill payment tests and the crash driver (``config`` is what a
kiosk process in another process is given)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govplatform.http import PlatformHttp
from payments.alipay import AlipayChannel
from payments.ccb import CcbChannel
from payments.channel import PaymentChannel
from payments.icbc import IcbcChannel
from payments.rsa_sign import new_key_pair
from upstream_sim.alipay_gateway import AlipayGateway
from upstream_sim.banks import CcbGateway, IcbcGateway
from upstream_sim.trade_ledger import TradeLedger
from upstream_sim.utility_bills import UtilityBills

from upstream_sim.payment_gateways import (
    ALIPAY_APP_ID,
    CCB_BRANCH,
    CCB_MERCHANT,
    CCB_POS,
    ICBC_APP_ID,
    ICBC_MER_ID,
)

CCB_IDS = (CCB_MERCHANT, CCB_POS, CCB_BRANCH)


@dataclass
class PaymentRig:
    alipay: AlipayGateway
    icbc: IcbcGateway
    ccb: CcbGateway
    bills: UtilityBills
    config: dict[str, Any]

    def ledgers(self) -> dict[str, TradeLedger]:
        return {"alipay": self.alipay.ledger, "icbc": self.icbc.ledger, "ccb": self.ccb.ledger}

    def charges(self) -> list[str]:
        """Every order whose money is taken and kept, over all channels."""
        return [t.out_trade_no for ledger in self.ledgers().values() for t in ledger.charges()]

    def stop(self) -> None:
        for server in (self.alipay, self.icbc, self.ccb, self.bills):
            server.stop()


def start_rig() -> PaymentRig:
    private, public = new_key_pair()
    tail = public.replace("\n", "")[-32:-2]
    alipay = AlipayGateway(ALIPAY_APP_ID, public).start()
    icbc = IcbcGateway(ICBC_APP_ID, ICBC_MER_ID, public).start()
    ccb = CcbGateway(*CCB_IDS, tail).start()
    bills = UtilityBills().start()
    config = {
        "private_key": private, "tail": tail, "bills_url": bills.url,
        "alipay": [alipay.gateway_url, alipay.public_key],
        "icbc": [icbc.url, icbc.public_key], "ccb": [ccb.url, ccb.public_key],
    }  # fmt: skip
    return PaymentRig(alipay, icbc, ccb, bills, config)


def channels_from(config: dict[str, Any], timeout_s: float = 3.0) -> dict[str, PaymentChannel]:
    """The kiosk's real channel clients for a rig's config."""
    key = config["private_key"]
    return {
        "alipay": AlipayChannel(config["alipay"][0], ALIPAY_APP_ID, key, config["alipay"][1],
                                store_id="GLM-HALL-01", timeout_s=timeout_s),
        "icbc": IcbcChannel(config["icbc"][0], ICBC_APP_ID, ICBC_MER_ID, key, config["icbc"][1],
                            timeout_s=timeout_s),
        "ccb": CcbChannel(config["ccb"][0], *CCB_IDS, config["tail"], config["ccb"][1],
                          timeout_s=timeout_s),
    }  # fmt: skip


def platform_from(config: dict[str, Any]) -> PlatformHttp:
    return PlatformHttp(config["bills_url"], "kiosk-1", read_timeout_s=3.0, attempts=2)


def write_config(config: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(config), encoding="utf-8")
    return path
