"""The transaction journal of a kiosk that is its own machine: on the kiosk's own disk first.

A kiosk function records what a citizen did (:class:`flows.transactions.TransactionJournal`)
before telling them it is done, and a payment's order before the channel is called. On a kiosk
of its own that record must not depend on the LAN: :meth:`KioskJournal.record` commits it to
the kiosk's own database (:class:`hallnet.local_store.LocalStore`, ``synchronous=FULL``) and
returns. The kiosk's uplink (:class:`hallnet.uplink.Uplink`) then forwards the events, in
order, to the hall box (``POST /v1/journal``), which journals each exactly once in the hall
journal (:mod:`hallnet.forwarded`) and from there its publisher carries it to the collector;
the kiosk deletes an event only once the hall box says it holds it. ``docs/hall-api.md``,
"Where transactions live", says why this path rather than an agent of the kiosk's own.

The returned event's ``seq`` is its place in the kiosk's own journal. In the hall journal (and
at the collector) the event keeps its ``event_id``, kind, time and data under the kiosk's
device id, numbered by the hall box's seq counter for that id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from core.clock import Clock
from core.events import Event, Kind, new_event_id
from hallnet.forwarded import FORWARDED_KINDS, Forwarded
from hallnet.local_store import LocalStore


class KioskJournal:
    """A :class:`flows.transactions.TransactionJournal` on the kiosk's own disk.

    Args:
        store: the kiosk's own database.
        hall_id: the hall (from the device file).
        device_id: the kiosk.
        clock: the hall box's clock as the kiosk sees it.
        wake: called after each record, so that the uplink forwards it soon.
    """

    def __init__(
        self,
        store: LocalStore,
        hall_id: str,
        device_id: str,
        clock: Clock,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.hall_id = hall_id
        self.device_id = device_id
        self.clock = clock
        #: Called after each record, so that the uplink forwards it soon.
        self.wake = wake

    def record(self, kind: str, data: dict[str, Any]) -> Event:
        """Journal one event on the kiosk's disk; committed with ``synchronous=FULL`` when this
        returns.

        Raises:
            StorageFull (420): the kiosk's disk is nearly full; nothing was journaled.
            ValueError: ``kind`` is not a kind a kiosk journals (:data:`FORWARDED_KINDS`).
        """
        if kind not in Kind.ALL:
            raise ValueError(f"unknown event kind {kind!r}")
        if kind not in FORWARDED_KINDS:
            raise ValueError(f"{kind!r} is the hall box's to journal, not a kiosk's")
        at = self.clock.now()
        event_id = new_event_id()
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        with self.store.transaction() as conn:
            self.store.ensure_room()
            seq = conn.execute(
                "INSERT INTO kiosk_journal(event_id, kind, at, data) VALUES (?, ?, ?, ?)"
                " RETURNING seq",
                (event_id, kind, at, text),
            ).fetchone()[0]
        if self.wake is not None:
            self.wake()
        return Event(kind, self.hall_id, self.device_id, int(seq), at, data, event_id)

    def pending(self, limit: int) -> list[Forwarded]:
        """The oldest events not yet held by the hall box."""
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT seq, event_id, kind, at, data FROM kiosk_journal ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [Forwarded(int(s), str(i), str(k), float(a), json.loads(d)) for s, i, k, a, d in rows]

    def held_to(self, local_seq: int) -> None:
        """The hall box holds every event up to ``local_seq``: delete them here."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM kiosk_journal WHERE seq <= ?", (local_seq,))

    def backlog(self) -> int:
        with self.store.read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM kiosk_journal").fetchone()[0])
