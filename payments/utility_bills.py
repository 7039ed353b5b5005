"""The billers' side of 生活缴费 through the government platform: look a bill up, write a
payment off against it (销账). ``upstream_sim/utility_bills.py`` simulates it.

The account (户号) identifies a household, so the lookup carries it in a POST body, never in a
URL (``docs/gov-platform.md``, "Personal data"). A bill number is the biller's reference for
one bill and may be in a URL (the write-off's path).

The platform client (:class:`govplatform.http.PlatformHttp`) is handed in, typed by what this
module needs of it, so :mod:`payments` still imports only :mod:`core`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import PlatformBadResponse

#: The bill types, in the order the kiosk offers them: id → name on screen.
BILL_TYPES: dict[str, str] = {
    "water": "水费",
    "electricity": "电费",
    "gas": "燃气费",
    "phone": "固话费",
}

#: The bill lookup, a POST whose body holds the account.
LOOKUP_PATH = "/utility/bills/search"


class PlatformCalls(Protocol):
    """What this module asks of :class:`govplatform.http.PlatformHttp`."""

    def lookup(self, path: str, body: dict[str, Any]) -> Any: ...

    def post(
        self, path: str, body: dict[str, Any], *, idempotency_key: str | None = None
    ) -> Any: ...


@dataclass(frozen=True)
class Bill:
    """An unpaid bill.

    Attributes:
        bill_no: the biller's number for it.
        bill_type: one of :data:`BILL_TYPES`.
        biller: who issued it (格尔木市供排水公司).
        account: the account (户号, or the phone number).
        holder: the holder's name as the biller masks it (王*华); shown, never journaled.
        period: the billing month (2025-11).
        amount_fen: what is due.
    """

    bill_no: str
    bill_type: str
    biller: str
    account: str
    holder: str
    period: str
    amount_fen: int


class UtilityBills:
    """Bills through the platform.

    Args:
        platform: the platform client.
    """

    def __init__(self, platform: PlatformCalls) -> None:
        self.platform = platform

    def lookup(self, bill_type: str, account: str) -> Bill:
        """The account's unpaid bill.

        Raises:
            PlatformNotFound (806): nothing due, or no such account.
            PlatformRefused (805): a malformed account.
            PlatformError: the platform could not answer.
        """
        # A lookup: retried like a GET by the platform client, as it changes nothing.
        data = self.platform.lookup(LOOKUP_PATH, {"bill_type": bill_type, "account": account})
        try:
            return Bill(
                bill_no=str(data["bill_no"]), bill_type=str(data["bill_type"]),
                biller=str(data["biller"]), account=str(data["account"]),
                holder=str(data.get("holder", "")), period=str(data["period"]),
                amount_fen=int(data["amount_fen"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as err:
            raise PlatformBadResponse(f"bill lookup: {err}", path=LOOKUP_PATH) from err

    def write_off(self, bill_no: str, out_trade_no: str, channel: str, amount_fen: int) -> None:
        """Tell the biller the bill is paid by this order; a repeat is answered as the first.

        Raises:
            PlatformRefused (805): the bill was paid by another order, or the amount differs.
            PlatformError: the platform could not answer (the write-off is retried later).
        """
        self.platform.post(
            f"/utility/bills/{bill_no}/payments",
            {"out_trade_no": out_trade_no, "channel": channel, "amount_fen": amount_fen},
            idempotency_key=f"writeoff-{out_trade_no}",
        )
