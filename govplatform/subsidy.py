"""The elderly subsidy (高龄补贴认证) on the government platform: eligibility and the yearly
registration.

The platform judges eligibility again on its own date, whatever the kiosk judged; its
refusals the citizen can act on come back as their own types (:data:`REFUSALS`), carrying the
platform's code in ``details['upstream_code']``.

The registration is a POST with an ``Idempotency-Key`` the flow keeps before sending: a lost
answer is settled by sending the same form with the same key again; the platform answers a
repeat with its first result, so a citizen is never registered twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.errors import (
    BankCardInvalid,
    FormInvalid,
    HallEdgeError,
    PhoneInvalid,
    PlatformBadResponse,
    PlatformRefused,
    SubsidyAlreadyCertified,
    SubsidyUnderAge,
)
from govplatform.http import PlatformHttp

PREFIX = "/subsidy/elderly"
#: The platform's refusal codes the kiosk explains, and the error each becomes.
REFUSALS: dict[str, type[HallEdgeError]] = {
    "AGE_BELOW_70": SubsidyUnderAge,
    "ALREADY_CERTIFIED": SubsidyAlreadyCertified,
    "BANK_CARD_INVALID": BankCardInvalid,
    "PHONE_INVALID": PhoneInvalid,
    "NAME_MISMATCH": FormInvalid,
    "FIELD_REQUIRED": FormInvalid,
    "RELATION_INVALID": FormInvalid,
    "AGENT_INVALID": FormInvalid,
}


@dataclass(frozen=True)
class Eligibility:
    """What the platform says of a citizen: age on its date, and this year's certification."""

    age: int
    eligible: bool
    certified_this_year: bool
    monthly_fen: int


@dataclass(frozen=True, repr=False)
class SubsidyForm:
    """青海省高龄补贴登记表, as the kiosk sends it. Personal data throughout: never logged.

    Attributes:
        relation: the applicant's relation to the elder: ``本人`` when the elder applies in
            person; otherwise ``agent_name`` and ``agent_id_number`` name the proxy.
    """

    id_number: str
    name: str
    phone: str
    address: str
    bank_name: str
    bank_card_no: str
    relation: str = "本人"
    agent_name: str = ""
    agent_id_number: str = ""

    def __repr__(self) -> str:
        return f"SubsidyForm(relation={self.relation!r})"


@dataclass(frozen=True)
class Registration:
    """An accepted certification: its number (登记编号), for the citizen and for staff."""

    registration_no: str
    status: str
    year: int
    monthly_fen: int


class SubsidyClient:
    """The elderly subsidy API over :class:`PlatformHttp`."""

    def __init__(self, http: PlatformHttp) -> None:
        self.http = http

    def eligibility(self, id_number: str) -> Eligibility:
        path = f"{PREFIX}/eligibility"
        data = self.http.lookup(path, {"id_number": id_number})
        try:
            return Eligibility(
                int(data["age"]),
                bool(data["eligible"]),
                bool(data["certified_this_year"]),
                int(data["monthly_fen"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise PlatformBadResponse(f"{path}: {err!r}", path=path) from err

    def register(self, form: SubsidyForm, key: str) -> Registration:
        """Submit the certification.

        Args:
            key: the Idempotency-Key, chosen and kept before the call.

        Raises:
            the :data:`REFUSALS` types when the platform refuses on the merits;
            PlatformTimeout (802) / PlatformUnreachable (801): the outcome is unknown, settle
                it by calling again with the same form and key;
            PlatformError (801–806): otherwise.
        """
        path = f"{PREFIX}/registrations"
        try:
            data: Any = self.http.post(path, asdict(form), idempotency_key=key)
        except PlatformRefused as err:
            refusal = REFUSALS.get(str(err.details.get("upstream_code")))
            if refusal is not None:
                raise refusal(str(err), **err.details) from err
            raise
        try:
            return Registration(
                str(data["registration_no"]),
                str(data["status"]),
                int(data["year"]),
                int(data["monthly_fen"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise PlatformBadResponse(f"{path}: {err!r}", path=path) from err
