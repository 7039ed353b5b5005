"""Per-device credentials, the per-account ACL and TLS, against a real Mosquitto set up like a
production broker (tests/secure_broker.py, docs/deployment.md). Client-id ownership has its
own file, tests/test_client_id_ownership.py."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.presence import hall_box_presence
from agent.publisher import Publisher
from agent.remote import RemoteControl
from agent.remote_store import RemoteStore
from collector.commands import CommandSender
from collector.ingest import Ingestor
from core.errors import BrokerUnavailable, MqttAuthRefused, MqttTlsFailed
from core.events import Event, Kind, encode_batch
from core.mqtt import MqttAuth
from core.strings_zh import error_text
from core.topics import events_topic, hall_box_id
from hallstore import journal
from tests.brokers import wait_until
from tests.conftest import HallDb
from tests.secure_broker import (
    COLLECTOR_USER,
    SecureMosquitto,
    connection_user,
    hall_box_user,
    make_pki,
)
from tests.test_publisher import make_activity

OTHER_HALL = "hall-other"


@pytest.fixture
def broker(tmp_path: Path, hall_db: HallDb) -> Iterator[SecureMosquitto]:
    secure = SecureMosquitto(tmp_path / "mosquitto", [hall_db.hall.hall_id, OTHER_HALL])
    secure.start()
    try:
        yield secure
    finally:
        secure.close()


@pytest.fixture
def ingestor(tmp_path: Path, broker: SecureMosquitto) -> Iterator[Ingestor]:
    ing = Ingestor(
        tmp_path / "collector.db", broker.host, broker.port,
        auth=broker.auth(connection_user(COLLECTOR_USER, "ingest")),
    )
    ing.start()
    try:
        assert ing.wait_subscribed(60), broker.log_text()
        yield ing
    finally:
        ing.stop()
        ing.store.close()


def box_publisher(hall_db: HallDb, broker: SecureMosquitto, auth: MqttAuth) -> Publisher:
    return Publisher(
        hall_db.path, hall_db.hall.hall_id, broker.host, broker.port, "test-agent",
        backoff_max=0.5, auth=auth,
    )


def box_auth(hall_db: HallDb, broker: SecureMosquitto, password: str | None = None) -> MqttAuth:
    return broker.auth(hall_box_user(hall_db.hall.hall_id), password)


def test_device_with_its_own_account_delivers_over_tls(
    hall_db: HallDb, broker: SecureMosquitto, ingestor: Ingestor
):
    """Events, birth and Will all pass the hall's ACL on the TLS listener, end to end."""
    made = make_activity(hall_db, tickets=5)
    auth = box_auth(hall_db, broker)
    pub = box_publisher(hall_db, broker, auth)
    presence = hall_box_presence(hall_db.hall, broker.host, broker.port, auth=auth)
    pub.start()
    presence.start()
    try:
        assert presence.wait_online(60), broker.log_text()
        assert pub.wait_drained(60), broker.log_text()
        assert wait_until(lambda: ingestor.events_ingested == made, 60), ingestor.counters()
    finally:
        presence.stop()
        pub.stop()
    assert pub.last_error is None
    assert ingestor.store.count(hall_db.hall.hall_id) == made


def test_wrong_password_is_refused_and_nothing_is_lost(
    hall_db: HallDb, broker: SecureMosquitto, ingestor: Ingestor, caplog: pytest.LogCaptureFixture
):
    """A refused password is a 470 the technician can read; the journal keeps every event and
    they all arrive once the box has its right password."""
    made = make_activity(hall_db, tickets=3)
    wrong = box_publisher(hall_db, broker, box_auth(hall_db, broker, password="not-it"))
    with caplog.at_level(logging.WARNING, logger="agent.publisher"):
        wrong.start()
        try:
            # Several attempts: it keeps retrying with back-off instead of giving up.
            assert wait_until(lambda: wrong.connect_failures >= 3, 60), broker.log_text()
        finally:
            wrong.stop()
    assert isinstance(wrong.last_error, MqttAuthRefused)
    assert wrong.last_error.code == 470
    assert "密码被拒绝" in error_text(wrong.last_error)
    assert "code=470" in caplog.text
    assert wrong.events_published == 0
    assert journal.backlog(hall_db.conn) == made
    assert ingestor.events_ingested == 0

    fixed = box_publisher(hall_db, broker, box_auth(hall_db, broker))
    fixed.start()
    try:
        assert fixed.wait_drained(60), broker.log_text()
        assert wait_until(lambda: ingestor.events_ingested == made, 60), ingestor.counters()
    finally:
        fixed.stop()
    assert journal.backlog(hall_db.conn) == 0


