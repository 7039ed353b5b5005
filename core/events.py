"""The event: the one record that travels device → flow → journal → MQTT → collector.

Each event carries a globally unique id (for idempotent ingestion), the id of the device that
caused it and that device's monotonic sequence number (for order and gap detection), and the
time it happened on the hall clock. Ticket events also carry the ticket's own timestamps, so
waiting time (issued→called) and time in hall (issued→finished) can be derived from any single
event without a join. The wire form is documented in ``docs/topics.md``.

The receiving side (:func:`decode_batch`, :func:`validate_event`) trusts nothing a hall sends:
a payload passes its size, nesting depth and value checks before any work is done on it, and
a batch is judged event by event, so one bad event never takes its neighbours down with it.
The limits below are the ones ``docs/topics.md`` ("Limits") promises.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from math import isfinite
from typing import Any

from core.errors import MalformedMessage

#: The major schema version: ``v`` of every batch and event. A new major gets a new topic
#: prefix (``halledge/v2``); see docs/topics.md, "Versions".
SCHEMA_VERSION = 1
#: The newest minor version this program knows. An event says its minor in an optional
#: ``minor`` field (absent = 0); a newer minor only adds kinds and optional fields.
SCHEMA_MINOR = 1

KIB = 1024
MIB = 1024 * KIB
#: Largest event-batch payload accepted, in bytes. A full agent batch (100 events of about
#: 400 bytes) is some 40 KB; 1 MiB leaves room for 25 times that.
MAX_BATCH_BYTES = 1 * MIB
#: Largest single event (its compact JSON, UTF-8), in bytes: some 40 times a ticket event.
MAX_EVENT_BYTES = 16 * KIB
#: Most events in one batch (the agent sends at most ``batch_size``, 100 by default).
MAX_BATCH_EVENTS = 1000
#: Deepest nesting of arrays and objects in a payload. A batch is 4 levels deep, an event's
#: ``data`` adds one or two; anything near 32 is not ours.
MAX_DEPTH = 32
#: Longest hall or device id (they appear in MQTT topics; ``core/stored_acks`` takes it too).
MAX_ID_CHARS = 128
#: Longest event id (a UUID4 is 32 hex digits).
MAX_EVENT_ID_CHARS = 64
#: Longest kind name (``ticket.finished`` …).
MAX_KIND_CHARS = 64
#: Longest ticket text field (``ticket_id``, ``ticket_no``, ``service``).
MAX_TEXT_CHARS = 128
#: Integers must fit SQLite's 64-bit INTEGER.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

_KIND_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: A JSON string, or an unterminated one up to the end of the payload. Possessive, so the
#: scan is linear in the payload whatever it holds (no backtracking, no second attempt from
#: an escaped quote).
_NOT_QUOTES_OR_BRACKETS = bytes(b for b in range(256) if b not in b'"[]{}')
#: A string in the quotes-and-brackets skeleton of a payload, or an unterminated one.
_SKELETON_STRING = re.compile(rb'"[^"]*(?:"|\Z)')
#: How the agent lays out every batch (``agent.publisher.batch_payload``); such a payload's
#: events are read one by one, so each keeps its own text as received.
_AGENT_BATCH_HEAD = '{"v":%d,"events":[' % SCHEMA_VERSION
_FLOORS_KEY = ',"floors":'
_DECODER = json.JSONDecoder()
_AS_PARENTHESES = bytes.maketrans(b"[{]}", b"(())")


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
    # Minor 1: what a citizen did at a kiosk function (docs/topics.md, "Kiosk events").
    KIOSK_TRANSACTION = "kiosk.transaction"
    KIOSK_HELP_REQUESTED = "kiosk.help_requested"
    KIOSK_RATED = "kiosk.rated"
    DOCUMENT_PRINTED = "document.printed"
    # Minor 1: what window staff do besides calling (docs/topics.md, "Window operations").
    TICKET_TRANSFERRED = "ticket.transferred"
    TICKET_SKIP_UNDONE = "ticket.skip_undone"
    WINDOW_PAUSED = "window.paused"
    WINDOW_RESUMED = "window.resumed"

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
            KIOSK_TRANSACTION,
            KIOSK_HELP_REQUESTED,
            KIOSK_RATED,
            DOCUMENT_PRINTED,
            TICKET_TRANSFERRED,
            TICKET_SKIP_UNDONE,
            WINDOW_PAUSED,
            WINDOW_RESUMED,
        }
    )
    #: The minor version each kind came with (absent: 0). An event of a newer kind says its
    #: minor, so a collector that predates the kind counts it as a newer version's.
    SINCE_MINOR = {
        KIOSK_TRANSACTION: 1,
        KIOSK_HELP_REQUESTED: 1,
        KIOSK_RATED: 1,
        DOCUMENT_PRINTED: 1,
        TICKET_TRANSFERRED: 1,
        TICKET_SKIP_UNDONE: 1,
        WINDOW_PAUSED: 1,
        WINDOW_RESUMED: 1,
    }
    #: Kinds whose ``data`` carries a ticket and its timestamps.
    TICKETS = frozenset(
        {
            TICKET_ISSUED,
            TICKET_CALLED,
            TICKET_RECALLED,
            TICKET_SKIPPED,
            TICKET_FINISHED,
            TICKET_TRANSFERRED,
            TICKET_SKIP_UNDONE,
        }
    )
    #: Kinds that change a window's state (signed in, paused); ``data`` carries ``window``.
    WINDOWS = frozenset({WINDOW_OPENED, WINDOW_CLOSED, WINDOW_PAUSED, WINDOW_RESUMED})


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
        raw = asdict(self)
        if self.kind in Kind.SINCE_MINOR:
            raw["minor"] = Kind.SINCE_MINOR[self.kind]
        return raw

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, raw: Any) -> Event:
        """Validate and build an event from its wire dict (the hall's own journal rows).

        Raises:
            MalformedMessage (501): a field is missing, of the wrong type, or unknown.
        """
        event = _build(raw)
        if event.v != SCHEMA_VERSION:
            raise MalformedMessage(f"unsupported schema version {event.v}", reason="version")
        if event.kind not in Kind.ALL:
            raise MalformedMessage(f"unknown kind {event.kind!r}", reason="unknown_kind")
        if event.seq < 1 or not event.event_id or not event.hall_id or not event.device_id:
            raise MalformedMessage("empty id or non-positive seq", reason="bad_identity")
        return event


def _build(raw: Any) -> Event:
    """The event a wire dict describes, with every field of the right type; nothing more."""
    if not isinstance(raw, dict):
        raise MalformedMessage("event is not an object", reason="not_object")
    get = raw.get
    kind, hall, device, seq, at, data, event_id, v = (
        get("kind"), get("hall_id"), get("device_id"), get("seq"), get("at"), get("data"),
        get("event_id"), get("v"),
    )
    # The usual event, tested with exact types in one go (the collector's hot path); any
    # doubt falls through to the field-by-field checks below, which say what is wrong.
    if (
        type(kind) is str and type(hall) is str and type(device) is str and type(seq) is int
        and type(at) is float and type(data) is dict and type(event_id) is str and type(v) is int
    ):
        return _event_of_checked(kind, hall, device, seq, at, data, event_id, v)
    try:
        return Event(
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
    except OverflowError as err:  # an integer ``at`` beyond any float
        raise MalformedMessage("field 'at' out of range", reason="int_range") from err


def _event_of_checked(
    kind: str, hall: str, device: str, seq: int, at: float, data: dict[str, Any],
    event_id: str, v: int,
) -> Event:
    """An :class:`Event` from fields already checked, built without the frozen dataclass's
    ``__init__`` (one ``object.__setattr__`` per field: a quarter of the collector's work per
    event). Same object, same equality; only the hot path uses it."""
    event = object.__new__(Event)
    event.__dict__.update(
        kind=kind, hall_id=hall, device_id=device, seq=seq, at=at, data=data,
        event_id=event_id, v=v,
    )
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


# --- the receiving side: limits, then values, event by event ------------------------------


@dataclass(frozen=True)
class TimeWindow:
    """Which event times the receiver believes, relative to its own clock.

    The past bound only catches clocks that are plainly wrong (reset to 1970 or to an RTC's
    2000-01-01, a negative or overflowing number). It must never refuse a real backlog: the
    hall journal keeps an event until the collector stored it, with no age limit
    (``hallstore/retention.py``: transactions are never dropped to make room), so a hall
    offline for days, weeks or months sends events that old. An old event cannot move a
    hall's clock or its metrics (closed days are ignored), so a wide bound costs nothing.

    The future bound is tight: an event from the future would move the hall clock forward,
    age every waiting ticket and, past midnight, close the business day.

    Attributes:
        past_s: how far before the receiver's clock an event may be.
        future_s: how far after it.
    """

    past_s: float = 5 * 366 * 86400.0
    future_s: float = 300.0

    def check(self, at: float, now: float, name: str = "at") -> None:
        """Raises MalformedMessage (501, ``time_past``/``time_future``) outside the window."""
        if at < now - self.past_s:
            raise MalformedMessage(
                f"{name} {at:.6g} is more than {self.past_s / 86400:.0f} days before the "
                "receiver's clock", reason="time_past", field=name,
            )
        if at > now + self.future_s:
            raise MalformedMessage(
                f"{name} {at:.6g} is more than {self.future_s:.0f} s after the receiver's "
                "clock", reason="time_future", field=name,
            )


#: The window the collector applies by default.
TIME_WINDOW = TimeWindow()


def nesting_depth(payload: bytes, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of ``[``/``{`` in a JSON text, found without recursion.

    Strings are cut out first (an unterminated one runs to the end), so brackets inside
    them do not count. For any text, a parser that fails part-way has nested no deeper than
    this before failing, so a payload that passes a limit here cannot exhaust the stack of
    ``json.loads``. Past ``limit`` the count stops: the answer is then only "more than
    ``limit``", found in at most ``limit`` passes over the payload's brackets.

    It runs on every batch before parsing, so it is built from C-speed steps: escaped
    backslashes, then escaped quotes, are dropped (left to right, as a parser pairs them),
    after which every ``"`` left opens or closes a string; only quotes and brackets are kept,
    and the strings among them are cut out of that short text.
    """
    unescaped = payload.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in payload else payload
    skeleton = unescaped.translate(None, _NOT_QUOTES_OR_BRACKETS)
    # Quotes alternate open, close, open …: dropping two adjacent ones only empties a string
    # or joins two, so no bracket moves in or out of a string. Most strings hold no bracket,
    # so this leaves the regex a few quotes at most.
    skeleton = skeleton.replace(b'""', b"")
    nests = _SKELETON_STRING.sub(b"", skeleton).translate(_AS_PARENTHESES)
    # Each round drops every innermost pair, so the rounds count the depth of what is
    # balanced; brackets left unpaired could each open one more level, so they are added.
    depth = 0
    while b"()" in nests:
        nests = nests.replace(b"()", b"")
        depth += 1
        if depth > limit:
            return depth  # deeper than anyone asks about; more rounds would only cost time
    return depth + nests.count(b"(")


def load_json(payload: bytes, max_bytes: int = MAX_BATCH_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse a payload after checking its size, its encoding and its nesting depth.

    Raises:
        MalformedMessage (501): ``too_big``, ``not_json`` (also not UTF-8) or ``too_deep``.
    """
    return _parse(checked_text(payload, max_bytes, max_depth))


def checked_text(
    payload: bytes, max_bytes: int = MAX_BATCH_BYTES, max_depth: int = MAX_DEPTH
) -> str:
    """A payload's text, once its size, its encoding and its nesting depth are checked.

    Numbers are not checked here: ``json.loads`` turns ``1e400`` into ``inf`` without ever
    calling a ``parse_constant`` hook, so :func:`check_values` looks at every number of what
    one event holds instead (and rejects that event alone, not its whole batch).

    Raises:
        MalformedMessage (501): ``too_big``, ``not_json`` (not UTF-8) or ``too_deep``.
    """
    if len(payload) > max_bytes:
        raise MalformedMessage(
            f"payload of {len(payload)} bytes exceeds {max_bytes}", reason="too_big",
            size=len(payload),
        )
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as err:
        raise MalformedMessage("payload is not UTF-8", reason="not_json") from err
    depth = nesting_depth(bytes(payload), max_depth)
    if depth > max_depth:
        raise MalformedMessage(
            f"payload nests {depth} levels deep, more than {max_depth}", reason="too_deep"
        )
    return text


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:  # RecursionError: cannot happen after the scan
        raise MalformedMessage("payload is not JSON", reason="not_json") from err


def check_values(value: Any) -> None:
    """Every number finite and every integer within 64 bits, in any nesting (no recursion).

    Raises:
        MalformedMessage (501): ``non_finite`` (NaN, Infinity, or a float that overflowed)
            or ``int_range``.
    """
    # Exact types: json.loads makes only dict, list, str, int, float, bool and None, and
    # ``type(x) is`` in a plain loop is the cheapest test on the collector's hot path (bool is
    # not int here); only containers go on the stack.
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        members = item.values() if kind is dict else item if kind is list else (item,)
        for member in members:
            kind = type(member)
            if kind is str:
                continue
            if kind is float:
                if not isfinite(member):
                    raise MalformedMessage("a number is not finite", reason="non_finite")
            elif kind is int:
                if not INT_MIN <= member <= INT_MAX:
                    raise MalformedMessage("an integer is out of range", reason="int_range")
            elif kind is dict or kind is list:
                stack.append(member)
            elif isinstance(member, dict | list | float | int) and not isinstance(member, bool):
                stack.append([_plain_copy(member)])  # a subclass, from a caller other than json


def _plain_copy(item: Any) -> Any:
    if isinstance(item, dict):
        return dict(item)
    if isinstance(item, list):
        return list(item)
    return float(item) if isinstance(item, float) else int(item)


def event_wire(raw: Any) -> str:
    """The compact JSON text of a decoded event, as the store keeps it."""
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Received:
    """A valid event as it arrived.

    Attributes:
        event: the event.
        wire: its JSON text as received (fields this program does not know included), which
            is what the collector stores.
        minor: its minor version (0 when it carried none).
    """

    event: Event
    wire: str
    minor: int = 0


def received(event: Event) -> Received:
    """An event built here, as if it had arrived (tests, the hall's own journal)."""
    return Received(event, event.to_json())


def validate_event(
    raw: Any,
    *,
    hall_id: str | None = None,
    now: float | None = None,
    window: TimeWindow = TIME_WINDOW,
    wire: str | None = None,
    plain: bool = False,
) -> Received:
    """Check one event of a batch as the collector receives it.

    Unknown kinds and newer minor versions pass: they are valid events of a newer hall.

    Args:
        raw: the decoded JSON value.
        hall_id: the hall of the topic it came on; the event must name the same.
        now: the receiver's clock; times are checked against ``window`` when given.
        window: the believable event times.
        wire: the event's text as it arrived, when the caller has it (else it is encoded).
        plain: the caller found no backslash and no DEL anywhere in the payload, so no
            control character or lone surrogate can be in any of its texts.

    Raises:
        MalformedMessage (501) with ``reason``: ``not_object``, ``non_finite``,
            ``int_range``, ``event_too_big``, ``bad_text``, ``missing_field``,
            ``wrong_type``, ``version``, ``bad_identity``, ``id_too_long``, ``wrong_hall``,
            ``time_past``, ``time_future`` or ``ticket_order``.
    """
    if not isinstance(raw, dict):
        raise MalformedMessage("event is not an object", reason="not_object")
    check_values(raw)
    if wire is None:
        wire = event_wire(raw)
    # A character is at most 4 bytes of UTF-8: most events need no encoding to be sized.
    if not plain or len(wire) * 4 > MAX_EVENT_BYTES:
        try:
            size = len(wire.encode("utf-8"))
        except UnicodeEncodeError as err:  # a lone surrogate (``"\ud800"``) is no text
            raise MalformedMessage("event holds a broken string", reason="bad_text") from err
        if size > MAX_EVENT_BYTES:
            raise MalformedMessage(
                f"event of {size} bytes exceeds {MAX_EVENT_BYTES}", reason="event_too_big",
                size=size,
            )
    event = _build(raw)
    minor = _minor(raw) if "minor" in raw else 0
    if event.v != SCHEMA_VERSION:
        raise MalformedMessage(f"unsupported schema version {event.v}", reason="version")
    _check_identity(event, plain)
    if hall_id is not None and event.hall_id != hall_id:
        raise MalformedMessage(
            f"event of hall {event.hall_id[:40]!r} on topic of hall {hall_id!r}",
            reason="wrong_hall",
        )
    if now is not None:
        window.check(event.at, now)
    if event.kind in Kind.TICKETS:
        _check_ticket(event.data, now, window)
    received = object.__new__(Received)  # as _event_of_checked: no frozen __init__ here
    received.__dict__.update(event=event, wire=wire, minor=minor)
    return received


def _minor(raw: dict[str, Any]) -> int:
    minor = raw.get("minor", 0)
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        raise MalformedMessage("field 'minor' must be a count", reason="wrong_type", field="minor")
    return minor


def _check_identity(event: Event, plain: bool = False) -> None:
    if event.seq < 1 or not event.event_id or not event.hall_id or not event.device_id:
        raise MalformedMessage("empty id or non-positive seq", reason="bad_identity")
    if (
        plain
        and event.kind in Kind.ALL
        and len(event.hall_id) <= MAX_ID_CHARS
        and len(event.device_id) <= MAX_ID_CHARS
        and len(event.event_id) <= MAX_EVENT_ID_CHARS
    ):
        return  # no control character can be in a plain payload; the kind is one we know
    for name, value, limit in (
        ("hall_id", event.hall_id, MAX_ID_CHARS),
        ("device_id", event.device_id, MAX_ID_CHARS),
        ("event_id", event.event_id, MAX_EVENT_ID_CHARS),
        ("kind", event.kind, MAX_KIND_CHARS),
    ):
        if len(value) > limit:
            raise MalformedMessage(f"{name} longer than {limit}", reason="id_too_long", field=name)
        if _CONTROL.search(value):
            raise MalformedMessage(f"{name} holds control characters", reason="bad_identity")
    if not _KIND_NAME.fullmatch(event.kind):
        raise MalformedMessage("kind is not a dotted name", reason="bad_identity", field="kind")


_TICKET_TIMES = ("issued_at", "called_at", "finished_at")


def _check_ticket(data: dict[str, Any], now: float | None, window: TimeWindow) -> None:
    """Ticket fields present have their types, times are believable and in order."""
    get = data.get
    ticket_id, ticket_no, service = get("ticket_id"), get("ticket_no"), get("service")
    issued, called, finished = get("issued_at"), get("called_at"), get("finished_at")
    # The usual ticket (texts, float times issued ≤ called ≤ finished) in one test on the
    # collector's hot path; anything else is looked at field by field below, which says what
    # is wrong.
    if (
        type(ticket_id) is str and len(ticket_id) <= MAX_TEXT_CHARS
        and type(ticket_no) is str and len(ticket_no) <= MAX_TEXT_CHARS
        and type(service) is str and len(service) <= MAX_TEXT_CHARS
        and type(issued) is float
        and (now is None or now - window.past_s <= issued <= now + window.future_s)
        and (called is None or (
            type(called) is float and issued <= called
            and (now is None or called <= now + window.future_s)))
        and (finished is None or (
            type(finished) is float and called is not None and called <= finished
            and (now is None or finished <= now + window.future_s)))
    ):
        return
    for name in ("ticket_id", "ticket_no", "service"):
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise MalformedMessage(f"{name} must be text", reason="wrong_type", field=name)
        if len(value) > MAX_TEXT_CHARS:
            raise MalformedMessage(f"{name} too long", reason="id_too_long", field=name)
    times: list[tuple[str, float]] = []
    for name in _TICKET_TIMES:
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MalformedMessage(f"{name} must be a time", reason="wrong_type", field=name)
        if now is not None:
            window.check(float(value), now, name)
        times.append((name, float(value)))
    for (first, a), (then, b) in zip(times, times[1:]):
        if b < a:
            raise MalformedMessage(f"{then} is before {first}", reason="ticket_order", field=then)


@dataclass(frozen=True)
class RejectedEvent:
    """One event of a batch that did not validate; it is dead-lettered alone.

    Attributes:
        index: its place in the batch.
        wire: its JSON text (ASCII-escaped, so any string survives), kept whole.
        error: why it was refused (``error.details["reason"]``).
        device_id: its device, when that could be read.
        seq: its seq, when that could be read.
        event_id: its id, when that could be read.
    """

    index: int
    wire: bytes
    error: MalformedMessage
    device_id: str | None = None
    seq: int | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class DecodedBatch:
    """An event batch judged event by event.

    Attributes:
        events: the valid events, in batch order.
        rejected: the events that are not.
        floors: per device, the lowest seq the hall still holds (well-formed entries only).
        bad_floors: floor entries that were not a device id and a seq, ignored.
    """

    events: list[Received]
    rejected: list[RejectedEvent]
    floors: dict[str, int]
    bad_floors: int = 0


def decode_batch(
    payload: bytes,
    *,
    hall_id: str | None = None,
    now: float | None = None,
    window: TimeWindow = TIME_WINDOW,
) -> DecodedBatch:
    """Parse an event-batch payload and judge each event on its own.

    Args:
        payload: the MQTT payload.
        hall_id: the hall of the topic; every event must name it.
        now: the receiver's clock, for the time window (not checked when None).
        window: the believable event times.

    Raises:
        MalformedMessage (501): the payload fails as a whole: ``too_big``, ``not_json``,
            ``too_deep``, ``version`` (no ``v`` of 1), ``empty`` (no event list) or
            ``too_many`` events. An invalid *event* does not raise; it is in ``rejected``.
    """
    text = checked_text(payload)
    # JSON writes a control character or a lone surrogate only as a backslash escape (DEL
    # may stand as itself): without either, no text of the payload can hold one.
    plain = b"\\" not in payload and b"\x7f" not in payload
    agent_batch = _agent_batch(text) if text.startswith(_AGENT_BATCH_HEAD) else None
    if agent_batch is not None:
        raws, wires, floors_raw = agent_batch
        body: Any = {"v": SCHEMA_VERSION, "events": raws, "floors": floors_raw}
    else:
        body, wires = _parse(text), None
    version = body.get("v") if isinstance(body, dict) else None
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise MalformedMessage("batch has no supported version", reason="version")
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise MalformedMessage("batch has no events", reason="empty")
    if len(events) > MAX_BATCH_EVENTS:
        raise MalformedMessage(
            f"batch of {len(events)} events exceeds {MAX_BATCH_EVENTS}", reason="too_many"
        )
    good: list[Received] = []
    bad: list[RejectedEvent] = []
    for index, raw in enumerate(events):
        try:
            good.append(validate_event(
                raw, hall_id=hall_id, now=now, window=window,
                wire=None if wires is None else wires[index], plain=plain,
            ))
        except MalformedMessage as err:
            bad.append(_rejected(index, raw, err))
    floors, bad_floors = _floors(body.get("floors"))
    return DecodedBatch(good, bad, floors, bad_floors)


def _agent_batch(text: str) -> tuple[list[Any], list[str], Any] | None:
    """The events of a batch laid out as the agent lays them out, each with its own text as
    received, and the floors; None when the text is laid out any other way (it is then
    parsed whole, and each event's text encoded again).

    Reading event by event with the same C scanner costs no more than one ``json.loads``,
    and spares encoding every event again only to store it.
    """
    raws: list[Any] = []
    wires: list[str] = []
    at = len(_AGENT_BATCH_HEAD)
    try:
        while True:
            raw, end = _DECODER.raw_decode(text, at)
            raws.append(raw)
            wires.append(text[at:end])
            if text.startswith(",", end):
                at = end + 1
            elif text.startswith("]", end):
                at = end + 1
                break
            else:
                return None
        if text.startswith("}", at) and at + 1 == len(text):
            return raws, wires, None
        if text.startswith(_FLOORS_KEY, at) and text.endswith("}"):
            floors, end = _DECODER.raw_decode(text, at + len(_FLOORS_KEY))
            return (raws, wires, floors) if end == len(text) - 1 else None
    except (ValueError, RecursionError):
        return None  # parsed whole again, where the error is reported as usual
    return None


def _rejected(index: int, raw: Any, err: MalformedMessage) -> RejectedEvent:
    wire = json.dumps(raw, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    device = seq = event_id = None
    if isinstance(raw, dict):
        device = readable_id(raw.get("device_id"), MAX_ID_CHARS)
        event_id = readable_id(raw.get("event_id"), MAX_EVENT_ID_CHARS)
        value = raw.get("seq")
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= INT_MAX:
            seq = value
    return RejectedEvent(index, wire, err, device, seq if device is not None else None, event_id)


def readable_id(value: Any, limit: int) -> str | None:
    """``value`` if it is a non-empty text of at most ``limit`` characters, without control
    characters or broken surrogates; else None."""
    if not isinstance(value, str) or not value or len(value) > limit or _CONTROL.search(value):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _floors(raw: Any) -> tuple[dict[str, int], int]:
    if raw is None:
        return {}, 0
    if not isinstance(raw, dict):
        return {}, 1
    floors: dict[str, int] = {}
    bad = 0
    for device, seq in raw.items():
        ok_seq = isinstance(seq, int) and not isinstance(seq, bool) and 1 <= seq <= INT_MAX
        if ok_seq and readable_id(device, MAX_ID_CHARS) is not None:
            floors[device] = seq
        else:
            bad += 1
    return floors, bad


def read_stored(wire: str) -> Event | None:
    """An event from the text the collector stored, or None if it is not one.

    Lenient on purpose: unknown kinds and newer minors are valid stored events. Values are
    not checked here; a reader that needs them believable validates them itself.
    """
    try:
        raw = json.loads(wire)
        return _build(raw)
    except (ValueError, RecursionError, TypeError, MalformedMessage):
        return None
