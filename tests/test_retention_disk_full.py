"""Before the disk is full the kiosk refuses new tickets in Chinese; nothing journaled is lost.

One test runs the hall database on a real, small tmpfs (we are root in CI); where mounting is
not permitted it is skipped and the ``max_page_count`` test, which models the same cap inside
SQLite through the same check, still runs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.clock import SimClock
from core.config import load_hall_config
from core.errors import StorageFull
from core.strings_zh import error_text
from flows.queue import HallQueue
from flows.ticketing import TicketFlow
from hallstore import journal, retention
from hallstore.retention import MIB, RetentionPolicy
from tests.conftest import HALL_OPENS

CITIZEN_SEES = "本机存储空间即将用尽，暂停取号，请联系工作人员"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs mounted for this test only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def issue_until_refused(queue: HallQueue, limit: int) -> tuple[int, StorageFull]:
    """Issue tickets until the queue refuses one. Returns (tickets issued, the refusal)."""
    for issued in range(limit):
        try:
            queue.issue("social", "kiosk-1")
        except StorageFull as err:
            return issued, err
    raise AssertionError(f"{limit} tickets issued and never refused")


def test_nearly_full_disk_refuses_new_tickets_and_keeps_every_event(small_disk: Path):
    """A ballast file leaves 6 MiB on the disk with a 4 MiB reserve: tickets are issued until
    the reserve is reached, then refused (420, in Chinese). Windows still call and finish the
    citizens already waiting, every event of the issued tickets stays in the journal, and
    issuing resumes once the disk has room again."""
    conn = journal.connect(small_disk / "hall.db")
    try:
        retention.set_policy(conn, RetentionPolicy(reserve_bytes=4 * MIB, wal_limit_bytes=MIB))
        free = retention.room_bytes(conn)
        ballast = small_disk / "ballast"
        ballast.write_bytes(b"\0" * (free - 6 * MIB))
        hall = load_hall_config()
        queue = HallQueue(conn, hall, SimClock(HALL_OPENS))
        queue.open_window(1, "pad-1", "staff-1")

        issued, refusal = issue_until_refused(queue, limit=5000)
        assert issued > 0
        assert refusal.code == 420
        assert error_text(refusal) == CITIZEN_SEES
        assert refusal.details["room_bytes"] < 4 * MIB

        # The refused ticket left nothing behind; the issued ones and their events are all there.
        tickets = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        assert tickets == issued
        assert journal.backlog(conn) == 1 + issued

        # Citizens already waiting are still served: their events fit in the reserve.
        for _ in range(3):
            queue.call_next(1, "pad-1")
            queue.finish(1, "pad-1")
        assert journal.backlog(conn) == 1 + issued + 6

        ballast.unlink()
        queue.issue("social", "kiosk-1")
        assert journal.backlog(conn) == 1 + issued + 6 + 1
    finally:
        conn.close()


def test_page_cap_refuses_at_the_kiosk_with_the_chinese_sentence(tmp_path: Path):
    """With the database capped by ``max_page_count`` (a disk-full model that needs no mount),
    the kiosk's ticket flow goes back to the service list showing the storage-full sentence,
    and no ticket was printed or journaled for the refused tap."""
    conn = journal.connect(tmp_path / "hall.db")
    try:
        retention.set_policy(conn, RetentionPolicy(reserve_bytes=64 * 1024))
        queue = HallQueue(conn, load_hall_config(), SimClock(HALL_OPENS))
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={pages + 64 * 1024 // page_size + 24}")
        flow = TicketFlow(queue, None, "kiosk-1", SimClock(HALL_OPENS))

        issued, _ = issue_until_refused(queue, limit=2000)
        before = journal.backlog(conn)
        screen = flow.take("social")
        assert screen.error_key == "storage_full"
        assert error_text(screen.error_key) == CITIZEN_SEES
        assert journal.backlog(conn) == before == issued
    finally:
        conn.close()


def test_policy_is_shared_through_the_database(tmp_path: Path):
    """A policy set by one process is what another process's connection enforces."""
    path = tmp_path / "hall.db"
    first = journal.connect(path)
    second = journal.connect(path)
    try:
        assert retention.get_policy(second) == RetentionPolicy()
        wanted = RetentionPolicy(reserve_bytes=10**15, wal_limit_bytes=2 * MIB)
        retention.set_policy(first, wanted)
        assert retention.get_policy(second) == wanted
        with pytest.raises(StorageFull):
            journal.ensure_room(second)
    finally:
        first.close()
        second.close()
