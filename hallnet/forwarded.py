"""A kiosk's own journal, journaled again at the hall box: exactly once, in the kiosk's order.

A kiosk on its own machine journals its transactions on its own disk first
(:class:`hallnet.kiosk_journal.KioskJournal`) and forwards them over the hall API
(``POST /v1/journal``); the hall box journals each one in the hall journal, from where its
publisher carries it to the collector like any other event (``docs/hall-api.md``, "Where
transactions live"). The kiosk deletes an event from its disk only once the hall box has said
it holds it.

Exactly once, whatever is lost on the way:

* every forwarded event carries the kiosk's local seq (its order on the kiosk's disk); the hall
  box keeps, per kiosk, the highest local seq it has journaled (``hallnet_forwarded``), in the
  same transaction as the events. An event at or below it is a repeat (an answer lost, the kiosk
  killed before it deleted) and is not journaled again; the answer says how far the hall box
  holds, and the kiosk deletes up to there. Unlike the answers kept for ``Idempotency-Key``
  (two days), this holds for good;
* the event keeps its ``event_id``, kind, time and data; in the hall journal it is numbered in
  the kiosk's device id by the hall box's seq counter (``hallstore.journal.next_seq``), the one
  counter that also numbers the tickets the kiosk issued, so ``(device_id, seq)`` never
  collides and has no gap at the collector;
* a local seq that skips ahead (the kiosk's disk was replaced) is journaled and logged: what
  the kiosk lost cannot be recovered here, and refusing the rest would lose more.

Connection-level functions, called inside the transaction of the request that carries them
(:meth:`hallnet.server.HallService.change`).
"""

from __future__ import annotations

import logging
import math
import sqlite3
from dataclasses import dataclass
from typing import Any

from core.errors import BadRequest, MalformedMessage
from core.events import Event, Kind, validate_event
from hallstore import journal

log = logging.getLogger(__name__)

#: What a kiosk may journal through the hall box: its own transactions and devices. The queue's
#: kinds are the hall box's to journal (a ticket is issued through the queue, never forwarded).
FORWARDED_KINDS = Kind.ALL - Kind.TICKETS - Kind.WINDOWS - {Kind.RATING_SUBMITTED}
#: Most events in one request.
MAX_EVENTS = 100


@dataclass(frozen=True)
class Forwarded:
    """One event of a kiosk's own journal, as ``POST /v1/journal`` carries it.

    Attributes:
        local_seq: its order in the kiosk's journal (1, 2, 3 … never reused).
        event_id: its id, kept end to end (the collector stores each id once).
        kind: a :data:`FORWARDED_KINDS` kind.
        at: when it happened, on the hall box's clock as the kiosk saw it.
        data: its data.
    """

    local_seq: int
    event_id: str
    kind: str
    at: float
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "local_seq": self.local_seq,
            "event_id": self.event_id,
            "kind": self.kind,
            "at": self.at,
            "data": self.data,
        }


def forwarded_from(body: dict[str, Any], hall_id: str, device_id: str) -> list[Forwarded]:
    """The events of a request body, checked as the collector would check them.

    Raises:
        BadRequest (705): not a list of events, too many, a kind the kiosk may not journal, or
            an event the collector would refuse.
    """
    raw = body.get("events")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_EVENTS:
        raise BadRequest(f"events must be a list of 1–{MAX_EVENTS} events", field="events")
    events = []
    for item in raw:
        try:
            event = Forwarded(
                local_seq=item["local_seq"],
                event_id=item["event_id"],
                kind=item["kind"],
                at=float(item["at"]),
                data=item["data"],
            )
        except (KeyError, TypeError, ValueError) as err:
            raise BadRequest(f"not a forwarded event: {err!r}", field="events") from err
        if (
            not isinstance(event.local_seq, int)
            or isinstance(event.local_seq, bool)
            or event.local_seq < 1
            or not math.isfinite(event.at)
        ):
            raise BadRequest("local_seq must be a positive integer, at a time", field="events")
        if event.kind not in FORWARDED_KINDS:
            raise BadRequest(f"a kiosk may not journal {event.kind!r}", kind=event.kind)
        try:
            validate_event(_as_event(event, hall_id, device_id, 1).to_dict())
        except MalformedMessage as err:
            raise BadRequest(
                f"event {event.event_id!r}: {err}", reason=err.details.get("reason")
            ) from err
        events.append(event)
    return sorted(events, key=lambda e: e.local_seq)


def held(conn: sqlite3.Connection, device_id: str) -> int:
    """The highest local seq of ``device_id`` the hall journal holds (0: none yet)."""
    row = conn.execute(
        "SELECT local_seq FROM hallnet_forwarded WHERE device_id = ?", (device_id,)
    ).fetchone()
    return 0 if row is None else int(row[0])


def journal_forwarded(
    conn: sqlite3.Connection, hall_id: str, device_id: str, events: list[Forwarded]
) -> tuple[int, int]:
    """Journal the events the hall journal does not hold yet, inside the caller's transaction.

    Returns:
        How many were journaled now, and the highest local seq held afterwards.
    """
    last = held(conn, device_id)
    added = 0
    for event in events:
        if event.local_seq <= last:
            continue  # a repeat: journaled by an earlier request
        if event.local_seq != last + 1:
            log.error(
                "the journal of %s skips from local seq %d to %d: events lost on its disk",
                device_id,
                last,
                event.local_seq,
            )
        seq = journal.next_seq(conn, device_id)
        journal.append(conn, _as_event(event, hall_id, device_id, seq))
        last = event.local_seq
        added += 1
    conn.execute(
        "INSERT INTO hallnet_forwarded(device_id, local_seq) VALUES (?, ?)"
        " ON CONFLICT(device_id) DO UPDATE SET local_seq = excluded.local_seq",
        (device_id, last),
    )
    return added, last


def _as_event(event: Forwarded, hall_id: str, device_id: str, seq: int) -> Event:
    return Event(
        kind=event.kind,
        hall_id=hall_id,
        device_id=device_id,
        seq=seq,
        at=event.at,
        data=event.data,
        event_id=event.event_id,
    )
