"""What the simulated platform's departments know about each citizen, the same in every domain.

The queries, the certificates and the subsidy desk each answer from one person's records, so a
tester who queries a citizen's pension account and then prints their pension-payment
certificate sees the same years and amounts, and a citizen whose 房产合同 query finds a contract
gets no 无房证明. Records are drawn from a random generator seeded by the ID number: the same
citizen has the same records in every process, whatever the order of the calls.

Amounts are in fen (分), dates ISO strings, months ``YYYY-MM``. Nothing here is real.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from protocols.id_card import check_digit
from upstream_sim.people import GIVEN, Person

EMPLOYERS = (
    "格尔木市昆仑建设工程有限公司",
    "青海盐湖工业股份有限公司",
    "格尔木市第一人民医院",
    "格尔木市公共交通集团有限公司",
    "格尔木市昆仑路小学",
    "青海察尔汗物流有限公司",
    "格尔木市供电公司",
    "格尔木市金峰酒店管理有限公司",
)
BANKS = ("中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "青海银行")
SCHOOLS = ("格尔木市昆仑路小学", "格尔木市第二中学", "格尔木市八一中学", "格尔木市实验小学")
PROJECTS = ("昆仑花园", "盐湖新城", "金峰家园", "河西佳苑", "柴达木小区")
HOSPITALS = ("格尔木市第一人民医院", "格尔木市中医医院", "青海油田医院", "格尔木市妇幼保健院")
#: The platform keeps Beijing time.
BEIJING = timezone(timedelta(hours=8))
#: Retirement ages of China's enterprise pension (men 60, women 50/55): whoever is older has
#: stopped paying and draws a pension.
RETIRE_AGE = {"男": 60, "女": 55}


@dataclass(frozen=True)
class PensionYear:
    """One year of the enterprise employee pension (企业职工基本养老保险)."""

    year: int
    months: int
    base_fen: int
    personal_fen: int
    employer: str


@dataclass(frozen=True)
class Contract:
    """A registered house sale contract (商品房买卖合同备案)."""

    contract_no: str
    project: str
    address: str
    area_m2: float
    price_fen: int
    signed_on: str
    state: str


@dataclass(frozen=True)
class Student:
    """A child's school record (中小学生学籍)."""

    id_number: str
    name: str
    school: str
    grade: str
    klass: str
    student_no: str
    enrolled_on: str


@dataclass(frozen=True)
class HousingFund:
    """A housing provident fund account (住房公积金) and its loan, if any."""

    account_no: str
    opened_on: str
    base_fen: int
    monthly_fen: int
    balance_fen: int
    paid_to: str
    loan_fen: int
    loan_left_fen: int
    loan_months: int
    loan_start: str


@dataclass(frozen=True)
class Records:
    """One citizen's records at every department of the simulated platform.

    Attributes:
        employer: the employer now (or last, for a retired employee); None for farmers, the
            self-employed and anyone who never had an employer.
        pension_years: enterprise pension years, oldest first (empty without an employer).
        retired: draws a pension now.
        property_contracts: registered house contracts; non-empty means no 无房证明.
        housing_fund: the provident fund account, or None.
        children: school-age children with a school record.
        driving_class: 准驾车型, or "" without a licence.
        driving_points: points on the current scoring period.
        id_application: the stage of a pending ID card application (``受理``, ``制证中``,
            ``已寄出``, ``可领取``), or "" when there is none.
        employment_card: 就业创业证 number, or "".
        resident_pension: enrolled in the rural-urban resident pension (城乡居民养老保险).
        bank: the bank of the social security card's financial account.
        ssc_number: the social security card number (社会保障卡卡号).
    """

    employer: str | None
    pension_years: tuple[PensionYear, ...]
    retired: bool
    property_contracts: tuple[Contract, ...]
    housing_fund: HousingFund | None
    children: tuple[Student, ...]
    driving_class: str
    driving_points: int
    id_application: str
    employment_card: str
    resident_pension: bool
    bank: str
    ssc_number: str
    first_insured: str = ""


