"""Online submission (网上申报) on the government platform: an item's application form, the
phone form a citizen fills after scanning a QR code, material pages, and filing the case.

Every state-changing call carries an ``Idempotency-Key`` the caller chose and kept before the
call (``docs/gov-platform.md``), so a lost answer is settled by sending the same body with the
same key again: the platform answers a repeat with its first result and files a case once.
The platform's refusals of a case on its merits are :class:`~core.errors.SubmissionRefused`
(821), its code in ``details['upstream_code']``; an expired phone form is
:class:`~core.errors.PhoneFormExpired` (822).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from core.errors import PhoneFormExpired, PlatformBadResponse, PlatformRefused, SubmissionRefused
from govplatform.http import PlatformHttp

PREFIX = "/submissions"
#: The kinds of field a form may have; the kiosk picks a keyboard and a check per kind.
FIELD_KINDS = ("text", "name", "phone", "digits", "id_number", "choice")
#: The longest long poll of a phone form the kiosk asks for (the platform allows 5 s; the
#: kiosk's read timeout is 6 s).
POLL_WAIT_S = 2.0


@dataclass(frozen=True)
class FormField:
    """One field of an application form, as the platform defines it."""

    key: str
    label: str
    kind: str
    required: bool
    options: tuple[str, ...]
    max_length: int
    hint: str


@dataclass(frozen=True)
class FormSchema:
    """An item's application form (申请表).

    Attributes:
        form_material: the catalog material (``M03``) the form stands in for: filled
            online, it is not photographed.
    """

    item_code: str
    item_name: str
    form_name: str
    form_material: str
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class OnlineForm:
    """A line of the list of items open to online submission."""

    item_code: str
    item_name: str
    form_name: str


@dataclass(frozen=True)
class PhoneSession:
    """A phone form opened for a kiosk: the page's address (the QR code's content) and the
    id the kiosk polls with (never shown)."""

    session_id: str
    url: str
    expires_in_s: float


@dataclass(frozen=True, repr=False)
class PhoneAnswer:
    """Where a phone form stands: ``waiting``, or ``submitted`` with the values (personal
    data: never logged)."""

    status: str
    values: dict[str, str] | None

    def __repr__(self) -> str:
        return f"PhoneAnswer(status={self.status!r})"


@dataclass(frozen=True, repr=False)
class CaseSubmission:
    """A case as the kiosk files it. Personal data throughout: never logged.

    Attributes:
        materials: ``(material_id, (attachment_id, …))`` per material, in list order.
    """

    item_code: str
    situation: str
    id_number: str
    name: str
    form: dict[str, str]
    materials: tuple[tuple[str, tuple[str, ...]], ...]

    def __repr__(self) -> str:
        return f"CaseSubmission(item={self.item_code!r}, materials={len(self.materials)})"

    def body(self) -> dict[str, Any]:
        return {
            "item_code": self.item_code,
            "situation": self.situation,
            "applicant": {"id_number": self.id_number, "name": self.name},
            "form": dict(self.form),
            "materials": [{"material_id": m, "attachments": list(a)} for m, a in self.materials],
        }


@dataclass(frozen=True)
class CaseReceipt:
    """A case the platform filed: its number (办件编号), for the receipt and for staff."""

    case_no: str
    status: str
    received_at: str
    pages: int


class SubmissionsClient:
    """The submission API over :class:`PlatformHttp`."""

    def __init__(self, http: PlatformHttp) -> None:
        self.http = http

    def forms(self) -> list[OnlineForm]:
        """The items open to online submission."""
        path = f"{PREFIX}/forms"
        data = self.http.get(path)
        try:
            return [OnlineForm(str(f["item_code"]), str(f["item_name"]), str(f["form_name"]))
                    for f in data["forms"]]  # fmt: skip
        except (KeyError, TypeError) as err:
            raise PlatformBadResponse(f"{path}: {err!r}", path=path) from err

    def form(self, item_code: str) -> FormSchema:
        """An item's application form.

        Raises:
            PlatformNotFound (806): the item is not open to online submission.
        """
        path = f"{PREFIX}/forms/{item_code}"
        data = self.http.get(path)
        try:
            fields = tuple(
                FormField(str(f["key"]), str(f["label"]), str(f["kind"]), bool(f["required"]),
                          tuple(str(o) for o in f["options"]), int(f["max_length"]),
                          str(f.get("hint", "")))  # fmt: skip
                for f in data["fields"]
            )
            schema = FormSchema(str(data["item_code"]), str(data["item_name"]),
                                str(data["form_name"]), str(data["form_material"]), fields)  # fmt: skip
        except (KeyError, TypeError, ValueError) as err:
            raise PlatformBadResponse(f"{path}: {err!r}", path=path) from err
        unknown = [f.kind for f in fields if f.kind not in FIELD_KINDS]
        if unknown:
            raise PlatformBadResponse(f"{path}: field kinds {unknown}", path=path)
        return schema

    def open_phone_form(self, item_code: str, key: str) -> PhoneSession:
        """Ask for a phone form of ``item_code``; ``key`` is this request's Idempotency-Key."""
        path = f"{PREFIX}/phone-sessions"
        data = self.http.post(path, {"item_code": item_code}, idempotency_key=key)
        try:
            return PhoneSession(str(data["session_id"]), str(data["url"]), float(data["expires_in_s"]))
        except (KeyError, TypeError, ValueError) as err:
            raise PlatformBadResponse(f"{path}: {err!r}", path=path) from err

    def phone_answer(self, session_id: str, wait_s: float = POLL_WAIT_S) -> PhoneAnswer:
        """Where the phone form stands, waiting up to ``wait_s`` for the phone to submit.

        Raises:
            PhoneFormExpired (822): the form expired or was closed before the phone sent it.
        """
        path = f"{PREFIX}/phone-sessions/{session_id}"
        data = self.http.get(path, {"wait": wait_s})
        try:
            status = str(data["status"])
            values = data["values"]
            if values is not None:
                values = {str(k): str(v) for k, v in values.items()}
        except (KeyError, TypeError, AttributeError) as err:
            raise PlatformBadResponse(f"{path}: {err!r}", path=path) from err
        if status in ("expired", "closed"):
            raise PhoneFormExpired(f"phone form {status}", status=status)
        if status not in ("waiting", "submitted") or (status == "submitted" and values is None):
            raise PlatformBadResponse(f"{path}: status {status!r}", path=path)
        return PhoneAnswer(status, values)

    def close_phone_form(self, session_id: str) -> None:
        """The kiosk is done with the phone form: the platform drops what it holds."""
        path = f"{PREFIX}/phone-sessions/{session_id}/close"
        # Closing twice changes nothing, so the key may be the session's own.
        self.http.post(path, {}, idempotency_key=f"close-{session_id}")

    def upload(self, data: bytes, content_type: str, name: str, key: str) -> str:
        """Upload one page of a material; its attachment id."""
        path = f"{PREFIX}/attachments"
        body = {"name": name, "content_type": content_type,
                "data": base64.b64encode(data).decode("ascii")}  # fmt: skip
        answer = self.http.post(path, body, idempotency_key=key)
        try:
            return str(answer["attachment_id"])
        except (KeyError, TypeError) as err:
            raise PlatformBadResponse(f"{path}: {err!r}", path=path) from err

    def submit(self, case: CaseSubmission, key: str) -> CaseReceipt:
        """File the case.

        Args:
            key: the Idempotency-Key, chosen and kept before the first call.

        Raises:
            SubmissionRefused (821): refused on its merits; nothing was filed.
            PlatformTimeout (802) / PlatformUnreachable (801): the outcome is unknown, settle
                it by calling again with the same case and key.
            PlatformError (801–806): otherwise.
        """
        path = f"{PREFIX}/cases"
        try:
            data = self.http.post(path, case.body(), idempotency_key=key)
        except PlatformRefused as err:
            raise SubmissionRefused(str(err), **err.details) from err
        try:
            return CaseReceipt(str(data["case_no"]), str(data["status"]),
                               str(data["received_at"]), int(data["pages"]))  # fmt: skip
        except (KeyError, TypeError, ValueError) as err:
            raise PlatformBadResponse(f"{path}: {err!r}", path=path) from err
