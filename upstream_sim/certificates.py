"""The platform's certificates (证明打印): the pension-payment certificate and the no-house
certificate, issued as signed A4 PDFs with a PNG preview per page.

``POST /certificates/pension-payment`` ``{"id_number"}``  企业职工基本养老保险缴费凭证: every year
    paid, from the citizen's pension record; none on record is 404 ``NO_RECORD``.
``POST /certificates/no-house`` ``{"id_number"}``         无房证明: refused 409 ``HAS_PROPERTY``
    when the real-estate register holds a filed contract for the citizen (the same contracts
    the 房产合同 query finds).

The ID number travels in the JSON body, never in the URL (``docs/gov-platform.md``,
"Personal data"); issuing changes nothing but adds a copy, so it needs no key.

Both answer the document's metadata (``pdf_url``, ``page_urls``, ``pages``, ``verify_code``);
the kiosk fetches the PDF to print and the pages to show (:mod:`upstream_sim.documents`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from upstream_sim.citizen_records import beijing_today, records_of, valid_id_number
from upstream_sim.documents import DocumentStore, Fields, Paragraph, Table, issued_answer
from upstream_sim.people import People, Person
from upstream_sim.queries import REAL_ESTATE, SOCIAL_INSURANCE, yuan
from upstream_sim.server import Request, Response, Route, lookup_body, refused

PREFIX = "/certificates"
#: The enterprise pension's contribution rates: 8 % from the employee, 16 % from the employer.
PERSONAL_RATE, EMPLOYER_RATE = 8, 16


class CertificateDesk:
    """The certificates domain of one simulated platform.

    Args:
        people: the platform's citizens.
        today: the platform's date (Beijing time by default).

    Attributes:
        issued: ``(certificate type, doc_id)`` of every document issued, oldest first.
    """

    def __init__(self, people: People, today: Callable[[], date] = beijing_today) -> None:
        self.people = people
        self.today = today
        self.documents = DocumentStore(PREFIX)
        self.issued: list[tuple[str, str]] = []

    def routes(self) -> list[Route]:
        return [
            Route("POST", f"{PREFIX}/pension-payment", self._pension, _openapi("养老保险缴费凭证")),
            Route("POST", f"{PREFIX}/no-house", self._no_house,
                  _openapi("无房证明", extra={"409": {"description": "HAS_PROPERTY"}})),
            *self.documents.routes(),
        ]  # fmt: skip

    def _person(self, request: Request) -> Person | Response:
        number = request.fields().get("id_number", "").strip().upper()
        if not number:
            return refused(400, "MISSING_PARAMETER", "缺少参数：id_number")
        if not valid_id_number(number):
            return refused(400, "INVALID_ID_NUMBER", "身份证号码格式有误")
        person = self.people.find(number)
        if person is None:
            return refused(404, "NO_RECORD", "未查询到您的相关信息")
        return person

    def _pension(self, request: Request) -> Response:
        person = self._person(request)
        if isinstance(person, Response):
            return person
        today = self.today()
        records = records_of(person, today)
        if not records.pension_years:
            return refused(404, "NO_RECORD", "未查询到您的企业职工养老保险缴费记录")
        rows = [
            [str(y.year), str(y.months), yuan(y.base_fen), yuan(y.personal_fen * y.months),
             yuan(y.base_fen * EMPLOYER_RATE // 100 * y.months), y.employer[:10]]
            for y in records.pension_years
        ]  # fmt: skip
        months = sum(y.months for y in records.pension_years)
        blocks = [
            Fields([("姓名", person.name), ("公民身份号码", person.id_number), ("性别", person.sex),
                    ("险种", "企业职工基本养老保险"), ("首次参保", records.first_insured),
                    ("累计缴费月数", f"{months}个月")]),
            Table(["年度", "月数", "缴费基数", "个人缴费", "单位缴费", "缴费单位"], rows),
            Paragraph(f"兹证明以上人员截至{today:%Y年%m月%d日}在本市参加企业职工基本养老保险，"
                      "缴费情况如上。金额单位：元。"),
        ]  # fmt: skip
        return self._issue("pension_payment", "企业职工基本养老保险缴费凭证", SOCIAL_INSURANCE,
                           blocks, today)  # fmt: skip

    def _no_house(self, request: Request) -> Response:
        person = self._person(request)
        if isinstance(person, Response):
            return person
        today = self.today()
        filed = [c for c in records_of(person, today).property_contracts if c.state == "已备案"]
        if filed:
            return refused(409, "HAS_PROPERTY", "经查询，您名下有不动产登记信息，无法出具无房证明")
        blocks = [
            Fields([("姓名", person.name), ("公民身份号码", person.id_number)]),
            Paragraph(f"经查询格尔木市不动产登记信息系统，截至{today:%Y年%m月%d日}，"
                      f"{person.name}（公民身份号码：{person.id_number}）在本市范围内无不动产登记记录。"),
            Paragraph("特此证明。本证明自出具之日起30日内有效。"),
        ]  # fmt: skip
        return self._issue("no_house", "无房证明", REAL_ESTATE, blocks, today)

    def _issue(
        self, kind: str, title: str, issuer: str, blocks: list[Any], today: date
    ) -> Response:
        issued = self.documents.issue(title, issuer, blocks, today)
        self.issued.append((kind, issued.doc_id))
        return issued_answer(self.documents, issued)


def routes(people: People) -> list[Route]:
    """The certificates domain's routes (see :data:`upstream_sim.platform.DOMAINS`)."""
    return CertificateDesk(people).routes()


def _openapi(title: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "summary": f"出具{title}（PDF 与逐页预览）",
        "requestBody": lookup_body(["id_number"]),
        "responses": {
            "200": {"description": "doc_id, title, pages, verify_code, pdf_url, page_urls"},
            "400": {"description": "MISSING_PARAMETER or INVALID_ID_NUMBER"},
            "404": {"description": "NO_RECORD"},
            **(extra or {}),
        },
    }  # fmt: skip
