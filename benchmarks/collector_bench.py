"""The collector at province scale: the embedded single-node path (SQLite, Mosquitto) on a
simulated province of ``--halls`` halls (default 24,000; ``--quick`` 500).

Every figure sits beside a baseline measured in the same run:

* ``ingest``: sustained ingest, events/s, end to end. Publisher processes (agents, hall ids
  in the topics) send every hall's morning as agent-shaped batches (``batch_payload`` of
  ``event_json``, with ``floors``) through one loopback Mosquitto, QoS 1; the full
  :class:`collector.service.CollectorService` takes them in: the ingest with every check of
  the "Nothing lost" work (size, depth and value checks, dead letters, acknowledgement after
  commit, gap tracking, stored-watermarks made durable before they go out), the metrics and
  warning engines of every hall, today's events for the KPIs, 差评 kept. Timed from the
  go signal until the collector has stored the last event. Baseline: ``json.loads`` and
  ``executemany`` of the same payloads into SQLite with the store's schema and pragmas
  (WAL, ``synchronous=NORMAL``, the same cache), one commit per 64 messages like the ingest.
  Targets: ≥ 0.5× the baseline, and ≥ 10× the province's estimated peak of 5,000 events/s.
  Second baseline, the *MQTT floor*: a subscriber that only receives and acknowledges
  (2,000 halls' messages, same broker and publishers, just before), twice: a paho client as
  the ingest had it, and the ingest's own receiver (``collector/mqtt_receive.py``).
  ``ingest`` is the province's configuration, the ingest in a process of its own (``ingest_process=True``);
  ``ingest_in_process`` the default, on halls of its own; ``ingest_alone``: the service handed
  the same payloads directly (no MQTT), for context. Each also times until the fold (metrics,
  warnings, KPIs, 差评) has every event. ``ingest_backlog``: the collector's own rate with
  no load generator running while it is timed: the same province's morning queued in the
  broker for the collector's session while it was down, then drained (a restart after an
  outage; also what the ingest does when halls send faster than it stores).
* ``evaluation``: seconds to evaluate every hall (:meth:`CollectorService.evaluate`: each
  hall's snapshots and warning engines, and publishing what changed), target ≤ 2 s. Baseline:
  one plain pass over the same ticket records (what any evaluation must at least touch).
* ``warning_latency``: in a subset of halls a flood of tickets arrives (more than the red
  ``waiting_count``); the collector's hall clock, which is the time the events carry, then
  needs ``pending_s`` (120 s of hall time) before it may fire. The hall sends one more event
  stamped ``pending_s`` later (the *triggering event*; in a real hall, any event of the next
  two minutes). Measured: wall time from publishing that event to the retained warning list
  with the red warning arriving at a subscriber on ``halledge/v1/<hall>/warnings``, both ends
  in a probe process apart from the collector, while other halls keep publishing at the
  province's peak (5,000 events/s). This is the collector's processing latency; the pending
  period itself is hall time and is not in it (in a real hall it is two minutes by
  definition). Target p99 ≤ 2 s. Baseline: a plain message's trip through the same broker
  between the same two clients, at the same time. ``stages`` splits each trigger's time
  (sent → stored-watermark back from the ingest; sent → handed to the fold → fold round
  began → list handed to the publisher → arrived), with the fold's backlog and this
  process's garbage-collection pauses; ``machine``, how busy both cores and each process
  of the measurement were.
* ``wait_estimate``: the wait estimate's MAE against the queue-length baseline's, from
  ``bench wait`` when that suite exists (``simulation/wait_compare.py``); else ``pending``.

The province's morning is simulated on yesterday's business day (08:30 onwards, hall time),
so every event time lies inside the collector's time window whatever the time of the run.
"""

from __future__ import annotations

import gc
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from agent.broker import MosquittoBroker, mosquitto_binary
from agent.publisher import batch_payload
from core.clock import at_hall_time, business_day
from core.events import Event, Kind
from core.topics import events_topic
from hallstore import journal

ROOT = Path(__file__).resolve().parent.parent
#: The province's estimated peak, events/s (issue #14).
PROVINCE_PEAK_EVENTS_PER_S = 5000
DEFAULT_HALLS = 24_000
QUICK_HALLS = 500
#: Windows per simulated hall, and what each serves.
WINDOW_SERVICES = {1: ("social",), 2: ("tax",), 3: ("social", "medical")}
SERVICES = ("social", "tax", "medical")
#: Every fifth hall was offline and sends its morning as a backlog (batches up to the
#: agent's 100 events); the others send what they journal as they go (1 to 4 events).
BACKLOG_EVERY = 5
AGENT_BATCH = 100
#: Halls whose messages measure the MQTT floor (receive and acknowledge only).
FLOOR_HALLS = 2000
#: Messages the ingest commits together (``collector.ingest.GROUP_MAX_MESSAGES``).
GROUP = 64
STORE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA cache_size=-65536",
)


def day_start(now: float | None = None) -> float:
    """08:30 hall time of yesterday's business day: a morning wholly in the past."""
    day = business_day((time.time() if now is None else now) - 86400)
    return at_hall_time(day, "08:30")


def hall_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:05d}"


def _ticket(tid: str, no: str, service: str, issued: float) -> dict[str, Any]:
    return {"ticket_id": tid, "ticket_no": no, "service": service, "issued_at": issued}