def rng_for(person: Person, topic: str) -> random.Random:
    """A generator for one citizen and one topic: stable across processes and call orders."""
    digest = hashlib.sha256(f"{person.id_number}|{topic}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@lru_cache(maxsize=4096)
def records_of(person: Person, today: date) -> Records:
    """The records of ``person`` as the departments hold them on ``today``."""
    rng = rng_for(person, "records")
    age = person.age_on(today)
    retired = age >= RETIRE_AGE.get(person.sex, 60)
    employed = rng.random() < 0.7
    employer = rng.choice(EMPLOYERS) if employed else None
    pension_years: list[PensionYear] = []
    first_insured = ""
    if employer is not None:
        start_year = max(person.birth.year + 20, 1995) + rng.randint(0, 6)
        end_year = today.year if not retired else person.birth.year + RETIRE_AGE[person.sex]
        end_year = min(end_year, today.year)
        base = rng.randint(3200, 9000) * 100
        for year in range(start_year, end_year + 1):
            months = today.month - 1 if year == today.year else 12
            if months <= 0:
                continue
            base = int(base * 1.05) // 100 * 100
            pension_years.append(PensionYear(year, months, base, base * 8 // 100, employer))
        if pension_years:
            first_insured = f"{pension_years[0].year}-{rng.randint(1, 12):02d}"
    contracts: list[Contract] = []
    if rng.random() < 0.45:
        for n in range(rng.choice((1, 1, 1, 2))):
            project = rng.choice(PROJECTS)
            signed = today - timedelta(days=rng.randint(60, 365 * 12))
            area = round(rng.uniform(58, 142), 2)
            contracts.append(
                Contract(
                    contract_no=f"GEM{signed.year}YS{rng.randint(0, 999999):06d}",
                    project=project,
                    address=f"格尔木市{project}{rng.randint(1, 30)}号楼"
                    f"{rng.randint(1, 6)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}室",
                    area_m2=area,
                    price_fen=int(area * rng.randint(4200, 7800)) * 100,
                    signed_on=signed.isoformat(),
                    state="已备案" if n == 0 or rng.random() < 0.8 else "已注销",
                )
            )
    fund: HousingFund | None = None
    if employer is not None and not retired and rng.random() < 0.8:
        opened = date(max(person.birth.year + 22, 2000) + rng.randint(0, 5), rng.randint(1, 12), 1)
        opened = min(opened, today - timedelta(days=400))
        fund_base = rng.randint(3500, 9500) * 100
        monthly = fund_base * 24 // 100  # 12 % from the employee and 12 % from the employer
        months_paid = max(1, (today.year - opened.year) * 12 + today.month - opened.month)
        has_loan = bool(contracts) and rng.random() < 0.6
        loan = rng.randint(20, 60) * 10000_00 if has_loan else 0
        loan_months = rng.choice((120, 180, 240, 360)) if has_loan else 0
        loan_start = today - timedelta(days=rng.randint(200, 2000)) if has_loan else None
        fund = HousingFund(
            account_no=f"6301{rng.randint(0, 10**10 - 1):010d}",
            opened_on=opened.isoformat(),
            base_fen=fund_base,
            monthly_fen=monthly,
            balance_fen=monthly * min(months_paid, 60) // 2 + rng.randint(0, 500000),
            paid_to=f"{today.year}-{today.month - 1 or 12:02d}",
            loan_fen=loan,
            loan_left_fen=int(loan * rng.uniform(0.3, 0.9)) // 100 * 100 if has_loan else 0,
            loan_months=loan_months,
            loan_start=loan_start.isoformat() if loan_start else "",
        )
    children: list[Student] = []
    if 28 <= age <= 52 and rng.random() < 0.6:
        child_birth = today - timedelta(days=rng.randint(7 * 365, 17 * 365))
        first17 = f"{person.id_number[:6]}{child_birth:%Y%m%d}{rng.randint(0, 99):02d}{rng.randint(0, 9)}"
        grade_n = min(12, max(1, today.year - child_birth.year - 6))
        grade = f"{'一二三四五六'[grade_n - 1]}年级" if grade_n <= 6 else (
            f"初{'一二三'[grade_n - 7]}" if grade_n <= 9 else f"高{'一二三'[grade_n - 10]}"
        )
        children.append(
            Student(
                id_number=first17 + check_digit(first17),
                name=person.name[0] + rng.choice(GIVEN),
                school=rng.choice(SCHOOLS),
                grade=grade,
                klass=f"{rng.randint(1, 8)}班",
                student_no=f"G{first17}",
                enrolled_on=date(today.year - grade_n + 1, 9, 1).isoformat(),
            )
        )
    return Records(
        employer=employer,
        pension_years=tuple(pension_years),
        retired=retired,
        property_contracts=tuple(contracts),
        housing_fund=fund,
        children=tuple(children),
        driving_class=rng.choice(("C1", "C1", "C2", "B2", "A2")) if rng.random() < 0.6 else "",
        driving_points=rng.choice((0, 0, 0, 1, 2, 3, 6, 9)),
        id_application=rng.choice(("受理", "制证中", "已寄出", "可领取")) if rng.random() < 0.2 else "",
        employment_card=f"6328{rng.randint(0, 10**10 - 1):010d}" if rng.random() < 0.5 else "",
        resident_pension=employer is None,
        bank=rng.choice(BANKS),
        ssc_number=f"G{rng.randint(0, 10**8 - 1):08d}",
        first_insured=first_insured,
    )


def valid_id_number(value: str) -> bool:
    """An 18-character resident or permit number with its MOD 11-2 check character."""
    value = value.strip().upper()
    return (
        len(value) == 18
        and value[:17].isdigit()
        and check_digit(value[:17]) == value[17]
    )


def beijing_today() -> date:
    """The platform's own date (it runs on Beijing time)."""
    return datetime.now(BEIJING).date()
