"""Who is told about what, by role (seed 000 row 41; seed 002's 值班经理).

=================  ============================  ==============================================
role               who                           gets
=================  ============================  ==============================================
``office_lead``    审管办负责人                   red warnings of every service
``window_lead``    进驻部门窗口负责人 (per dept)  red, yellow and valley of the services listed
``duty_manager``   值班经理                       every 不满意 / 非常不满意 rating
=================  ============================  ==============================================

A clear goes to the same people as the level it ends, so whoever was told of a warning is
told it is over. A window lead without ``services`` leads every service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ROLES = {"office_lead": "审管办负责人", "window_lead": "进驻部门窗口负责人", "duty_manager": "值班经理"}
_PHONE = re.compile(r"^1\d{10}$")


@dataclass(frozen=True)
class Recipient:
    """One person.

    Attributes:
        role: ``office_lead``, ``window_lead`` or ``duty_manager``.
        name: the person's name, as the audit shows it.
        phone: an 11-digit mobile number (an IM gateway finds the account by it).
        department: the 进驻部门 a window lead is from.
        services: the services a window lead answers for; empty means all.
    """

    role: str
    name: str
    phone: str
    department: str = ""
    services: tuple[str, ...] = ()

    @property
    def role_name(self) -> str:
        return ROLES[self.role]

    def leads(self, service: str) -> bool:
        return not self.services or service in self.services


@dataclass(frozen=True)
class RecipientBook:
    """The configured people of one hall."""

    people: tuple[Recipient, ...] = field(default_factory=tuple)

    def for_warning(self, level: str, service: str) -> list[Recipient]:
        """Red → the office leads and the service's window leads; yellow and valley → the
        service's window leads (``level`` is the level raised, or the one a clear ends)."""
        found = [p for p in self.people if p.role == "window_lead" and p.leads(service)]
        if level == "red":
            found = [p for p in self.people if p.role == "office_lead"] + found
        return found

    def for_bad_rating(self) -> list[Recipient]:
        return [p for p in self.people if p.role == "duty_manager"]


def parse_recipients(raw: Any) -> RecipientBook:
    """``[[notify.recipients]]`` entries.

    Raises:
        ValueError: an unknown role, a missing name or phone, a malformed mobile number.
    """
    if not isinstance(raw, list):
        raise ValueError("[[notify.recipients]] must be a list of tables")
    people = []
    for entry in raw:
        role = str(entry["role"])
        if role not in ROLES:
            raise ValueError(f"recipient role {role!r} is not one of {sorted(ROLES)}")
        phone = str(entry["phone"]).strip()
        if not _PHONE.match(phone):
            raise ValueError(f"recipient {entry.get('name')!r}: {phone!r} is not a mobile number")
        people.append(
            Recipient(
                role=role,
                name=str(entry["name"]),
                phone=phone,
                department=str(entry.get("department", "")),
                services=tuple(str(s) for s in entry.get("services", ())),
            )
        )
    return RecipientBook(tuple(people))