def hall_events(prefix: str, index: int, start: float, tickets: int) -> list[Event]:
    """One hall's morning, in journal order (each device's seqs rising with time).

    Windows sign in, every device reports its health, citizens take tickets at the kiosk and
    are called and served at the windows, some rate the service (a few badly), the kiosk does
    transactions and prints, and the devices report health again. Event ids are derived from
    the hall, device and seq, so the same call makes the same events in any process.
    """
    rnd = random.Random(index * 7919 + 17)
    hall = hall_name(prefix, index)
    raw: list[tuple[float, str, str, dict[str, Any]]] = []
    t0 = start + rnd.uniform(0, 60)
    devices = ["kiosk-1", "printer-1", *(f"pad-{w}" for w in WINDOW_SERVICES)]
    for w, services in WINDOW_SERVICES.items():
        raw.append((t0 + w, "window.opened", f"pad-{w}",
                    {"window": w, "staff_id": f"staff-{w}", "services": list(services)}))
    for d in devices:
        raw.append((t0 + 5, Kind.DEVICE_HEALTH, d,
                    {"device": d, "state": "ok", "reasons": [], "code": 0}))
    span = 3 * 3600.0
    free_at = {w: t0 + 10 for w in WINDOW_SERVICES}
    for k in range(tickets):
        service = SERVICES[rnd.randrange(len(SERVICES))]
        issued = round(t0 + 60 + span * k / max(1, tickets) + rnd.uniform(0, 60), 3)
        tid = f"{index:08x}{k:08x}"
        no = f"{'ABC'[SERVICES.index(service)]}{k + 1:03d}"
        data = _ticket(tid, no, service, issued) | {"people_ahead": rnd.randrange(6),
                                                   "est_wait_s": rnd.randrange(60, 900)}
        raw.append((issued, Kind.TICKET_ISSUED, "kiosk-1", data))
        w = min((w for w, s in WINDOW_SERVICES.items() if service in s), key=free_at.get)
        called = round(max(issued + rnd.uniform(30, 600), free_at[w]), 3)
        finished = round(called + rnd.uniform(120, 600), 3)
        free_at[w] = finished
        base = _ticket(tid, no, service, issued) | {"window": w, "called_at": called,
                                                   "call_count": 1}
        raw.append((called, Kind.TICKET_CALLED, f"pad-{w}", base))
        raw.append((finished, Kind.TICKET_FINISHED, f"pad-{w}", base | {"finished_at": finished}))
        if rnd.random() < 0.5:
            level = 1 if rnd.random() < 0.04 else rnd.choice((4, 5, 5))
            raw.append((finished + 5, Kind.RATING_SUBMITTED, f"pad-{w}", {
                "ticket_id": tid, "ticket_no": no, "service": service, "window": w,
                "level": level, "label": "很满意" if level > 3 else "不满意"}))
        if rnd.random() < 0.5:
            at = issued + rnd.uniform(0, 300)
            raw.append((at, Kind.KIOSK_TRANSACTION, "kiosk-1", {
                "function": "social_security_query", "item": "JG-000101", "outcome": "done",
                "ref": f"R{index:06d}{k:04d}"}))
            if rnd.random() < 0.3:
                raw.append((at + 20, Kind.DOCUMENT_PRINTED, "printer-1", {
                    "function": "social_security_query", "item": "JG-000101", "pages": 1,
                    "copies": 1, "outcome": "done"}))
    for d in devices:
        raw.append((t0 + span / 2 + 7, Kind.DEVICE_HEALTH, d,
                    {"device": d, "state": "ok", "reasons": [], "code": 0}))
    raw.sort(key=lambda r: r[0])
    seqs: dict[str, int] = {}
    events = []
    for at, kind, device, data in raw:
        seq = seqs[device] = seqs.get(device, 0) + 1
        event_id = f"{index:010x}{devices.index(device):02x}{seq:08x}{len(prefix):04x}"
        events.append(Event(kind, hall, device, seq, round(at, 3), data, event_id))
    return events


def hall_batches(prefix: str, index: int, start: float, tickets: int) -> list[bytes]:
    """One hall's morning as the agent's MQTT payloads, each with its devices' floors."""
    events = hall_events(prefix, index, start, tickets)
    rnd = random.Random(index)
    backlog = index % BACKLOG_EVERY == 0
    payloads = []
    at = 0
    while at < len(events):
        size = AGENT_BATCH if backlog else rnd.randint(1, 4)
        batch = events[at:at + size]
        at += size
        floors: dict[str, int] = {}
        for e in batch:
            floors.setdefault(e.device_id, e.seq)
        payloads.append(batch_payload([journal.event_json(e) for e in batch], floors))
    return payloads


def province_messages(
    prefix: str, indices: range | list[int], start: float, tickets: int
) -> list[tuple[str, bytes]]:
    """The messages of these halls as the broker sees them from the province: every hall's
    first batch, then every hall's second, … (the halls' mornings run side by side)."""
    per_hall = [(events_topic(hall_name(prefix, i)), hall_batches(prefix, i, start, tickets))
                for i in indices]
    out: list[tuple[str, bytes]] = []
    depth = max((len(b) for _, b in per_hall), default=0)
    for j in range(depth):
        out.extend((topic, b[j]) for topic, b in per_hall if j < len(b))
    return out


def _count_events(messages: list[tuple[str, bytes]]) -> int:
    return sum(p.count(b'"event_id":') for _, p in messages)


# --- the raw baseline and the collector alone ---------------------------------------------


_RAW_SCHEMA = (
    "CREATE TABLE events (event_id TEXT NOT NULL, hall_id TEXT NOT NULL,"
    " device_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, at REAL NOT NULL,"
    " payload TEXT NOT NULL, minor INTEGER NOT NULL DEFAULT 0)",
    "CREATE UNIQUE INDEX events_device_seq_once ON events(hall_id, device_id, seq)",
)
_RAW_INSERT = "INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?,?)"


class RawBaseline:
    """``json.loads`` of each payload, ``executemany`` of its events into a table like the
    store's, with the store's pragmas, one commit per :data:`GROUP` messages."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        for pragma in STORE_PRAGMAS:
            self.conn.execute(pragma)
        for statement in _RAW_SCHEMA:
            self.conn.execute(statement)

    def store(self, messages: list[tuple[str, bytes]]) -> float:
        """Seconds to store these messages."""
        dumps, loads, conn = json.dumps, json.loads, self.conn
        start = time.perf_counter()
        for lo in range(0, len(messages), GROUP):
            conn.execute("BEGIN")
            for _, payload in messages[lo:lo + GROUP]:
                body = loads(payload)
                conn.executemany(_RAW_INSERT, [
                    (e["event_id"], e["hall_id"], e["device_id"], e["seq"], e["kind"], e["at"],
                     dumps(e, ensure_ascii=False, separators=(",", ":")), e.get("minor", 0))
                    for e in body["events"]
                ])
            conn.execute("COMMIT")
        return time.perf_counter() - start

    def close(self) -> None:
        self.conn.close()


def _service(
    path: Path, host: str, port: int, client_id: str, ingest_process: bool = False
) -> Any:
    from collector.service import CollectorService

    return CollectorService(path, host, port, {}, client_id=client_id, baseline_check_s=None,
                            ingest_process=ingest_process)  # fmt: skip


def _alone_store(service: Any, messages: list[tuple[str, bytes]]) -> float:
    """Seconds for the service's ingest to store these messages in groups, as its MQTT worker
    does (metrics, warnings, KPIs and 差评 run after each commit), without MQTT."""
    start = time.perf_counter()
    for lo in range(0, len(messages), GROUP):
        if not all(service.ingestor.settle_group(messages[lo:lo + GROUP])):
            raise RuntimeError("the collector refused a benchmark batch")
    return time.perf_counter() - start


def _baseline_and_alone(
    tmp: Path, prefix: str, halls: int, start: float, tickets: int, chunk: int = 500
) -> dict[str, Any]:
    """The raw baseline and the collector alone on the same messages, taking turns chunk by
    chunk of halls, so that the shared machine's bursts of load hit both alike."""
    raw = RawBaseline(tmp / "raw.db")
    alone = _service(tmp / "alone.db", "127.0.0.1", 1, "bench-alone")
    raw_s = alone_s = 0.0
    events = messages = 0
    try:
        for lo in range(0, halls, chunk):
            batch = province_messages(prefix, range(lo, min(halls, lo + chunk)), start, tickets)
            events += _count_events(batch)
            messages += len(batch)
            raw_s += raw.store(batch)
            alone_s += _alone_store(alone, batch)
        stored = alone.store.count()
    finally:
        raw.close()
        alone.store.close()
        alone.ingestor.telemetry.close()
    if stored != events:
        raise RuntimeError(f"the collector alone stored {stored} of {events} events")
    return {"events": events, "messages": messages, "raw_s": raw_s, "alone_s": alone_s}