def test_a_box_cannot_publish_into_another_halls_topic(
    hall_db: HallDb, broker: SecureMosquitto, ingestor: Ingestor
):
    """The broker drops a box's message on another hall's topic; the collector never sees it,
    while the box's own events, published after it, do arrive."""
    import paho.mqtt.client as mqtt

    intruder = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    box_auth(hall_db, broker).apply(intruder)
    connected = threading.Event()
    intruder.on_connect = lambda c, u, f, rc, p: rc.is_failure or connected.set()
    intruder.connect(broker.host, broker.port)
    intruder.loop_start()
    try:
        assert connected.wait(60), broker.log_text()
        forged = encode_batch([Event(Kind.WINDOW_CLOSED, OTHER_HALL, "pad-9", 1, 0.0, {"window": 9})])
        intruder.publish(events_topic(OTHER_HALL), forged, qos=1).wait_for_publish(60)
    finally:
        intruder.disconnect()
        intruder.loop_stop()

    made = make_activity(hall_db, tickets=2)
    pub = box_publisher(hall_db, broker, box_auth(hall_db, broker))
    pub.start()
    try:
        assert wait_until(lambda: ingestor.events_ingested == made, 60), ingestor.counters()
    finally:
        pub.stop()
    # Had the broker passed it on, the forged event would be stored (or at least rejected).
    assert ingestor.rejected == 0
    assert ingestor.store.count(OTHER_HALL) == 0
    assert ingestor.events_ingested == made


def test_plain_tcp_cannot_talk_to_the_tls_listener(hall_db: HallDb, broker: SecureMosquitto):
    """Right password, no TLS: the broker hangs up before any CONNACK, and nothing is sent."""
    make_activity(hall_db, tickets=1)
    plain = MqttAuth(username=hall_box_user(hall_db.hall.hall_id),
                     password=broker.passwords[hall_box_user(hall_db.hall.hall_id)])
    pub = box_publisher(hall_db, broker, plain)
    pub.start()
    try:
        assert wait_until(lambda: pub.connect_failures >= 2, 60), broker.log_text()
    finally:
        pub.stop()
    assert type(pub.last_error) is BrokerUnavailable
    assert pub.events_published == 0 and pub.reconnects == 0
    assert journal.backlog(hall_db.conn) > 0


def test_a_broker_signed_by_another_ca_is_refused(
    tmp_path: Path, hall_db: HallDb, broker: SecureMosquitto
):
    """Certificate checks stay on: a box that trusts another CA will not talk to this broker."""
    make_activity(hall_db, tickets=1)
    stranger = make_pki(tmp_path / "other-pki", name="other-ca")
    auth = MqttAuth(
        username=hall_box_user(hall_db.hall.hall_id),
        password=broker.passwords[hall_box_user(hall_db.hall.hall_id)],
        ca_file=str(stranger.ca_cert),
    )
    pub = box_publisher(hall_db, broker, auth)
    pub.start()
    try:
        assert wait_until(lambda: pub.connect_failures >= 1, 60), broker.log_text()
    finally:
        pub.stop()
    assert isinstance(pub.last_error, MqttTlsFailed)
    assert "证书" in error_text(pub.last_error)
    assert pub.events_published == 0


def test_commands_reach_only_the_box_of_their_hall(tmp_path: Path, broker: SecureMosquitto):
    """The collector's command reaches the hall's box over TLS and its ack comes back; a box
    of another hall that subscribes to the same command topic gets nothing."""
    hall = "hall-demo"
    box = hall_box_id(hall)
    ping = {"ping": lambda args: {"pong": True}}
    mine = RemoteControl(broker.host, broker.port, hall, box,
                         RemoteStore(tmp_path / "mine.db"), ping,
                         auth=broker.auth(hall_box_user(hall)))
    snoop_store = RemoteStore(tmp_path / "snoop.db")
    snoop = RemoteControl(broker.host, broker.port, hall, box, snoop_store, ping,
                          auth=broker.auth(hall_box_user(OTHER_HALL)))
    sender = CommandSender(broker.host, broker.port,
                           auth=broker.auth(connection_user(COLLECTOR_USER, "commands")))
    for client in (mine, snoop, sender):
        client.start()
    try:
        for client in (mine, snoop, sender):
            assert client.subscribed.wait(60), broker.log_text()
        cmd_id = sender.send(hall, box, "ping")
        ack = sender.wait_ack(cmd_id, 60)
        assert ack is not None and ack["outcome"] == "ok", broker.log_text()
        # The snoop's command and ack would have been queued on the same broker by now.
        assert sender.wait_ack(sender.send(hall, box, "ping"), 60) is not None
    finally:
        for client in (sender, snoop, mine):
            client.stop()
    assert snoop_store.answered(cmd_id) is None


def test_password_comes_from_a_file_and_no_options_mean_anonymous(tmp_path: Path):
    assert MqttAuth.from_options() is None
    secret = tmp_path / "mqtt.password"
    secret.write_text("s3cret pass\n", encoding="utf-8")
    auth = MqttAuth.from_options("hallbox-hall-demo", secret, "/etc/halledge/ca.crt")
    assert auth == MqttAuth("hallbox-hall-demo", "s3cret pass", "/etc/halledge/ca.crt")
    assert auth.tls and not MqttAuth("u", "p").tls
