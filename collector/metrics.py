"""Per-hall, per-service queue metrics rebuilt from the event stream.

The collector sees a hall only through its events, and those arrive late, twice, and out of
order across devices (a PAD that was offline uploads its ``ticket.called`` after the kiosk's
``ticket.issued`` of a later ticket, or even before the ``ticket.issued`` of the same ticket).
Every ticket event carries the ticket's own timestamps, so each event is folded into one
record per ticket whose fields are only ever filled in, never taken back: state moves forward
only, and a duplicate changes nothing.

A snapshot is then a pure function of those records and a time ``now``: a ticket counts as
waiting at ``now`` if it was issued at or before ``now`` and not called by then. The collector
passes the hall's event-time watermark as ``now`` so a simulated morning behaves like a real one.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.clock import at_hall_time, business_day
from core.config import HallConfig
from collector.kiosk_usage import KioskUsage
from core.events import Event, Kind

#: Tickets called this recently still count towards the peak wait (reference B4: W_wait).
CALLED_LOOKBACK_S = 15 * 60
#: Lookback for arrivals and for finished tickets' time in hall.
RECENT_S = 30 * 60
#: How many recent services feed the average handling time (same sample as the kiosk estimate).
AHT_SAMPLE = 20
#: A ticket whose life ended (finished, skipped, expired, withdrawn) and whose every time lies
#: this far before a snapshot counts in it, and in every later one, only as a number: served
#: or skipped, and a handling time. Past both lookbacks above.
SETTLED_AFTER_S = max(CALLED_LOOKBACK_S, RECENT_S)
#: Handling time used when neither history nor the hall config knows the service.
DEFAULT_AHT_S = 300.0
#: Longest believable handling time (call → finish); longer ones, and negative ones from
#: events that disagree about a ticket, stay out of the average.
MAX_HANDLING_S = 12 * 3600.0

#: Ticket kinds that send a ticket back in its life instead of forward.
_SENT_BACK = frozenset({Kind.TICKET_TRANSFERRED, Kind.TICKET_SKIP_UNDONE})
_RANK = {"waiting": 0, "called": 1, "skipped": 2, "finished": 2, "expired": 2, "withdrawn": 2}
#: ``ticket.skipped`` reasons that are not a no-show at a window (``docs/topics.md``): the day
#: closed on the ticket (未办理), or the hall box withdrew a ticket nobody held because the
#: kiosk gave the citizen an offline one instead (counting it would count the citizen twice).
_SKIP_REASON_STATE = {"expired": "expired", "replaced": "withdrawn"}
_KIND_STATE = {
    Kind.TICKET_ISSUED: "waiting",
    Kind.TICKET_CALLED: "called",
    Kind.TICKET_RECALLED: "called",
    Kind.TICKET_SKIPPED: "skipped",
    Kind.TICKET_FINISHED: "finished",
}


@dataclass
class TicketRecord:
    """One ticket as its events tell it (the live metrics and the day's KPIs alike)."""

    ticket_id: str
    ticket_no: str
    service: str
    issued_at: float
    state: str = "waiting"
    window: int | None = None
    called_at: float | None = None
    finished_at: float | None = None
    #: (at, seq) of the last event that sent the ticket back (a transfer, an undone skip):
    #: events from before it describe a life the ticket no longer has.
    reset: tuple[float, int] = (-math.inf, 0)

    def fold(self, state: str, data: dict[str, Any], stamp: tuple[float, int]) -> None:
        """Merge one event's facts; fields fill in once, state only moves forward."""
        if stamp < self.reset:
            return
        if _RANK[state] > _RANK[self.state]:
            self.state = state
        if self.called_at is None and data.get("called_at") is not None:
            self.called_at = float(data["called_at"])
            self.window = _int_or_none(data.get("window"))
        if self.finished_at is None and data.get("finished_at") is not None:
            self.finished_at = float(data["finished_at"])

    def send_back(self, kind: str, data: dict[str, Any], stamp: tuple[float, int]) -> None:
        """A transfer (waiting again, maybe for another service) or an undone skip (called
        again): the newest such event wins, and older calls, skips and finishes no longer
        count."""
        if stamp < self.reset:
            return
        self.reset = stamp
        self.finished_at = None
        if kind == Kind.TICKET_TRANSFERRED:
            self.state, self.called_at, self.window = "waiting", None, None
            self.service = str(data.get("service", self.service))
        else:
            self.state = "called"
            called_at = data.get("called_at")
            self.called_at = float(called_at) if called_at is not None else self.called_at
            self.window = _int_or_none(data.get("window")) or self.window


@dataclass
class _Window:
    is_open: bool
    services: tuple[str, ...]
    #: (at, seq) of the event that set this state, so a late event cannot undo a newer one.
    stamp: tuple[float, int]


@dataclass(frozen=True)
class ServiceSnapshot:
    """The queue of one business type at one moment on the hall clock.

    Attributes:
        wait_s: the peak waiting metric: the longest of the oldest waiting ticket's age and the
            waits of tickets called in the last 15 minutes.
        avg_wait_s: mean over the same tickets as ``wait_s``.
        time_in_hall_s: the peak time-in-hall metric: the longest of finished tickets' time in
            hall (last 30 minutes) and the age of the oldest ticket still in the hall, which is
            a lower bound on its own time in hall.
        time_in_hall_avg_s: mean time in hall of tickets finished in the last 30 minutes.
        arrivals_30m: tickets issued in the last 30 minutes.
        served_count: tickets finished this business day up to ``at``.
        aht_s: average handling time (call → finish) of the last services, or the configured one.
        open_windows: numbers of the signed-in windows that serve this service.
    """

    hall: str
    service: str
    at: float
    waiting_count: int
    oldest_wait_s: float
    wait_s: float
    avg_wait_s: float
    time_in_hall_s: float
    time_in_hall_avg_s: float
    arrivals_30m: int
    served_count: int
    skipped_count: int
    aht_s: float
    open_windows: tuple[int, ...]

    def value(self, metric: str) -> float:
        """The value of a warning metric (``wait_s``, ``time_in_hall_s``, ``waiting_count``)."""
        return float(getattr(self, metric))

    def to_dict(self) -> dict[str, Any]:
        return {
            "hall": self.hall,
            "service": self.service,
            "at": self.at,
            "waiting_count": self.waiting_count,
            "oldest_wait_s": self.oldest_wait_s,
            "wait_s": self.wait_s,
            "avg_wait_s": self.avg_wait_s,
            "time_in_hall_s": self.time_in_hall_s,
            "time_in_hall_avg_s": self.time_in_hall_avg_s,
            "arrivals_30m": self.arrivals_30m,
            "served_count": self.served_count,
            "skipped_count": self.skipped_count,
            "aht_s": self.aht_s,
            "open_windows": list(self.open_windows),
        }


@dataclass(frozen=True)
class HallSnapshot:
    """All services of one hall plus hall-wide totals."""

    hall: str
    at: float
    waiting_count: int
    wait_s: float
    time_in_hall_s: float
    arrivals_30m: int
    served_count: int
    open_windows: tuple[int, ...]
    services: tuple[ServiceSnapshot, ...]
    rating_avg: float | None
    rating_count: int
    device_health: dict[str, str] = field(default_factory=dict)
    kiosk: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hall": self.hall,
            "at": self.at,
            "waiting_count": self.waiting_count,
            "wait_s": self.wait_s,
            "time_in_hall_s": self.time_in_hall_s,
            "arrivals_30m": self.arrivals_30m,
            "served_count": self.served_count,
            "open_windows": list(self.open_windows),
            "rating_avg": self.rating_avg,
            "rating_count": self.rating_count,
            "device_health": dict(self.device_health),
            "kiosk": self.kiosk,
            "services": [s.to_dict() for s in self.services],
        }


