"""Bad ratings (差评) and their follow-up: 待核实 → 已核实 → 已整改 → 已办结 (seed 003 §1.12.3:
差评核实校对, 整改, 整改结果反馈).

Every ``rating.submitted`` (a window's rating pad) and ``kiosk.rated`` (a kiosk function) of
level 1 or 2 (非常不满意, 不满意) becomes one row of ``bad_ratings``; the collector then texts
the duty manager (seed 002). Each follow-up step is a row of ``bad_rating_steps`` with who
took it, when, and their note, so the dashboard shows the whole history.

========== ======== ==============================================================
state      shown    reached by
========== ======== ==============================================================
open       待核实   the rating arriving
verified   已核实   someone checked what happened (note: the finding)
rectified  已整改   the fault was put right (note: what was done)
closed     已办结   the citizen was answered; from ``verified`` when the rating was
                    found unfounded (the note says so), or from ``rectified``
========== ======== ==============================================================
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BadRatingNotFound, FollowUpInvalid
from core.events import Event, Kind
from core.rating import LEVEL_LABELS, is_bad_review
from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic

STATES = {"open": "待核实", "verified": "已核实", "rectified": "已整改", "closed": "已办结"}
#: The states each state may move to.
NEXT = {"open": ("verified",), "verified": ("rectified", "closed"), "rectified": ("closed",)}

RATINGS_SCHEMA = Migrations(
    "collector.ratings",
    (
        Migration(
            1,
            "bad ratings and the steps of their follow-up",
            (
                "CREATE TABLE bad_ratings ("
                " id INTEGER PRIMARY KEY, rating_key TEXT NOT NULL UNIQUE,"
                " hall_id TEXT NOT NULL, source TEXT NOT NULL, device_id TEXT NOT NULL,"
                " service TEXT, window_no INTEGER, ticket_no TEXT, function TEXT, item TEXT,"
                " ref TEXT, level INTEGER NOT NULL, label TEXT NOT NULL, reason TEXT,"
                " rated_at REAL NOT NULL, state TEXT NOT NULL, updated_at REAL NOT NULL)",
                "CREATE INDEX bad_ratings_hall ON bad_ratings(hall_id, state)",
                "CREATE TABLE bad_rating_steps ("
                " rating_id INTEGER NOT NULL REFERENCES bad_ratings(id), state TEXT NOT NULL,"
                " by_name TEXT NOT NULL, note TEXT NOT NULL, at REAL NOT NULL)",
            ),
        ),
    ),
)


@dataclass
class BadRating:
    """One 差评 and where its follow-up stands."""

    id: int
    hall: str
    source: str  # window | kiosk
    device_id: str
    level: int
    label: str
    rated_at: float
    state: str
    service: str | None = None
    window: int | None = None
    ticket_no: str | None = None
    function: str | None = None
    item: str | None = None
    ref: str | None = None
    reason: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        body = {k: v for k, v in self.__dict__.items()}
        body["state_text"] = STATES[self.state]
        body["next"] = list(NEXT.get(self.state, ()))
        return body


def bad_rating_of(event: Event) -> dict[str, Any] | None:
    """The row a rating event makes, or None when it is not a 差评 (or not a rating)."""
    data = event.data
    level = data.get("level")
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
        return None
    if not is_bad_review(level):
        return None
    label = str(data.get("label") or LEVEL_LABELS[level])
    reason = data.get("reason")
    common = {
        "hall_id": event.hall_id, "device_id": event.device_id, "level": level, "label": label,
        "reason": str(reason) if reason else None, "rated_at": event.at,
    }  # fmt: skip
    if event.kind == Kind.RATING_SUBMITTED and data.get("ticket_id"):
        window = data.get("window")
        return common | {
            # One rating per ticket, as the metrics count them.
            "rating_key": f"{event.hall_id}|ticket|{data['ticket_id']}",
            "source": "window",
            "service": str(data.get("service") or ""),
            "window_no": (
                window if isinstance(window, int) and not isinstance(window, bool) else None
            ),
            "ticket_no": str(data.get("ticket_no") or ""),
        }
    if event.kind == Kind.KIOSK_RATED:
        return common | {
            "rating_key": f"{event.hall_id}|kiosk|{event.device_id}|{event.seq}",
            "source": "kiosk",
            "function": str(data.get("function") or ""),
            "item": str(data.get("item") or "") or None,
            "ref": str(data.get("ref") or "") or None,
        }
    return None


class BadRatingDesk:
    """The bad ratings of every hall and their follow-up, in the collector's database."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        RATINGS_SCHEMA.apply(self._conn)

    def record(self, events: list[Event]) -> list[BadRating]:
        """Keep the 差评 among ``events``; returns those not kept before (to notify)."""
        rows = [r for r in map(bad_rating_of, events) if r is not None]
        if not rows:
            return []
        added: list[int] = []
        with self._lock, atomic(self._conn) as conn:
            for row in rows:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO bad_ratings(rating_key, hall_id, source, device_id,"
                    " service, window_no, ticket_no, function, item, ref, level, label, reason,"
                    " rated_at, state, updated_at) VALUES (:rating_key, :hall_id, :source,"
                    " :device_id, :service, :window_no, :ticket_no, :function, :item, :ref,"
                    " :level, :label, :reason, :rated_at, 'open', :rated_at)",
                    {"service": None, "window_no": None, "ticket_no": None, "function": None,
                     "item": None, "ref": None} | row,  # fmt: skip
                )
                if cursor.rowcount:
                    added.append(int(cursor.lastrowid or 0))
        return [self.get(i) for i in added]

    def step(self, rating_id: int, state: str, by: str, note: str, at: float) -> BadRating:
        """Move a rating's follow-up on.

        Raises:
            BadRatingNotFound (521): no such rating.
            FollowUpInvalid (520): not a next state of the current one, or no ``by``.
        """
        by, note = by.strip(), note.strip()
        if not by:
            raise FollowUpInvalid("a follow-up step needs the name of who took it",
                                  rating_id=rating_id, state=state)  # fmt: skip
        with self._lock, atomic(self._conn) as conn:
            row = conn.execute("SELECT state FROM bad_ratings WHERE id=?", (rating_id,)).fetchone()
            if row is None:
                raise BadRatingNotFound(f"no bad rating {rating_id}", rating_id=rating_id)
            if state not in NEXT.get(row[0], ()):
                raise FollowUpInvalid(
                    f"bad rating {rating_id} is {row[0]}; it can move to "
                    f"{list(NEXT.get(row[0], ()))}, not {state!r}",
                    rating_id=rating_id, state=state,
                )  # fmt: skip
            conn.execute("UPDATE bad_ratings SET state=?, updated_at=? WHERE id=?",
                         (state, at, rating_id))  # fmt: skip
            conn.execute(
                "INSERT INTO bad_rating_steps(rating_id, state, by_name, note, at)"
                " VALUES (?,?,?,?,?)",
                (rating_id, state, by, note, at),
            )
        return self.get(rating_id)

    def get(self, rating_id: int) -> BadRating:
        """Raises BadRatingNotFound (521)."""
        found = self._select("WHERE id=?", (rating_id,))
        if not found:
            raise BadRatingNotFound(f"no bad rating {rating_id}", rating_id=rating_id)
        return found[0]

    def listing(
        self, hall: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[BadRating]:
        """Newest first; ``state="unclosed"`` lists every one not yet closed."""
        where, args = [], []
        if hall is not None:
            where.append("hall_id=?")
            args.append(hall)
        if state == "unclosed":
            where.append("state<>'closed'")
        elif state is not None:
            where.append("state=?")
            args.append(state)
        sql = ("WHERE " + " AND ".join(where)) if where else ""
        return self._select(sql + " ORDER BY rated_at DESC, id DESC LIMIT ?", (*args, limit))

    def counts(self, hall: str) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT state, COUNT(*) FROM bad_ratings WHERE hall_id=? GROUP BY state", (hall,)
            ).fetchall()
        return {s: int(n) for s, n in rows}

    def _select(self, tail: str, args: tuple[Any, ...]) -> list[BadRating]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, hall_id, source, device_id, level, label, rated_at, state, service,"
                " window_no, ticket_no, function, item, ref, reason FROM bad_ratings " + tail,
                args,
            ).fetchall()
            found = [BadRating(*r) for r in rows]
            for rating in found:
                rating.steps = [
                    {"state": s, "state_text": STATES[s], "by": b, "note": n, "at": a}
                    for s, b, n, a in self._conn.execute(
                        "SELECT state, by_name, note, at FROM bad_rating_steps WHERE rating_id=?"
                        " ORDER BY at, rowid",
                        (rating.id,),
                    )
                ]
        return found

    def close(self) -> None:
        with self._lock:
            self._conn.close()
