"""The hall API (``docs/hall-api.md``): the hall box's server on a loopback port over a real
hall database, reached by :class:`hallnet.client.RemoteHallQueue` and by raw HTTP, as the
hall's kiosks and PADs on their own machines reach it."""

from __future__ import annotations

import base64
import json
import logging
import queue
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from core.clock import SystemClock
from core.config import HallConfig, load_hall_config
from core.errors import DeviceForbidden, HallBoxUnreachable, WindowNotOpen
from core.events import Kind
from core.strings_zh import error_text
from flows.queue import HallQueue
from flows.ticketing import TicketFlow
from hallnet.client import RemoteHallQueue, interrupt, parse_sse
from hallnet.devices import DeviceFile, enrol, remove_device
from hallnet import server as hall_server
from hallnet.server import KEEPALIVE_S, HallServer
from hallstore import journal

WAIT_S = 10.0


@dataclass
class HallApi:
    """A hall box's API server and what a test needs around it."""

    server: HallServer
    hall: HallConfig
    db: Path
    devices: Path
    work: Path
    clients: list[RemoteHallQueue] = field(default_factory=list)

    @property
    def base(self) -> str:
        return "http://{}:{}/v1".format(*self.server.address)

    def enrol(self, device_id: str, role: str, window: int | None = None) -> DeviceFile:
        return enrol(
            self.devices,
            self.work / device_id / "device.json",
            self.hall.hall_id,
            device_id,
            role,
            "{}:{}".format(*self.server.address),
            window,
        )

    def client(self, device: DeviceFile, listen: bool = True) -> RemoteHallQueue:
        remote = RemoteHallQueue(device, self.hall, listen=listen).start()
        self.clients.append(remote)
        return remote

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        conn = journal.connect(self.db)
        try:
            found = [p.event for p in journal.pending(conn, 10_000)]
        finally:
            conn.close()
        return [
            {"kind": e.kind, "device": e.device_id, **e.data}
            for e in found
            if kind is None or e.kind == kind
        ]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[HallApi]:
    hall = load_hall_config()
    db = tmp_path / "hall.db"
    devices = tmp_path / "hall-devices.json"
    server = HallServer(hall, db, ("127.0.0.1", 0), devices).start()
    setup = HallApi(server, hall, db, devices, tmp_path)
    try:
        yield setup
    finally:
        for client in setup.clients:
            client.close()
        server.stop()


class Stream:
    """A raw ``GET /v1/events`` read on a thread: every event in arrival order."""

    def __init__(self, api: HallApi, device: DeviceFile, last_id: int | None = None) -> None:
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        self.resp = requests.get(
            f"{api.base}/events",
            headers=headers,
            auth=(device.device_id, device.secret),
            stream=True,
            timeout=(1, 10),
        )
        self.status = self.resp.status_code
        self.events: queue.Queue[tuple[str, dict[str, Any] | None, int | None]] = queue.Queue()
        self.ended = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for event in parse_sse(self.resp.iter_content(chunk_size=None)):
                if event[0] != "ping":
                    self.events.put(event)
        except (requests.RequestException, OSError, AttributeError):
            pass  # closed by the test (AttributeError: urllib3 closed under the reader)
        finally:
            self.ended.set()

    def next(self) -> tuple[str, dict[str, Any] | None, int | None]:
        return self.events.get(timeout=WAIT_S)

    def until_ready(self) -> list[tuple[str, dict[str, Any] | None, int | None]]:
        """Everything before ``ready`` (which is consumed)."""
        seen = []
        while (event := self.next())[0] != "ready":
            seen.append(event)
        return seen

    def close(self) -> None:
        interrupt(self.resp)
        self.ended.wait(WAIT_S)
        self.resp.close()


def post(
    api: HallApi, device: DeviceFile, path: str, body: dict[str, Any], key: str
) -> requests.Response:
    return requests.post(
        f"{api.base}{path}",
        json=body,
        headers={"Idempotency-Key": key},
        auth=(device.device_id, device.secret),
        timeout=5,
    )


