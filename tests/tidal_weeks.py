"""Constructed weeks of a real hall queue, for the weekly-baseline tests.

Each business day citizens take tickets for social security from 09:00; each is called after
the wait the day's pattern gives and served for a minute, one at a time at window 1, so a
day's waits are exactly the pattern's. Everything goes through the real queue and journal.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from core.clock import at_hall_time
from core.config import HallConfig, Level, load_hall_config
from core.events import Event
from tests.hall_events import RecordedHall

#: A promise below every constructed wait, so the levels the tests see are the baseline's.
LOW_PROMISE = replace(
    load_hall_config().thresholds, wait_s=Level(120, 240), time_in_hall_s=Level(300, 600)
)


def low_promise_hall() -> HallConfig:
    return replace(load_hall_config(), thresholds=LOW_PROMISE)


def business_days(first: str, weeks: int) -> list[str]:
    """Monday to Friday of ``weeks`` weeks from ``first`` (a Monday)."""
    start = date.fromisoformat(first)
    return [
        (start + timedelta(days=7 * w + d)).isoformat() for w in range(weeks) for d in range(5)
    ]


class ConstructedWeeks:
    """A hall database filled day by day with a chosen morning."""

    def __init__(self, db_path: Path, config: HallConfig | None = None) -> None:
        self.hall = RecordedHall(db_path, config or low_promise_hall())
        self.events: list[Event] = []

    def morning(self, day: str, waits_min: list[float], start: str = "09:00") -> None:
        """One morning: a ticket per entry, called after that many minutes, served 1 min."""
        hall = self.hall
        hall.clock.set(at_hall_time(day, start))
        hall.open(1)
        for wait in waits_min:
            hall.issue("social")
            hall.advance(wait * 60)
            hall.call(1)
            hall.advance(60)
            hall.finish(1)
        hall.close(1)
        self.events.extend(hall.take())

    def close(self) -> None:
        self.hall.close_db()