class _Figures:
    """One service's tickets at a moment, sorted by what the snapshot asks of them."""

    __slots__ = ("ages", "called", "served", "recent_hall", "in_hall", "arrivals", "skipped")

    def __init__(self) -> None:
        self.ages: list[float] = []  # waiting at ``now``: now − issued
        self.called: list[float] = []  # called in the last 15 min: called − issued
        self.served: list[TicketRecord] = []  # finished (served) by ``now``
        self.recent_hall: list[float] = []  # served in the last 30 min: finished − issued
        self.in_hall: list[float] = []  # still in the hall at ``now``: now − issued
        self.arrivals = 0  # issued in the last 30 min
        self.skipped = 0  # finished by ``now`` as a no-show


class _Settled:
    """A hall's tickets whose part in every snapshot at or after ``horizon`` (less
    :data:`SETTLED_AFTER_S`) is fixed, kept as that part: a busy hall's day is mostly such
    tickets, and every evaluation walked all of them again.

    Any event about one of them sends them all back to the hall's active tickets
    (:meth:`HallMetrics._unsettle`): events about an ended ticket are rare (a late
    duplicate, a transfer), and nothing is then settled wrong.
    """

    __slots__ = ("horizon", "ids", "served", "skipped", "handled", "services")

    def __init__(self) -> None:
        self.horizon = -math.inf  # the latest cutoff tickets were settled at
        self.ids: set[str] = set()
        # Plain dicts, read with .get: a Counter's missing key costs a Python call, and
        # every evaluation asks for every service.
        self.served: dict[str, int] = {}  # per service
        self.skipped: dict[str, int] = {}
        #: per service, the latest :data:`AHT_SAMPLE` (finished_at, handling) pairs, sorted
        self.handled: dict[str, list[tuple[float, float]]] = {}
        self.services: set[str] = set()

    def add(self, ticket: TicketRecord) -> None:
        self.ids.add(ticket.ticket_id)
        service = ticket.service
        self.services.add(service)
        if ticket.finished_at is None:
            return  # ended without a finish time: counts in no figure
        if ticket.state == "finished":
            self.served[service] = self.served.get(service, 0) + 1
            handling = _handling_s(ticket)
            if handling is not None:
                tail = self.handled.setdefault(service, [])
                insort(tail, (ticket.finished_at, handling))
                del tail[:-AHT_SAMPLE]
        elif ticket.state == "skipped":
            self.skipped[service] = self.skipped.get(service, 0) + 1


