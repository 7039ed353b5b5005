"""The three simulated payment gateways as a kiosk meets them: started on loopback, with keys
made at run time and the kiosk's payments file (:mod:`payments.config`) written beside them.

For the demo and for tests that run a kiosk in another process; the file is all such a kiosk
is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from payments.rsa_sign import new_key_pair
from upstream_sim.alipay_gateway import AlipayGateway
from upstream_sim.banks import CcbGateway, IcbcGateway
from upstream_sim.trade_ledger import TradeLedger

ALIPAY_APP_ID = "2021004100000001"
ICBC_APP_ID, ICBC_MER_ID = "10000000000004096", "020001030001"
CCB_MERCHANT, CCB_POS, CCB_BRANCH = "105290050110001", "013579246", "630000000"


@dataclass
class PaymentGateways:
    """The running gateways and the payments file that points a kiosk at them."""

    alipay: AlipayGateway
    icbc: IcbcGateway
    ccb: CcbGateway
    payments_file: Path

    def ledgers(self) -> dict[str, TradeLedger]:
        return {"alipay": self.alipay.ledger, "icbc": self.icbc.ledger, "ccb": self.ccb.ledger}

    def stop(self) -> None:
        for server in (self.alipay, self.icbc, self.ccb):
            server.stop()


def start_gateways(directory: Path) -> PaymentGateways:
    """Start the gateways and write ``payments.json`` and its keys into ``directory``."""
    private, public = new_key_pair()
    tail = public.replace("\n", "")[-32:-2]
    alipay = AlipayGateway(ALIPAY_APP_ID, public).start()
    icbc = IcbcGateway(ICBC_APP_ID, ICBC_MER_ID, public).start()
    ccb = CcbGateway(CCB_MERCHANT, CCB_POS, CCB_BRANCH, tail).start()
    keys = directory / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    files = {
        "app_private.pem": private,
        "alipay_public.pem": alipay.public_key,
        "icbc_public.pem": icbc.public_key,
        "ccb_public.pem": ccb.public_key,
    }
    for name, pem in files.items():
        (keys / name).write_text(pem, encoding="ascii")
    (keys / "app_private.pem").chmod(0o600)
    config = {
        "alipay": {
            "gateway": alipay.gateway_url, "app_id": ALIPAY_APP_ID, "store_id": "GLM-HALL-01",
            "private_key_file": "keys/app_private.pem",
            "alipay_public_key_file": "keys/alipay_public.pem",
        },
        "icbc": {
            "gateway": icbc.url, "app_id": ICBC_APP_ID, "mer_id": ICBC_MER_ID,
            "private_key_file": "keys/app_private.pem",
            "bank_public_key_file": "keys/icbc_public.pem",
        },
        "ccb": {
            "gateway": ccb.url, "merchant_id": CCB_MERCHANT, "pos_id": CCB_POS,
            "branch_id": CCB_BRANCH, "public_key_tail": tail,
            "bank_public_key_file": "keys/ccb_public.pem",
        },
    }  # fmt: skip
    payments_file = directory / "payments.json"
    payments_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return PaymentGateways(alipay, icbc, ccb, payments_file)
