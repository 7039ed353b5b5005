"""The end of a business day: what a day left waiting or called is closed unserved
(``ticket.skipped``, ``reason: "expired"``) within that day, once, by the hall box on its own;
and a window never calls, nor a view lists, a ticket of a day that is over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.hall_box import DayCloser
from core.clock import SimClock, SystemClock, at_hall_time, business_day
from core.config import load_hall_config
from core.errors import SkipNotUndoable
from core.events import Event, Kind
from core.topics import hall_box_id
from flows.queue import HallQueue
from hallnet.server import HallServer
from hallstore import journal
from tests.test_hall_api import HallApi, wait_for

DAY = "2026-11-23"
NEXT = "2026-11-24"
#: The last moment of DAY: where its leftovers are dated.
DAY_END = at_hall_time(NEXT, "00:00") - 0.001
HALL = load_hall_config()
BOX = hall_box_id(HALL.hall_id)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def clock() -> SimClock:
    return SimClock(at_hall_time(DAY, "16:30"))


@pytest.fixture
def queue(tmp_path: Path, clock: SimClock) -> Iterator[HallQueue]:
    q = HallQueue(journal.connect(tmp_path / "hall.db"), HALL, clock)
    try:
        yield q
    finally:
        q.conn.close()


def events_of(db: Path) -> list[Event]:
    conn = journal.connect(db)
    try:
        return [p.event for p in journal.pending(conn, 10_000)]
    finally:
        conn.close()


def expired(events: list[Event]) -> list[Event]:
    return [
        e for e in events if e.kind == Kind.TICKET_SKIPPED and e.data.get("reason") == "expired"
    ]


def states(queue: HallQueue) -> dict[str, tuple[str, str, float | None]]:
    """ticket_id -> (day, state, finished_at), as the hall database holds them."""
    rows = queue.conn.execute("SELECT ticket_id, day, state, finished_at FROM tickets")
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


# --- the queue -----------------------------------------------------------------------------


def test_what_a_day_left_waiting_or_called_is_closed_once_within_its_day(
    tmp_path: Path, queue: HallQueue, clock: SimClock
) -> None:
    """GIVEN at 16:30 A001 served, A002 called and never finished, A003 and B001 still waiting
    WHEN the sweep runs after closing time (17:30), THEN nothing is closed (halls serve past
    closing); WHEN it runs the next morning THEN A002, A003 and B001 are closed unserved, each
    with one ``ticket.skipped`` (expired, its day) under the hall box, dated 23:59:59.999 of
    their day; A001 keeps its one ``ticket.finished``; a second sweep adds nothing."""
    queue.open_window(1, "pad-1", "007")
    a1, a2, a3 = (queue.issue("social", "kiosk-1").ticket for _ in range(3))
    b1 = queue.issue("household", "kiosk-1").ticket
    queue.call_next(1, "pad-1")
    clock.advance(300)
    queue.finish(1, "pad-1")
    called = queue.call_next(1, "pad-1")
    assert called is not None and called.ticket_id == a2.ticket_id

    clock.set(at_hall_time(DAY, "17:30"))
    assert queue.close_past_days(BOX) == []
    assert queue.waiting_count() == 2

    clock.set(at_hall_time(NEXT, "08:30"))
    closed = queue.close_past_days(BOX)

    assert [t.ticket_no for t in closed] == ["A002", "A003", "B001"]
    assert all(t.state == "skipped" and t.finished_at == DAY_END for t in closed)
    assert states(queue) == {
        a1.ticket_id: (DAY, "finished", at_hall_time(DAY, "16:35")),
        a2.ticket_id: (DAY, "skipped", DAY_END),
        a3.ticket_id: (DAY, "skipped", DAY_END),
        b1.ticket_id: (DAY, "skipped", DAY_END),
    }
    gone = expired(events_of(tmp_path / "hall.db"))
    assert [(e.data["ticket_no"], e.device_id, e.at) for e in gone] == [
        ("A002", BOX, DAY_END),
        ("A003", BOX, DAY_END),
        ("B001", BOX, DAY_END),
    ]
    assert {business_day(e.at) for e in gone} == {DAY}
    assert all(e.data["day"] == DAY and e.data["finished_at"] == DAY_END for e in gone)
    # The called one says where it was called: the window never closed it.
    assert (gone[0].data["window"], gone[0].data["called_at"]) == (1, called.called_at)
    assert "window" not in gone[1].data
    assert [e.seq for e in gone] == [1, 2, 3]  # the hall box's own numbering, no gap
    # The window is free for today, and still signed in (its PAD signs staff out).
    view = queue.window_view(1)
    assert view.is_open and view.current is None and view.waiting == ()

    before = events_of(tmp_path / "hall.db")
    assert queue.close_past_days(BOX) == []
    assert events_of(tmp_path / "hall.db") == before
    finished = [e for e in before if e.kind == Kind.TICKET_FINISHED]
    assert [e.data["ticket_no"] for e in finished] == ["A001"]


def test_the_next_day_starts_at_a001_and_a_window_never_calls_yesterday_even_unswept(
    queue: HallQueue, clock: SimClock
) -> None:
    """Defence in depth: with yesterday's A001 and A002 still waiting (no sweep ran), the
    next morning counts nobody waiting, the kiosk issues today's A001, and the window calls
    that one and then nobody."""
    yesterday = [queue.issue("social", "kiosk-1").ticket for _ in range(2)]
    clock.set(at_hall_time(NEXT, "08:30"))
    queue.open_window(1, "pad-1", "007")
    assert queue.waiting_count() == 0 and queue.waiting_count("social") == 0
    assert queue.window_view(1).waiting == ()

    today = queue.issue("social", "kiosk-1")

    assert today.ticket.ticket_no == "A001" and today.people_ahead == 0
    assert queue.window_view(1).waiting == (today.ticket,)
    called = queue.call_next(1, "pad-1")
    assert called is not None and called.ticket_id == today.ticket.ticket_id
    queue.finish(1, "pad-1")
    assert queue.call_next(1, "pad-1") is None
    # The sweep then closes yesterday's, which no window ever called.
    closed = queue.close_past_days(BOX)
    assert [t.ticket_id for t in closed] == [t.ticket_id for t in yesterday]
    assert all(t.called_at is None for t in closed)


def test_a_skip_of_a_day_that_is_over_cannot_be_undone(queue: HallQueue, clock: SimClock) -> None:
    """A ticket called at 23:59:30 and closed by the sweep at 00:00:10 is within a minute of
    its close, yet no window takes yesterday's citizen back (撤销过号)."""
    clock.set(at_hall_time(DAY, "23:59") + 30)
    queue.open_window(1, "pad-1", "007")
    ticket = queue.issue("social", "kiosk-1").ticket
    queue.call_next(1, "pad-1")
    clock.set(at_hall_time(NEXT, "00:00") + 10)
    [closed] = queue.close_past_days(BOX)
    assert closed.finished_at == DAY_END

    with pytest.raises(SkipNotUndoable):
        queue.undo_skip(1, "pad-1", ticket.ticket_id)


