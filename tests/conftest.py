"""Shared fixtures. Each fixture cleans up after itself; keep one fixture per real resource."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.clock import SimClock, at_hall_time
from core.config import HallConfig, load_hall_config
from flows.queue import HallQueue
from hallstore import journal
from hardware_sim import register_simulators
from tests.brokers import MosquittoUnderTest

# The test session composes the program as main.py does: sim:// URLs open simulators.
register_simulators()

# One Xvfb for the whole session, and the UI launcher; one private cupsd for the A4 printing
# tests; the simulated platform and ID card reader of the citizen-facing kiosk functions.
pytest_plugins = ["tests.ui.fixtures", "tests.printing", "tests.kiosk_citizens"]

#: Monday morning opening time of the demo hall, the start of every simulated day in tests.
HALL_OPENS = at_hall_time("2026-11-23", "08:30")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoUnderTest]:
    """A real Mosquitto on a free loopback port; ``.stop()``/``.start()`` keep the port."""
    broker = MosquittoUnderTest(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.close()


@dataclass
class HallDb:
    """A hall database with its queue, on a simulated clock.

    Attributes:
        path: the database file, for a second connection (the publisher opens its own).
        conn: the connection the queue writes through.
        queue: the hall queue of the demo hall.
        clock: the hall clock; advance it to let time pass.
        hall: the demo hall configuration.
    """

    path: Path
    conn: sqlite3.Connection
    queue: HallQueue
    clock: SimClock
    hall: HallConfig


@pytest.fixture
def hall_db(tmp_path: Path) -> Iterator[HallDb]:
    """The demo hall (config/hall-demo.toml) in a fresh database under tmp_path."""
    path = tmp_path / "hall.db"
    conn = journal.connect(path)
    clock = SimClock(HALL_OPENS)
    hall = load_hall_config()
    try:
        yield HallDb(path, conn, HallQueue(conn, hall, clock), clock, hall)
    finally:
        conn.close()
