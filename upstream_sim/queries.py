"""The platform's convenience queries (便民查询) and the social security card's loss report.

Seventeen read-only queries, one per distinct row of the tender's table (seed 004), each
answering from the citizen's records (:mod:`upstream_sim.citizen_records`):

``POST /queries/{query}`` with ``{"id_number", …}`` (plus the query's own parameters) in the
JSON body answers ``{"…fields": …, "records": [...]}``; a query whose answer may be printed also
has ``POST /queries/{query}/document`` with the same body, which issues an A4 PDF
(:mod:`upstream_sim.documents`). Nothing on record is a 404 ``NO_RECORD`` with the
department's own wording. A query changes nothing: it is a POST only so that the ID number
travels in the body, never in the URL (``docs/gov-platform.md``, "Personal data"), and needs
no key.

The social security card (社会保障卡) is the one change here:
``POST /queries/social-security-card`` ``{"id_number"}`` tells its state, and
``POST /queries/social-security-card/loss`` ``{"id_number", "action": "report"|"release"}``
reports it lost (挂失) or found again (解挂). The POST needs an ``Idempotency-Key``; a card
already lost is refused ``ALREADY_LOST`` (409), one not lost ``NOT_LOST`` (409).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from upstream_sim.citizen_records import (
    Records,
    Student,
    beijing_today,
    records_of,
    rng_for,
    valid_id_number,
)
from upstream_sim.documents import DocumentStore, Fields, Paragraph, Table, issued_answer
from upstream_sim.idempotent import IdempotentReplies
from upstream_sim.people import People, Person
from upstream_sim.server import Request, Response, Route, lookup_body, ok, refused

PREFIX = "/queries"
SOCIAL_INSURANCE = "格尔木市社会保险事业管理局"
MEDICAL_INSURANCE = "格尔木市医疗保障局"
HOUSING_FUND = "海西州住房公积金管理中心格尔木分中心"
EMPLOYMENT = "格尔木市就业服务局"
POLICE = "格尔木市公安局"
EDUCATION = "格尔木市教育局"
REAL_ESTATE = "格尔木市不动产登记中心"


class NoRecord(Exception):
    """Nothing on record for this citizen; the message is the department's wording."""


@dataclass(frozen=True)
class SimQuery:
    """One query of the platform.

    Attributes:
        slug: its path under ``/queries``.
        title: the department's name for it (the printed document's title).
        issuer: the department that answers and signs the printout.
        params: the body fields it needs beside ``id_number`` (or instead, see
            ``needs_id``).
        answer: (records, person-or-None, today, params) → the answer's data.
        labels: field key → label, for the printout.
        columns: record key → column heading, for the printout.
        printable: it also issues a PDF.
        needs_id: it is asked with the citizen's own ``id_number``.
    """

    slug: str
    title: str
    issuer: str
    params: tuple[str, ...]
    answer: Callable[[Records, Person, date, dict[str, str]], dict[str, Any]]
    labels: dict[str, str]
    columns: dict[str, str]
    printable: bool = False
    needs_id: bool = True


def yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def _months_back(today: date, count: int) -> list[str]:
    """The last ``count`` months before this one, newest first (``YYYY-MM``)."""
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(f"{year}-{month:02d}")
    return out


def _employed(r: Records, what: str) -> str:
    if r.employer is None or not r.pension_years:
        raise NoRecord(f"未查询到您的{what}信息")
    return r.employer


# --- the seventeen answers -------------------------------------------------------------------


def _insurance_months(
    r: Records, person: Person, today: date, what: str, personal_pct: float, unit_pct: float
) -> dict[str, Any]:
    employer = _employed(r, what)
    base = r.pension_years[-1].base_fen
    rows = []
    if not r.retired:
        for month in _months_back(today, 12):
            rows.append({
                "month": month, "base_fen": base, "personal_fen": int(base * personal_pct),
                "unit_fen": int(base * unit_pct), "state": "已到账",
            })  # fmt: skip
    return {
        "insured_state": "暂停参保（已退休）" if r.retired else "正常参保",
        "employer": employer,
        "first_insured": r.first_insured,
        "records": rows,
    }


