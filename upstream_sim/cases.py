"""The simulated platform's cases (办件): each citizen's applications and how far each got.

A case goes through the steps 申请 → 受理 → 审核 → 办结, each dated when it happened; a case
sent back for more papers shows 补正材料 after 受理 and waits there. Seed 004 (Golmud) asks for
the lookup "输入办件关联身份证号或者办件号": by ID number (``POST /cases/search`` with
``{"id_number"}`` in the body, so that no URL carries it) or by case number
(``GET /cases/{case_no}``).

The cases are made from each citizen's ID number, so the same citizen has the same cases in
every process; their dates count back from the platform's today (its clock), so a case
"submitted 12 days ago" stays that in a simulated week. An answer never carries the
applicant's ID number or full name: a lookup by case number alone must not tell who applied.
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from core.clock import HALL_TZ, Clock, SystemClock
from core.privacy import mask_name
from upstream_sim.people import People
from upstream_sim.server import Request, Response, Route, lookup_body, ok, refused

#: The steps every case goes through, in order.
STEPS = ("申请", "受理", "审核", "办结")
#: The step a case sent back for papers waits at, after 受理.
CORRECTION = "补正材料"

#: Items a citizen applies for: code → (name, department, days the whole case takes).
ITEMS: dict[str, tuple[str, str, int]] = {
    "social_card": ("社会保障卡申领", "人力资源和社会保障局", 10),
    "id_card_renewal": ("居民身份证换领", "公安局", 20),
    "elderly_subsidy": ("高龄津贴申请", "民政局", 15),
    "sole_trader": ("个体工商户设立登记", "市场监督管理局", 3),
    "housing_fund": ("住房公积金提取", "住房公积金管理中心", 5),
    "property_registration": ("不动产登记", "自然资源和规划局", 15),
}


@dataclass(frozen=True)
class CaseSpec:
    """One case, independent of the day it is looked at.

    Attributes:
        case_no: the 办件编号.
        id_number: the applicant's ID number.
        name: the applicant's name.
        item: a key of :data:`ITEMS`.
        age_days: how many days before today it was submitted.
        steps_done: how many of :data:`STEPS` are done (1–4).
        correction: sent back for more papers after 受理 and waiting for them (its steps
            are then 申请, 受理 done and 补正材料 current).
    """

    case_no: str
    id_number: str
    name: str
    item: str
    age_days: int
    steps_done: int
    correction: bool = False


class CaseBook:
    """The platform's cases, served as :meth:`routes`.

    Args:
        people: the shared simulated citizens; about two in three have one to three cases.
        clock: the platform's time.
    """

    def __init__(self, people: People, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._by_no: dict[str, CaseSpec] = {}
        self._by_id: dict[str, list[CaseSpec]] = {}
        for person in people.all:
            for spec in _cases_of(person.id_number, person.name):
                self._keep(spec)

    def add(self, spec: CaseSpec) -> None:
        """Give a citizen one more case (a test's own applicant, a sample card's holder)."""
        with self._lock:
            self._keep(spec)

    def of(self, id_number: str) -> list[CaseSpec]:
        """The cases of an ID number, newest first."""
        with self._lock:
            return sorted(self._by_id.get(id_number.upper(), []), key=lambda c: c.age_days)

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock.now(), HALL_TZ).date()

    def describe(self, spec: CaseSpec) -> dict[str, Any]:
        """What the API answers for a case: its steps with their dates, no applicant."""
        name, department, days = ITEMS[spec.item]
        submitted = self.today() - timedelta(days=spec.age_days)
        names = list(STEPS)
        if spec.correction:
            names.insert(2, CORRECTION)
        # A case sent back waits at 补正材料, right after 受理.
        done = 2 if spec.correction else spec.steps_done
        # Done steps are spread over the days elapsed, never later than today.
        span = min(spec.age_days, days)
        steps = []
        for i, step in enumerate(names):
            when = submitted + timedelta(days=round(span * i / (len(names) - 1))) if i < done else None
            state = "done" if i < done else ("current" if i == done else "pending")
            steps.append({"name": step, "date": when.isoformat() if when else None, "state": state})
        finished = done == len(names)
        status = "已办结" if finished else (f"待{CORRECTION}" if spec.correction else f"{names[done]}中")
        return {
            "case_no": spec.case_no,
            "item_name": name,
            "department": department,
            "applicant": mask_name(spec.name),
            "submitted": submitted.isoformat(),
            "status": status,
            "finished": finished,
            "steps": steps,
        }

    # --- handlers ---------------------------------------------------------------------

    def by_number(self, request: Request) -> Response:
        with self._lock:
            spec = self._by_no.get(request.params["case_no"].strip().upper())
        if spec is None:
            return refused(404, "CASE_NOT_FOUND", "未找到该办件")
        return ok(self.describe(spec))

    def by_citizen(self, request: Request) -> Response:
        id_number = request.fields().get("id_number", "").strip().upper()
        if len(id_number) not in (15, 18):
            return refused(400, "INVALID_ID_NUMBER", "证件号码无效")
        return ok({"cases": [self.describe(spec) for spec in self.of(id_number)]})

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/cases/search", self.by_citizen, _OPENAPI["list"]),
            Route("GET", "/cases/{case_no}", self.by_number, _OPENAPI["one"]),
        ]

    def _keep(self, spec: CaseSpec) -> None:
        self._by_no[spec.case_no] = spec
        self._by_id.setdefault(spec.id_number.upper(), []).append(spec)


def routes(people: People) -> list[Route]:
    """The cases domain of the simulated platform, on the real clock."""
    return CaseBook(people).routes()


def _cases_of(id_number: str, name: str) -> list[CaseSpec]:
    """A citizen's cases, the same in every process (seeded by the ID number)."""
    digest = hashlib.sha256(f"cases:{id_number}".encode()).hexdigest()
    rng = random.Random(digest)
    count = rng.choice((0, 1, 1, 2, 3))
    specs = []
    for i in range(count):
        item = rng.choice(sorted(ITEMS))
        age = rng.randint(0, 40)
        days = ITEMS[item][2]
        # A case older than its item takes is done, unless it waits for papers.
        correction = rng.random() < 0.15
        done = 4 if age >= days and not correction else min(3, 1 + age * 3 // max(days, 1))
        specs.append(
            CaseSpec(
                case_no=f"BJ{int(digest[i * 12 : i * 12 + 12], 16) % 10**12:012d}",
                id_number=id_number,
                name=name,
                item=item,
                age_days=age,
                steps_done=max(1, done),
                correction=correction and 2 <= done < 4,
            )
        )
    return specs


_OPENAPI: dict[str, dict[str, Any]] = {
    "list": {
        "summary": "A citizen's cases (办件), newest first, each with its steps and dates "
        "(the ID number in the body, never in the URL)",
        "requestBody": lookup_body(["id_number"]),
        "responses": {
            "200": {"description": "cases (possibly none)"},
            "400": {"description": "INVALID_ID_NUMBER"},
        },
    },
    "one": {
        "summary": "One case by its number (办件编号)",
        "parameters": [
            {"name": "case_no", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": {"description": "the case, its steps and dates"},
            "404": {"description": "CASE_NOT_FOUND"},
        },
    },
}
