"""A hall's KPIs for one business day, from its stored events: what the wall screen shows
live and ``python main.py report`` writes for managers.

Per hall, service and day (seed 000 rows 4 and 40–41, seed 003 §1.12.3):

- **waits and time in hall against the promise**: every called ticket's wait (issued →
  called) and every served ticket's time in hall (issued → finished), their mean, P90 and
  maximum, and the share within the hall's *promised* yellow level (``[thresholds]``: the
  level the hall tells citizens, not the baseline's usual-high);
- **handling times per window and per staff member** (call → finish of served tickets); a
  ticket belongs to whoever signed the window in last before it was called
  (``window.opened`` carries ``staff_id``);
- **好差评**: the distribution of levels 1–5 (one per ticket at the windows, one per event at
  the kiosks), the share satisfied (4–5), and the follow-up rate of the day's 差评 (moved past
  待核实) and their 办结 rate;
- **自助机办件率** per item: kiosk transactions done over the platform's total of the item
  (:mod:`collector.platform_totals`); without the platform's file the rate is absent and the
  state says 平台总量未接入, never a guess;
- **device availability**: the share of the day's open hours each device was usable, from its
  ``device.health`` changes (ok/warning usable; error, offline, unknown not), plus, live, an
  outage the presence view reports now;
- **trends**: arrivals and the waiting metric per 30-minute slot, beside the weekly baseline
  of the same weekday (:mod:`collector.baseline`): its mean arrivals and its P80/P95 levels;
- **the wait on the ticket**: each estimate told beside the actual wait, per service and
  hour of issue: MAE, bias, the share and size of underestimates, the share inside the range
  (:mod:`collector.wait_accuracy`).

Everything here is a pure function of events and the other inputs, so a report of a past day
and the live screen agree.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from statistics import fmean
from typing import Any

from collector.baseline import SAMPLE_STEP_S, BaselineTable, quantile, slot_of
from collector.kiosk_usage import KioskUsage
from collector.metrics import MAX_HANDLING_S, HallMetrics, TicketRecord, fold_ticket
from collector.wait_accuracy import day_accuracy
from collector.platform_totals import DayTotals
from core.clock import at_hall_time, business_day, hall_time
from core.config import HallConfig, Thresholds
from core.events import Event, Kind
from core.floor_plan import auto_layout

#: Health states in which a device still serves citizens (a printer low on paper prints).
USABLE = frozenset({"ok", "warning"})
#: A window that pauses (暂停服务, the PAD) stays signed in; a hall whose release predates
#: these kinds never shows a paused window.
WINDOW_PAUSED, WINDOW_RESUMED = "window.paused", "window.resumed"
_KINDS = Kind.ALL | {WINDOW_PAUSED, WINDOW_RESUMED}
STATE_TEXT = {"serving": "办理中", "idle": "空闲", "paused": "暂停", "closed": "未开放"}
PLATFORM_MISSING = "平台总量未接入"


@dataclass
class KpiInputs:
    """What the KPIs of one hall and day are computed from, besides the events.

    Attributes:
        config: the hall (names, windows, the promise); None for a hall without one.
        baseline: the weekly baseline to compare the day with (None: no comparison).
        bad_ratings: the hall's 差评 rows (``BadRating.to_dict()``), any day; the day's are used.
        platform: the platform's totals of the day, or None (平台总量未接入).
        presence: the presence view's devices of the hall (live only; empty for a report).
    """

    config: HallConfig | None = None
    baseline: BaselineTable | None = None
    bad_ratings: list[dict[str, Any]] = field(default_factory=list)
    platform: DayTotals | None = None
    presence: list[dict[str, Any]] = field(default_factory=list)


def day_kpis(
    hall: str, day: str, events: Iterable[Event], inputs: KpiInputs, until: float | None = None
) -> dict[str, Any]:
    """The KPIs of ``hall`` on business ``day``, JSON-ready.

    Args:
        events: the hall's events, any order, any day (others are ignored), duplicates
            harmless (ticket facts fill in once; kiosk events count once per device and seq).
        until: hall time the day is read at (the live screen's "now"); the day's last event
            by default.
    """
    today = [e for e in events if e.kind in _KINDS and business_day(e.at) == day]
    ticket_events = [e for e in today if e.kind in Kind.TICKETS]
    if until is None:
        until = max((e.at for e in today), default=None)
    config = inputs.config
    promise = config.thresholds if config else Thresholds()
    names = {s.code: s.name for s in config.services} if config else {}
    tickets = _fold_tickets(ticket_events, until)
    openings = _openings(today)
    body: dict[str, Any] = {
        "v": 1,
        "hall": hall,
        "name": config.name if config else hall,
        "day": day,
        "until": until,
        "until_clock": hall_time(until).strftime("%H:%M") if until is not None else None,
        "promise": {"wait_s": promise.wait_s.yellow,
                    "time_in_hall_s": promise.time_in_hall_s.yellow},
    }
    services = _service_codes(config, tickets)
    body["services"] = [
        {"service": code, "name": names.get(code, code)}
        | _queue_figures([t for t in tickets if t.service == code], promise)
        for code in services
    ]
    body["totals"] = _queue_figures(tickets, promise)
    body["windows"], body["staff"] = _handling(tickets, openings)
    body["ratings"] = _ratings(today, day, inputs.bad_ratings)
    body["kiosk"] = _kiosk_rate(today, inputs.platform)
    body["devices"] = _devices(today, until, inputs.presence)
    body["trend"] = _trend(hall, config, ticket_events, until, inputs.baseline, promise)
    so_far = [e for e in ticket_events if until is None or e.at <= until]
    body["wait_estimate"] = day_accuracy(so_far, day)
    return body


def live_floor(
    hall: str, config: HallConfig | None, events: Iterable[Event], until: float | None
) -> dict[str, Any]:
    """The floor plan with each window's state at ``until`` (大厅平面图 + 窗口信息, seed 004)."""
    today = list(events)
    tickets = _fold_tickets([e for e in today if e.kind in Kind.TICKETS], until)
    names = {s.code: s.name for s in config.services} if config else {}
    numbers = sorted({w.no for w in config.windows} if config else set())
    states = _window_states(today, tickets, until)
    numbers = sorted(set(numbers) | set(states))
    plan = auto_layout(numbers, config.floor if config else None)
    served = Counter(t.window for t in tickets if t.state == "finished")
    serves = {w.no: list(w.services) for w in config.windows} if config else {}
    windows = []
    for no in numbers:
        st = states.get(no, {"state": "closed"})
        current = st.get("ticket")
        windows.append({
            "window": no,
            "state": st["state"],
            "state_text": STATE_TEXT[st["state"]],
            "staff_id": st.get("staff_id"),
            "ticket_no": current.ticket_no if current else None,
            "service_name": names.get(current.service, current.service) if current else None,
            "serving_s": (until - current.called_at) if current and current.called_at and until
            else None,
            "served_today": served.get(no, 0),
            "pause_reason": st.get("reason") if st["state"] == "paused" else None,
            "services": [names.get(s, s) for s in serves.get(no, st.get("services", []))],
        })  # fmt: skip
    return {"plan": plan.to_dict(), "windows": windows}


class DayEvents:
    """The current business day's events of the halls a screen follows, kept for the live
    KPIs so a poll of the wall screen reads neither the store nor every hall.

    A hall is followed from the first time a screen asks for it (:meth:`follow`, which
    reads its day so far from the store once) until nobody asked for ``follow_s``; at most
    ``max_halls`` are followed, the one asked for longest ago making room. Events of other
    halls are not kept: a province collector holds some 40 million events a day, and the
    screens follow a few halls. Thread-safe; fed by the collector's fold thread.

    Args:
        load: a hall's stored events from a time on (``EventStore.events_since``).
        ttl_s: how long a computed answer is reused (the screen polls every few seconds;
            the figures move by the minute).
        follow_s: a hall nobody asked for this long is no longer followed.
        max_halls: most halls followed at once.
    """

    def __init__(
        self,
        load: Callable[[str, float], list[Event]] | None = None,
        ttl_s: float = 10.0,
        follow_s: float = 600.0,
        max_halls: int = 64,
    ) -> None:
        self._lock = threading.Lock()
        self._load = load
        self._events: dict[str, dict[tuple[str, int], Event]] = {}
        self._day: dict[str, str] = {}
        self._asked: dict[str, float] = {}
        self._cache: dict[str, tuple[float, int, dict[str, Any]]] = {}
        self.ttl_s = ttl_s
        self.follow_s = follow_s
        self.max_halls = max_halls

    def follow(self, hall: str, day: str, now: float) -> None:
        """Keep the hall's events of business ``day`` from now on; the first time, read what
        the store holds of the day (events that arrive meanwhile are merged: each event is
        kept once by device and seq). ``now`` is the monotonic time of the request."""
        with self._lock:
            known = hall in self._asked
            self._asked[hall] = now
            for gone in [h for h, at in self._asked.items() if now - at > self.follow_s]:
                self._drop(gone)
            while len(self._asked) > self.max_halls:
                self._drop(min(self._asked, key=self._asked.__getitem__))
            if known or hall not in self._asked:
                return
            self._events.setdefault(hall, {})
            self._day.setdefault(hall, day)
        if self._load is None:
            return
        stored = self._load(hall, at_hall_time(day, "00:00"))
        self.observe(stored)

    def _drop(self, hall: str) -> None:
        self._asked.pop(hall, None)
        self._events.pop(hall, None)
        self._day.pop(hall, None)
        self._cache.pop(hall, None)

    def followed(self) -> list[str]:
        with self._lock:
            return list(self._asked)

    def observe(self, events: Iterable[Event]) -> None:
        with self._lock:
            kept = self._events
            for e in events:
                held = kept.get(e.hall_id)
                if held is None:
                    continue  # no screen follows the hall
                day = business_day(e.at)
                known = self._day[e.hall_id]
                if day > known:
                    self._day[e.hall_id] = known = day
                    held = kept[e.hall_id] = {
                        k: v for k, v in held.items() if business_day(v.at) == day
                    }
                if day == known:
                    held[(e.device_id, e.seq)] = e

    def day(self, hall: str) -> str | None:
        with self._lock:
            return self._day.get(hall)

    def events(self, hall: str) -> list[Event]:
        with self._lock:
            return list(self._events.get(hall, {}).values())

    def invalidate(self, hall: str) -> None:
        """Forget the hall's computed answer (an input besides the events changed)."""
        with self._lock:
            self._cache.pop(hall, None)

    def cached(self, hall: str, now: float, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``build()``, or its answer of less than ``ttl_s`` ago if no event came since."""
        with self._lock:
            size = len(self._events.get(hall, {}))
            hit = self._cache.get(hall)
            if hit is not None and now - hit[0] < self.ttl_s and hit[1] == size:
                return hit[2]
        body = build()
        with self._lock:
            if hall in self._asked:
                self._cache[hall] = (now, size, body)
        return body


# --- tickets, waits, handling -------------------------------------------------------------


def _fold_tickets(events: list[Event], until: float | None) -> list[TicketRecord]:
    """One record per ticket as of ``until``, folded by the live metrics' own rule
    (:func:`collector.metrics.fold_ticket`): facts fill in once, state only moves forward,
    and a transfer or an undone skip starts the ticket's life again, so a transferred
    ticket counts under the service that served it."""
    found: dict[str, TicketRecord] = {}
    # Time order: a report has every event at once, and the newest transfer must come last.
    for e in sorted(events, key=lambda e: (e.at, e.seq)):
        if until is None or e.at <= until:
            fold_ticket(found, e)
    return list(found.values())


def _service_codes(config: HallConfig | None, tickets: list[TicketRecord]) -> list[str]:
    codes = [s.code for s in config.services] if config else []
    return codes + sorted({t.service for t in tickets} - set(codes))


def _stats(values: list[float], promise: float) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "avg_s": round(fmean(ordered), 1) if ordered else None,
        "p90_s": round(quantile(ordered, 0.9), 1) if ordered else None,
        "max_s": round(ordered[-1], 1) if ordered else None,
        "promise_s": promise,
        "within_promise": round(sum(v <= promise for v in ordered) / len(ordered), 4)
        if ordered else None,
    }  # fmt: skip


def _handling_s(t: TicketRecord) -> float | None:
    if t.state != "finished" or t.called_at is None or t.finished_at is None:
        return None
    h = t.finished_at - t.called_at
    return h if 0 < h <= MAX_HANDLING_S else None


def _queue_figures(tickets: list[TicketRecord], promise: Thresholds) -> dict[str, Any]:
    tickets = [t for t in tickets if t.state != "withdrawn"]  # nobody held it
    waits = [t.called_at - t.issued_at for t in tickets if t.called_at is not None]
    in_hall = [t.finished_at - t.issued_at for t in tickets
               if t.state == "finished" and t.finished_at is not None]  # fmt: skip
    handled = [h for t in tickets if (h := _handling_s(t)) is not None]
    return {
        "issued": len(tickets),
        "served": sum(t.state == "finished" for t in tickets),
        "skipped": sum(t.state == "skipped" for t in tickets),
        "expired": sum(t.state == "expired" for t in tickets),
        "waiting": sum(t.state == "waiting" for t in tickets),
        "wait": _stats([max(0.0, w) for w in waits], promise.wait_s.yellow),
        "time_in_hall": _stats([max(0.0, v) for v in in_hall], promise.time_in_hall_s.yellow),
        "handling_avg_s": round(fmean(handled), 1) if handled else None,
    }


def _openings(events: list[Event]) -> dict[int, list[tuple[float, str]]]:
    """Per window, the sign-ins of the day in time order: (at, staff_id)."""
    out: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for e in sorted(events, key=lambda e: (e.at, e.seq)):
        w = e.data.get("window")
        if e.kind == Kind.WINDOW_OPENED and isinstance(w, int) and not isinstance(w, bool):
            out[w].append((e.at, str(e.data.get("staff_id") or "?")))
    return out


def _staff_at(openings: dict[int, list[tuple[float, str]]], window: int, at: float) -> str:
    staff = "?"
    for opened, who in openings.get(window, []):
        if opened <= at:
            staff = who
    return staff


def _handling(
    tickets: list[TicketRecord], openings: dict[int, list[tuple[float, str]]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    by_window: dict[int, list[float]] = defaultdict(list)
    by_staff: dict[str, list[float]] = defaultdict(list)
    staff_windows: dict[str, set[int]] = defaultdict(set)
    for t in tickets:
        h = _handling_s(t)
        if h is None or t.window is None or t.called_at is None:
            continue
        by_window[t.window].append(h)
        who = _staff_at(openings, t.window, t.called_at)
        by_staff[who].append(h)
        staff_windows[who].add(t.window)

    def row(hs: list[float]) -> dict[str, Any]:
        return {"served": len(hs), "handling_avg_s": round(fmean(hs), 1),
                "handling_max_s": round(max(hs), 1), "busy_s": round(sum(hs), 1)}  # fmt: skip

    windows = [{"window": w} | row(hs) for w, hs in sorted(by_window.items())]
    staff = [{"staff_id": s, "windows": sorted(staff_windows[s])} | row(hs)
             for s, hs in sorted(by_staff.items())]  # fmt: skip
    return windows, staff


# --- ratings, kiosks, devices --------------------------------------------------------------


def _ratings(events: list[Event], day: str, bad_rows: list[dict[str, Any]]) -> dict[str, Any]:
    window: dict[str, tuple[tuple[float, int], int]] = {}
    kiosk: dict[tuple[str, int], int] = {}
    for e in events:
        level = e.data.get("level")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
            continue
        if e.kind == Kind.RATING_SUBMITTED and e.data.get("ticket_id"):
            key = str(e.data["ticket_id"])
            if key not in window or (e.at, e.seq) > window[key][0]:
                window[key] = ((e.at, e.seq), level)  # one rating per ticket: the latest
        elif e.kind == Kind.KIOSK_RATED:
            kiosk[(e.device_id, e.seq)] = level
    w = Counter(level for _, level in window.values())
    k = Counter(kiosk.values())
    both = w + k
    total = sum(both.values())
    bad = [r for r in bad_rows if business_day(float(r["rated_at"])) == day]
    followed = sum(r["state"] != "open" for r in bad)
    closed = sum(r["state"] == "closed" for r in bad)
    return {
        "counts": {str(n): both.get(n, 0) for n in range(1, 6)},
        "window": {str(n): w.get(n, 0) for n in range(1, 6)},
        "kiosk": {str(n): k.get(n, 0) for n in range(1, 6)},
        "total": total,
        "satisfied_share": round((both[4] + both[5]) / total, 4) if total else None,
        "avg": round(sum(n * c for n, c in both.items()) / total, 2) if total else None,
        "bad": {
            "count": len(bad),
            "followed": followed,
            "closed": closed,
            "follow_up_rate": round(followed / len(bad), 4) if bad else None,
            "closed_rate": round(closed / len(bad), 4) if bad else None,
        },
    }


def _kiosk_rate(events: list[Event], platform: DayTotals | None) -> dict[str, Any]:
    usage = KioskUsage()
    for e in events:
        usage.observe(e)
    done: Counter[str] = Counter()
    functions: dict[str, set[str]] = defaultdict(set)
    for (function, item, outcome), n in usage.transactions.items():
        if outcome == "done" and item and item != "?":
            done[item] += n
            functions[item].add(function)
    totals = platform.items if platform is not None else {}
    items = []
    for item in sorted(set(done) | set(totals)):
        total = totals.get(item)
        rate = None
        if total is not None and total >= done[item] and total > 0:
            rate = round(done[item] / total, 4)
        items.append({"item": item, "functions": sorted(functions[item]), "kiosk_done": done[item],
                      "platform_total": total, "rate": rate,
                      "note": _rate_note(platform, total, done[item])})  # fmt: skip
    counted = [i for i in items if i["rate"] is not None]
    denominator = sum(i["platform_total"] for i in counted)
    return {
        "platform": "connected" if platform is not None else "missing",
        "platform_text": f"平台总量：{platform.source or '已接入'}" if platform else PLATFORM_MISSING,
        "kiosk_done": sum(done.values()),
        "kiosk_not_done": sum(n for (_, _, o), n in usage.transactions.items() if o != "done"),
        "platform_total": denominator if platform is not None else None,
        "rate": round(sum(i["kiosk_done"] for i in counted) / denominator, 4)
        if denominator else None,
        "items": items,
    }  # fmt: skip


def _rate_note(platform: DayTotals | None, total: int | None, done: int) -> str:
    if platform is None:
        return PLATFORM_MISSING
    if total is None:
        return "平台无该事项总量"
    if total < done:
        # The platform counted fewer than the kiosks did: one side is wrong; no rate is shown.
        return "平台总量小于自助机办件量，请核对"
    return ""


def _devices(events: list[Event], until: float | None, presence: list[dict[str, Any]]
             ) -> list[dict[str, Any]]:  # fmt: skip
    """Availability of each device from the first event of the day to ``until``."""
    if until is None or not events:
        return []
    start = min(e.at for e in events)
    span = max(until - start, 1.0)
    changes: dict[str, list[tuple[float, str, list[str]]]] = defaultdict(list)
    for e in events:
        if e.kind == Kind.DEVICE_HEALTH and e.at <= until:
            reasons = e.data.get("reasons")
            changes[str(e.data.get("device", e.device_id))].append(
                (e.at, str(e.data.get("state", "unknown")),
                 [str(r) for r in reasons] if isinstance(reasons, list) else [])
            )  # fmt: skip
    out: list[dict[str, Any]] = []
    live = {str(p["device"]): p for p in presence}
    for device in sorted(set(changes) | set(live)):
        # Health is journaled on change only: before its first report a device served.
        down: list[tuple[float, float]] = []
        state, since, reasons = "ok", start, []
        for at, new, why in sorted(changes.get(device, [])):
            if state not in USABLE:
                down.append((since, at))
            state, since, reasons = new, at, why
        if state not in USABLE:
            down.append((since, until))
        p = live.get(device)
        if p is not None and p.get("status") == "offline":
            down.append((max(float(p.get("since") or until), start), until))
        down_s = _union_length(down)
        out.append({
            "device": device,
            "state": state if p is None or p.get("status") != "offline" else "offline",
            "presence": p.get("status") if p else None,
            "reasons": reasons,
            "down_s": round(down_s, 1),
            "availability": round(max(0.0, 1 - down_s / span), 4),
        })  # fmt: skip
    return out


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, -math.inf
    for a, b in sorted(spans):
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return total


def availability(devices: list[dict[str, Any]]) -> float | None:
    """The hall's device availability: the mean of its devices' (None without devices)."""
    return round(fmean(d["availability"] for d in devices), 4) if devices else None


def _window_states(events: list[Event], tickets: list[TicketRecord], until: float | None
                   ) -> dict[int, dict[str, Any]]:  # fmt: skip
    states: dict[int, dict[str, Any]] = {}
    for e in sorted(events, key=lambda e: (e.at, e.seq)):
        w = e.data.get("window")
        if (until is not None and e.at > until) or not isinstance(w, int) or isinstance(w, bool):
            continue
        if e.kind == Kind.WINDOW_OPENED:
            services = e.data.get("services")
            states[w] = {"state": "idle", "staff_id": e.data.get("staff_id"),
                         "services": services if isinstance(services, list) else []}  # fmt: skip
        elif e.kind == Kind.WINDOW_CLOSED:
            states[w] = {"state": "closed"}
        elif e.kind == WINDOW_PAUSED and w in states:
            states[w]["state"] = "paused"
            states[w]["reason"] = e.data.get("reason")
        elif e.kind == WINDOW_RESUMED and w in states and states[w]["state"] == "paused":
            states[w]["state"] = "idle"
    for t in tickets:
        if t.state == "called" and t.window in states and states[t.window]["state"] == "idle":
            known = states[t.window].get("ticket")
            if known is None or (t.called_at or 0) > (known.called_at or 0):
                states[t.window]["ticket"] = t
    for st in states.values():
        if st.get("ticket") is not None:
            st["state"] = "serving"
    return states


# --- trend against the baseline -----------------------------------------------------------


def _trend(
    hall: str,
    config: HallConfig | None,
    events: list[Event],
    until: float | None,
    baseline: BaselineTable | None,
    promise: Thresholds,
) -> dict[str, Any]:
    slot_min = baseline.slot_min if baseline is not None else 30
    arrivals: Counter[int] = Counter()
    readings: dict[int, list[float]] = defaultdict(list)
    weekday = None
    if events and until is not None:
        metrics = HallMetrics({hall: config} if config else {})
        times: list[float] = []
        for e in events:
            metrics.observe(e)
            if e.kind == Kind.TICKET_ISSUED and isinstance(e.data.get("issued_at"), (int, float)):
                weekday, slot = slot_of(float(e.data["issued_at"]), slot_min)
                arrivals[slot] += 1
                times.append(float(e.data["issued_at"]))
        # The same readings as the baseline's: the waiting metric every 5 minutes.
        t = math.floor(min(times, default=until) / SAMPLE_STEP_S) * SAMPLE_STEP_S
        while times and t <= until:
            waits = [metrics.snapshot(hall, s, t).wait_s for s in metrics.services(hall)]
            readings[slot_of(t, slot_min)[1]].append(max(waits, default=0.0))
            t += SAMPLE_STEP_S
    if weekday is None and until is not None:
        weekday = hall_time(until).weekday()
    usual_arrivals: dict[int, float] = defaultdict(float)
    usual_wait: dict[int, tuple[float, float]] = {}
    baseline_day = None
    if baseline is not None and weekday is not None:
        baseline_day = baseline.business_day
        per_slot = slot_min / 60.0
        for (_, wd, slot), rate in baseline.arrivals_per_h.items():
            if wd == weekday:
                usual_arrivals[slot] += rate * per_slot
        for (_, metric, wd, slot), lv in baseline.levels.items():
            if wd == weekday and metric == "wait_s":
                y, r = usual_wait.get(slot, (0.0, 0.0))
                usual_wait[slot] = (max(y, lv.yellow), max(r, lv.red))
    slots = sorted(set(arrivals) | set(readings) | set(usual_arrivals) | set(usual_wait))
    if slots:
        slots = list(range(slots[0], slots[-1] + 1))
    now_slot = slot_of(until, slot_min)[1] if until is not None else None
    rows = []
    for s in slots:
        minutes = s * slot_min
        past = now_slot is None or s <= now_slot
        rows.append({
            "slot": s,
            "label": f"{minutes // 60:02d}:{minutes % 60:02d}",
            "arrivals": arrivals.get(s, 0) if past else None,
            "arrivals_baseline": round(usual_arrivals[s], 2) if s in usual_arrivals else None,
            "wait_s": round(fmean(readings[s]), 1) if readings.get(s) else None,
            "wait_peak_s": round(max(readings[s]), 1) if readings.get(s) else None,
            "wait_baseline_p80_s": round(usual_wait[s][0], 1) if s in usual_wait else None,
            "wait_baseline_p95_s": round(usual_wait[s][1], 1) if s in usual_wait else None,
        })  # fmt: skip
    return {
        "slot_min": slot_min,
        "weekday": weekday,
        "baseline": "available" if baseline is not None else "missing",
        "baseline_day": baseline_day,
        "promise_wait_s": {"yellow": promise.wait_s.yellow, "red": promise.wait_s.red},
        "slots": rows,
    }


def day_of(at: float) -> str:
    """The business day of a hall time (for callers that only hold a timestamp)."""
    return business_day(at)


def is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