def test_an_expired_call_is_no_handling_time_in_the_next_mornings_estimate(
    tmp_path: Path,
) -> None:
    """Two halls whose yesterday differs only in whether the ticket left at closing had been
    called tell the next morning's third citizen the same wait: the hours from that call to
    midnight are nobody's handling time."""

    def morning_estimate(name: str, call_it: bool) -> tuple[float, float | None, float | None]:
        clock = SimClock(at_hall_time(DAY, "16:00"))
        q = HallQueue(journal.connect(tmp_path / f"{name}.db"), HALL, clock)
        try:
            q.open_window(1, "pad-1", "007")
            for _ in range(5):  # a real history the estimate learns from
                q.issue("social", "kiosk-1")
                q.call_next(1, "pad-1")
                clock.advance(240)
                q.finish(1, "pad-1")
            q.issue("social", "kiosk-1")
            if call_it:
                q.call_next(1, "pad-1")
            clock.set(at_hall_time(NEXT, "08:30"))
            assert len(q.close_past_days(BOX)) == 1
            q.issue("social", "kiosk-1")
            q.issue("social", "kiosk-1")
            third = q.issue("social", "kiosk-1")  # two citizens ahead of one window
            assert third.est_wait_s > 0
            return third.est_wait_s, third.est_wait_low_s, third.est_wait_high_s
        finally:
            q.conn.close()

    assert morning_estimate("called", True) == morning_estimate("waiting", False)


# --- crash safety ----------------------------------------------------------------------------

