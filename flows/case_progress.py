"""办件查询 (``case_progress``): how far a citizen's case has got, each step with its date.

Two ways in (seed 004: "输入办件关联身份证号或者办件号")::

    by card:        identify → cases (the citizen's, newest first) → case_detail
    by case number: enter_case_no → case_detail

A lookup changes nothing upstream, so nothing is journaled and a failed one is simply asked
again (重试). What the flow keeps of a citizen (who they are, their cases) it drops in
:meth:`CaseProgressFlow.leave`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from core.errors import CaseNotFound, PlatformError
from flows.identify import Citizen, IdentifyCitizen, forget_citizen
from flows.kiosk_functions import KioskContext
from flows.screens import Screen
from govplatform.cases import Case, CasesClient

#: What a 办件编号 may look like before it is worth asking the platform: letters, digits and
#: hyphens (numbering differs by province).
_CASE_NO = re.compile(r"[A-Z0-9-]{6,32}")


class CaseProgressFlow:
    """The ``case_progress`` kiosk function (a :class:`flows.kiosk_functions.KioskFlow`)."""

    def __init__(self, context: KioskContext) -> None:
        self.client = CasesClient(context.platform) if context.platform is not None else None
        self.identify = IdentifyCitizen(context.id_reader)
        self._forget()

    def start(self) -> Screen:
        """The tile tapped: 刷身份证查询 or 输入办件编号."""
        self._forget()
        return Screen("choose_lookup", "menu", {})

    def leave(self) -> None:
        """Forget the citizen and their cases."""
        self._forget()

    # --- by card -------------------------------------------------------------------------

    def by_card(self) -> Screen:
        """刷身份证查询 tapped (typing the ID number is offered there too)."""
        self._forget()
        return self.identify.start()

    def identified(self, outcome: Screen | Citizen) -> Screen:
        """An identify step's outcome: its next screen, or the citizen's cases."""
        if isinstance(outcome, Screen):
            return outcome
        self.citizen = outcome
        return self._ask(self._cases_of_citizen)

    def show_case(self, case_no: str) -> Screen:
        """A case of the list tapped: its steps."""
        case = self.cases.get(case_no)
        if case is None:
            return self._list()
        return Screen("case_detail", "result", _case_data(case) | {"from_list": True})

    def back_to_list(self) -> Screen:
        """返回列表 tapped on a case."""
        return self._list()

    # --- by case number ------------------------------------------------------------------

    def by_case_no(self) -> Screen:
        """输入办件编号 tapped."""
        self._forget()
        return Screen("enter_case_no", "form", {})

    def enter_case_no(self, text: str) -> Screen:
        """The typed 办件编号 submitted."""
        case_no = "".join(text.split()).upper()
        if not _CASE_NO.fullmatch(case_no):
            return Screen("enter_case_no", "form", {}, CaseNotFound.key)
        return self._ask(lambda: self._one_case(case_no))

    def retry(self) -> Screen:
        """重试 on the ``platform_error`` screen."""
        return (self._retry or self.start)()

    # --- internals -----------------------------------------------------------------------

    def _forget(self) -> None:
        # Overwritten, not only dropped: a dropped str stays in freed memory (docs/privacy.md).
        forget_citizen(getattr(self, "citizen", None))
        self.citizen: Citizen | None = None
        self.cases: dict[str, Case] = {}
        self._retry: Callable[[], Screen] | None = None

    def _cases_of_citizen(self) -> Screen:
        assert self.client is not None and self.citizen is not None
        self.cases = {c.case_no: c for c in self.client.of_citizen(self.citizen.id_number)}
        return self._list()

    def _one_case(self, case_no: str) -> Screen:
        assert self.client is not None
        try:
            case = self.client.by_number(case_no)
        except CaseNotFound as err:
            return Screen("enter_case_no", "form", {}, err.key)
        return Screen("case_detail", "result", _case_data(case) | {"from_list": False})

    def _list(self) -> Screen:
        if not self.cases:
            return Screen("no_cases", "result", {})
        return Screen("cases", "menu", {"cases": [_case_data(c) for c in self.cases.values()]})

    def _ask(self, call: Callable[[], Screen]) -> Screen:
        if self.client is None:
            return Screen("platform_error", "result", {}, "platform_unreachable")
        try:
            return call()
        except PlatformError as err:
            self._retry = call
            return Screen("platform_error", "result", {}, err.key)


def _case_data(case: Case) -> dict[str, Any]:
    return {
        "case_no": case.case_no,
        "item_name": case.item_name,
        "department": case.department,
        "applicant": case.applicant,
        "submitted": case.submitted.isoformat(),
        "status": case.status,
        "finished": case.finished,
        "steps": [
            {"name": s.name, "state": s.state, "date": s.day.isoformat() if s.day else None}
            for s in case.steps
        ],
    }
