"""A citizen's form, one field at a time: what each field is, how it is checked, and the screens
that show it.

A kiosk form is filled on a touch screen by people who may be old and slow with a keyboard, so
each field is its own screen (one question, one keyboard), and the form's overview lists what
is filled so far. Fields are data (:class:`TextField`, :class:`ChoiceField`); the checks are
small functions that return the cleaned value or raise a :class:`core.errors.FormInvalid`
whose key the screen shows. :mod:`flows.elderly_subsidy` and :mod:`flows.convenience_queries`
use them (with the steps ``edit(key)``, ``set_field(key, text)`` and ``show_form()``); the
screens are drawn by :mod:`kiosk.form_screens`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import BankCardInvalid, FormInvalid, IdNumberInvalid, PhoneInvalid
from flows.identify import parse_id_number
from flows.screens import Screen

#: ``(text) -> cleaned text``; raises one of :data:`ENTRY_ERRORS` when it is not valid.
Check = Callable[[str], str]
#: What a check raises: the citizen's entry is wrong, and the error's key says how.
ENTRY_ERRORS = (FormInvalid, IdNumberInvalid)

_PHONE = re.compile(r"1[3-9][0-9]{9}")
_NAME = re.compile(r"[\u4e00-\u9fff·]{2,20}")


def required(text: str) -> str:
    """Anything but blank."""
    cleaned = text.strip()
    if not cleaned:
        raise FormInvalid("field is empty", reason="empty")
    return cleaned


def chinese_name(text: str) -> str:
    """2–20 Chinese characters (and the middle dot of minority names)."""
    cleaned = "".join(text.split())
    if not _NAME.fullmatch(cleaned):
        raise FormInvalid("not a Chinese name", reason="name")
    return cleaned


def phone(text: str) -> str:
    """An 11-digit mainland mobile number."""
    cleaned = "".join(text.split())
    if not _PHONE.fullmatch(cleaned):
        raise PhoneInvalid("not an 11-digit mobile number", length=len(cleaned))
    return cleaned


def luhn_ok(number: str) -> bool:
    """True when the last digit of ``number`` is its Luhn (mod 10) check digit."""
    if not number.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def bank_card(text: str) -> str:
    """A debit card number: 16–19 digits whose last one is the Luhn check digit (every
    UnionPay card has one, so one mistyped digit, or two swapped neighbours, is caught here
    rather than by a payment that never arrives)."""
    cleaned = "".join(text.split())
    if not (16 <= len(cleaned) <= 19 and luhn_ok(cleaned)):
        raise BankCardInvalid("not a card number with a valid check digit", length=len(cleaned))
    return cleaned


def id_number(text: str) -> str:
    """An 18-character ID number with a valid birth date and check character.

    Raises:
        IdNumberInvalid (240).
    """
    return parse_id_number(text)[0]


def pattern(regex: str, upper: bool = True) -> Check:
    """A code of a fixed form (a contract number), case folded to upper."""
    compiled = re.compile(regex)

    def check(text: str) -> str:
        cleaned = "".join(text.split())
        cleaned = cleaned.upper() if upper else cleaned
        if not compiled.fullmatch(cleaned):
            raise FormInvalid("does not match the expected form", reason="pattern")
        return cleaned

    return check


@dataclass(frozen=True)
class TextField:
    """A field typed on the on-screen keyboard.

    Attributes:
        key: the value's name (and the platform's parameter, where it is one).
        label: shown above the field (联系电话).
        layouts: the keyboards offered (``kiosk.keyboard.LAYOUTS``: ``pinyin``, ``digits``,
            ``id_number``).
        check: cleans and checks the text.
        hint: shown in the empty field (例：GEM2024YS000123).
        max_length: the most characters taken.
        secret: shown masked on the overview and the confirmation (a bank card number).
    """

    key: str
    label: str
    layouts: tuple[str, ...]
    check: Check = required
    hint: str = ""
    max_length: int = 50
    secret: bool = False


@dataclass(frozen=True)
class ChoiceField:
    """A field answered by tapping one of a few options."""

    key: str
    label: str
    options: tuple[str, ...]
    secret: bool = False


Field = TextField | ChoiceField


def shown(field: Field, value: str) -> str:
    """A value as the overview shows it: a secret one as ``****1234``."""
    if field.secret and value:
        return "*" * 4 + value[-4:]
    return value


def overview(
    name: str,
    fields: Sequence[Field],
    values: Mapping[str, str],
    extra: dict[str, Any] | None = None,
    error_key: str | None = None,
) -> Screen:
    """The form so far: each field's label and value (masked when secret), and whether all
    are filled."""
    rows = [
        {"key": f.key, "label": f.label, "value": shown(f, values.get(f.key, ""))} for f in fields
    ]
    complete = all(values.get(f.key) for f in fields)
    return Screen(name, "form", {"fields": rows, "complete": complete, **(extra or {})}, error_key)


def field_screen(field: Field, value: str, error_key: str | None = None) -> Screen:
    """One field's own screen: ``edit_text`` (a keyboard) or ``edit_choice`` (buttons)."""
    if isinstance(field, ChoiceField):
        data: dict[str, Any] = {"key": field.key, "label": field.label,
                                "options": list(field.options), "value": value}  # fmt: skip
        return Screen("edit_choice", "menu", data, error_key)
    data = {
        "key": field.key,
        "label": field.label,
        "layouts": list(field.layouts),
        "hint": field.hint,
        "max_length": field.max_length,
        "value": "" if field.secret else value,
    }
    return Screen("edit_text", "form", data, error_key)


def clean(field: Field, text: str) -> str:
    """The value of ``field`` from what the citizen entered.

    Raises:
        FormInvalid (260) or a narrower type (PhoneInvalid, BankCardInvalid); IdNumberInvalid
        (240).
    """
    if isinstance(field, ChoiceField):
        if text not in field.options:
            raise FormInvalid(f"{field.key}: not one of the options", field=field.key)
        return text
    return field.check(text[: field.max_length * 2])
