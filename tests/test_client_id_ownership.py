"""A client id belongs to its account: no hall can disconnect another hall or the collector.

Against the production broker set-up (tests/secure_broker.py, docs/deployment.md): the listener
runs with ``use_username_as_clientid``, so a connection's client id is the account it logged in
with. Hall A, with its own valid credentials, connects under every client id hall B and the
collector use; the broker accepts the connections, but as hall A's own ids, so B's
connections stay up, no Last Will of B is published, B's subscriptions keep working, and the
collector's persistent session keeps what was queued for it.

The last test takes the guard away (``use_username_as_clientid false``): the same attack then
disconnects B and wipes the collector's session, so the tests above do detect it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.presence import Presence
from agent.remote import RemoteControl
from agent.remote_store import RemoteStore
from agent.warnings_listener import WarningsListener
from collector.commands import CommandSender
from collector.ingest import Ingestor
from core.events import Event, Kind, encode_batch
from core.mqtt import MqttAuth
from core.topics import PREFIX, events_topic, hall_box_id, state_topic, warnings_topic
from tests.brokers import wait_until
from tests.conftest import HALL_OPENS
from tests.secure_broker import (
    COLLECTOR_USER,
    SecureMosquitto,
    acl_text,
    app_user,
    connection_user,
    deployment_accounts,
    hall_box_user,
)

DEPLOYMENT_DOC = Path(__file__).resolve().parent.parent / "docs" / "deployment.md"

HALL_A, HALL_B = "hall-a", "hall-b"
PAD = "pad-1"
INGEST = connection_user(COLLECTOR_USER, "ingest")


class Client:
    """A bare paho client: any client id, any credentials, records what it receives.

    Args:
        broker: the secure broker.
        auth: the credentials it logs in with.
        client_id: the client id it asks for (the broker may replace it).
        topics: filters to subscribe to once connected.
        clean_session: False keeps a persistent session.
    """

    def __init__(
        self,
        broker: SecureMosquitto,
        auth: MqttAuth,
        client_id: str,
        topics: tuple[str, ...] = (),
        clean_session: bool = True,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[Any] = []
        self.refused: Any = None
        self.disconnects = 0
        self.connected = threading.Event()
        self.answered = threading.Event()
        self.subscribed = threading.Event()
        self._lock = threading.Lock()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=clean_session, protocol=mqtt.MQTTv311)
        auth.apply(self._client)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = lambda *_: self.subscribed.set()
        self._client.on_message = self._on_message
        self._topics = topics
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            self.refused = rc
            client.disconnect()  # do not retry: one attempt is what the test asks about
        else:
            self.connected.set()
            if self._topics:
                client.subscribe([(t, 1) for t in self._topics])
        self.answered.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if self.connected.is_set():
            self.disconnects += 1

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append(msg)

    def received(self) -> list[Any]:
        with self._lock:
            return list(self.messages)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK."""
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(30)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def connect(broker: SecureMosquitto, auth: MqttAuth, client_id: str, **kw: Any) -> Client:
    """A connected :class:`Client` (the test fails if the broker does not answer)."""
    client = Client(broker, auth, client_id, **kw)
    assert client.answered.wait(30), broker.log_text()
    return client


def hijack(broker: SecureMosquitto, auth: MqttAuth, client_ids: list[str]) -> None:
    """Connect under each of ``client_ids`` with ``auth`` (clean session, as the attack in the
    field did), stay a moment, leave. Each attempt must be accepted: the credentials are
    valid, so a refusal would prove nothing about client ids."""
    for client_id in client_ids:
        intruder = connect(broker, auth, client_id)
        try:
            assert intruder.connected.is_set(), (auth.username, intruder.refused)
            intruder.publish(f"{PREFIX}/{HALL_A}/heartbeat/probe", b"{}")  # a round trip
        finally:
            intruder.close()


def hall_a_accounts(broker: SecureMosquitto) -> list[MqttAuth]:
    """Every account hall A holds: its box's three connections and its PAD's two."""
    names = [n for n, a in broker.accounts.items()
             if a.device in (hall_box_user(HALL_A), app_user(HALL_A, PAD))]
    assert len(names) == 5, names
    return [broker.auth(name) for name in names]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[SecureMosquitto]:
    secure = SecureMosquitto(tmp_path / "mosquitto", [HALL_A, HALL_B],
                             pads={HALL_A: [PAD], HALL_B: [PAD]})
    secure.start()
    try:
        yield secure
    finally:
        secure.close()


