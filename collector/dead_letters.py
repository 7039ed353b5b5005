"""Dead letters: what the collector received and could not take, kept instead of lost.

A payload that fails as a whole (too big, too deep, not JSON, no version-1 envelope) is one
dead letter of scope ``message``; an event that fails inside an otherwise good batch is one
of scope ``event``, and its neighbours are stored. Either way the MQTT message is then
acknowledged: it will not get better by being delivered again. The letters wait in the
``dead_letters`` table of the event store (``collector/store.py``) for a technician, and
for ``python main.py collector dead-letters --replay`` after an upgrade that accepts them.

An event's dead letter covers its seq like a stored event (it is kept at the collector), so
the hall may delete it from its journal; that is why an event's letter is kept whole. A
message's letter acknowledges nothing (its events cannot be read safely), so only its first
:data:`KEEP_BYTES` are kept, with its size and SHA-256.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from collector.store import DeadLetter
from core.clock import HALL_TZ
from core.errors import MalformedMessage
from core.events import KIB, MAX_ID_CHARS, Received, RejectedEvent, readable_id

#: The most of a whole message a dead letter keeps.
KEEP_BYTES = 64 * KIB
#: The hall of a letter whose topic names none.
UNKNOWN_HALL = "?"


def hall_in_topic(topic: str) -> str:
    """The hall segment of ``halledge/v1/<hall>/...`` if there is a readable one."""
    parts = topic.split("/")
    hall = parts[2] if len(parts) >= 3 else None
    return readable_id(hall, MAX_ID_CHARS) or UNKNOWN_HALL


def safe_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, any broken surrogate escaped (SQLite stores UTF-8
    only, and a topic or message may hold anything)."""
    return text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


def reason_of(err: MalformedMessage) -> str:
    """The ``reason`` of a MalformedMessage (501)."""
    return str(err.details.get("reason", "unknown"))


def message_letter(
    topic: str, payload: bytes, err: MalformedMessage, received_at: float
) -> DeadLetter:
    """A whole message that failed."""
    payload = bytes(payload)
    return DeadLetter(
        hall_id=hall_in_topic(topic),
        scope="message",
        reason=reason_of(err),
        detail=safe_text(str(err), 500),
        topic=safe_text(topic, 300),
        received_at=received_at,
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        payload=payload[:KEEP_BYTES],
    )


def event_letter(
    topic: str, hall_id: str, rejected: RejectedEvent, received_at: float
) -> DeadLetter:
    """One event of a batch that failed; kept whole (it is at most one batch in size)."""
    return _event(topic, hall_id, rejected.wire, reason_of(rejected.error), str(rejected.error),
                  received_at, rejected.device_id, rejected.seq, rejected.event_id)


def refused_letter(
    topic: str, received: Received, reason: str, detail: str, received_at: float
) -> DeadLetter:
    """A valid event the store refused (a seq conflict): kept, not dropped."""
    e = received.event
    return _event(topic, e.hall_id, received.wire.encode("utf-8"), reason, detail, received_at,
                  e.device_id, e.seq, e.event_id)


def _event(
    topic: str, hall_id: str, wire: bytes, reason: str, detail: str, received_at: float,
    device_id: str | None, seq: int | None, event_id: str | None,
) -> DeadLetter:
    return DeadLetter(
        hall_id=hall_id,
        scope="event",
        reason=reason,
        detail=safe_text(detail, 500),
        topic=safe_text(topic, 300),
        received_at=received_at,
        size=len(wire),
        sha256=hashlib.sha256(wire).hexdigest(),
        payload=wire,
        device_id=device_id,
        seq=seq,
        event_id=event_id,
    )


def listing_row(letter: DeadLetter) -> dict[str, object]:
    """One dead letter as the CLI lists it."""
    return {
        "id": letter.id,
        "hall": letter.hall_id,
        "device": letter.device_id,
        "seq": letter.seq,
        "scope": letter.scope,
        "reason": letter.reason,
        "received_at": letter.received_at,
        "received": datetime.fromtimestamp(letter.received_at, HALL_TZ).strftime(
            "%Y-%m-%d %H:%M:%S"
        ),
        "size": letter.size,
        "truncated": letter.truncated,
        "detail": letter.detail,
    }