# --- publishers -----------------------------------------------------------------------------

#: A publisher process (an agent, or many): builds its halls' messages, says ``ready <events>
#: <messages>``, waits for ``go``, publishes (QoS 1; at ``rate`` events/s when rate > 0),
#: waits for every PUBACK, prints its JSON result.
_PUBLISHER = """
import collections, json, sys, time
import paho.mqtt.client as mqtt
from benchmarks.collector_bench import province_messages
host, port, prefix, start, tickets, rate, name = sys.argv[1:8]
indices = [int(i) for i in sys.argv[8].split(",") if i]
messages = province_messages(prefix, indices, float(start), int(tickets))
counts = [p.count(b'"event_id":') for _, p in messages]
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
client.max_inflight_messages_set(200)
client.max_queued_messages_set(0)
client.connect(host, int(port))
client.loop_start()
print("ready", sum(counts), len(messages), flush=True)
sys.stdin.readline()
rate = float(rate)
began = time.perf_counter()
# At most 5,000 messages queued in paho: its message ids wrap at 65,535.
infos, sent = collections.deque(), 0
for (topic, payload), n in zip(messages, counts):
    if rate > 0:
        due = began + sent / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    if len(infos) >= 5000:
        infos.popleft().wait_for_publish(600)
    infos.append(client.publish(topic, payload, qos=1))
    sent += n
for info in infos:
    info.wait_for_publish(600)
elapsed = time.perf_counter() - began
client.disconnect()
client.loop_stop()
print(json.dumps({"events": sent, "messages": len(messages), "seconds": elapsed}), flush=True)
"""


