"""What citizens did at a hall's kiosks today, folded from its ``kiosk.*`` events.

The KPI 自助机办件率 (seed 000 row 4) is 自助机办件量 / 同一事项总办件量: kiosk transactions of
an item over every transaction of that item. The numerator comes from here, counted per
kiosk function and per service item (事项); the denominator is the platform's own count of the
item, which no hall event carries, so the dashboard shows the counts and the warehouse that
holds the platform's totals divides.

Counts are per business day, and each event counts once: events arrive twice (a re-send) and
late (a kiosk that was cut off), so an event is keyed by ``(device, seq)``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from core.events import Event, Kind

#: Outcomes that count as a 办件 (a transaction done) in the KPI.
DONE = "done"


@dataclass
class KioskUsage:
    """One hall's kiosk activity on one business day.

    Attributes:
        transactions: ``(function, item, outcome) → count``.
        help_requests: 远程帮办 button presses per function.
        ratings: 好差评 levels given after kiosk transactions, per function.
        printed_pages: sheets printed per function (certificates, guides, receipts, copies):
            pages × copies of each print that came out.
        failed_prints: prints that failed, per function; cancelled_prints: those the citizen
            cancelled (a copy paused by a printer fault, then 取消).
    """

    transactions: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    help_requests: Counter[str] = field(default_factory=Counter)
    ratings: dict[str, list[int]] = field(default_factory=dict)
    printed_pages: Counter[str] = field(default_factory=Counter)
    failed_prints: Counter[str] = field(default_factory=Counter)
    cancelled_prints: Counter[str] = field(default_factory=Counter)
    _seen: set[tuple[str, int]] = field(default_factory=set)

    def observe(self, event: Event) -> None:
        """Fold one kiosk event in; other kinds, repeats and malformed data are ignored."""
        if event.kind not in _KIOSK_KINDS or (event.device_id, event.seq) in self._seen:
            return
        self._seen.add((event.device_id, event.seq))
        data = event.data
        function = _text(data.get("function"))
        if event.kind == Kind.KIOSK_TRANSACTION:
            key = (function, _text(data.get("item")), _text(data.get("outcome")))
            self.transactions[key] += 1
        elif event.kind == Kind.KIOSK_HELP_REQUESTED:
            self.help_requests[function] += 1
        elif event.kind == Kind.KIOSK_RATED:
            level = data.get("level")
            if isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= 5:
                self.ratings.setdefault(function, []).append(level)
        elif event.kind == Kind.DOCUMENT_PRINTED:
            outcome = _text(data.get("outcome"))
            if outcome == "failed":
                self.failed_prints[function] += 1
            elif outcome == "cancelled":
                self.cancelled_prints[function] += 1
            elif outcome == DONE:
                # A print from before copies were journaled made one copy.
                sheets = _count(data.get("pages", 1)) * _count(data.get("copies", 1))
                if 0 < sheets < 10_000:
                    self.printed_pages[function] += sheets

    def to_dict(self) -> dict[str, Any]:
        """The day's figures: per function its transactions done (and per item), those that
        failed or were cancelled, help requests, mean rating and pages printed."""
        functions: dict[str, dict[str, Any]] = {}

        def entry(name: str) -> dict[str, Any]:
            return functions.setdefault(
                name,
                {"done": 0, "not_done": 0, "items": {}, "help_requests": 0,
                 "rating_avg": None, "rating_count": 0, "printed_pages": 0,
                 "failed_prints": 0, "cancelled_prints": 0},
            )

        for (function, item, outcome), n in sorted(self.transactions.items()):
            row = entry(function)
            if outcome == DONE:
                row["done"] += n
                if item:
                    row["items"][item] = row["items"].get(item, 0) + n
            else:
                row["not_done"] += n
        for function, n in self.help_requests.items():
            entry(function)["help_requests"] = n
        for function, levels in self.ratings.items():
            row = entry(function)
            row["rating_avg"] = round(sum(levels) / len(levels), 2)
            row["rating_count"] = len(levels)
        for function, pages in self.printed_pages.items():
            entry(function)["printed_pages"] = pages
        for function, n in self.failed_prints.items():
            entry(function)["failed_prints"] = n
        for function, n in self.cancelled_prints.items():
            entry(function)["cancelled_prints"] = n
        done = sum(n for (_, _, o), n in self.transactions.items() if o == DONE)
        return {
            "transactions_done": done,
            "help_requests": sum(self.help_requests.values()),
            "functions": dict(sorted(functions.items())),
        }


_KIOSK_KINDS = frozenset(
    {Kind.KIOSK_TRANSACTION, Kind.KIOSK_HELP_REQUESTED, Kind.KIOSK_RATED, Kind.DOCUMENT_PRINTED}
)


def _count(value: Any) -> int:
    # A malformed count counts nothing rather than a made-up page.
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> str:
    # A hall's strings are bounded by the ingest's checks; anything else is shown as unknown.
    return value if isinstance(value, str) else "?"
