"""The platform's own daily totals per service item: the denominator of 自助机办件率.

Seed 000 row 4 defines 自助机办件率 as 自助机办件量 / 同一事项总办件量. The numerator is the
hall's own (``kiosk.transaction`` events, :mod:`collector.kiosk_usage`); the denominator counts
every transaction of the item whatever the channel (window, web, app, kiosk), and only the
government platform knows it. No hall event carries it, and guessing it from the window
tickets would be wrong (a ticket is a visit, not a 办件 of one item), so the collector never
makes it up: the platform pushes, once a day or as often as it likes, one file per hall and
business day, and until it has, the KPI says 平台总量未接入.

The file (``<collector data dir>/platform-totals/<hall>/<YYYY-MM-DD>.json``, written by
:meth:`PlatformTotals.save`, the dashboard's ``PUT /api/platform-totals/<hall>/<day>`` or
dropped there by the platform's own export job)::

    {"items": {"JG-000101": 40, "JG-000207": 12}, "source": "一体化平台日报", "at": 1795400000}
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HALL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: Items per file and the largest count believed: the file comes from outside.
MAX_ITEMS, MAX_COUNT = 10_000, 10_000_000


@dataclass(frozen=True)
class DayTotals:
    """Every transaction of each item on one day, as the platform counted them."""

    hall: str
    day: str
    items: dict[str, int]
    source: str = ""


class PlatformTotals:
    """The platform's daily totals, one JSON file per hall and day under ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @classmethod
    def beside(cls, store_path: Path | str) -> PlatformTotals:
        """The directory next to the collector's database."""
        return cls(Path(store_path).parent / "platform-totals")

    def load(self, hall: str, day: str) -> DayTotals | None:
        """The day's totals, or None when the platform has not sent them (or sent garbage:
        a broken file must not look like a day with no transactions)."""
        path = self._path(hall, day)
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            return DayTotals(hall, day, _items(body), str(body.get("source", "")))
        except (OSError, ValueError, TypeError, AttributeError):
            return None

    def save(self, hall: str, day: str, body: dict[str, Any]) -> DayTotals:
        """Keep what the platform sent (replacing an earlier file of the day).

        Raises:
            ValueError: not a hall id, a day, or ``{"items": {item: count}}``.
        """
        totals = DayTotals(hall, day, _items(body), str(body.get("source", ""))[:200])
        path = self._path(hall, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a report reading the file never sees half of it.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"items": totals.items, "source": totals.source}, out, ensure_ascii=False)
        os.replace(tmp, path)
        return totals

    def _path(self, hall: str, day: str) -> Path:
        if not _HALL.match(hall) or not _DAY.match(day):
            raise ValueError(f"not a hall id and a day: {hall!r} {day!r}")
        return self.root / hall / f"{day}.json"


def _items(body: Any) -> dict[str, int]:
    items = body["items"]
    if not isinstance(items, dict) or len(items) > MAX_ITEMS:
        raise ValueError("items must be an object of at most 10000 items")
    out: dict[str, int] = {}
    for item, count in items.items():
        if not isinstance(item, str) or not 0 < len(item) <= 64:
            raise ValueError(f"bad item {item!r}")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            raise ValueError(f"bad count for {item}: {count!r}")
        out[item] = count
    return out