@pytest.fixture
def stack() -> Iterator[Callable[[Any], Any]]:
    """Starts clients and stops them, last first, whatever the test's outcome."""
    stops: list[Callable[[], None]] = []

    def started(client: Any) -> Any:
        if hasattr(client, "start"):
            client.start()
            stops.append(client.stop)
        else:
            stops.append(client.close)
        return client

    yield started
    for stop in reversed(stops):
        stop()


def test_hall_a_cannot_disconnect_hall_b_or_the_collector(
    tmp_path: Path, broker: SecureMosquitto, stack: Callable[[Any], Any]
) -> None:
    """Hall A connects, with its own credentials, under every client id hall B's box and PAD
    and the collector use (their accounts, and the ids the code sends without credentials).
    Every one of those clients stays connected, no "offline" Will of B is published, and B's
    subscriptions still deliver."""
    box_b, box_auth_b = hall_box_id(HALL_B), broker.auth(hall_box_user(HALL_B))
    pad_auth_b = broker.auth(app_user(HALL_B, PAD))
    ping = {"ping": lambda args: {"pong": True}}
    box_store = stack(RemoteStore(tmp_path / "box.db"))
    pad_store = stack(RemoteStore(tmp_path / "pad.db"))
    presence = stack(Presence(broker.host, broker.port, HALL_B, box_b, auth=box_auth_b))
    box_remote = stack(RemoteControl(broker.host, broker.port, HALL_B, box_b, box_store, ping,
                                     auth=box_auth_b))
    pad_remote = stack(RemoteControl(broker.host, broker.port, HALL_B, PAD, pad_store, ping,
                                     auth=pad_auth_b))
    warnings: list[dict] = []
    listener = stack(WarningsListener(broker.host, broker.port, HALL_B, warnings.append,
                                      auth=pad_auth_b))
    # The box's journal publisher holds the box account itself; a bare client stands in.
    publisher = stack(connect(broker, box_auth_b, "agent-hall-b"))
    watcher = stack(connect(broker, broker.auth(connection_user(COLLECTOR_USER, "presence")),
                            "watcher", topics=(f"{PREFIX}/{HALL_B}/state/+",)))
    sender = stack(CommandSender(broker.host, broker.port,
                                 auth=broker.auth(connection_user(COLLECTOR_USER, "commands"))))
    assert presence.wait_online(60), broker.log_text()
    for client in (box_remote, pad_remote, listener, sender, watcher):
        assert client.subscribed.wait(60), broker.log_text()
    assert publisher.connected.is_set()
    victims = [name for name, a in broker.accounts.items()
               if a.device in (hall_box_user(HALL_B), app_user(HALL_B, PAD), COLLECTOR_USER)]
    anonymous_ids = [f"presence-{HALL_B}-{box_b}", "agent-hall-b", f"remote-{HALL_B}-{box_b}-",
                     "halledge-collector", "halledge-collector-presence"]

    for auth in hall_a_accounts(broker):
        hijack(broker, auth, victims + anonymous_ids)
    # Nor can hall A log in as them: its password opens only its own accounts.
    a_password = broker.passwords[hall_box_user(HALL_A)]
    for name in victims:
        refused = connect(broker, broker.auth(name, password=a_password), name)
        refused.close()
        assert refused.refused is not None and refused.refused.value in (134, 135), name

    # B's commands and warnings still arrive, on the connections B opened at the start.
    for device in (box_b, PAD):
        ack = sender.wait_ack(sender.send(HALL_B, device, "ping"), 60)
        assert ack is not None and ack["outcome"] == "ok", (device, broker.log_text())
    warning_list = {"v": 1, "hall": HALL_B, "at": HALL_OPENS, "warnings": []}
    collector = stack(connect(broker, broker.auth(connection_user(COLLECTOR_USER, "warnings")),
                              "collector-warnings"))
    collector.publish(warnings_topic(HALL_B), json.dumps(warning_list).encode())
    assert wait_until(lambda: warnings == [warning_list], 60), broker.log_text()

    assert presence.births == 1 and presence.status.connect_failures == 0
    for client in (box_remote, pad_remote, listener, sender):
        assert client.status.connect_failures == 0, client.status.last_error
    assert publisher.disconnects == 0 and watcher.disconnects == 0
    states = [json.loads(m.payload) for m in watcher.received()
              if m.topic == state_topic(HALL_B, box_b)]
    assert [s["state"] for s in states] == ["online"], states
    assert "already connected" not in broker.log_text()


def queue_batches_for_the_collector(broker: SecureMosquitto, batches: int) -> None:
    """Hall B's box publishes ``batches`` event batches (one event each) at QoS 1."""
    box = connect(broker, broker.auth(hall_box_user(HALL_B)), "agent-hall-b")
    try:
        for seq in range(1, batches + 1):
            event = Event(Kind.WINDOW_OPENED, HALL_B, "pad-1", seq, HALL_OPENS + seq,
                          {"window": 1, "staff_id": "staff-1", "services": ["social"]})
            box.publish(events_topic(HALL_B), encode_batch([event]))
    finally:
        box.close()


