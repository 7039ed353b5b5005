"""The platform's elderly subsidy desk (高龄补贴认证, 民政局): the yearly certification of
citizens aged 70 or more, with the registration form (青海省高龄补贴登记表) and the bank card
the subsidy is paid to.

``POST /subsidy/elderly/eligibility`` ``{"id_number"}``
    ``{"age", "eligible", "certified_this_year", "monthly_fen"}``, age judged on the
    platform's own date. A lookup: POST only so that the ID number travels in the body, never
    in the URL; it changes nothing and needs no key.
``POST /subsidy/elderly/registrations`` (``Idempotency-Key`` required)
    ``{"id_number", "name", "phone", "address", "bank_name", "bank_card_no", "relation",
    "agent_name", "agent_id_number"}`` → ``{"registration_no", "status", "year",
    "monthly_fen"}``. The platform checks everything again, whatever a kiosk checked:
    under 70 is 403 ``AGE_BELOW_70``; a name that does not match the number 422
    ``NAME_MISMATCH``; a card number failing the Luhn check 422 ``BANK_CARD_INVALID``; a phone
    that is not 11 digits 422 ``PHONE_INVALID``; a proxy without a valid ID 422
    ``AGENT_INVALID``; certified already this year 409 ``ALREADY_CERTIFIED``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

from upstream_sim.citizen_records import beijing_today, valid_id_number
from upstream_sim.idempotent import IdempotentReplies
from upstream_sim.people import People, Person
from upstream_sim.server import Request, Response, Route, lookup_body, ok, refused

PREFIX = "/subsidy/elderly"
MIN_AGE = 70
RELATIONS = ("本人", "配偶", "子女", "其他亲属", "村(居)委会工作人员")
PHONE = re.compile(r"^1[3-9]\d{9}$")


def monthly_fen(age: int) -> int:
    """The subsidy a month by age band (Qinghai's bands, the 70–79 band a city's own)."""
    if age >= 100:
        return 500_00
    if age >= 90:
        return 200_00
    if age >= 80:
        return 100_00
    return 50_00


def luhn_ok(number: str) -> bool:
    """True when a bank card number's last digit is its Luhn check digit."""
    if not number.isdigit():
        return False
    total = 0
    for n, char in enumerate(reversed(number)):
        digit = int(char)
        if n % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


class SubsidyDesk:
    """The elderly subsidy domain of one simulated platform.

    Args:
        people: the platform's citizens.
        today: the platform's date (Beijing time by default).

    Attributes:
        registrations: every certification accepted, oldest first:
            ``(registration_no, masked id number, year)``; tests count them.
    """

    def __init__(self, people: People, today: Callable[[], date] = beijing_today) -> None:
        self.people = people
        self.today = today
        self.registrations: list[tuple[str, str, int]] = []
        self._certified: dict[tuple[str, int], str] = {}
        self._replies = IdempotentReplies()
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("POST", f"{PREFIX}/eligibility", self._eligibility, _openapi_eligibility()),
            Route("POST", f"{PREFIX}/registrations", self._register, _openapi_register()),
        ]

    def _person(self, number: str) -> Person | Response:
        number = number.strip().upper()
        if not valid_id_number(number):
            return refused(400, "INVALID_ID_NUMBER", "身份证号码格式有误")
        person = self.people.find(number)
        if person is None:
            return refused(404, "NO_RECORD", "未查询到该老人的户籍信息")
        return person

    def _eligibility(self, request: Request) -> Response:
        person = self._person(request.fields().get("id_number", ""))
        if isinstance(person, Response):
            return person
        today = self.today()
        age = person.age_on(today)
        with self._lock:
            certified = (person.id_number, today.year) in self._certified
        return ok({
            "age": age, "eligible": age >= MIN_AGE, "certified_this_year": certified,
            "monthly_fen": monthly_fen(age) if age >= MIN_AGE else 0,
        })  # fmt: skip

    def _register(self, request: Request) -> Response:
        return self._replies.answer(request, self._carry_out)

    def _carry_out(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return refused(400, "BAD_REQUEST", "需要 JSON 对象")
        form = {k: str(body.get(k, "")).strip() for k in (
            "id_number", "name", "phone", "address", "bank_name", "bank_card_no", "relation",
            "agent_name", "agent_id_number")}  # fmt: skip
        person = self._person(form["id_number"])
        if isinstance(person, Response):
            return person
        today = self.today()
        age = person.age_on(today)
        if age < MIN_AGE:
            return refused(403, "AGE_BELOW_70", f"未满{MIN_AGE}周岁，不符合高龄补贴条件")
        if form["name"] != person.name:
            return refused(422, "NAME_MISMATCH", "姓名与身份证号码不符")
        if not PHONE.match(form["phone"]):
            return refused(422, "PHONE_INVALID", "联系电话须为11位手机号码")
        if not form["address"] or not form["bank_name"]:
            return refused(422, "FIELD_REQUIRED", "居住地址与开户银行为必填项")
        if not 16 <= len(form["bank_card_no"]) <= 19 or not luhn_ok(form["bank_card_no"]):
            return refused(422, "BANK_CARD_INVALID", "银行卡号校验未通过")
        if form["relation"] not in RELATIONS:
            return refused(422, "RELATION_INVALID", "申请人与老人关系不正确")
        if form["relation"] != "本人" and (
            not form["agent_name"] or not valid_id_number(form["agent_id_number"])
        ):
            return refused(422, "AGENT_INVALID", "代办人姓名或身份证号码有误")
        with self._lock:
            done = self._certified.get((person.id_number, today.year))
            if done is not None:
                return refused(409, "ALREADY_CERTIFIED", f"本年度已认证（登记编号{done}）")
            number = f"GL{today:%Y%m%d}{len(self.registrations) + 1:05d}"
            self._certified[(person.id_number, today.year)] = number
            self.registrations.append((number, person.id_number[:6] + "****", today.year))
        return ok({
            "registration_no": number, "status": "已受理", "year": today.year,
            "monthly_fen": monthly_fen(age),
        })  # fmt: skip


def routes(people: People) -> list[Route]:
    """The subsidy domain's routes (see :data:`upstream_sim.platform.DOMAINS`)."""
    return SubsidyDesk(people).routes()


def _openapi_eligibility() -> dict[str, Any]:
    return {
        "summary": "高龄补贴资格（按平台日期计算年龄）",
        "requestBody": lookup_body(["id_number"]),
        "responses": {"200": {"description": "age, eligible, certified_this_year, monthly_fen"},
                      "404": {"description": "NO_RECORD"}},
    }  # fmt: skip


def _openapi_register() -> dict[str, Any]:
    fields = ("id_number", "name", "phone", "address", "bank_name", "bank_card_no", "relation",
              "agent_name", "agent_id_number")  # fmt: skip
    return {
        "summary": "高龄补贴认证登记",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True,
                        "schema": {"type": "string", "maxLength": 128}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": list(fields[:7]),
            "properties": {f: {"type": "string"} for f in fields}}}}},
        "responses": {
            "200": {"description": "registration_no, status, year, monthly_fen"},
            "403": {"description": "AGE_BELOW_70"},
            "409": {"description": "ALREADY_CERTIFIED"},
            "422": {"description": "NAME_MISMATCH, PHONE_INVALID, BANK_CARD_INVALID, "
                                   "RELATION_INVALID, AGENT_INVALID, IDEMPOTENCY_KEY_REUSED"},
        },
    }  # fmt: skip
