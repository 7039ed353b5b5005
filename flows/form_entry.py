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
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import FormInvalid, PlatformError
from flows import form_fields
from flows.form_fields import ChoiceField, Field, TextField
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
        answer = self.client.phone_answer(self.phone.session_id, wait_s)
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
