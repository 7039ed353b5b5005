"""How right the wait on the ticket was: each estimate beside the actual wait, per hall,
service and hour (the pattern of ZMS's per-hour "calculated vs. real waiting time").

``ticket.issued`` carries what the citizen was told (``est_wait_s``, and since minor 1 the
range ``est_wait_low_s``–``est_wait_high_s``); the ticket's first ``ticket.called`` says when
the wait ended. The hour is the hall-clock hour the ticket was issued in. Figures, in seconds:

- ``mae_s``: mean absolute error of ``est_wait_s``;
- ``bias_s``: mean of estimate − actual (below zero: the hall promises too little);
- ``under_share``: share of tickets that waited longer than they were told, and
  ``under_mae_s`` how much longer, on average, those did: underestimates are what citizens
  resent, so they are never netted against the overestimates;
- ``within_range`` / ``late_share``: share whose actual wait fell inside the range told, and
  share that waited past its upper end (tickets issued with a range only).

A ticket issued offline (``offline: true``) is left out: its estimate was made when it was
uploaded, not told to the citizen. Events may come in any order and twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from core.clock import business_day, hall_time
from core.events import Event, Kind


@dataclass(frozen=True)
class Estimate:
    """One ticket's estimate beside its actual wait."""

    hall: str
    service: str
    issued_at: float
    est_s: float
    low_s: float | None
    high_s: float | None
    actual_s: float

    @property
    def day(self) -> str:
        return business_day(self.issued_at)

    @property
    def hour(self) -> int:
        return hall_time(self.issued_at).hour


class WaitAccuracy:
    """Folds ticket events into (estimate, actual wait) pairs."""

    def __init__(self) -> None:
        self._told: dict[tuple[str, str], tuple[str, float, float, float | None, float | None]] = {}
        self._called: dict[tuple[str, str], float] = {}

    def observe(self, event: Event) -> None:
        d = event.data
        ticket_id = d.get("ticket_id")
        if not isinstance(ticket_id, str):
            return
        key = (event.hall_id, ticket_id)
        if event.kind == Kind.TICKET_ISSUED and not d.get("offline"):
            est, issued, service = d.get("est_wait_s"), d.get("issued_at"), d.get("service")
            if _number(est) and _number(issued) and isinstance(service, str):
                low, high = d.get("est_wait_low_s"), d.get("est_wait_high_s")
                ranged = _number(low) and _number(high)
                self._told[key] = (
                    service,
                    float(issued),
                    float(est),
                    float(low) if ranged else None,
                    float(high) if ranged else None,
                )
        elif event.kind == Kind.TICKET_CALLED and _number(d.get("called_at")):
            # A transferred ticket is called again at its new window: its wait ended at the
            # first call.
            at = float(d["called_at"])
            self._called[key] = min(at, self._called.get(key, at))

    def estimates(self) -> list[Estimate]:
        """Every ticket both told and called, in issue order."""
        out = []
        for key, (service, issued, est, low, high) in self._told.items():
            called = self._called.get(key)
            if called is not None:
                out.append(
                    Estimate(key[0], service, issued, est, low, high, max(0.0, called - issued))
                )
        return sorted(out, key=lambda e: e.issued_at)


def figures(estimates: Iterable[Estimate]) -> dict[str, Any]:
    """The accuracy of a set of estimates (see the module's description)."""
    es = list(estimates)
    if not es:
        return {"count": 0, "mae_s": None, "bias_s": None, "under_share": None,
                "under_mae_s": None, "within_range": None, "late_share": None}  # fmt: skip
    errors = [e.est_s - e.actual_s for e in es]
    under = [-err for err in errors if err < 0]
    ranged = [(e.low_s, e.high_s, e.actual_s) for e in es
              if e.low_s is not None and e.high_s is not None]  # fmt: skip
    return {
        "count": len(es),
        "mae_s": round(fmean(abs(err) for err in errors), 1),
        "bias_s": round(fmean(errors), 1),
        "under_share": round(len(under) / len(es), 4),
        "under_mae_s": round(fmean(under), 1) if under else 0.0,
        "within_range": _share([lo <= a <= hi for lo, hi, a in ranged]),
        "late_share": _share([a > hi for _, hi, a in ranged]),
    }


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def by_service_hour(estimates: Iterable[Estimate]) -> list[dict[str, Any]]:
    """Rows per hall, business day, service and hour of issue."""
    groups: dict[tuple[str, str, str, int], list[Estimate]] = defaultdict(list)
    for e in estimates:
        groups[(e.hall, e.day, e.service, e.hour)].append(e)
    return [
        {"hall": hall, "day": day, "service": service, "hour": hour} | figures(group)
        for (hall, day, service, hour), group in sorted(groups.items())
    ]


def day_accuracy(events: Iterable[Event], day: str | None = None) -> dict[str, Any]:
    """The KPIs' block: per service and hour of the day's tickets, and per service overall."""
    fold = WaitAccuracy()
    for e in events:
        fold.observe(e)
    found = [e for e in fold.estimates() if day is None or e.day == day]
    per_service: dict[str, list[Estimate]] = defaultdict(list)
    for e in found:
        per_service[e.service].append(e)
    return {
        "totals": figures(found),
        "services": [{"service": s} | figures(es) for s, es in sorted(per_service.items())],
        "hours": by_service_hour(found),
    }


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
