"""Who is online: births, heartbeats and Last-Will deaths through a real broker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from agent.presence import Presence
from collector.presence import PresenceListener, PresenceView
from tests.brokers import MosquittoUnderTest, wait_until

ROOT = Path(__file__).resolve().parent.parent


def listen(mosquitto: MosquittoUnderTest) -> tuple[PresenceView, PresenceListener]:
    view = PresenceView()
    listener = PresenceListener(view, mosquitto.host, mosquitto.port)
    listener.start()
    assert listener.subscribed.wait(15)
    return view, listener


def status(view: PresenceView, device: str) -> dict | None:
    return next((d for d in view.devices() if d["device"] == device), None)


def test_a_device_is_born_beats_and_says_goodbye(mosquitto: MosquittoUnderTest) -> None:
    view, listener = listen(mosquitto)
    presence = Presence(
        mosquitto.host, mosquitto.port, "hall-demo", "hallbox-1",
        inventory={"ticket_printer": "sim://usb-printer"}, config_version="3",
        software_version="0.1.0", heartbeat_s=0.2,
    )
    try:
        presence.start()
        assert wait_until(lambda: (status(view, "hallbox-1") or {}).get("last_heartbeat"), 15)
        seen = status(view, "hallbox-1")
        assert seen["status"] == "online"
        assert seen["inventory"] == {"ticket_printer": "sim://usb-printer"}
        assert (seen["config_version"], seen["software_version"]) == ("3", "0.1.0")
    finally:
        presence.stop()
    assert wait_until(lambda: status(view, "hallbox-1")["status"] == "offline", 15)
    assert status(view, "hallbox-1")["reason"] == "shutdown"
    listener.stop()


def test_a_killed_device_is_declared_dead_by_its_will(mosquitto: MosquittoUnderTest) -> None:
    view, listener = listen(mosquitto)
    script = textwrap.dedent(f"""
        import time
        from agent.presence import Presence
        p = Presence({mosquitto.host!r}, {mosquitto.port}, "hall-demo", "kiosk-9", keepalive_s=1)
        p.start()
        assert p.wait_online(15)
        print("online", flush=True)
        time.sleep(600)
    """)
    device = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert device.stdout is not None and device.stdout.readline().strip() == "online"
        assert wait_until(lambda: (status(view, "kiosk-9") or {}).get("status") == "online", 15)
        device.send_signal(signal.SIGKILL)
        device.wait(timeout=10)
        # The broker notices the silent connection after 1.5 keepalives and sends the Will.
        assert wait_until(lambda: status(view, "kiosk-9")["status"] == "offline", 20)
        assert status(view, "kiosk-9")["reason"] == "lost"
    finally:
        if device.poll() is None:
            device.kill()
        listener.stop()


def test_a_collector_that_starts_late_sees_who_is_online(mosquitto: MosquittoUnderTest) -> None:
    presence = Presence(mosquitto.host, mosquitto.port, "hall-demo", "pad-3")
    presence.start()
    try:
        assert presence.wait_online(15)
        view, listener = listen(mosquitto)
        assert wait_until(lambda: (status(view, "pad-3") or {}).get("status") == "online", 15)
        listener.stop()
    finally:
        presence.stop()


def birth(boot: str, at: float, heartbeat_s: float = 10.0) -> bytes:
    return json.dumps({"v": 1, "state": "online", "boot_id": boot, "at": at,
                       "heartbeat_s": heartbeat_s}).encode()


def test_the_will_of_a_replaced_boot_does_not_kill_the_new_one() -> None:
    now = [1000.0]
    view = PresenceView(clock=lambda: now[0])
    topic = "halledge/v1/hall-demo/state/kiosk-1"
    view.on_message(topic, birth("boot-2", 1000.0))
    view.on_message(topic, json.dumps({"v": 1, "state": "offline", "boot_id": "boot-1",
                                       "reason": "lost"}).encode())
    assert view.devices()[0]["status"] == "online"


def test_a_connected_but_silent_device_is_stale() -> None:
    now = [1000.0]
    view = PresenceView(clock=lambda: now[0])
    view.on_message("halledge/v1/hall-demo/state/kiosk-1", birth("b", 1000.0, heartbeat_s=10))
    view.on_message("halledge/v1/hall-demo/heartbeat/kiosk-1",
                    json.dumps({"v": 1, "boot_id": "b", "at": 1010.0}).encode())
    now[0] = 1035.0
    assert view.devices()[0]["status"] == "online"
    now[0] = 1041.0
    assert view.devices()[0]["status"] == "stale"


def test_malformed_presence_messages_are_counted_and_dropped() -> None:
    view = PresenceView()
    view.on_message("halledge/v1/hall-demo/state/kiosk-1", b"\xff\xfe")
    view.on_message("halledge/v1/hall-demo/state/kiosk-1", b'{"v": 1, "state": "dancing", "boot_id": "x"}')
    view.on_message("halledge/v1/hall-demo/other/kiosk-1", b'{"v": 1}')
    assert view.rejected == 3 and view.devices() == []