def _work_injury(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    return _insurance_months(r, p, today, "工伤保险参保", 0.0, 0.008)


def _unemployment(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    return _insurance_months(r, p, today, "失业保险参保", 0.005, 0.005)


def _driving_points(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    if not r.driving_class:
        raise NoRecord("未查询到您的机动车驾驶证信息")
    rng = rng_for(p, "driving")
    first = date(max(p.birth.year + 18, 2000) + rng.randint(0, 10), rng.randint(1, 12), 1)
    cycle_start = first.replace(year=today.year if (today.month, today.day) >= (first.month, first.day) else today.year - 1)
    rows, left = [], r.driving_points
    behaviours = (("机动车违反禁令标志指示的", 3), ("驾驶机动车不按规定使用灯光的", 1),
                  ("机动车违反规定停放的", 0), ("驾驶机动车超过规定时速未达20%的", 1),
                  ("驾驶机动车不按规定系安全带的", 2), ("机动车不按规定车道行驶的", 2))  # fmt: skip
    while left > 0:
        text, points = rng.choice([b for b in behaviours if 0 < b[1] <= left])
        day = cycle_start + timedelta(days=rng.randint(0, max(1, (today - cycle_start).days)))
        rows.append({"date": min(day, today).isoformat(), "place": f"格尔木市{rng.choice(('昆仑路', '柴达木路', '黄河路', '江源路'))}",
                     "behaviour": text, "points": points})  # fmt: skip
        left -= points
    return {
        "licence_class": r.driving_class,
        "first_issued": first.isoformat(),
        "valid_to": first.replace(year=first.year + 16).isoformat(),
        "cycle": f"{cycle_start.isoformat()} 至 {cycle_start.replace(year=cycle_start.year + 1) - timedelta(days=1)}",
        "points": r.driving_points,
        "licence_state": "正常",
        "records": sorted(rows, key=lambda row: row["date"], reverse=True),
    }


def _pension_account(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    _employed(r, "职工养老保险个人账户")
    rows, balance = [], 0
    for y in r.pension_years:
        interest = balance * 4 // 100 if y.year < today.year else 0
        balance += y.personal_fen * y.months + interest
        rows.append({"year": str(y.year), "months": y.months, "personal_fen": y.personal_fen * y.months,
                     "interest_fen": interest, "balance_fen": balance})  # fmt: skip
    return {
        "account_state": "已退休" if r.retired else "正常缴费",
        "months_total": sum(y.months for y in r.pension_years),
        "balance_fen": balance,
        "records": list(reversed(rows)),
    }


def _contribution_years(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    employer = _employed(r, "职工养老保险缴费")
    months = sum(y.months for y in r.pension_years)
    first, last = r.pension_years[0], r.pension_years[-1]
    return {
        "first_insured": r.first_insured,
        "total_months": months,
        "deemed_months": 0,
        "actual_months": months,
        "total_years": f"{months // 12}年{months % 12}个月",
        "records": [{"from": f"{first.year}-01", "to": f"{last.year}-{last.months:02d}",
                     "employer": employer, "months": months}],
    }  # fmt: skip


def _id_card_progress(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    if not r.id_application:
        raise NoRecord("未查询到您的居民身份证办理信息")
    rng = rng_for(p, "id-application")
    accepted = today - timedelta(days=rng.randint(3, 25))
    stages = ("受理", "制证中", "已寄出", "可领取")
    reached = stages.index(r.id_application)
    steps = [
        {"date": (accepted + timedelta(days=n * 4)).isoformat(), "step": stage,
         "detail": ("格尔木市公安局昆仑路派出所受理", "青海省公安厅制证中心制证",
                    "证件已寄往受理单位", "请携带受理回执到受理单位领取")[n]}
        for n, stage in enumerate(stages[: reached + 1])
    ]  # fmt: skip
    return {
        "accepted_on": accepted.isoformat(),
        "office": "格尔木市公安局昆仑路派出所",
        "kind": rng.choice(("换领", "补领", "首次申领")),
        "stage": r.id_application,
        "pickup": "格尔木市公安局昆仑路派出所户籍窗口",
        "records": list(reversed(steps)),
    }


def _fund_or_none(r: Records) -> Any:
    if r.housing_fund is None:
        raise NoRecord("未查询到您的住房公积金账户")
    return r.housing_fund


def _housing_fund(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    f = _fund_or_none(r)
    return {
        "account_no": f.account_no, "employer": r.employer, "account_state": "正常缴存",
        "base_fen": f.base_fen, "monthly_fen": f.monthly_fen, "balance_fen": f.balance_fen,
        "paid_to": f.paid_to, "opened_on": f.opened_on,
    }  # fmt: skip


def _medical_kind(r: Records) -> str:
    return "职工基本医疗保险" if r.employer else "城乡居民基本医疗保险"


def _medical_expenses(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    rng = rng_for(p, "medical-visits")
    rows = []
    for _ in range(rng.randint(0, 6)):
        kind = rng.choice(("门诊", "门诊", "购药", "住院", "生育")) if p.sex == "女" else rng.choice(("门诊", "门诊", "购药", "住院"))
        total = rng.randint(80, 800) * 100 if kind != "住院" else rng.randint(3000, 30000) * 100
        fund = int(total * (0.7 if kind == "住院" else 0.5))
        rows.append({"date": (today - timedelta(days=rng.randint(1, 360))).isoformat(),
                     "hospital": rng.choice(("格尔木市第一人民医院", "格尔木市中医医院", "青海油田医院")),
                     "kind": kind, "total_fen": total, "fund_fen": fund, "self_fen": total - fund})  # fmt: skip
    rows.sort(key=lambda row: row["date"], reverse=True)
    return {
        "insurance": _medical_kind(r),
        "visits": len(rows),
        "total_fen": sum(row["total_fen"] for row in rows),
        "fund_fen": sum(row["fund_fen"] for row in rows),
        "records": rows,
    }


def _house_contract(r: Records, p: Person, today: date, q: dict[str, str]) -> dict[str, Any]:
    wanted = q["contract_no"].strip().upper()
    for c in r.property_contracts:
        if c.contract_no == wanted:
            return {
                "contract_no": c.contract_no, "project": c.project, "address": c.address,
                "area_m2": f"{c.area_m2:.2f}", "price_fen": c.price_fen, "signed_on": c.signed_on,
                "filing_state": c.state, "buyer": p.name,
            }  # fmt: skip
    raise NoRecord("未查询到该合同，请核对合同备案号与买受人身份证号")


def _medical_contributions(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    if r.employer and r.pension_years and not r.retired:
        base = r.pension_years[-1].base_fen
        rows = [{"period": m, "base_fen": base, "personal_fen": base * 2 // 100,
                 "unit_fen": base * 6 // 100, "state": "已到账"} for m in _months_back(today, 12)]  # fmt: skip
    else:
        rows = [{"period": str(today.year - n), "base_fen": 0, "personal_fen": 38000 + 2000 * (2 - n),
                 "unit_fen": 0, "state": "已缴费"} for n in range(3)]  # fmt: skip
    return {"insurance": _medical_kind(r), "insured_state": "参保缴费", "records": rows}


def _medical_types(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    since = r.first_insured or f"{max(p.birth.year + 18, 2008)}-01"
    if r.employer:
        kinds = ["职工基本医疗保险", "职工大额医疗费用补助"] + (["生育保险"] if not r.retired else [])
        unit = r.employer
    else:
        kinds, unit = ["城乡居民基本医疗保险", "城乡居民大病保险"], "个人参保"
    return {
        "insurance_count": len(kinds),
        "records": [{"kind": k, "state": "参保缴费", "since": since, "unit": unit} for k in kinds],
    }


def _fund_ledger(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    f = _fund_or_none(r)
    rows, balance = [], f.balance_fen
    for month in _months_back(today, 12):
        rows.append({"date": f"{month}-15", "summary": "汇缴", "amount_fen": f.monthly_fen, "balance_fen": balance})
        if month.endswith("-06"):
            rows.append({"date": f"{month}-30", "summary": "年度结息", "amount_fen": balance * 15 // 1000,
                         "balance_fen": balance})  # fmt: skip
        balance -= f.monthly_fen
    return {"account_no": f.account_no, "balance_fen": f.balance_fen, "records": rows}


def _fund_repayments(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    f = _fund_or_none(r)
    if not f.loan_fen:
        raise NoRecord("未查询到您的住房公积金贷款")
    monthly_rate = 0.031 / 12
    payment = int(f.loan_fen * monthly_rate / (1 - (1 + monthly_rate) ** -f.loan_months))
    rows, left = [], f.loan_left_fen
    for month in _months_back(today, 12):
        interest = int(left * monthly_rate)
        rows.append({"date": f"{month}-20", "principal_fen": payment - interest, "interest_fen": interest,
                     "paid_fen": payment, "state": "已还"})  # fmt: skip
        left += payment - interest
    return {
        "loan_fen": f.loan_fen, "loan_left_fen": f.loan_left_fen, "loan_months": f.loan_months,
        "loan_start": f.loan_start, "method": "等额本息", "monthly_fen": payment, "records": rows,
    }  # fmt: skip


def _resident_pension(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    if not r.resident_pension:
        raise NoRecord("未查询到您的城乡居民养老保险参保信息（您已参加职工养老保险）")
    rng = rng_for(p, "resident-pension")
    age = p.age_on(today)
    enrolled = max(2011, p.birth.year + 16)
    years = max(1, min(today.year, p.birth.year + 60) - enrolled)
    tier = rng.choice((200_00, 300_00, 500_00, 1000_00))
    drawing = age >= 60
    return {
        "insured_state": "待遇领取" if drawing else "参保缴费",
        "enrolled_on": f"{enrolled}-07",
        "tier_fen": tier,
        "years_paid": years,
        "account_fen": tier * years + rng.randint(0, 50000),
        "monthly_pension_fen": (17500 + tier * years // 139) if drawing else 0,
    }


def _employment_card(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    if not r.employment_card:
        raise NoRecord("未查询到您的就业创业证")
    rng = rng_for(p, "employment")
    issued = today - timedelta(days=rng.randint(100, 3000))
    return {
        "card_no": r.employment_card,
        "issuer": EMPLOYMENT,
        "issued_on": issued.isoformat(),
        "employment_state": "就业" if r.employer else "失业登记",
        "employer": r.employer or "无",
    }


def _remote_loan_proof(r: Records, p: Person, today: date, _q: dict[str, str]) -> dict[str, Any]:
    f = _fund_or_none(r)
    return {
        "account_no": f.account_no, "employer": r.employer, "opened_on": f.opened_on,
        "account_state": "正常缴存", "base_fen": f.base_fen, "monthly_fen": f.monthly_fen,
        "balance_fen": f.balance_fen, "paid_to": f.paid_to,
        "loan_used": "是" if f.loan_fen else "否",
        "loan_open": "有" if f.loan_left_fen else "无",
    }  # fmt: skip


def _school_record(student: Student) -> dict[str, Any]:
    return {
        "student_name": student.name, "school": student.school, "grade": student.grade,
        "klass": student.klass, "student_no": student.student_no,
        "enrolled_on": student.enrolled_on, "status": "在籍在校",
    }  # fmt: skip


_MONTH_COLUMNS = {"month": "费款所属期", "base_fen": "缴费基数", "personal_fen": "个人缴费",
                  "unit_fen": "单位缴费", "state": "状态"}  # fmt: skip

QUERIES: tuple[SimQuery, ...] = (
    SimQuery("school-records", "中小学生学籍信息", EDUCATION, ("student_id_number", "student_name"),
             lambda r, p, t, q: {}, {"student_name": "学生姓名", "school": "学校", "grade": "年级"},
             {}, needs_id=False),
    SimQuery("work-injury-contributions", "工伤保险缴费信息", SOCIAL_INSURANCE, (), _work_injury,
             {"insured_state": "参保状态", "employer": "参保单位", "first_insured": "首次参保"},
             _MONTH_COLUMNS, printable=True),
    SimQuery("unemployment-contributions", "失业保险缴费信息", SOCIAL_INSURANCE, (), _unemployment,
             {"insured_state": "参保状态", "employer": "参保单位", "first_insured": "首次参保"},
             _MONTH_COLUMNS, printable=True),
    SimQuery("driving-licence-points", "驾驶证记分", POLICE, (), _driving_points,
             {"licence_class": "准驾车型", "points": "累积记分"},
             {"date": "日期", "place": "地点", "behaviour": "违法行为", "points": "记分"}),
    SimQuery("pension-account", "职工养老保险个人账户明细", SOCIAL_INSURANCE, (), _pension_account,
             {"account_state": "账户状态", "months_total": "累计缴费月数", "balance_fen": "账户累计储存额"},
             {"year": "年度", "months": "月数", "personal_fen": "个人缴费", "interest_fen": "利息",
              "balance_fen": "年末累计"}, printable=True),
    SimQuery("contribution-years", "职工个人缴费年限记录", SOCIAL_INSURANCE, (), _contribution_years,
             {"first_insured": "首次参保", "total_years": "累计缴费年限", "actual_months": "实际缴费月数"},
             {"from": "起始年月", "to": "终止年月", "employer": "缴费单位", "months": "月数"},
             printable=True),
    SimQuery("id-card-progress", "居民身份证制证进度", POLICE, (), _id_card_progress,
             {"accepted_on": "受理日期", "stage": "办理进度"}, {"date": "日期", "step": "环节"}),
    SimQuery("housing-fund-account", "住房公积金个人信息", HOUSING_FUND, (), _housing_fund,
             {"account_no": "个人账号", "employer": "缴存单位", "account_state": "账户状态",
              "monthly_fen": "月缴存额", "balance_fen": "账户余额", "paid_to": "缴至年月"},
             {}, printable=True),
    SimQuery("medical-expenses", "医疗生育保险医疗费用明细", MEDICAL_INSURANCE, (), _medical_expenses,
             {"insurance": "参保险种", "visits": "就诊次数"},
             {"date": "日期", "hospital": "医疗机构", "kind": "类别", "total_fen": "总费用"}),
    SimQuery("house-contracts", "房产合同交易信息", REAL_ESTATE, ("contract_no",), _house_contract,
             {"contract_no": "合同备案号", "address": "房屋坐落", "filing_state": "备案状态"}, {}),
    SimQuery("medical-contributions", "医疗生育保险缴费信息", MEDICAL_INSURANCE, (),
             _medical_contributions, {"insurance": "参保险种", "insured_state": "参保状态"},
             {"period": "费款所属期", "base_fen": "缴费基数", "personal_fen": "个人缴费",
              "unit_fen": "单位缴费", "state": "状态"}, printable=True),
    SimQuery("medical-insured-types", "医疗生育保险参保险种信息", MEDICAL_INSURANCE, (), _medical_types,
             {"insurance_count": "参保险种数"},
             {"kind": "险种", "state": "参保状态", "since": "参保年月", "unit": "参保单位"}),
    SimQuery("housing-fund-ledger", "住房公积金明细账", HOUSING_FUND, (), _fund_ledger,
             {"account_no": "个人账号", "balance_fen": "账户余额"},
             {"date": "日期", "summary": "摘要", "amount_fen": "发生额", "balance_fen": "余额"},
             printable=True),
    SimQuery("housing-fund-repayments", "住房公积金个人还款明细", HOUSING_FUND, (), _fund_repayments,
             {"loan_fen": "贷款金额", "loan_left_fen": "贷款余额", "method": "还款方式"},
             {"date": "还款日期", "principal_fen": "本金", "interest_fen": "利息", "paid_fen": "实还金额",
              "state": "状态"}),
    SimQuery("resident-pension", "城乡居民养老保险参保信息", SOCIAL_INSURANCE, (), _resident_pension,
             {"insured_state": "参保状态", "enrolled_on": "参保年月", "tier_fen": "缴费档次",
              "years_paid": "累计缴费年限", "account_fen": "个人账户余额"}, {}, printable=True),
    SimQuery("employment-certificate", "就业创业证", EMPLOYMENT, (), _employment_card,
             {"card_no": "证号", "issuer": "发证机构", "issued_on": "发证日期",
              "employment_state": "就业状态", "employer": "就业单位"}, {}, printable=True),
    SimQuery("remote-loan-fund-certificate", "异地贷款职工住房公积金缴存使用证明", HOUSING_FUND, (),
             _remote_loan_proof,
             {"account_no": "个人账号", "employer": "缴存单位", "opened_on": "开户日期",
              "account_state": "缴存状态", "monthly_fen": "月缴存额", "balance_fen": "账户余额",
              "paid_to": "缴至年月", "loan_used": "是否使用过公积金贷款",
              "loan_open": "有无未结清公积金贷款"}, {}, printable=True),
)  # fmt: skip


# --- the desk -------------------------------------------------------------------------------


class QueriesDesk:
    """The queries domain of one simulated platform.

    Args:
        people: the platform's citizens.
        today: the platform's date (Beijing time by default).

    Attributes:
        card_changes: every state change of a social security card, oldest first:
            ``(masked id number, action, ref)``; tests count them.
    """

    def __init__(self, people: People, today: Callable[[], date] = beijing_today) -> None:
        self.people = people
        self.today = today
        self.documents = DocumentStore(PREFIX)
        self.lost: set[str] = set()
        self.card_changes: list[tuple[str, str, str]] = []
        self._replies = IdempotentReplies()
        self._lock = threading.Lock()
        self._students: dict[str, Student] | None = None

    def routes(self) -> list[Route]:
        routes = [
            Route("POST", f"{PREFIX}/social-security-card", self._card, _openapi_card()),
            Route("POST", f"{PREFIX}/social-security-card/loss", self._loss, _openapi_loss()),
        ]
        for query in QUERIES:
            routes.append(Route("POST", f"{PREFIX}/{query.slug}", self._answerer(query),
                                _openapi_query(query)))  # fmt: skip
            if query.printable:
                routes.append(Route("POST", f"{PREFIX}/{query.slug}/document",
                                    self._documenter(query), _openapi_document(query)))  # fmt: skip
        return routes + self.documents.routes()

    # --- queries ------------------------------------------------------------------------

    def _answerer(self, query: SimQuery) -> Callable[[Request], Response]:
        def handle(request: Request) -> Response:
            found = self._ask(query, request)
            return ok(found) if isinstance(found, dict) else found

        return handle

    def _documenter(self, query: SimQuery) -> Callable[[Request], Response]:
        def handle(request: Request) -> Response:
            found = self._ask(query, request)
            if not isinstance(found, dict):
                return found
            issued = self.documents.issue(query.title, query.issuer, _blocks(query, found), self.today())
            return issued_answer(self.documents, issued)

        return handle

    def _ask(self, query: SimQuery, request: Request) -> dict[str, Any] | Response:
        fields = request.fields()
        missing = [p for p in query.params if not fields.get(p, "").strip()]
        if query.needs_id:
            missing += [] if fields.get("id_number") else ["id_number"]
        if missing:
            return refused(400, "MISSING_PARAMETER", f"缺少参数：{', '.join(missing)}")
        try:
            if not query.needs_id:
                return self._school(fields)
            number = fields["id_number"].strip().upper()
            if not valid_id_number(number):
                return refused(400, "INVALID_ID_NUMBER", "身份证号码格式有误")
            person = self.people.find(number)
            if person is None:
                raise NoRecord("未查询到您的相关信息")
            today = self.today()
            return query.answer(records_of(person, today), person, today, fields)
        except NoRecord as err:
            return refused(404, "NO_RECORD", str(err))

    def _school(self, params: dict[str, str]) -> dict[str, Any]:
        number = params["student_id_number"].strip().upper()
        if not valid_id_number(number):
            raise NoRecord("学生身份证号码有误")
        student = self._student_index().get(number)
        if student is None or student.name != params["student_name"].strip():
            raise NoRecord("未查询到该学生的学籍信息，请核对学生姓名与身份证号")
        return _school_record(student)

    def _student_index(self) -> dict[str, Student]:
        with self._lock:
            if self._students is None:
                today = self.today()
                self._students = {
                    child.id_number: child
                    for person in self.people.all
                    for child in records_of(person, today).children
                }
            return self._students

    # --- the social security card ---------------------------------------------------------

    def _card(self, request: Request) -> Response:
        person = self._person(request.fields().get("id_number", ""))
        if isinstance(person, Response):
            return person
        records = records_of(person, self.today())
        lost = person.id_number in self.lost
        return ok({
            "card_no": records.ssc_number[:1] + "****" + records.ssc_number[-4:],
            "bank": records.bank,
            "state": "lost" if lost else "normal",
        })  # fmt: skip

    def _loss(self, request: Request) -> Response:
        return self._replies.answer(request, self._change_card)

    def _change_card(self, body: Any) -> Response:
        if not isinstance(body, dict) or body.get("action") not in ("report", "release"):
            return refused(400, "BAD_REQUEST", "action 须为 report 或 release")
        person = self._person(str(body.get("id_number", "")))
        if isinstance(person, Response):
            return person
        with self._lock:
            lost = person.id_number in self.lost
            if body["action"] == "report" and lost:
                return refused(409, "ALREADY_LOST", "该社会保障卡已挂失")
            if body["action"] == "release" and not lost:
                return refused(409, "NOT_LOST", "该社会保障卡未挂失，无需解挂")
            (self.lost.add if body["action"] == "report" else self.lost.discard)(person.id_number)
            ref = f"SB{self.today():%Y%m%d}{len(self.card_changes) + 1:06d}"
            self.card_changes.append((person.id_number[:6] + "****", body["action"], ref))
        return ok({"state": "lost" if body["action"] == "report" else "normal", "ref": ref})

    def _person(self, number: str) -> Person | Response:
        number = number.strip().upper()
        if not valid_id_number(number):
            return refused(400, "INVALID_ID_NUMBER", "身份证号码格式有误")
        person = self.people.find(number)
        if person is None:
            return refused(404, "NO_RECORD", "未查询到您的社会保障卡信息")
        return person


def _cell(key: str, value: Any) -> str:
    return yuan(value) if key.endswith("_fen") and isinstance(value, int) else str(value)


def _blocks(query: SimQuery, data: dict[str, Any]) -> list[Any]:
    """The printout of an answer: its labelled fields, then its records as a table."""
    blocks: list[Any] = [Fields([(label, _cell(k, data.get(k, ""))) for k, label in query.labels.items()])]
    if query.columns and data.get("records"):
        blocks.append(Table(list(query.columns.values()),
                            [[_cell(k, row.get(k, "")) for k in query.columns] for row in data["records"]]))  # fmt: skip
    blocks.append(Paragraph("金额单位：元。本凭证经电子签章，可通过验证码在政务服务平台核验真伪。"))
    return blocks


def routes(people: People) -> list[Route]:
    """The queries domain's routes (see :data:`upstream_sim.platform.DOMAINS`)."""
    return QueriesDesk(people).routes()


# --- OpenAPI ------------------------------------------------------------------------------


def _openapi_query(query: SimQuery) -> dict[str, Any]:
    params = ([] if not query.needs_id else ["id_number"]) + list(query.params)
    return {
        "summary": f"便民查询：{query.title}",
        "requestBody": lookup_body(params),
        "responses": {
            "200": {"description": "the answer: fields and `records`"},
            "400": {"description": "MISSING_PARAMETER or INVALID_ID_NUMBER"},
            "404": {"description": "NO_RECORD"},
        },
    }


def _openapi_document(query: SimQuery) -> dict[str, Any]:
    spec = _openapi_query(query)
    spec["summary"] = f"打印：{query.title}（签发 PDF，返回其 pdf_url 与每页预览 page_urls）"
    return spec


def _openapi_card() -> dict[str, Any]:
    return {
        "summary": "社会保障卡状态",
        "requestBody": lookup_body(["id_number"]),
        "responses": {"200": {"description": "card_no (masked), bank, state normal|lost"},
                      "404": {"description": "NO_RECORD"}},
    }  # fmt: skip


def _openapi_loss() -> dict[str, Any]:
    return {
        "summary": "社会保障卡挂失（report）或解挂（release）",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True,
                        "schema": {"type": "string", "maxLength": 128}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["id_number", "action"],
            "properties": {"id_number": {"type": "string"},
                           "action": {"type": "string", "enum": ["report", "release"]}}}}}},
        "responses": {"200": {"description": "state and ref"},
                      "409": {"description": "ALREADY_LOST or NOT_LOST"},
                      "422": {"description": "IDEMPOTENCY_KEY_REUSED"}},
    }  # fmt: skip