class Publishers:
    """Publisher processes, each with a share of the halls (hall ``i`` goes to ``i % n``)."""

    def __init__(
        self, broker: MosquittoBroker, prefix: str, halls: int, start: float, tickets: int,
        processes: int, rate: float = 0.0,
    ) -> None:
        self.procs = []
        for p in range(processes):
            indices = ",".join(str(i) for i in range(p, halls, processes))
            self.procs.append(subprocess.Popen(
                [sys.executable, "-c", _PUBLISHER, broker.host, str(broker.port), prefix,
                 repr(start), str(tickets), str(rate / processes), f"bench-{prefix}-{p}",
                 indices],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            ))
        self.events = self.messages = 0
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().split()
            if not line or line[0] != "ready":
                self.kill()
                raise RuntimeError(f"a publisher did not start: {line}")
            self.events += int(line[1])
            self.messages += int(line[2])

    def go(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()

    def results(self, timeout: float) -> list[dict[str, Any]]:
        out = []
        for proc in self.procs:
            stdout, _ = proc.communicate(timeout=timeout)
            out.append(json.loads(stdout.strip().splitlines()[-1]))
        return out

    def failed(self) -> bool:
        return any(proc.poll() not in (None, 0) for proc in self.procs)

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def _ingest_run(
    broker: MosquittoBroker, service: Any, prefix: str, halls: int, start: float,
    tickets: int, processes: int,
) -> dict[str, Any]:
    """Start ``service``, let the publisher processes send every hall's morning, and time it:
    until the last event is stored (and acknowledged), and until the fold (metrics,
    warnings, KPIs, 差评) has every event too; then the "Nothing lost" checks."""
    service.start()
    if not service.wait_ready(30):
        raise RuntimeError("the collector did not connect")
    publishers = Publishers(broker, prefix, halls, start, tickets, processes)
    try:
        total = publishers.events
        began = time.perf_counter()
        publishers.go()
        done = _wait_ingested(service, total, timeout=3600, publishers=publishers)
        if done is None:
            stored = service.ingestor.events_ingested
            raise RuntimeError(f"the collector stored {stored} of {total}")
        # The fold runs behind the ingest by a bounded backlog: the time until it has every
        # event too.
        if not service.wait_folded(600):
            raise RuntimeError("the collector's fold did not catch up")
        folded = time.perf_counter() - began
        sent = publishers.results(600)
    finally:
        publishers.kill()
    elapsed = done - began
    return {
        "events": total,
        "publisher_processes": processes,
        "seconds": round(elapsed, 2),
        "events_per_s": round(total / elapsed, 1),
        "messages_per_s": round(publishers.messages / elapsed, 1),
        "seconds_until_folded": round(folded, 2),
        "events_per_s_folded": round(total / folded, 1),
        "publishers_done_s": round(max(r["seconds"] for r in sent), 2),
        "nothing_lost": _nothing_lost(service, total, _sampled_last_seqs(prefix, halls, start,
                                                                         tickets)),
    }


def _backlog_run(
    broker: MosquittoBroker, path: Path, client_id: str, prefix: str, halls: int,
    start: float, tickets: int, processes: int,
) -> dict[str, Any]:
    """The province's morning queued in the broker while the collector was down, then drained:
    the collector's own sustained rate, with no load generator on the machine's two cores
    while it is timed (only Mosquitto delivering). A collector comes back to this after a
    restart or an outage; it is also what the ingest does when the halls send faster than it
    stores. Timed from ``start()`` until the last event is stored (and acknowledged)."""
    service = _service(path, broker.host, broker.port, client_id, ingest_process=True)
    service.start()  # subscribes; the session stays on the broker when it stops
    try:
        if not service.wait_ready(30):
            raise RuntimeError("the collector did not connect")
    finally:
        service.stop()
    publishers = Publishers(broker, prefix, halls, start, tickets, processes)
    try:
        publishers.go()
        sent = publishers.results(3600)
    finally:
        publishers.kill()
    total = publishers.events
    service = _service(path, broker.host, broker.port, client_id, ingest_process=True)
    began = time.perf_counter()
    service.start()
    try:
        machine = _collector_machine(service, broker)
        done = _wait_ingested(service, total, timeout=3600)
        if done is None:
            stored = service.ingestor.events_ingested
            raise RuntimeError(f"the collector stored {stored} of {total} of the backlog")
        busy = machine.read()
        if not service.wait_folded(600):
            raise RuntimeError("the collector's fold did not catch up")
        folded = time.perf_counter() - began
        lost = _nothing_lost(service, total, _sampled_last_seqs(prefix, halls, start, tickets))
    finally:
        service.stop()
        _end_session(broker, client_id)
    elapsed = done - began
    return {
        "events": total,
        "messages": publishers.messages,
        "publisher_processes": processes,
        "queued_in_s": round(max(r["seconds"] for r in sent), 2),
        "seconds": round(elapsed, 2),
        "events_per_s": round(total / elapsed, 1),
        "messages_per_s": round(publishers.messages / elapsed, 1),
        "seconds_until_folded": round(folded, 2),
        "events_per_s_folded": round(total / folded, 1),
        "nothing_lost": lost,
        "machine": busy,
        # Which process sets the pace: CPU per message of each, until the last was stored.
        "cpu_us_per_message": {
            name: round(cores * busy["seconds"] / publishers.messages * 1e6, 1)
            for name, cores in busy["cores_used_by"].items() if cores == cores
        },
    }


def _wait_ingested(
    service: Any, total: int, timeout: float, publishers: Publishers | None = None
) -> float | None:
    """perf_counter when the collector had stored ``total`` events, None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.ingestor.events_ingested >= total:
            return time.perf_counter()
        if publishers is not None and publishers.failed():
            raise RuntimeError("a publisher process failed")
        time.sleep(0.01)
    return None


def _settled(service: Any, quiet_s: float = 0.5, timeout: float = 300.0) -> None:
    """Wait until the collector has taken in nothing new for ``quiet_s``, so that it is not
    stopped with messages still queued."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        now = service.ingestor.events_ingested
        if now == last:
            return
        last = now
        time.sleep(quiet_s)


def _nothing_lost(service: Any, expected: int, last_seqs: dict[str, dict[str, int]]) -> dict:
    """What the "Nothing lost" checks say after the run: every event stored once, nothing
    refused, no gap, no lost seq, and the watermarks of the sampled halls at their last seq."""
    counters = service.ingestor.counters()
    marks_ok = all(service.ingestor.watermarks(h) == seqs for h, seqs in last_seqs.items())
    return {
        "events_expected": expected,
        "events_stored": service.store.count(),
        "duplicates": counters["duplicates"],
        "rejected": counters["rejected"],
        "seq_conflicts": counters["seq_conflicts"],
        "store_failures": counters["store_failures"],
        "open_gaps": len(counters["gaps"]),
        "lost_seqs": sum(counters["lost_seqs"].values()),
        "watermarks_at_last_seq_sampled_halls": marks_ok,
        "stored_acks_published": counters["stored_acks_published"],
        "monitor_failures": sum(service.monitor.failures.values()),
    }


def _last_seqs(prefix: str, indices: list[int], start: float, tickets: int) -> dict:
    found: dict[str, dict[str, int]] = {}
    for i in indices:
        seqs: dict[str, int] = {}
        for e in hall_events(prefix, i, start, tickets):
            seqs[e.device_id] = e.seq
        found[hall_name(prefix, i)] = seqs
    return found


def _sampled_last_seqs(prefix: str, halls: int, start: float, tickets: int) -> dict:
    """:func:`_last_seqs` of every 50th part of the halls: what the watermark check samples."""
    return _last_seqs(prefix, list(range(0, halls, max(1, halls // 50))), start, tickets)


def _end_session(broker: MosquittoBroker, client_id: str) -> None:
    """Discard a stopped collector's persistent session. Left behind, the broker queues every
    later message of the run for it (some 300,000 at 24,000 halls) and stalls on each save of
    its persistence file, which the next figures would then carry."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=True)  # fmt: skip
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        deadline = time.monotonic() + 10
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not client.is_connected():
            raise RuntimeError(f"could not end the session of {client_id}")
    finally:
        client.disconnect()
        client.loop_stop()


# --- the MQTT floor -------------------------------------------------------------------------


def _mqtt_floor(broker: MosquittoBroker, halls: int, start: float, tickets: int,
                processes: int, client: str = "paho") -> dict[str, Any]:
    """What receiving and acknowledging alone costs, fed the same kind of messages by the
    same publisher processes, measured before the collector connects, on its own prefix,
    over ``halls`` halls; the messages are counted and acknowledged, nothing else.

    ``client="paho"``: a paho subscriber as the ingest had it (persistent session, manual
    acknowledgement, MQTT 3.1.1 and so Mosquitto's 20 messages in flight, one worker thread
    that acknowledges what has arrived in one write). ``client="lean"``: the ingest's own
    receiver (``collector/mqtt_receive.py``, MQTT 5, its receive maximum), acknowledging each
    read's messages in one write. No ingest built on that client can be faster."""
    import queue
    import struct
    import threading

    got = [0]
    subscribed = threading.Event()
    if client == "lean":
        from collector.mqtt_receive import MqttReceiver

        def take(messages: list[Any]) -> None:
            receiver.ack(messages)
            got[0] += sum(m.payload.count(b'"event_id":') for m in messages)

        receiver = MqttReceiver(broker.host, broker.port, "bench-mqtt-floor-lean",
                                [("halledge/v1/+/events", 1)], take)  # fmt: skip
        receiver.start()
        ready, stop = receiver.wait_subscribed, receiver.stop
    else:
        import paho.mqtt.client as mqtt

        inbox: queue.Queue[Any] = queue.Queue()
        puback = struct.Struct("!BBH")
        paho = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-mqtt-floor",
                           clean_session=True, manual_ack=True)  # fmt: skip
        paho.on_message = lambda c, u, msg: inbox.put(msg)
        paho.on_connect = lambda c, u, f, rc, p: c.subscribe([("halledge/v1/+/events", 1)])
        paho.on_subscribe = lambda *_: subscribed.set()

        def worker() -> None:
            while True:
                group = [inbox.get()]
                if group[0] is None:
                    return
                while len(group) < GROUP:
                    try:
                        group.append(inbox.get_nowait())
                    except queue.Empty:
                        break
                # One write for the group's PUBACKs, as the ingest had it on paho.
                paho._packet_queue(0x40, b"".join(puback.pack(0x40, 2, m.mid) for m in group),
                                   0, 0)  # fmt: skip
                got[0] += sum(m.payload.count(b'"event_id":') for m in group)

        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        paho.connect(broker.host, broker.port)
        paho.loop_start()
        ready = subscribed.wait

        def stop() -> None:
            inbox.put(None)
            paho.disconnect()
            paho.loop_stop()

    try:
        if not ready(30):
            raise RuntimeError("the MQTT floor's subscriber did not subscribe")
        senders = Publishers(broker, f"floor-{client}", halls, start, tickets, processes)
        began = time.perf_counter()
        senders.go()
        deadline = time.monotonic() + 600
        while got[0] < senders.events and time.monotonic() < deadline:
            time.sleep(0.005)
        elapsed = time.perf_counter() - began
        senders.results(600)
    finally:
        stop()
    if got[0] < senders.events:
        raise RuntimeError(f"the MQTT floor received {got[0]} of {senders.events} events")
    return {"client": client, "halls": halls, "events": senders.events,
            "messages": senders.messages, "seconds": round(elapsed, 2),
            "events_per_s": round(senders.events / elapsed, 1)}


# --- evaluation -----------------------------------------------------------------------------


def _evaluation(service: Any, rounds: int = 3) -> dict[str, Any]:
    """Seconds for :meth:`CollectorService.evaluate` over every hall, against one plain pass
    over the same ticket records (each ticket's service and state read once)."""
    ours, plain = [], []
    metrics = service.monitor._metrics
    for _ in range(rounds):
        t = time.perf_counter()
        with service.monitor._lock:
            waiting = 0
            for state in metrics._halls.values():
                per_service: dict[str, int] = {}
                for ticket in state.tickets.values():
                    if ticket.state == "waiting":
                        per_service[ticket.service] = per_service.get(ticket.service, 0) + 1
                waiting += sum(per_service.values())
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        service.evaluate()
        ours.append(time.perf_counter() - t)
    halls = len(service.monitor.halls())
    tickets = sum(len(s.tickets) for s in metrics._halls.values())
    return {
        "halls": halls,
        "tickets": tickets,
        "seconds_median": round(statistics.median(ours), 3),
        "seconds_max": round(max(ours), 3),
        "baseline_plain_pass_s": round(statistics.median(plain), 4),
        "ratio_vs_plain_pass": round(statistics.median(ours) / max(statistics.median(plain),
                                                                   1e-9), 1),
        "target_s": 2.0,
    }


#: Tickets a busy hall has issued by late morning, for the evaluation of busy halls.
BUSY_TICKETS = 150


def _busy_evaluation(halls: int, sample: int) -> dict[str, Any]:
    """Evaluating halls at their busiest: ``sample`` halls of :data:`BUSY_TICKETS` tickets
    each (folded straight into a :class:`HallMonitor`; no ingest), every hall evaluated, the
    time projected to ``halls``. The province run's own halls are at the start of their
    morning; a snapshot scans the day's tickets of its service, so the cost grows with the
    day. Baseline: the same plain pass over the same tickets."""
    from collector.monitor import HallMonitor

    monitor = HallMonitor({})
    start = day_start()
    for i in range(sample):
        monitor.observe(hall_events("busy", i, start, BUSY_TICKETS))
    names = monitor.halls()
    ours, plain = [], []
    for _ in range(3):
        t = time.perf_counter()
        for state in monitor._metrics._halls.values():
            per_service: dict[str, int] = {}
            for ticket in state.tickets.values():
                if ticket.state == "waiting":
                    per_service[ticket.service] = per_service.get(ticket.service, 0) + 1
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        for hall in names:
            monitor.evaluate(hall)
        ours.append(time.perf_counter() - t)
    per_hall = statistics.median(ours) / len(names)
    return {
        "sample_halls": len(names),
        "tickets_per_hall": BUSY_TICKETS,
        "seconds_sample_median": round(statistics.median(ours), 4),
        "projected_seconds_all_halls": round(per_hall * halls, 2),
        "evaluations_per_s_one_hall": round(1 / per_hall, 1),
        "baseline_plain_pass_s": round(statistics.median(plain), 4),
        "ratio_vs_plain_pass": round(statistics.median(ours) / max(statistics.median(plain),
                                                                   1e-9), 1),
        "target_s": 2.0,
    }


# --- warning latency ----------------------------------------------------------------------

#: The probe process: a hall side that floods and triggers, and a subscriber to the warning
#: lists, to the flood halls' stored-watermarks and to the plain probe messages. Prints, as
#: JSON, the latencies and per hall the monotonic times (one clock for every process of the
#: machine) of sending the trigger, its stored-watermark arriving (the ingest process has
#: committed it and made it durable) and the red warning list arriving.
_PROBE = """
import json, sys, threading, time
import paho.mqtt.client as mqtt
from agent.publisher import batch_payload
from core.events import Event, Kind
from core.topics import events_topic, stored_topic
from hallstore import journal
host, port = sys.argv[1], int(sys.argv[2])
halls = sys.argv[3].split(",")
flood_at, pending_s, spacing = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
count = int(sys.argv[7])
trigger_at = flood_at + pending_s + 1
arrived, stored, probes, lock = {}, {}, {}, threading.Lock()
subscribed = threading.Event()

def on_message(c, u, msg):
    now = time.monotonic()
    if msg.topic.startswith("bench/probe/"):
        with lock:
            probes.setdefault(msg.topic.rsplit("/", 1)[1], now)
        return
    hall = msg.topic.split("/")[2]
    body = json.loads(msg.payload)
    if msg.topic.endswith("/stored"):
        if body["stored"].get("kiosk-flood", 0) > count:
            with lock:
                stored.setdefault(hall, now)
        return
    if any(w["level"] == "red" and w["metric"] == "waiting_count" and w["at"] >= trigger_at
           for w in body["warnings"]):
        with lock:
            arrived.setdefault(hall, now)

sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-probe-sub")
sub.on_message = on_message
sub.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
sub.on_connect = lambda c, u, f, rc, p: c.subscribe(
    [("halledge/v1/+/warnings", 1), ("bench/probe/#", 1)]
    + [(stored_topic(h), 0) for h in halls])
sub.connect(host, port)
sub.loop_start()
subscribed.wait(30)
pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-probe-pub")
pub.connect(host, port)
pub.loop_start()

def payload(hall, seq, kind, at, data):
    e = Event(kind, hall, "kiosk-flood", seq, at, data)
    return batch_payload([journal.event_json(e)])

for hall in halls:
    events = []
    for k in range(count):
        tid = "flood%08d" % k
        events.append(Event(Kind.TICKET_ISSUED, hall, "kiosk-flood", k + 1, flood_at + k * 0.01,
                            {"ticket_id": tid, "ticket_no": "F%03d" % k, "service": "social",
                             "issued_at": flood_at + k * 0.01, "people_ahead": k,
                             "est_wait_s": 60}))
    pub.publish(events_topic(hall), batch_payload([journal.event_json(e) for e in events]),
                qos=1).wait_for_publish(60)
time.sleep(2.0)
sent, probe_sent = {}, {}
for i, hall in enumerate(halls):
    body = payload(hall, count + 1, Kind.DEVICE_HEALTH, trigger_at,
                   {"device": "kiosk-flood", "state": "ok", "reasons": [], "code": 0})
    sent[hall] = time.monotonic()
    pub.publish(events_topic(hall), body, qos=1)
    time.sleep(spacing / 2)
    probe_sent[str(i)] = time.monotonic()
    pub.publish("bench/probe/%d" % i, b"x", qos=1)
    time.sleep(spacing / 2)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    with lock:
        if len(arrived) == len(halls) and len(probes) == len(halls):
            break
    time.sleep(0.05)
with lock:
    latencies = [arrived[h] - sent[h] for h in halls if h in arrived]
    trips = [probes[k] - probe_sent[k] for k in probe_sent if k in probes]
    print(json.dumps({"latencies": latencies, "trips": trips,
                      "missing": len(halls) - len(latencies), "sent": sent,
                      "stored": dict(stored), "arrived": dict(arrived)}))
sub.disconnect(); sub.loop_stop(); pub.disconnect(); pub.loop_stop()
"""


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


#: The flood device of the probe; its seq ``count + 1`` is the triggering event.
FLOOD_DEVICE = "kiosk-flood"


class _Stages:
    """Where each trigger spends its time inside the collector's process (the service runs
    in this one): hooks on the service for the length of the measurement stamp, once per
    flood hall, ``time.monotonic()`` (the probe's clock too, on one machine) when

    * ``handed``: the ingest handed the stored trigger on (the ingest process's tail read it
      from the store);
    * ``folding``: the fold began the round of groups holding it;
    * ``published``: the hall's warning list went to the publisher after that.

    Every 50 ms it also samples the fold's backlog (groups queued) and the stored events the
    ingest has not handed on yet, and it records this process's garbage-collection pauses.
    """

    def __init__(self, service: Any, halls: list[str], trigger_seq: int) -> None:
        self.service, self.halls, self.seq = service, frozenset(halls), trigger_seq
        self.handed: dict[str, float] = {}
        self.folding: dict[str, float] = {}
        self.published: dict[str, float] = {}
        self.backlog: list[int] = []
        self.unhanded: list[int] = []
        self.gc_pauses: list[tuple[int, float]] = []
        self._gc_began = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, name="bench-stages", daemon=True)
        self._saved: dict[str, Any] = {}

    def _triggers(self, events: list[Event]) -> list[str]:
        return [e.hall_id for e in events
                if e.seq == self.seq and e.device_id == FLOOD_DEVICE and e.hall_id in self.halls]

    def install(self) -> None:
        service, ingestor = self.service, self.service.ingestor
        handed_on, fold, publish = ingestor.on_events, service._fold_groups, service._publish

        def handed(events: list[Event]) -> None:
            now = time.monotonic()
            for hall in self._triggers(events):
                self.handed.setdefault(hall, now)
            handed_on(events)

        def folding(groups: list[list[Event]]) -> None:
            now = time.monotonic()
            for group in groups:
                for hall in self._triggers(group):
                    self.folding.setdefault(hall, now)
            fold(groups)

        def published(hall: str) -> None:
            publish(hall)
            if hall in self.folding:
                self.published.setdefault(hall, time.monotonic())

        self._saved = {"on_events": handed_on}
        ingestor.on_events = handed
        service._fold_groups, service._publish = folding, published
        gc.callbacks.append(self._gc)
        self._sampler.start()

    def remove(self) -> None:
        self._stop.set()
        self._sampler.join(5)
        gc.callbacks.remove(self._gc)
        self.service.ingestor.on_events = self._saved["on_events"]
        del self.service._fold_groups, self.service._publish  # the methods again

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_began = time.perf_counter()
        else:
            self.gc_pauses.append((info["generation"], time.perf_counter() - self._gc_began))

    def _sample(self) -> None:
        service = self.service
        while not self._stop.wait(0.05):
            self.backlog.append(service._fold_queue.qsize())
            after = getattr(service.ingestor, "_after", None)
            if after is not None:  # the ingest process: stored rows its tail has not read
                self.unhanded.append(service.store.last_rowid() - after)

    def figures(self, sent: dict[str, float], stored: dict[str, float],
                arrived: dict[str, float]) -> dict[str, Any]:
        """Each stage's p50/p99/max over the flood halls that have both of its ends."""

        def stage(ends: dict[str, float], begins: dict[str, float]) -> dict[str, Any]:
            spans = [ends[h] - begins[h] for h in begins if h in ends]
            return {"n": len(spans), "p50_s": round(_quantile(spans, 0.5), 4),
                    "p99_s": round(_quantile(spans, 0.99), 4),
                    "max_s": round(max(spans, default=float("nan")), 4)}

        gen2 = [d for g, d in self.gc_pauses if g == 2]
        return {
            "sent_to_stored_ack": stage(stored, sent),
            "sent_to_handed": stage(self.handed, sent),
            "handed_to_folding": stage(self.folding, self.handed),
            "folding_to_published": stage(self.published, self.folding),
            "published_to_arrived": stage(arrived, self.published),
            "fold_backlog_groups_max": max(self.backlog, default=0),
            "fold_backlog_groups_mean": round(statistics.fmean(self.backlog), 1)
            if self.backlog else 0.0,
            "stored_not_handed_max": max(self.unhanded, default=0),
            "gc_collections": len(self.gc_pauses),
            "gc_gen2_collections": len(gen2),
            "gc_pause_max_s": round(max((d for _, d in self.gc_pauses), default=0.0), 4),
        }


def _collector_machine(service: Any, broker: MosquittoBroker, **more: int | None) -> _Machine:
    """A :class:`_Machine` over the collector's process, its ingest process (when it has one)
    and Mosquitto, and ``more``."""
    ingest = getattr(service.ingestor, "_proc", None)
    return _Machine({"collector": os.getpid(),
                     "ingest_process": ingest.pid if ingest is not None else None,
                     "mosquitto": broker.pid, **more})  # fmt: skip


class _Machine:
    """How busy the machine and each process of the measurement were over its wall time:
    cores used (CPU seconds per second) by each process, by everything else (the other
    engineers' work on a shared machine), and the share of all cores busy."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        import psutil

        self._psutil = psutil
        self.procs: dict[str, Any] = {}
        self._times: dict[str, float] = {}
        self._began = time.perf_counter()
        self._cpu = psutil.cpu_times()
        for name, pid in pids.items():
            if pid:
                self.add(name, pid)

    def _used(self, proc: Any) -> float:
        try:
            t = proc.cpu_times()
        except self._psutil.Error:
            return float("nan")
        return t.user + t.system

    def add(self, name: str, pid: int) -> None:
        self.procs[name] = proc = self._psutil.Process(pid)
        self._times[name] = self._used(proc)

    def read(self) -> dict[str, Any]:
        """Call before the processes end (an ended process has no times)."""
        wall = time.perf_counter() - self._began
        cpu = self._psutil.cpu_times()
        idle_now = cpu.idle + getattr(cpu, "iowait", 0.0)
        idle_then = self._cpu.idle + getattr(self._cpu, "iowait", 0.0)
        total, idle = _cpu_total(cpu) - _cpu_total(self._cpu), idle_now - idle_then
        cores = {name: round((self._used(p) - self._times[name]) / wall, 2)
                 for name, p in self.procs.items()}
        busy = (total - idle) / wall
        return {
            "seconds": round(wall, 2),
            "cpu_count": self._psutil.cpu_count(),
            "machine_busy_share": round((total - idle) / total, 3) if total > 0 else None,
            "load_average_1m": round(self._psutil.getloadavg()[0], 2),
            "cores_used_by": cores,
            "cores_used_by_the_rest": round(busy - sum(v for v in cores.values() if v == v), 2),
        }


def _cpu_total(times: Any) -> float:
    # Linux counts guest time inside user time already.
    return sum(v for k, v in times._asdict().items() if k not in ("guest", "guest_nice"))


def _warning_latency(
    broker: MosquittoBroker, service: Any, flood_halls: list[str], flood_at: float,
    background: Publishers | None, spacing: float,
) -> dict[str, Any]:
    pending_s = 120.0  # the default Thresholds: the simulated halls have no config of their own
    count = 25  # above the red waiting_count of 20
    stages = _Stages(service, flood_halls, count + 1)
    machine = _collector_machine(service, broker, **{
        f"background_publisher_{i}": p.pid
        for i, p in enumerate(background.procs if background is not None else [])})
    stages.install()
    if background is not None:
        background.go()
    try:
        probe = subprocess.Popen(
            [sys.executable, "-c", _PROBE, broker.host, str(broker.port), ",".join(flood_halls),
             repr(flood_at), repr(pending_s), repr(spacing), str(count)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        machine.add("probe", probe.pid)
        lines: list[str] = []
        load: dict[str, Any] = {}
        assert probe.stdout is not None
        for line in probe.stdout:  # its result is its last line, printed as it ends
            lines.append(line)
            if line.startswith("{"):
                load = machine.read()
        if probe.wait(600) != 0 or not lines:
            raise RuntimeError(f"the latency probe failed ({probe.returncode})")
    finally:
        stages.remove()
        bg = background.results(600) if background is not None else []
    out = json.loads(lines[-1])
    lat, trips = out["latencies"], out["trips"]
    p99 = _quantile(lat, 0.99)
    trip_p99 = _quantile(trips, 0.99)
    bg_events = sum(r["events"] for r in bg)
    bg_seconds = max((r["seconds"] for r in bg), default=0.0)
    return {
        "flood_halls": len(flood_halls),
        "warnings_received": len(lat),
        "missing": out["missing"],
        "pending_s_hall_time": pending_s,
        "latency_p50_s": round(_quantile(lat, 0.5), 4),
        "latency_p99_s": round(p99, 4),
        "latency_max_s": round(max(lat, default=float("nan")), 4),
        "baseline_broker_trip_p50_s": round(_quantile(trips, 0.5), 4),
        "baseline_broker_trip_p99_s": round(trip_p99, 4),
        "baseline_broker_trip_max_s": round(max(trips, default=float("nan")), 4),
        "latency_p99_ratio_vs_broker_trip": round(p99 / max(trip_p99, 1e-6), 1),
        "background_events_per_s": round(bg_events / bg_seconds, 1) if bg_seconds else 0.0,
        "target_p99_s": 2.0,
        "stages": stages.figures(out["sent"], out["stored"], out["arrived"]),
        "machine": load,
    }


# --- the wait estimate ----------------------------------------------------------------------


def _wait_estimate(options: dict[str, Any]) -> dict[str, Any]:
    """The ``wait`` suite's figures when it exists (``simulation/wait_compare.py``)."""
    from benchmarks import SUITES, run_bench

    if "wait" not in SUITES:
        return {"status": "pending", "why": "bench wait (simulation/wait_compare.py) not there yet"}
    try:
        result = run_bench("wait", {"quick": options.get("quick"), "data": None})["wait"]
    except Exception as err:  # its own failure must not hide ours
        return {"status": "failed", "error": repr(err)[:300]}
    try:
        summary = [
            {"scenario": r["scenario"], "seed_set": r.get("seed_set"),
             "estimator_mae_s": r["estimator"]["mae_s"],
             "baseline_queue_length_mae_s": r["zms"]["mae_s"],
             "mae_reduction": r["mae_reduction"], "meets_target": r.get("meets_target")}
            for r in result["runs"]
        ]
    except (KeyError, TypeError):
        return {"status": "measured", "wait": result}
    return {"status": "measured", "note": result.get("note"),
            "target_mae_reduction": result.get("target_mae_reduction"),
            "all_meet_target": result.get("all_meet_target"), "runs": summary}


# --- the run --------------------------------------------------------------------------------


def _progress(phase: str, figures: Any) -> None:
    """Each phase's figures on stderr as soon as they are known: at province scale the
    collector can take minutes to settle and stop after the last measurement."""
    print(json.dumps({phase: figures}, ensure_ascii=False), file=sys.stderr, flush=True)


def _mosquitto_version() -> str:
    binary = mosquitto_binary()
    if binary is None:
        return "not installed"
    out = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=10)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].strip() if first else "unknown"


def run(options: dict[str, Any]) -> dict[str, Any]:
    quick = bool(options.get("quick"))
    halls = int(options.get("halls") or (QUICK_HALLS if quick else DEFAULT_HALLS))
    tickets = int(options.get("tickets") or 6)
    processes = 2 if quick or halls < 2000 else 4
    floods = max(2, min(200, halls // 100)) if not quick else max(2, min(20, halls // 20))
    spacing = 0.05
    if mosquitto_binary() is None:
        raise RuntimeError("the collector benchmark needs mosquitto (scripts/system-deps.sh)")
    start = day_start()
    prefix = "prov"
    result: dict[str, Any] = {
        "quick": quick, "halls": halls, "tickets_per_hall": tickets,
        "hall_day": business_day(start),
        "versions": {"mosquitto": _mosquitto_version()},
    }
    with tempfile.TemporaryDirectory(prefix="halledge-collector-") as tmp_name:
        tmp = Path(tmp_name)
        # Baseline and the collector alone first, on their own databases.
        alone = _baseline_and_alone(tmp, prefix, halls, start, tickets)
        _progress("baseline_and_alone", alone)
        raw_rate = alone["events"] / alone["raw_s"]
        alone_rate = alone["events"] / alone["alone_s"]

        broker = MosquittoBroker(data_dir=tmp / "mosquitto")
        broker.start()
        service = background = None
        try:
            floor = _mqtt_floor(broker, min(halls, FLOOR_HALLS), start, tickets, processes)
            _progress("mqtt_floor", floor)
            lean = _mqtt_floor(broker, min(halls, FLOOR_HALLS), start, tickets, processes,
                               client="lean")  # fmt: skip
            _progress("mqtt_floor_lean", lean)
            # The default (ingest and fold in one process) first, on its own database and
            # halls; then the province's configuration, the ingest in a process of its own
            # (a second core for the fold), which the rest of the run measures.
            service = _service(tmp / "collector-one.db", broker.host, broker.port,
                               "bench-collector-one")  # fmt: skip
            try:
                measured = _ingest_run(broker, service, "provo", halls, start, tickets, processes)
            finally:
                service.stop()
                service = None
                _end_session(broker, "bench-collector-one")
            result["ingest_in_process"] = measured | {
                "ratio_vs_raw_baseline": round(measured["events_per_s"] / raw_rate, 3),
                "ratio_vs_mqtt_floor": round(measured["events_per_s"] / floor["events_per_s"], 3),
                "ratio_vs_lean_floor": round(measured["events_per_s"] / lean["events_per_s"], 3),
            }
            _progress("ingest_in_process", result["ingest_in_process"])

            # On a broker of its own: a province's backlog and the retained lists of its halls
            # left in the shared one made every later autosave of it slower, and the warning
            # latency measured after it carried those stalls (broker trip p99 1.2 → 2.6 s).
            backlog_broker = MosquittoBroker(data_dir=tmp / "mosquitto-backlog")
            backlog_broker.start()
            try:
                backlog = _backlog_run(backlog_broker, tmp / "collector-backlog.db",
                                       "bench-collector-backlog", "provb", halls, start, tickets,
                                       processes)  # fmt: skip
            finally:
                backlog_broker.close()
            result["ingest_backlog"] = backlog | {
                "ingest_process": True,
                "ratio_vs_raw_baseline": round(backlog["events_per_s"] / raw_rate, 3),
                "ratio_vs_province_peak": round(
                    backlog["events_per_s"] / PROVINCE_PEAK_EVENTS_PER_S, 2),
                "ratio_vs_lean_floor": round(backlog["events_per_s"] / lean["events_per_s"], 3),
            }
            _progress("ingest_backlog", result["ingest_backlog"])

            service = _service(tmp / "collector.db", broker.host, broker.port, "bench-collector",
                               ingest_process=True)  # fmt: skip
            measured = _ingest_run(broker, service, prefix, halls, start, tickets, processes)
            rate = measured["events_per_s"]
            result["ingest"] = measured | {
                "ingest_process": True,
                "messages": alone["messages"],
                "events_per_message": round(measured["events"] / alone["messages"], 2),
                "ratio_folded_vs_raw_baseline": round(
                    measured["events_per_s_folded"] / raw_rate, 3),
                "baseline_raw_json_executemany_events_per_s": round(raw_rate, 1),
                "ratio_vs_raw_baseline": round(rate / raw_rate, 3),
                "target_ratio_vs_raw_baseline": 0.5,
                "province_peak_events_per_s": PROVINCE_PEAK_EVENTS_PER_S,
                "ratio_vs_province_peak": round(rate / PROVINCE_PEAK_EVENTS_PER_S, 2),
                "target_ratio_vs_province_peak": 10,
                "baseline_mqtt_receive_and_ack_only_events_per_s": floor["events_per_s"],
                "mqtt_floor_halls": floor["halls"],
                "ratio_vs_mqtt_floor": round(rate / floor["events_per_s"], 3),
                "mqtt_floor_ratio_vs_raw_baseline": round(floor["events_per_s"] / raw_rate, 3),
                "baseline_lean_receive_and_ack_only_events_per_s": lean["events_per_s"],
                "ratio_vs_lean_floor": round(rate / lean["events_per_s"], 3),
                "lean_floor_ratio_vs_raw_baseline": round(lean["events_per_s"] / raw_rate, 3),
                "ingest_alone_no_mqtt_events_per_s": round(alone_rate, 1),
                "ingest_alone_ratio_vs_raw_baseline": round(alone_rate / raw_rate, 3),
            }
            _progress("ingest", result["ingest"])
            result["evaluation"] = _evaluation(service)
            _progress("evaluation", result["evaluation"])
            result["evaluation_busy_halls"] = _busy_evaluation(
                halls, min(halls, 50 if quick else 500)
            )

            # Latency, with other halls publishing at the province's peak meanwhile.
            flood_halls = [hall_name(prefix, i) for i in range(1, halls, max(1, halls // floods))]
            flood_halls = flood_halls[:floods]
            seconds = floods * spacing + 6.0
            bg_halls = max(1, int(PROVINCE_PEAK_EVENTS_PER_S * seconds / (tickets * 3.6 + 10)))
            background = Publishers(
                broker, "prov-bg", bg_halls, start, tickets, processes=1,
                rate=PROVINCE_PEAK_EVENTS_PER_S,
            )
            latency = _warning_latency(
                broker, service, flood_halls, start + 5 * 3600, background, spacing
            )
            background = None
            result["warning_latency"] = latency
            _progress("warning_latency", latency)
            _settled(service)
            result["ingest"]["nothing_lost"]["monitor_failures_after_latency"] = sum(
                service.monitor.failures.values()
            )
        finally:
            if background is not None:
                background.kill()
            if service is not None:
                service.stop()
            broker.close()
    result["wait_estimate"] = _wait_estimate(options)
    return result


if __name__ == "__main__":
    print(json.dumps(run({"quick": "--quick" in sys.argv}), indent=2, ensure_ascii=False))