#: A sweep in a process of its own, killed with SIGKILL inside the transaction of its third
#: ticket, after that ticket's UPDATE and its event were written and before the commit.
KILLED_SWEEP = textwrap.dedent(
    """
    import os, signal, sys
    from core.clock import SimClock, at_hall_time
    from core.config import load_hall_config
    from core.events import Kind
    from flows.queue import HallQueue
    from hallstore import HallTransaction, journal

    original = HallTransaction.journal
    closed = 0

    def journal_then_die(self, kind, device_id, data, *, at):
        global closed
        event = original(self, kind, device_id, data, at=at)
        if kind == Kind.TICKET_SKIPPED:
            closed += 1
            if closed == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        return event

    HallTransaction.journal = journal_then_die
    clock = SimClock(at_hall_time(sys.argv[2], "08:30"))
    queue = HallQueue(journal.connect(sys.argv[1]), load_hall_config(), clock)
    queue.close_past_days("hallbox-hall-demo")
    """
)


def test_a_sweep_killed_halfway_leaves_each_ticket_closed_or_not_and_the_next_closes_the_rest(
    tmp_path: Path, queue: HallQueue, clock: SimClock
) -> None:
    """GIVEN five tickets left waiting WHEN the sweep's process is killed (SIGKILL) inside the
    third ticket's transaction THEN two are closed, each with its event, and three wait, none
    half-closed; WHEN the sweep runs again THEN it closes those three, and every ticket has
    exactly one ``ticket.skipped``."""
    tickets = [queue.issue("social", "kiosk-1").ticket for _ in range(5)]
    db = tmp_path / "hall.db"

    run = subprocess.run(
        [sys.executable, "-c", KILLED_SWEEP, str(db), NEXT],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=60,
    )

    assert run.returncode == -signal.SIGKILL, run.stderr.decode()
    by_state = {tid: state for tid, (_, state, _) in states(queue).items()}
    assert [by_state[t.ticket_id] for t in tickets] == ["skipped"] * 2 + ["waiting"] * 3
    assert [e.data["ticket_no"] for e in expired(events_of(db))] == ["A001", "A002"]

    clock.set(at_hall_time(NEXT, "08:30"))
    closed = queue.close_past_days(BOX)

    assert [t.ticket_no for t in closed] == ["A003", "A004", "A005"]
    gone = expired(events_of(db))
    assert sorted(e.data["ticket_id"] for e in gone) == sorted(t.ticket_id for t in tickets)
    assert [e.seq for e in gone] == [1, 2, 3, 4, 5]  # the killed event's seq was not spent
    assert queue.close_past_days(BOX) == []


# --- on the hall box, with nobody pressing anything ----------------------------------------


def test_a_hall_box_without_the_hall_api_closes_the_day_by_itself(
    tmp_path: Path, queue: HallQueue, clock: SimClock
) -> None:
    """The agent's :class:`DayCloser` (a hall box whose apps open the database themselves):
    at start it closes what a day that ended while it was off left, and at the next midnight
    what today leaves, without any request."""
    queue.issue("social", "kiosk-1")
    clock.set(at_hall_time(NEXT, "16:00"))
    today = queue.issue("social", "kiosk-1").ticket
    closer = DayCloser(HALL, tmp_path / "hall.db", clock, check_s=0.05)
    closer.start()
    try:
        assert wait_for(lambda: len(expired(events_of(tmp_path / "hall.db"))) == 1)
        time.sleep(0.3)  # a few more checks on the same day close nothing more
        assert len(expired(events_of(tmp_path / "hall.db"))) == 1
        assert states(queue)[today.ticket_id][1] == "waiting"

        clock.set(at_hall_time("2026-11-25", "00:00") + 1)

        assert wait_for(lambda: len(expired(events_of(tmp_path / "hall.db"))) == 2)
    finally:
        closer.stop()
    next_end = at_hall_time("2026-11-25", "00:00") - 0.001
    assert states(queue)[today.ticket_id] == (NEXT, "skipped", next_end)


# --- over the hall API -----------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path, clock: SimClock) -> Iterator[HallApi]:
    """The hall API on the simulated clock (16:30 on DAY)."""
    db, devices = tmp_path / "hall.db", tmp_path / "hall-devices.json"
    server = HallServer(HALL, db, ("127.0.0.1", 0), devices, clock).start()
    setup = HallApi(server, HALL, db, devices, tmp_path)
    try:
        yield setup
    finally:
        for client in setup.clients:
            client.close()
        setup.server.stop()


