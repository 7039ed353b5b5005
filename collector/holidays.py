"""Days whose queue does not look like their weekday: public holidays and make-up working days.

A hall is closed on a public holiday, and on a make-up working day (调休上班, a Saturday or
Sunday worked in exchange for a longer holiday) it opens with a pattern of its own. Neither
says anything about "a normal Tuesday", so the weekly baseline leaves both out
(``collector/baseline.py``), and a warning raised on such a day uses the hall's promise.

The shipped list is the 2026 arrangement of the 国务院办公厅 (关于2026年部分节假日安排的通知).
A deployment adds its own days (a local closure, next year's list before a release ships it)
under ``[tidal] holidays`` in the hall's config file (``docs/tidal.md``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from core.clock import business_day


def _span(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


#: 2026 public holidays (放假), by the State Council's arrangement.
CN_HOLIDAYS_2026: tuple[str, ...] = tuple(
    _span("2026-01-01", "2026-01-03")  # 元旦
    + _span("2026-02-15", "2026-02-23")  # 春节
    + _span("2026-04-04", "2026-04-06")  # 清明节
    + _span("2026-05-01", "2026-05-05")  # 劳动节
    + _span("2026-06-19", "2026-06-21")  # 端午节
    + _span("2026-09-25", "2026-09-27")  # 中秋节
    + _span("2026-10-01", "2026-10-07")  # 国庆节
)
#: 2026 make-up working days (调休上班): open, but not like the weekday they fall on.
CN_WORKDAYS_2026: tuple[str, ...] = (
    "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
)  # fmt: skip


class HolidayCalendar:
    """The days the baseline skips.

    Args:
        days: dates as ``YYYY-MM-DD``; the shipped 2026 holidays and make-up days by default.
        extra: more dates to skip, added to ``days`` (a hall's own closures).

    Raises:
        ValueError: a date that is not ``YYYY-MM-DD``.
    """

    def __init__(
        self, days: Iterable[str] | None = None, extra: Iterable[str] = ()
    ) -> None:
        given = list(CN_HOLIDAYS_2026 + CN_WORKDAYS_2026 if days is None else days)
        self._days = frozenset(date.fromisoformat(d).isoformat() for d in [*given, *extra])

    def is_irregular(self, day: str) -> bool:
        """True for a holiday or make-up working day (``YYYY-MM-DD``)."""
        return day in self._days

    def is_irregular_at(self, at: float) -> bool:
        """True when hall time ``at`` falls on such a day (Beijing business day)."""
        return business_day(at) in self._days

    def __len__(self) -> int:
        return len(self._days)