def wait_for(predicate: Any, timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


# --- the queue over HTTP -------------------------------------------------------------------


def test_a_kiosk_issues_and_a_pad_calls_and_finishes_over_http(api: HallApi) -> None:
    """GIVEN a kiosk and the PAD of window 3 on their own machines WHEN the kiosk issues a
    ticket and the PAD signs in, calls and finishes it THEN both see the queue as the hall box
    keeps it, and the hall journal holds each change once, under the device that made it."""
    kiosk = api.client(api.enrol("kiosk-1", "kiosk"))
    pad = api.client(api.enrol("pad-3", "pad", window=3))

    issued = kiosk.issue("social", "kiosk-1")
    assert issued.ticket.ticket_no == "A001" and issued.people_ahead == 0
    # The kiosk on its own machine tells the same range as one on the hall box.
    assert issued.est_wait_low_s is not None and issued.est_wait_high_s is not None
    assert issued.est_wait_low_s <= issued.est_wait_s <= issued.est_wait_high_s
    assert wait_for(lambda: pad.window_view(3).waiting == (issued.ticket,))
    pad.open_window(3, "pad-3", "007")
    called = pad.call_next(3, "pad-3")
    assert called is not None and (called.ticket_no, called.state, called.window_no) == (
        "A001",
        "called",
        3,
    )
    view = pad.window_view(3)
    assert view.is_open and view.current == called and view.waiting == ()
    assert wait_for(lambda: kiosk.waiting_count("social") == 0)
    done = pad.finish(3, "pad-3")
    assert done.state == "finished"
    pad.record_rating(done, 5, "rating-pad-3")
    assert pad.call_next(3, "pad-3") is None

    kinds = [(e["kind"], e["device"]) for e in api.events()]
    assert kinds == [
        (Kind.TICKET_ISSUED, "kiosk-1"),
        (Kind.WINDOW_OPENED, "pad-3"),
        (Kind.TICKET_CALLED, "pad-3"),
        (Kind.TICKET_FINISHED, "pad-3"),
        (Kind.RATING_SUBMITTED, "rating-pad-3"),
    ]


def test_a_refusal_comes_back_as_the_same_error_type_as_on_the_hall_box(api: HallApi) -> None:
    """A call at a window that has not signed in raises WindowNotOpen (203) on the PAD, as the
    local queue does, so the flows handle a remote refusal unchanged."""
    pad = api.client(api.enrol("pad-3", "pad", window=3))
    with pytest.raises(WindowNotOpen) as raised:
        pad.call_next(3, "pad-3")
    assert raised.value.code == 203 and raised.value.details["window"] == 3


# --- pushes --------------------------------------------------------------------------------


def test_a_new_ticket_and_a_call_are_pushed_to_a_listening_client(api: HallApi) -> None:
    """A client holding the event stream gets a snapshot, ``ready``, then each change as it
    is committed, with ids that only increase."""
    kiosk = api.enrol("kiosk-1", "kiosk")
    pad = api.enrol("pad-3", "pad", window=3)
    stream = Stream(api, pad)
    try:
        first = stream.until_ready()
        assert [e[0] for e in first] == ["snapshot"]
        assert first[0][1] is not None and first[0][1]["hall"]["hall_id"] == "hall-demo"
        api.client(kiosk, listen=False).issue("social", "kiosk-1")
        remote_pad = api.client(pad, listen=False)
        remote_pad.open_window(3, "pad-3", "007")
        remote_pad.call_next(3, "pad-3")

        pushed = [stream.next() for _ in range(3)]
    finally:
        stream.close()
    assert [kind for kind, _, _ in pushed] == [
        Kind.TICKET_ISSUED,
        Kind.WINDOW_OPENED,
        Kind.TICKET_CALLED,
    ]
    assert pushed[0][1]["ticket"]["ticket_no"] == "A001"  # type: ignore[index]
    assert pushed[2][1]["ticket"]["window_no"] == 3  # type: ignore[index]
    ids = [first[0][2], *[i for _, _, i in pushed]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_listening_client_keeps_its_local_view_current_without_requests(api: HallApi) -> None:
    """The PAD's view follows the kiosk's tickets through the pushes alone."""
    kiosk = api.client(api.enrol("kiosk-1", "kiosk"), listen=False)
    pad = api.client(api.enrol("pad-3", "pad", window=3))
    assert wait_for(lambda: pad.connected)
    for service in ("social", "household", "business"):
        kiosk.issue(service, "kiosk-1")
    assert wait_for(lambda: len(pad.window_view(3).waiting) == 3)
    calls = {"n": 0}
    original = pad._session.request

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return original(*args, **kwargs)

    pad._session.request = counting  # type: ignore[method-assign]
    assert [t.ticket_no for t in pad.window_view(3).waiting] == ["A001", "B001", "C001"]
    assert pad.waiting_count("business") == 1
    assert calls["n"] == 0


def test_last_event_id_resume_gets_exactly_the_missed_events(api: HallApi) -> None:
    """GIVEN a client that saw up to event N and went away WHEN three changes happen and it
    comes back with ``Last-Event-ID: N`` THEN it gets exactly those three, in order, then
    ``ready``; no snapshot, nothing twice."""
    kiosk = api.client(api.enrol("kiosk-1", "kiosk"), listen=False)
    pad = api.enrol("pad-3", "pad", window=3)
    stream = Stream(api, pad)
    seen = stream.until_ready()
    last = seen[-1][2]
    stream.close()

    tickets = [kiosk.issue(s, "kiosk-1").ticket.ticket_no for s in ("social", "social", "business")]

    again = Stream(api, pad, last_id=last)
    try:
        missed = again.until_ready()
    finally:
        again.close()
    got = [(kind, data["ticket"]["ticket_no"]) for kind, data, _ in missed]  # type: ignore[index]
    assert got == [(Kind.TICKET_ISSUED, no) for no in tickets]
    assert [i for _, _, i in missed] == [last + 1, last + 2, last + 3]  # type: ignore[operator]


def test_an_unknown_or_too_old_last_event_id_gets_a_snapshot_first(api: HallApi) -> None:
    """An id the hall box never gave (a restored backup) or one older than the feed keeps is
    answered with a snapshot of the whole queue, not with a guess."""
    pad = api.enrol("pad-3", "pad", window=3)
    for last in (10_000, -1):
        stream = Stream(api, pad, last_id=last)
        try:
            assert [e[0] for e in stream.until_ready()] == ["snapshot"]
        finally:
            stream.close()


def test_a_change_made_by_another_writer_of_the_database_is_pushed(api: HallApi) -> None:
    """A kiosk on the hall box that still opens the hall database itself issues a ticket: the
    listening PAD gets a snapshot holding it (the server noticed the journal grew)."""
    pad = api.client(api.enrol("pad-3", "pad", window=3))
    assert wait_for(lambda: pad.connected)
    local = HallQueue(journal.connect(api.db), api.hall, SystemClock())
    try:
        local.issue("household", "kiosk-9")
    finally:
        local.conn.close()
    assert wait_for(lambda: [t.ticket_no for t in pad.window_view(3).waiting] == ["B001"])


def test_a_kiosk_that_cannot_reach_the_hall_box_issues_nothing_and_says_so(api: HallApi) -> None:
    """The 取号 flow on a remote queue: with the hall box gone, a tap goes back to the services
    (as last known) with the unreachable sentence, and no ticket exists anywhere."""
    kiosk = api.client(api.enrol("kiosk-1", "kiosk"))
    assert wait_for(lambda: kiosk.connected)
    flow = TicketFlow(kiosk, None, "kiosk-1", kiosk.clock)
    assert [s["waiting"] for s in flow.choose_service().data["services"]] == [0, 0, 0]
    api.server.stop()
    assert wait_for(lambda: not kiosk.connected)

    screen = flow.take("social")

    assert (screen.name, screen.error_key) == ("choose_service", "hall_box_unreachable")
    assert error_text(screen.error_key) == "与服务器连接中断，请稍后再试或联系工作人员"
    assert api.events(Kind.TICKET_ISSUED) == []


# --- idempotency ---------------------------------------------------------------------------


def test_an_idempotency_key_retry_returns_the_same_ticket_and_issues_nothing_more(
    api: HallApi,
) -> None:
    kiosk = api.enrol("kiosk-1", "kiosk")
    body = {"service": "social", "device_id": "kiosk-1"}
    first = post(api, kiosk, "/tickets", body, "k-1")
    again = post(api, kiosk, "/tickets", body, "k-1")
    other = post(api, kiosk, "/tickets", body, "k-2")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["ticket"] == first.json()["ticket"]
    assert other.json()["ticket"]["ticket_no"] == "A002"
    assert len(api.events(Kind.TICKET_ISSUED)) == 2
    reused = post(api, kiosk, "/tickets", {"service": "business", "device_id": "kiosk-1"}, "k-1")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == 704


def test_a_state_change_without_a_key_is_refused(api: HallApi) -> None:
    kiosk = api.enrol("kiosk-1", "kiosk")
    resp = requests.post(
        f"{api.base}/tickets",
        json={"service": "social", "device_id": "kiosk-1"},
        auth=(kiosk.device_id, kiosk.secret),
        timeout=5,
    )
    assert resp.status_code == 400 and resp.json()["error"]["key"] == "bad_request"
    assert api.events() == []


def test_a_lost_answer_is_repeated_with_its_key_and_the_ticket_is_not_issued_twice(
    api: HallApi,
) -> None:
    """GIVEN the hall box issued a ticket but the answer never reached the kiosk (every
    attempt's answer is lost) WHEN the citizen taps the same service again THEN the kiosk sends
    the same Idempotency-Key and gets the ticket issued the first time: one ticket in all."""
    kiosk = api.client(api.enrol("kiosk-1", "kiosk"), listen=False)
    real = kiosk._session.request
    keys: list[str] = []

    def answer_lost(method: str, url: str, **kwargs: Any) -> Any:
        keys.append(kwargs["headers"]["Idempotency-Key"])
        real(method, url, **kwargs)  # it reaches the hall box …
        raise requests.ConnectionError("connection reset")  # … the answer does not come back

    kiosk._session.request = answer_lost  # type: ignore[method-assign]
    with pytest.raises(HallBoxUnreachable):
        kiosk.issue("social", "kiosk-1")
    kiosk._session.request = real  # type: ignore[method-assign]
    issued = kiosk.issue("social", "kiosk-1")

    assert len(keys) == 3 and len(set(keys)) == 1  # three attempts, one key
    assert issued.ticket.ticket_no == "A001"
    assert [e["ticket_no"] for e in api.events(Kind.TICKET_ISSUED)] == ["A001"]
    assert kiosk.issue("social", "kiosk-1").ticket.ticket_no == "A002"  # settled: a new key


# --- devices -------------------------------------------------------------------------------


def test_an_unknown_device_or_a_wrong_secret_is_refused(api: HallApi) -> None:
    api.enrol("kiosk-1", "kiosk")
    for auth in (("kiosk-7", "whatever"), ("kiosk-1", "not-the-secret")):
        resp = requests.get(f"{api.base}/hall", auth=auth, timeout=5)
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == 702
        assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(f"{api.base}/hall", timeout=5).status_code == 401


def test_a_kiosk_may_not_call_tickets(api: HallApi) -> None:
    kiosk = api.enrol("kiosk-1", "kiosk")
    resp = post(api, kiosk, "/windows/3/call", {"device_id": "kiosk-1"}, "c-1")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == 703
    remote = api.client(kiosk, listen=False)
    with pytest.raises(DeviceForbidden):
        remote.call_next(3, "kiosk-1")
    assert api.events(Kind.TICKET_CALLED) == []


def test_a_pad_bound_to_its_window_may_not_serve_another_or_act_as_another_device(
    api: HallApi,
) -> None:
    pad = api.enrol("pad-3", "pad", window=3)
    body = {"device_id": "pad-3", "staff_id": "007"}
    assert post(api, pad, "/windows/1/open", body, "o-1").status_code == 403
    spoof = {"device_id": "pad-1", "staff_id": "007"}
    assert post(api, pad, "/windows/3/open", spoof, "o-2").status_code == 403
    assert api.events() == []


def test_a_removed_device_is_refused_at_once_and_its_stream_is_closed(api: HallApi) -> None:
    pad = api.enrol("pad-3", "pad", window=3)
    stream = Stream(api, pad)
    try:
        stream.until_ready()
        assert remove_device(api.devices, "pad-3")
        kind, data, _ = stream.next()
        assert kind == "revoked" and data is not None and data["error"]["code"] == 702
        assert stream.ended.wait(2 * KEEPALIVE_S)
    finally:
        stream.close()
    resp = post(api, pad, "/windows/3/open", {"device_id": "pad-3", "staff_id": "007"}, "o-1")
    assert resp.status_code == 401
    assert Stream(api, pad).status == 401


def test_a_device_that_stops_reading_holds_up_nobody_and_catches_up_when_it_reconnects(
    api: HallApi, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A small buffer, and a device that takes small segments into a small window: a few dozen
    # tickets fill what the kernels hold for it and then the hall box's buffer (on loopback
    # the kernel would otherwise hold megabytes).
    monkeypatch.setattr(hall_server, "STREAM_BUFFER_MAX", 8 * 1024)
    caplog.set_level(logging.INFO, logger="hallnet.server")
    kiosk = api.enrol("kiosk-1", "kiosk")
    reading = Stream(api, api.enrol("pad-3", "pad", window=3))
    stalled_pad = api.enrol("pad-1", "pad", window=1)
    stalled = socket.socket()
    try:
        reading.until_ready()
        stalled.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(api.server.address)
        secret = base64.b64encode(f"pad-1:{stalled_pad.secret}".encode()).decode()
        stalled.sendall(
            f"GET /v1/events HTTP/1.1\r\nHost: hall\r\nAuthorization: Basic {secret}\r\n\r\n"
            .encode()
        )
        # It reads as far as ``ready`` (the snapshot of the empty hall before it), then stops.
        stalled.settimeout(WAIT_S)
        received = b""
        while b"event: ready" not in received:
            received += stalled.recv(1)
        numbers: list[str] = []
        while not _stream_closed(caplog) and len(numbers) < 1000:
            body = {"service": "social", "device_id": "kiosk-1"}
            resp = post(api, kiosk, "/tickets", body, f"t-{len(numbers)}")
            numbers.append(resp.json()["ticket"]["ticket_no"])
        assert _stream_closed(caplog)
        # The PAD that reads was sent every ticket meanwhile, in order.
        assert _issued_numbers([reading.next() for _ in numbers]) == numbers
        # The stalled PAD reads what reached it: the stream ends before the newest ticket,
        # and without the body's end.
        while chunk := stalled.recv(65536):
            received += chunk
        head, _, body_bytes = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and not body_bytes.endswith(b"0\r\n\r\n")
        events = list(parse_sse([_dechunk(body_bytes)]))
        got = _issued_numbers(events)
        assert 0 < len(got) < len(numbers) and got == numbers[: len(got)]
        last_id = [event_id for _, _, event_id in events if event_id is not None][-1]
        # Reconnecting with the last id it read, it gets the tickets it missed, and no other.
        again = Stream(api, stalled_pad, last_id=last_id)
        try:
            missed = _issued_numbers(again.until_ready())
        finally:
            again.close()
        assert got + missed == numbers
    finally:
        stalled.close()
        reading.close()


def _issued_numbers(events: list[tuple[str, dict[str, Any] | None, int | None]]) -> list[str]:
    return [d["ticket"]["ticket_no"] for kind, d, _ in events if kind == "ticket.issued" and d]


def _stream_closed(caplog: pytest.LogCaptureFixture) -> bool:
    return any("event stream of pad-1 closed" in r.getMessage() for r in caplog.records)


def _dechunk(data: bytes) -> bytes:
    """The body of a chunked HTTP response, as far as its chunks are whole."""
    body = b""
    while True:
        size_line, sep, rest = data.partition(b"\r\n")
        if not sep:
            return body
        size = int(size_line, 16)
        if size == 0 or len(rest) < size + 2:
            return body
        body, data = body + rest[:size], rest[size + 2 :]


def test_the_device_list_keeps_hashes_not_secrets(api: HallApi) -> None:
    device = api.enrol("pad-3", "pad", window=3)
    text = api.devices.read_text(encoding="utf-8")
    assert device.secret not in text
    assert json.loads(text)["devices"]["pad-3"]["secret"].startswith("scrypt$")
    assert api.devices.stat().st_mode & 0o077 == 0


def test_the_api_tables_are_a_migration_set_of_their_own_on_the_hall_database(api: HallApi) -> None:
    conn = sqlite3.connect(api.db)
    try:
        sets = dict(
            conn.execute("SELECT schema, MAX(version) FROM migration_ledger GROUP BY schema")
        )
    finally:
        conn.close()
    assert sets["hallnet"] == 2 and "hall" in sets
