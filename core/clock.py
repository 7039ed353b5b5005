"""Time sources. Everything that stamps or compares times takes a clock, so a simulated hall
can run a morning in seconds and tests never sleep."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

#: Government halls keep Beijing time; ticket numbers reset at local midnight.
HALL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class SimClock:
    """A clock that moves only when told to. Safe to read from several threads."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> None:
        with self._lock:
            self._now = when


def business_day(ts: float) -> str:
    """The hall's business day (YYYY-MM-DD, Beijing time) that a timestamp falls on."""
    return datetime.fromtimestamp(ts, HALL_TZ).strftime("%Y-%m-%d")


def hall_time(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, HALL_TZ)


def at_hall_time(day: str, hhmm: str) -> float:
    """Epoch seconds for a wall-clock time in the hall, e.g. ``at_hall_time("2026-11-23", "08:30")``."""
    dt = datetime.strptime(f"{day} {hhmm}", "%Y-%m-%d %H:%M").replace(tzinfo=HALL_TZ)
    return dt.timestamp()