#: The states a ticket's life ends in.
_ENDED = frozenset({"finished", "skipped", "expired", "withdrawn"})


class _HallState:
    def __init__(self) -> None:
        self.day: str | None = None
        #: [start, end) of ``day`` in epoch seconds: one comparison instead of formatting a
        #: date for every event (the hall's zone has a fixed offset, so a day is 86,400 s).
        self.day_span: tuple[float, float] = (math.inf, -math.inf)
        self.watermark: float | None = None
        self.tickets: dict[str, TicketRecord] = {}
        #: ``tickets`` less the settled ones, in the same order
        self.active: dict[str, TicketRecord] = {}
        self.settled = _Settled()
        self.windows: dict[int, _Window] = {}
        self.ratings: dict[str, int] = {}  # ticket_id -> level: one rating per ticket
        self.health: dict[str, tuple[float, str]] = {}
        self.kiosk = KioskUsage()


class HallMetrics:
    """Folds events into per-hall queue state and answers snapshots.

    Not thread-safe: the caller serialises access (see :class:`collector.monitor.HallMonitor`).

    Args:
        halls: hall configurations by hall id, for window→services and configured handling
            times. A hall not listed still gets metrics, from what its events say.
    """

    def __init__(self, halls: dict[str, HallConfig] | None = None) -> None:
        self._configs = dict(halls or {})
        self._halls: dict[str, _HallState] = {}

    # --- feeding ----------------------------------------------------------------------

    def observe(self, event: Event) -> None:
        """Fold one event in. Duplicates and late arrivals are harmless; kinds this program
        does not know (from a newer hall) are ignored, and do not move the hall clock."""
        hall = self._halls.get(event.hall_id)
        if hall is None:
            hall = self._halls[event.hall_id] = _HallState()
        if event.kind not in Kind.ALL:
            return
        if hall.watermark is None or event.at > hall.watermark:
            hall.watermark = event.at
            self._roll_day(hall)
        if event.kind in Kind.TICKETS:
            self._observe_ticket(hall, event)
        elif event.kind in Kind.WINDOWS:
            self._observe_window(event.hall_id, hall, event)
        elif event.kind == Kind.RATING_SUBMITTED:
            self._observe_rating(hall, event)
        elif event.kind == Kind.DEVICE_HEALTH:
            self._observe_health(hall, event)
        elif hall.day_span[0] <= event.at < hall.day_span[1]:
            hall.kiosk.observe(event)

    def _observe_health(self, hall: _HallState, event: Event) -> None:
        device = str(event.data.get("device", event.device_id))
        seen = hall.health.get(device)
        if seen is None or event.at >= seen[0]:
            hall.health[device] = (event.at, str(event.data.get("state", "unknown")))

    def observe_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.observe(event)

    # --- reading ----------------------------------------------------------------------

    def halls(self) -> list[str]:
        return sorted(self._halls)

    def watermark(self, hall: str) -> float | None:
        """The hall clock as the events tell it: the latest event time seen, or None."""
        state = self._halls.get(hall)
        return None if state is None else state.watermark

    def services(self, hall: str) -> list[str]:
        """Configured services first (in config order), then any others seen in events."""
        config = self._configs.get(hall)
        codes = [s.code for s in config.services] if config else []
        state = self._halls.get(hall)
        if state is not None:
            seen = {t.service for t in state.active.values()} | state.settled.services
            codes.extend(sorted(seen - set(codes)))
        return codes

    def snapshot(self, hall: str, service: str, now: float) -> ServiceSnapshot:
        """The queue of one service at ``now`` (hall clock)."""
        return self.snapshots(hall, now, [service])[0]

    def snapshots(
        self, hall: str, now: float, services: list[str] | None = None
    ) -> list[ServiceSnapshot]:
        """The queue of each service at ``now`` (hall clock), every service of the hall by
        default: one pass over the hall's tickets for all of them, since every evaluation
        asks for every service."""
        state = self._halls.get(hall) or _HallState()
        codes = self.services(hall) if services is None else services
        figures = {code: _Figures() for code in codes}
        called_since, recent_since = now - CALLED_LOOKBACK_S, now - RECENT_S
        settled = state.settled
        cutoff = now - SETTLED_AFTER_S
        # Snapshots go forward with the hall clock; one further back than the settled
        # tickets were settled at (a replay, a question about the past) walks them all.
        use_settled = cutoff >= settled.horizon
        ended: list[TicketRecord] = []
        for t in (state.active if use_settled else state.tickets).values():
            f = figures.get(t.service)
            if f is None or t.issued_at > now:
                continue
            issued, called, finished = t.issued_at, t.called_at, t.finished_at
            if (
                issued < cutoff and use_settled and t.state in _ENDED
                and (called is None or called < cutoff) and (finished is None or finished < cutoff)
            ):
                ended.append(t)  # counted below as it is now, and from the settled next time
            if t.state == "withdrawn":
                continue
            if recent_since < issued:
                f.arrivals += 1
            if called is not None:
                if called > now:
                    f.ages.append(now - issued)  # called later than now: still waiting then
                elif called_since <= called:
                    f.called.append(called - issued)
            elif t.state == "waiting":
                f.ages.append(now - issued)
            if finished is not None:
                if finished <= now:
                    if t.state == "finished":
                        f.served.append(t)
                        if recent_since <= finished:
                            f.recent_hall.append(finished - issued)
                    elif t.state == "skipped":
                        f.skipped += 1
                else:
                    f.in_hall.append(now - issued)
            elif _RANK[t.state] < _RANK["finished"]:
                f.in_hall.append(now - issued)
        if not use_settled:
            settled = _Settled()  # every ticket was walked: the settled ones are in figures
        out = []
        for code in codes:
            f = figures[code]
            waits = f.ages + f.called
            out.append(_snapshot(
                hall=hall,
                service=code,
                at=now,
                waiting_count=len(f.ages),
                oldest_wait_s=max(f.ages, default=0.0),
                wait_s=max(waits, default=0.0),
                avg_wait_s=_mean(waits),
                time_in_hall_s=max(f.recent_hall + f.in_hall, default=0.0),
                time_in_hall_avg_s=_mean(f.recent_hall),
                arrivals_30m=f.arrivals,
                served_count=len(f.served) + settled.served.get(code, 0),
                skipped_count=f.skipped + settled.skipped.get(code, 0),
                aht_s=self._aht(hall, code, f.served, settled.handled.get(code)),
                open_windows=self._open_windows(hall, state, code),
            ))  # fmt: skip
        if use_settled:
            settled.horizon = cutoff
            for t in ended:  # mostly none
                settled.add(t)
                del state.active[t.ticket_id]
        return out

    def hall_snapshot(self, hall: str, now: float) -> HallSnapshot:
        """Every service of a hall at ``now`` plus hall-wide totals."""
        services = tuple(self.snapshots(hall, now))
        state = self._halls.get(hall) or _HallState()
        levels = list(state.ratings.values())
        return HallSnapshot(
            hall=hall,
            at=now,
            waiting_count=sum(s.waiting_count for s in services),
            wait_s=max((s.wait_s for s in services), default=0.0),
            time_in_hall_s=max((s.time_in_hall_s for s in services), default=0.0),
            arrivals_30m=sum(s.arrivals_30m for s in services),
            served_count=sum(s.served_count for s in services),
            open_windows=tuple(sorted(n for n, w in state.windows.items() if w.is_open)),
            services=services,
            rating_avg=round(sum(levels) / len(levels), 2) if levels else None,
            rating_count=len(levels),
            device_health={d: s for d, (_, s) in sorted(state.health.items())},
            kiosk=state.kiosk.to_dict(),
        )

    # --- internals --------------------------------------------------------------------

    def _roll_day(self, hall: _HallState) -> None:
        """Drop yesterday's tickets: numbers restart at midnight and nobody waits overnight."""
        assert hall.watermark is not None
        if hall.day_span[0] <= hall.watermark < hall.day_span[1]:
            return
        day = business_day(hall.watermark)
        if day == hall.day:
            return
        hall.day = day
        start = at_hall_time(day, "00:00")
        hall.day_span = (start, start + 86400.0)
        hall.tickets = {k: t for k, t in hall.tickets.items() if business_day(t.issued_at) == day}
        self._unsettle(hall)
        hall.ratings.clear()
        hall.kiosk = KioskUsage()

    def _observe_ticket(self, hall: _HallState, event: Event) -> None:
        data = event.data
        issued_at = data.get("issued_at")
        if (
            hall.day is not None
            and isinstance(issued_at, int | float)
            and not hall.day_span[0] <= issued_at < hall.day_span[1]
        ):
            return  # a late event from a day already closed
        ticket_id = data.get("ticket_id")
        if ticket_id is None:
            return  # fold_ticket would ignore it: a ticket without identity tells nothing
        ticket_id = str(ticket_id)
        if ticket_id in hall.settled.ids:
            self._unsettle(hall)
        fold_ticket(hall.tickets, event)
        ticket = hall.tickets.get(ticket_id)
        if ticket is not None:
            hall.active[ticket_id] = ticket

    @staticmethod
    def _unsettle(hall: _HallState) -> None:
        hall.settled = _Settled()
        hall.active = dict(hall.tickets)

    def _observe_window(self, hall_id: str, hall: _HallState, event: Event) -> None:
        number = _int_or_none(event.data.get("window"))
        if number is None:
            return
        stamp = (event.at, event.seq)
        known = hall.windows.get(number)
        if known is not None and stamp < known.stamp:
            return
        services = self._window_services(hall_id, number, event.data.get("services"))
        if not services and known is not None:
            services = known.services
        # A paused window (window.paused) serves nobody: not open until window.resumed.
        serving = event.kind in (Kind.WINDOW_OPENED, Kind.WINDOW_RESUMED)
        hall.windows[number] = _Window(serving, services, stamp)

    def _observe_rating(self, hall: _HallState, event: Event) -> None:
        level = event.data.get("level")
        ticket_id = event.data.get("ticket_id")
        if isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= 5 and ticket_id:
            hall.ratings[str(ticket_id)] = level

    def _window_services(self, hall_id: str, number: int, announced: Any) -> tuple[str, ...]:
        # The hall config is the authority on what a window serves; the event's list is only
        # used for halls the collector has no config for.
        config = self._configs.get(hall_id)
        if config is not None:
            for w in config.windows:
                if w.no == number:
                    return w.services
        if isinstance(announced, list):
            return tuple(str(s) for s in announced)
        return ()

    def _open_windows(self, hall: str, state: _HallState, service: str) -> tuple[int, ...]:
        return tuple(
            sorted(n for n, w in state.windows.items() if w.is_open and service in w.services)
        )

    def _aht(
        self, hall: str, service: str, served: list[TicketRecord],
        settled: list[tuple[float, float]] | None = None,
    ) -> float:
        handled = [(t.finished_at or 0.0, h) for t in served if (h := _handling_s(t)) is not None]
        if settled:
            handled.extend(settled)
        if handled:
            # By finish time, then handling time: the sample is the same whichever order
            # the tickets come in (settled or not), and so is its sum.
            handled.sort()
            return _mean([h for _, h in handled[-AHT_SAMPLE:]])
        config = self._configs.get(hall)
        if config is not None:
            for s in config.services:
                if s.code == service:
                    return s.aht_s
        return DEFAULT_AHT_S


