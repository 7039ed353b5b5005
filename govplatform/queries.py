"""Convenience queries (便民查询) on the government platform, and the social security card's
loss report (社会保障卡挂失/解挂).

A query is a lookup of ``/queries/<query>`` with its parameters (the citizen's ID number
among them) in the body, never in a URL (:meth:`govplatform.http.PlatformHttp.lookup`); what
the answer holds is the query's own business, read by the kiosk's query specs
(:mod:`flows.query_specs`). A printable query also issues its answer as a document
(``/queries/<query>/document``, the same body), fetched like a certificate
(:func:`govplatform.certificates.fetch_document`).

The card's state change is a POST with an ``Idempotency-Key`` the caller keeps before sending:
a lost answer is settled by sending the same change with the same key again, which the
platform answers with its first result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import CardAlreadyLost, CardNotLost, PlatformBadResponse, PlatformRefused
from govplatform.certificates import Document, DocumentRef, document_ref, fetch_document
from govplatform.http import PlatformHttp

PREFIX = "/queries"
CARD = f"{PREFIX}/social-security-card"
#: The card's two changes: 挂失 and 解挂.
CARD_ACTIONS = ("report", "release")
_CARD_REFUSALS = {"ALREADY_LOST": CardAlreadyLost, "NOT_LOST": CardNotLost}


@dataclass(frozen=True, repr=False)
class SocialSecurityCard:
    """The card as the platform shows it: the number masked by the platform itself.

    Attributes:
        state: ``normal`` or ``lost``.
    """

    card_no: str
    bank: str
    state: str

    def __repr__(self) -> str:
        return f"SocialSecurityCard(state={self.state!r})"


@dataclass(frozen=True)
class CardChange:
    """A change the platform made: the card's new state and its reference (受理编号)."""

    state: str
    ref: str


class QueriesClient:
    """The queries API over :class:`PlatformHttp`."""

    def __init__(self, http: PlatformHttp) -> None:
        self.http = http

    def ask(self, query_path: str, params: dict[str, str]) -> dict[str, Any]:
        """One query's answer.

        Raises:
            PlatformNotFound (806): nothing on record for the citizen.
            PlatformError (801–806): otherwise; PlatformBadResponse when the answer is not an
                object.
        """
        path = f"{PREFIX}/{query_path}"
        data = self.http.lookup(path, params)
        if not isinstance(data, dict):
            raise PlatformBadResponse(f"{path}: answer is not an object", path=path)
        return data

    def document(self, query_path: str, params: dict[str, str]) -> DocumentRef:
        """Have the platform issue a query's answer as a printable document."""
        path = f"{PREFIX}/{query_path}/document"
        return document_ref(self.http.lookup(path, params), path)

    def fetch(self, ref: DocumentRef) -> Document:
        return fetch_document(self.http, ref)

    def card(self, id_number: str) -> SocialSecurityCard:
        """The citizen's social security card and whether it is reported lost."""
        data = self.http.lookup(CARD, {"id_number": id_number})
        try:
            card = SocialSecurityCard(str(data["card_no"]), str(data["bank"]), str(data["state"]))
        except (KeyError, TypeError) as err:
            raise PlatformBadResponse(f"{CARD}: {err!r}", path=CARD) from err
        if card.state not in ("normal", "lost"):
            raise PlatformBadResponse(f"{CARD}: state {card.state!r}", path=CARD)
        return card

    def change_card(self, id_number: str, action: str, key: str) -> CardChange:
        """Report the card lost (``report``) or found again (``release``).

        Args:
            key: the Idempotency-Key, chosen and kept before the call; the same key again
                settles an unknown outcome without a second change.

        Raises:
            CardAlreadyLost (266) / CardNotLost (267): nothing to change.
            PlatformTimeout (802) / PlatformUnreachable (801): the outcome is unknown.
            PlatformError (801–806): otherwise.
        """
        if action not in CARD_ACTIONS:
            raise ValueError(f"card action {action!r} not one of {CARD_ACTIONS}")
        path = f"{CARD}/loss"
        body = {"id_number": id_number, "action": action}
        try:
            data = self.http.post(path, body, idempotency_key=key)
        except PlatformRefused as err:
            refusal = _CARD_REFUSALS.get(str(err.details.get("upstream_code")))
            if refusal is not None:
                raise refusal(str(err), **err.details) from err
            raise
        try:
            return CardChange(str(data["state"]), str(data["ref"]))
        except (KeyError, TypeError) as err:
            raise PlatformBadResponse(f"{path}: {err!r}", path=path) from err