def test_at_midnight_a_pads_view_drops_yesterdays_tickets_and_it_calls_todays_a001(
    api: HallApi, clock: SimClock
) -> None:
    """GIVEN a PAD on its own machine with A001 called at its window and A002 waiting at
    16:50 WHEN the hall clock passes midnight THEN, with no request, the hall box closes both
    and pushes each one's ``ticket.skipped``, so the PAD shows nobody; the kiosk's next ticket
    is today's A001, which the PAD then calls. A restarted hall box closes nothing again."""
    kiosk = api.client(api.enrol("kiosk-1", "kiosk"), listen=False)
    pad = api.client(api.enrol("pad-1", "pad", window=1))
    pushes: list[tuple[str, str | None]] = []

    def record(kind: str, data: dict[str, Any]) -> None:
        pushes.append((kind, (data.get("ticket") or {}).get("ticket_no")))

    pad.on_push(record)
    assert wait_for(lambda: pad.connected)
    clock.set(at_hall_time(DAY, "16:50"))
    kiosk.issue("social", "kiosk-1")
    kiosk.issue("social", "kiosk-1")
    pad.open_window(1, "pad-1", "007")
    assert pad.call_next(1, "pad-1").ticket_no == "A001"  # type: ignore[union-attr]
    assert [t.ticket_no for t in pad.window_view(1).waiting] == ["A002"]
    seen = len(pushes)

    clock.set(at_hall_time(NEXT, "08:30"))

    assert wait_for(lambda: pad.window_view(1).current is None and not pad.window_view(1).waiting)
    assert pad.waiting_count() == 0
    # One push per ticket, not a snapshot: the server swept its own store.
    assert pushes[seen:] == [(Kind.TICKET_SKIPPED, "A001"), (Kind.TICKET_SKIPPED, "A002")]
    gone = expired(events_of(api.db))
    assert [(e.data["ticket_no"], e.device_id, e.at) for e in gone] == [
        ("A001", BOX, DAY_END),
        ("A002", BOX, DAY_END),
    ]

    today = kiosk.issue("social", "kiosk-1")
    assert today.ticket.ticket_no == "A001" and today.people_ahead == 0
    assert wait_for(lambda: pad.window_view(1).waiting == (today.ticket,))
    called = pad.call_next(1, "pad-1")
    assert called is not None and called.ticket_id == today.ticket.ticket_id

    for client in api.clients:
        client.close()
    api.clients.clear()
    api.server.stop()
    api.server = HallServer(HALL, api.db, ("127.0.0.1", 0), api.devices, clock).start()
    time.sleep(0.5)  # its start and a tick of its watcher
    assert expired(events_of(api.db)) == gone


def test_a_sweep_by_another_writer_reaches_a_listening_pad(tmp_path: Path) -> None:
    """The agent's :class:`DayCloser` sweeps on a connection of its own while a hall API
    server (another process's, on the system clock) serves the PAD: the server notices the
    journal grew and pushes a snapshot, and the PAD's window no longer shows yesterday's
    ticket it had called (nor ever listed the one left waiting)."""
    db, devices = tmp_path / "hall.db", tmp_path / "hall-devices.json"
    server = HallServer(HALL, db, ("127.0.0.1", 0), devices, SystemClock()).start()
    api = HallApi(server, HALL, db, devices, tmp_path)
    try:
        pad = api.client(api.enrol("pad-3", "pad", window=3))
        assert wait_for(lambda: pad.connected)
        yesterday = SimClock(time.time() - 86400)
        writer = HallQueue(journal.connect(db), HALL, yesterday)
        try:
            writer.open_window(3, "pad-3", "007")
            writer.issue("social", "kiosk-9")
            writer.issue("social", "kiosk-9")
            left = writer.call_next(3, "pad-3")
        finally:
            writer.conn.close()
        assert left is not None
        assert wait_for(lambda: pad.window_view(3).current == left)
        # Yesterday's A002, still waiting, is in no view nor count of today.
        assert pad.window_view(3).waiting == () and pad.waiting_count() == 0

        closer = DayCloser(HALL, db)
        try:
            closed = closer.close_once()
        finally:
            closer.stop()

        assert [t.ticket_no for t in closed] == ["A001", "A002"]
        assert wait_for(lambda: pad.window_view(3).current is None)
        assert pad.window_view(3).is_open
        assert len(expired(events_of(db))) == 2
    finally:
        for client in api.clients:
            client.close()
        server.stop()
