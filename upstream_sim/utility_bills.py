"""The billers behind 生活缴费, as the government platform relays them: look a bill up by
type and account, and write a payment off against it (销账).

Served in the platform's envelope (``upstream_sim.server.ok``/``refused``), so the kiosk reaches
it through :class:`govplatform.http.PlatformHttp` like any other platform call:

* ``POST /utility/bills/search`` ``{"bill_type": "water", "account": "3201008812"}`` → the
  account's unpaid bill, or 404 ``NO_BILL`` when nothing is due, 404 ``NO_ACCOUNT`` for an
  unknown account, 400 ``BAD_ACCOUNT`` for a malformed one (each type has its account format).
  The account (户号, or a phone number) identifies a household, so it travels in the body like
  an ID number, never in a URL (``docs/gov-platform.md``, "Personal data").
* ``POST /utility/bills/{bill_no}/payments`` ``{"out_trade_no", "channel", "amount_fen"}``
  with an ``Idempotency-Key``: marks the bill paid. A repeat of the same order is answered as
  the first; another order for a paid bill is 409 ``BILL_PAID``; a wrong amount 409
  ``AMOUNT_MISMATCH``.

The accounts are Golmud's (格尔木, area code 0979), one per type with a bill due and one with
none; holder names are given masked, as billers do. A bill number is the biller's reference
for one bill, not derived from the account: it goes into a URL (the write-off), the payment
channel's order subject, the kiosk's order book and the receipt.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from upstream_sim.server import (
    Request,
    Response,
    Route,
    UpstreamServer,
    lookup_body,
    ok,
    refused,
)

#: bill type → (name, biller, account pattern)
BILL_TYPES: dict[str, tuple[str, str, str]] = {
    "water": ("水费", "格尔木市供排水公司", r"\d{10}"),
    "electricity": ("电费", "国网青海省电力公司格尔木供电公司", r"\d{10}"),
    "gas": ("燃气费", "格尔木市天然气有限公司", r"\d{8}"),
    "phone": ("固话费", "中国电信格尔木分公司", r"0979-?\d{7}"),
}


@dataclass
class Bill:
    bill_no: str
    bill_type: str
    account: str
    holder_masked: str
    period: str
    amount_fen: int
    paid_by: str | None = None


def demo_bills() -> list[Bill]:
    """The simulated accounts: one bill due per type, and accounts that owe nothing."""
    return [
        Bill("W202511-00173", "water", "3201008812", "王*华", "2025-11", 4260),
        Bill("E202511-00417", "electricity", "0630118827", "李*", "2025-11", 15873),
        Bill("G202511-00088", "gas", "80261145", "马*兰", "2025-11", 9650),
        Bill("P202511-00231", "phone", "0979-8412345", "韩*", "2025-11", 3900),
        Bill("E202511-00418", "electricity", "0630118828", "张*明", "2025-11", 28810),
    ]


#: Accounts that exist and owe nothing.
PAID_UP_ACCOUNTS = {"water": "3201008813", "electricity": "0630118800"}


class BillDesk:
    """The bills and their routes: a domain of the simulated platform
    (:func:`routes`), or a server of its own (:class:`UtilityBills`)."""

    def __init__(self, bills: list[Bill] | None = None) -> None:
        self.bills = {b.bill_no: b for b in (bills if bills is not None else demo_bills())}
        self._lock = threading.Lock()

    def routes_for(self) -> list[Route]:
        return [
            Route("POST", "/utility/bills/search", self._lookup, {
                "summary": "The unpaid bill of an account (a lookup: changes nothing)",
                "requestBody": _lookup_body(),
                "responses": {"200": {"description": "the bill"},
                              "400": {"description": "BAD_BILL_TYPE or BAD_ACCOUNT"},
                              "404": {"description": "NO_BILL or NO_ACCOUNT"}},
            }),
            Route("POST", "/utility/bills/{bill_no}/payments", self._write_off, {
                "summary": "Write a payment off against a bill (销账), idempotent by order",
                "parameters": [{"name": "bill_no", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "paid"},
                              "409": {"description": "BILL_PAID or AMOUNT_MISMATCH"}},
            }),
        ]  # fmt: skip

    def paid(self, bill_no: str) -> str | None:
        """The order that paid a bill, or None."""
        return self.bills[bill_no].paid_by

    def _lookup(self, request: Request) -> Response:
        fields = request.fields()
        bill_type = fields.get("bill_type", "")
        account = fields.get("account", "").strip()
        if bill_type not in BILL_TYPES:
            return refused(400, "BAD_BILL_TYPE", "缴费类型不支持")
        if not re.fullmatch(BILL_TYPES[bill_type][2], account):
            return refused(400, "BAD_ACCOUNT", "户号格式不正确")
        with self._lock:
            found = [b for b in self.bills.values()
                     if b.bill_type == bill_type and b.account.replace("-", "") ==
                     account.replace("-", "")]  # fmt: skip
        due = [b for b in found if b.paid_by is None]
        if due:
            return ok(_bill_json(due[0]))
        if found or PAID_UP_ACCOUNTS.get(bill_type) == account:
            return refused(404, "NO_BILL", "该户号当前无欠费")
        return refused(404, "NO_ACCOUNT", "户号不存在")

    def _write_off(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        order = str(body.get("out_trade_no", ""))
        with self._lock:
            bill = self.bills.get(request.params["bill_no"])
            if bill is None:
                return refused(404, "NO_BILL", "账单不存在")
            if not order or body.get("amount_fen") != bill.amount_fen:
                return refused(409, "AMOUNT_MISMATCH", "缴费金额与账单不符")
            if bill.paid_by not in (None, order):
                return refused(409, "BILL_PAID", "账单已缴清")
            bill.paid_by = order
            return ok({**_bill_json(bill), "paid_by": order})


class UtilityBills(UpstreamServer):
    """The bill lookup and write-off on a port of their own (the payment tests' rig)."""

    def __init__(self, bills: list[Bill] | None = None, port: int = 0) -> None:
        self.desk = BillDesk(bills)
        self.bills = self.desk.bills
        super().__init__(
            "Utility bills via the platform (simulated)", self.desk.routes_for(), port=port
        )

    def paid(self, bill_no: str) -> str | None:
        """The order that paid a bill, or None."""
        return self.desk.paid(bill_no)


def routes(people: object) -> list[Route]:
    """The platform's bill domain (:data:`upstream_sim.platform.DOMAINS`); its bills are the
    demo's, whoever the platform's people are."""
    return BillDesk().routes_for()


def _lookup_body() -> dict[str, Any]:
    """The bill lookup's ``requestBody``: a lookup's text fields, the bill type an enum."""
    body = lookup_body(["bill_type", "account"])
    body["content"]["application/json"]["schema"]["properties"]["bill_type"]["enum"] = list(
        BILL_TYPES
    )
    return body


def _bill_json(bill: Bill) -> dict[str, Any]:
    name, biller, _ = BILL_TYPES[bill.bill_type]
    return {"bill_no": bill.bill_no, "bill_type": bill.bill_type, "type_name": name,
            "biller": biller, "account": bill.account, "holder": bill.holder_masked,
            "period": bill.period, "amount_fen": bill.amount_fen,
            "status": "paid" if bill.paid_by else "unpaid"}  # fmt: skip