def collector_goes_offline(broker: SecureMosquitto, db: Path) -> None:
    """The collector's ingest subscribes once and stops: its persistent session stays on the
    broker and queues what arrives for it."""
    ingest = Ingestor(db, broker.host, broker.port, auth=broker.auth(INGEST))
    ingest.start()
    try:
        assert ingest.wait_subscribed(60), broker.log_text()
    finally:
        ingest.stop()
        ingest.store.close()


def collector_session_ids() -> list[str]:
    """The ids the collector's ingest session has gone by: its account, and the default
    client id the code sends without credentials (``collector/ingest.py``)."""
    return [INGEST, COLLECTOR_USER, "halledge-collector"]


def test_hall_credentials_cannot_take_over_the_collectors_session(
    tmp_path: Path, broker: SecureMosquitto
) -> None:
    """Batches queue in the collector's persistent session while it is offline; hall A then
    connects under the collector's client ids with a clean session (which would wipe that
    session) and tries the collector's account with its own password. The collector comes
    back and every queued batch arrives."""
    collector_goes_offline(broker, tmp_path / "collector.db")
    queue_batches_for_the_collector(broker, 3)

    for auth in hall_a_accounts(broker):
        hijack(broker, auth, collector_session_ids())
    a_password = broker.passwords[hall_box_user(HALL_A)]
    stolen = connect(broker, broker.auth(INGEST, password=a_password), INGEST)
    stolen.close()
    assert stolen.refused is not None and stolen.refused.value in (134, 135)

    back = Ingestor(tmp_path / "collector.db", broker.host, broker.port, auth=broker.auth(INGEST))
    back.start()
    try:
        assert wait_until(lambda: back.events_ingested == 3, 60), (back.counters(),
                                                                   broker.log_text())
    finally:
        back.stop()
        back.store.close()


def test_without_owned_client_ids_the_same_attack_succeeds(tmp_path: Path) -> None:
    """The control: with ``use_username_as_clientid false`` (password file and ACL alone),
    hall A's credentials under B's presence id disconnect B and publish B's "offline" Will,
    and under the collector's id they wipe its queued session."""
    broker = SecureMosquitto(tmp_path / "mosquitto", [HALL_A, HALL_B], owned_client_ids=False)
    broker.start()
    box_b = hall_box_id(HALL_B)
    presence = Presence(broker.host, broker.port, HALL_B, box_b,
                        auth=broker.auth(hall_box_user(HALL_B)))
    watcher = connect(broker, broker.auth(connection_user(COLLECTOR_USER, "presence")),
                      "watcher", topics=(state_topic(HALL_B, box_b),))
    try:
        presence.start()
        assert presence.wait_online(60) and watcher.subscribed.wait(60), broker.log_text()
        intruder = connect(broker, broker.auth(hall_box_user(HALL_A)),
                           connection_user(hall_box_user(HALL_B), "presence"))
        assert intruder.connected.is_set()
        assert wait_until(lambda: any(json.loads(m.payload)["state"] == "offline"
                                      for m in watcher.received()), 60), broker.log_text()
        intruder.close()
        assert "already connected, closing old connection" in broker.log_text()
    finally:
        presence.stop()
        watcher.close()

    try:
        collector_goes_offline(broker, tmp_path / "collector.db")
        queue_batches_for_the_collector(broker, 3)
        hijack(broker, broker.auth(hall_box_user(HALL_A)), [INGEST])
        back = Ingestor(tmp_path / "collector.db", broker.host, broker.port,
                        auth=broker.auth(INGEST))
        back.start()
        try:
            assert back.wait_subscribed(60), broker.log_text()
            # A surviving session delivers its queue right after the CONNACK.
            assert not wait_until(lambda: back.events_ingested + back.rejected > 0, 5)
        finally:
            back.stop()
            back.store.close()
    finally:
        broker.close()


def test_the_deployment_doc_shows_the_acl_the_tests_run() -> None:
    """docs/deployment.md's example ACL is the one tests/secure_broker.py generates."""
    text = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    block = text.split("<!-- acl:begin -->\n```\n", 1)[1].split("```\n<!-- acl:end -->", 1)[0]
    hall = "hall-demo"
    accounts = deployment_accounts([hall], kiosks={hall: ["kiosk-1"]}, pads={hall: ["pad-3"]})
    assert block.rstrip("\n") == acl_text(accounts).rstrip("\n")