def _snapshot(**fields: Any) -> ServiceSnapshot:
    """A :class:`ServiceSnapshot` built without the frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field, 14 of them, for every service of every evaluation).
    The same object; only :meth:`HallMetrics.snapshots` uses it, with every field given."""
    snap = object.__new__(ServiceSnapshot)
    snap.__dict__.update(fields)
    return snap


def fold_ticket(tickets: dict[str, TicketRecord], event: Event) -> None:
    """Fold one ticket event into the records by ticket id: the one rule for a ticket's
    life, which the live metrics and the day's KPIs share. A transfer moves the ticket to
    its new service (waiting again, its place kept by issue time) and an undone skip calls
    it again; events older than the newest of those no longer count."""
    state = _KIND_STATE.get(event.kind)
    if state is None and event.kind not in _SENT_BACK:
        return
    data = event.data
    if state == "skipped":
        state = _SKIP_REASON_STATE.get(str(data.get("reason")), state)
    try:
        ticket_id = str(data["ticket_id"])
        issued_at = float(data["issued_at"])
        service = str(data["service"])
    except (KeyError, TypeError, ValueError):
        return  # the ingestor validated the envelope; a ticket without identity tells nothing
    ticket = tickets.get(ticket_id)
    if ticket is None:
        ticket = TicketRecord(ticket_id, str(data.get("ticket_no", "")), service, issued_at)
        tickets[ticket_id] = ticket
    stamp = (event.at, event.seq)
    if state is None:
        ticket.send_back(event.kind, data, stamp)
    else:
        ticket.fold(state, data, stamp)


def _handling_s(ticket: TicketRecord) -> float | None:
    """Call → finish of a served ticket, if believable. Each event is checked for order on
    arrival, but a ticket's times come from several events, which can disagree."""
    if ticket.called_at is None or ticket.finished_at is None:
        return None
    handling = ticket.finished_at - ticket.called_at
    return handling if 0 < handling <= MAX_HANDLING_S else None


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
