"""An item's application form (申请表), filled on the kiosk's screen or on the citizen's phone
after scanning a QR code (扫码填表): what 自助申报 and 自助填表 share.

The form's fields come from the platform (:class:`govplatform.submissions.FormSchema`) and
become :mod:`flows.form_fields` fields, one screen each with the on-screen keyboard. The phone
way: the platform opens a mobile page for the form; the kiosk shows its address as a QR code
and polls (a short long-poll per step) until the phone has submitted; the values arrive here
and are checked again by the kiosk's own checks, so a value the kiosk would refuse is left
empty for the citizen to fill on screen rather than passed on.

Values are personal data: kept only on this object, dropped by :meth:`FormEntry.forget`; the
phone form is closed on the platform then too, so a phone submitting late sends nothing.

:class:`FormSteps` is the flows' side of it: the form's steps and screens (``choose_item``,
``form_mode``, ``phone_qr``, a field's screen, ``form``) that both functions offer their
screens under the same names.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from core.errors import FormInvalid, PhoneFormExpired, PlatformError
from flows import form_fields
from flows.form_fields import ChoiceField, Field, TextField
from flows.identify import Citizen
from flows.screens import Screen
from govplatform.submissions import FormField, FormSchema, PhoneSession, SubmissionsClient

log = logging.getLogger(__name__)

#: Keyboards and checks per field kind.
_LAYOUTS = {
    "text": ("pinyin", "digits"),
    "name": ("pinyin",),
    "phone": ("digits",),
    "digits": ("digits",),
    "id_number": ("id_number",),
}
_CHECKS = {
    "text": form_fields.required,
    "name": form_fields.chinese_name,
    "phone": form_fields.phone,
    "digits": lambda text: _digits(text),
    "id_number": form_fields.id_number,
}


def _digits(text: str) -> str:
    cleaned = "".join(text.split())
    if not cleaned.isdigit():
        raise FormInvalid("not digits", reason="digits")
    return cleaned


def _optional(check: form_fields.Check) -> form_fields.Check:
    def maybe(text: str) -> str:
        return check(text) if text.strip() else ""

    return maybe


def kiosk_field(spec: FormField) -> Field:
    """The kiosk's field for one of the platform's."""
    if spec.kind == "choice":
        return ChoiceField(spec.key, spec.label, spec.options)
    check = _CHECKS[spec.kind]
    return TextField(spec.key, spec.label, _LAYOUTS[spec.kind],
                     check if spec.required else _optional(check), spec.hint,
                     spec.max_length)  # fmt: skip


@dataclass(frozen=True)
class PhoneOutcome:
    """One poll of the phone form: still waiting, or the values arrived."""

    arrived: bool


class FormEntry:
    """One citizen's form at a time.

    Args:
        client: the platform's submission API (the phone way needs it).
    """

    def __init__(self, client: SubmissionsClient | None) -> None:
        self.client = client
        self.forget()

    # --- the form -----------------------------------------------------------------------

    def load(self, schema: FormSchema) -> None:
        self.forget()
        self.schema = schema
        self.fields = [kiosk_field(f) for f in schema.fields]

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def edit(self, key: str) -> Screen:
        """A field tapped: its own screen."""
        return form_fields.field_screen(self.field(key), self.values.get(key, ""))

    def set_field(self, key: str, text: str) -> Screen | None:
        """A field entered: None once kept, else its screen again with the reason."""
        field = self.field(key)
        try:
            value = form_fields.clean(field, text)
        except form_fields.ENTRY_ERRORS as err:
            return form_fields.field_screen(field, text, err.key)
        if value:
            self.values[key] = value
        else:
            self.values.pop(key, None)
        return None

    def missing(self) -> list[str]:
        """The required fields still empty."""
        required = {f.key for f in self.schema.fields if f.required} if self.schema else set()
        return [f.key for f in self.fields if f.key in required and not self.values.get(f.key)]

    def overview(self, name: str, extra: Mapping[str, Any], error_key: str | None = None) -> Screen:
        assert self.schema is not None
        header = {"form_name": self.schema.form_name, "item_name": self.schema.item_name,
                  "missing": self.missing(), **extra}  # fmt: skip
        screen = form_fields.overview(name, self.fields, self.values, header, error_key)
        screen.data["complete"] = not self.missing()
        return screen

    def rows(self) -> list[dict[str, str]]:
        """The filled form for a review screen or a printout: label and value."""
        return [{"key": f.key, "label": f.label, "value": self.values.get(f.key, "")}
                for f in self.fields]  # fmt: skip

    # --- the phone ----------------------------------------------------------------------

    def open_phone(self) -> PhoneSession:
        """Ask the platform for the phone form (once per form; a second ask shows the same).

        Raises:
            PlatformError (801–806).
        """
        assert self.client is not None and self.schema is not None
        if self.phone is None:
            self.phone = self.client.open_phone_form(self.schema.item_code, uuid.uuid4().hex)
        return self.phone

    def poll_phone(self, wait_s: float) -> PhoneOutcome:
        """Whether the phone has submitted; its values are then the form's.

        Raises:
            PhoneFormExpired (822): expired before the phone submitted.
            PlatformError (801–806): the platform could not answer this time.
        """
        assert self.client is not None and self.phone is not None
        try:
            answer = self.client.phone_answer(self.phone.session_id, wait_s)
        except PhoneFormExpired:
            self.phone = None  # gone on the platform: nothing left to close
            raise
        if answer.status != "submitted" or answer.values is None:
            return PhoneOutcome(False)
        for field in self.fields:
            text = answer.values.get(field.key, "")
            try:
                value = form_fields.clean(field, text) if text else ""
            except form_fields.ENTRY_ERRORS:
                value = ""  # the kiosk's check is stricter: the citizen fills it on screen
            if value:
                self.values[field.key] = value
        self.close_phone()
        return PhoneOutcome(True)

    def close_phone(self) -> None:
        """Close the phone form on the platform (best effort: it expires by itself anyway)."""
        phone, self.phone = self.phone, None
        if phone is None or self.client is None:
            return
        try:
            self.client.close_phone_form(phone.session_id)
        except PlatformError as err:
            log.info("phone form not closed (%d): it expires on the platform", err.code)

    def forget(self) -> None:
        """Drop the values and close the phone form."""
        if getattr(self, "phone", None) is not None:
            self.close_phone()
        self.schema: FormSchema | None = None
        self.fields: list[Field] = []
        self.values: dict[str, str] = {}
        self.phone: PhoneSession | None = None


class FormSteps:
    """The form's steps, mixed into 自助填表 (:class:`flows.form_print.FormPrintFlow`) and
    自助申报 (:class:`flows.self_submission.SelfSubmissionFlow`): both draw the same screens
    (``kiosk/functions/form_fill.py``), which call these step names on either flow.

    The flow provides the attributes below and ``_forget()`` (drop the citizen and the form);
    ``citizen`` stays None until the identify step, and every step before it goes back to
    :meth:`start`.
    """

    form: FormEntry
    citizen: Citizen | None
    phone_wait_s: float
    _lock: threading.RLock
    #: 自助申报's ``form`` screen says when the phone's values have just arrived
    #: (``from_phone``); 自助填表's carries no such key.
    FORM_NOTES_PHONE: ClassVar[bool] = False

    def start(self) -> Screen:
        """The tile tapped: the items whose forms can be filled here."""
        with self._lock:
            self._forget()
            return self._items()

    def _forget(self) -> None:
        """Drop the citizen, the form and whatever else the flow holds of them."""
        raise NotImplementedError

    def fill_on_screen(self) -> Screen:
        """在本机填写 (also from the QR screen: the phone is given up)."""
        with self._lock:
            if self.citizen is None:
                return self.start()
            self.form.close_phone()
            return self._form()

    def fill_by_phone(self) -> Screen:
        """手机扫码填写: the QR code of the platform's mobile form."""
        with self._lock:
            if self.citizen is None:
                return self.start()
            try:
                self.form.open_phone()
            except PlatformError as err:
                return self._form_mode(err.key)
            return self._phone_qr()

    def poll_phone(self) -> Screen:
        """The QR screen's poll: still waiting, or the phone's values on the form."""
        with self._lock:
            if self.citizen is None or self.form.phone is None:
                return self.start() if self.citizen is None else self._form()
            try:
                arrived = self.form.poll_phone(self.phone_wait_s).arrived
            except PhoneFormExpired as err:
                return self._form(err.key)
            except PlatformError as err:
                return self._phone_qr(err.key)
            return self._form(phone_done=True) if arrived else self._phone_qr()

    def edit(self, key: str) -> Screen:
        """A field tapped: its own screen."""
        with self._lock:
            return self.form.edit(key) if self.citizen is not None else self.start()

    def set_field(self, key: str, text: str) -> Screen:
        """A field entered: the form again, or the field's screen with the reason."""
        with self._lock:
            if self.citizen is None:
                return self.start()
            again = self.form.set_field(key, text)
            return again if again is not None else self._form()

    # --- screens ------------------------------------------------------------------------

    def _items(self, error_key: str | None = None) -> Screen:
        """``choose_item``: the items whose forms the platform offers here."""
        client = self.form.client
        if client is None:
            return Screen("unavailable", "result", {}, "platform_error")
        try:
            forms = client.forms()
        except PlatformError as err:
            return Screen("unavailable", "result", {}, err.key)
        items = [{"code": f.item_code, "name": f.item_name, "form_name": f.form_name}
                 for f in forms]  # fmt: skip
        return Screen("choose_item", "menu", {"items": items}, error_key)

    def _form_mode(self, error_key: str | None = None) -> Screen:
        """``form_mode``: on screen or by phone."""
        assert self.citizen is not None and self.form.schema is not None
        data = {"form_name": self.form.schema.form_name, "applicant": self.citizen.masked()}
        return Screen("form_mode", "menu", data, error_key)

    def _phone_qr(self, error_key: str | None = None) -> Screen:
        """``phone_qr``: the open phone form's address, to show as a QR code."""
        phone, schema = self.form.phone, self.form.schema
        assert phone is not None and schema is not None
        data = {"url": phone.url, "form_name": schema.form_name,
                "expires_min": max(1, round(phone.expires_in_s / 60))}  # fmt: skip
        return Screen("phone_qr", "form", data, error_key)

    def _form(self, error_key: str | None = None, phone_done: bool = False) -> Screen:
        """``form``: the fields, filled or not, and the masked applicant."""
        assert self.citizen is not None
        extra: dict[str, Any] = {"applicant": self.citizen.masked()}
        if self.FORM_NOTES_PHONE:
            extra["from_phone"] = phone_done
        return self.form.overview("form", extra, error_key)
