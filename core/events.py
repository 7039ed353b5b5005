"""The event: the one record that travels device → flow → journal → MQTT → collector.

Each event carries a globally unique id (for idempotent ingestion), the id of the device that
caused it and that device's monotonic sequence number (for order and gap detection), and the
time it happened on the hall clock. Ticket events also carry the ticket's own timestamps, so
waiting time (issued→called) and time in hall (issued→finished) can be derived from any single
event without a join. The wire form is documented in ``docs/topics.md``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import MalformedMessage

SCHEMA_VERSION = 1


def new_event_id() -> str:
    """A random RFC 4122 version-4 UUID as 32 hex digits, what ``uuid.uuid4().hex`` gives.

    Built from ``os.urandom`` directly: ``uuid.UUID``'s constructor took a tenth of a
    durable journal commit.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


class Kind:
    """Event kinds. Strings on the wire, constants in code."""

    TICKET_ISSUED = "ticket.issued"
    TICKET_CALLED = "ticket.called"
    TICKET_RECALLED = "ticket.recalled"
    TICKET_SKIPPED = "ticket.skipped"
    TICKET_FINISHED = "ticket.finished"
    RATING_SUBMITTED = "rating.submitted"
    WINDOW_OPENED = "window.opened"
    WINDOW_CLOSED = "window.closed"
    DEVICE_HEALTH = "device.health"

    ALL = frozenset(
        {
            TICKET_ISSUED,
            TICKET_CALLED,
            TICKET_RECALLED,
            TICKET_SKIPPED,
            TICKET_FINISHED,
            RATING_SUBMITTED,
            WINDOW_OPENED,
            WINDOW_CLOSED,
            DEVICE_HEALTH,
        }
    )


@dataclass(frozen=True)
class Event:
    """One thing that happened in a hall.

    Attributes:
        event_id: globally unique (UUID4 hex); the collector stores each id once.
        kind: one of :class:`Kind`.
        hall_id: the hall the event belongs to.
        device_id: the device that caused it (kiosk, PAD, printer ...).
        seq: that device's sequence number, strictly increasing, never reused.
        at: when it happened, epoch seconds on the hall clock.
        data: kind-specific facts (see ``docs/topics.md``).
    """

    kind: str
    hall_id: str
    device_id: str
    seq: int
    at: float
    data: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=new_event_id)
    v: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, raw: Any) -> Event:
        """Validate and build an event from its wire dict.

        Raises:
            MalformedMessage (501): a field is missing, of the wrong type, or unknown.
        """
        if not isinstance(raw, dict):
            raise MalformedMessage("event is not an object", reason="not_object")
        try:
            event = cls(
                kind=_typed(raw, "kind", str),
                hall_id=_typed(raw, "hall_id", str),
                device_id=_typed(raw, "device_id", str),
                seq=_typed(raw, "seq", int),
                at=float(_typed(raw, "at", (int, float))),
                data=_typed(raw, "data", dict),
                event_id=_typed(raw, "event_id", str),
                v=_typed(raw, "v", int),
            )
        except KeyError as err:
            raise MalformedMessage(f"missing field {err}", reason="missing_field") from err
        if event.v != SCHEMA_VERSION:
            raise MalformedMessage(f"unsupported schema version {event.v}", reason="version")
        if event.kind not in Kind.ALL:
            raise MalformedMessage(f"unknown kind {event.kind!r}", reason="unknown_kind")
        if event.seq < 1 or not event.event_id or not event.hall_id or not event.device_id:
            raise MalformedMessage("empty id or non-positive seq", reason="bad_identity")
        return event


def _typed(raw: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = raw[name]
    # bool is an int in Python; a JSON true is never a valid seq or time.
    if isinstance(value, bool) or not isinstance(value, kind):
        raise MalformedMessage(f"field {name!r} has the wrong type", reason="wrong_type", field=name)
    return value


def encode_batch(events: list[Event], floors: dict[str, int] | None = None) -> bytes:
    """The MQTT payload for a batch of events.

    Args:
        events: the batch.
        floors: per device, the lowest seq the hall's journal still holds; the collector lets
            its stored-watermark pass seqs below it (``core/stored_acks.py``).
    """
    body: dict[str, object] = {"v": SCHEMA_VERSION, "events": [e.to_dict() for e in events]}
    if floors:
        body["floors"] = floors
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_batch(payload: bytes) -> list[Event]:
    """Parse an event-batch payload.

    Raises:
        MalformedMessage (501): not UTF-8 JSON, wrong version, or any event invalid. A batch is
            accepted or rejected whole, so a publisher never sees half of it stored.
    """
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MalformedMessage("payload is not UTF-8 JSON", reason="not_json") from err
    if not isinstance(body, dict) or body.get("v") != SCHEMA_VERSION:
        raise MalformedMessage("batch has no supported version", reason="version")
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise MalformedMessage("batch has no events", reason="empty")
    return [Event.from_dict(e) for e in events]
