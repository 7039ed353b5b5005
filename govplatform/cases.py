"""Cases (办件) on the government platform: a case's progress, by its number or by the
applicant's ID number, each step with its date. The ID number goes in a lookup's body
(``POST /cases/search``), never in a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from core.errors import CaseNotFound, PlatformBadResponse, PlatformNotFound
from govplatform.http import PlatformHttp

#: A citizen's cases, by the ID number in the body.
SEARCH = "/cases/search"


@dataclass(frozen=True)
class CaseStep:
    """One step (申请, 受理, 补正材料, 审核, 办结).

    Attributes:
        state: ``done``, ``current`` (the case is at it) or ``pending``.
        day: when it was done; None before.
    """

    name: str
    state: str
    day: date | None


@dataclass(frozen=True)
class Case:
    """A case as the platform describes it; ``applicant`` is masked (``张**``)."""

    case_no: str
    item_name: str
    department: str
    applicant: str
    submitted: date
    status: str
    finished: bool
    steps: tuple[CaseStep, ...]


class CasesClient:
    """The cases API over :class:`PlatformHttp`.

    Raises (every method): :class:`core.errors.PlatformError` 801–806 when the platform cannot
    answer.
    """

    def __init__(self, http: PlatformHttp) -> None:
        self.http = http

    def by_number(self, case_no: str) -> Case:
        """One case by its 办件编号.

        Raises:
            CaseNotFound (820): no case has that number.
        """
        try:
            return _case(self.http.get(f"/cases/{case_no}"))
        except PlatformNotFound as err:
            raise CaseNotFound(str(err), **err.details) from err

    def of_citizen(self, id_number: str) -> list[Case]:
        """The cases of an ID number, newest first (an empty list when there are none)."""
        data = self.http.lookup(SEARCH, {"id_number": id_number})
        try:
            return [_case(c) for c in data["cases"]]
        except (KeyError, TypeError) as err:
            raise PlatformBadResponse(f"{SEARCH}: {err!r}", path=SEARCH) from err


def _case(data: Any) -> Case:
    try:
        return Case(
            case_no=str(data["case_no"]),
            item_name=str(data["item_name"]),
            department=str(data["department"]),
            applicant=str(data["applicant"]),
            submitted=date.fromisoformat(data["submitted"]),
            status=str(data["status"]),
            finished=bool(data["finished"]),
            steps=tuple(
                CaseStep(
                    str(s["name"]),
                    str(s["state"]),
                    date.fromisoformat(s["date"]) if s["date"] else None,
                )
                for s in data["steps"]
            ),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise PlatformBadResponse(f"case answer: {err!r}") from err
