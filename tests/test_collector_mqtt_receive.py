"""The collector's lean MQTT receiver (``collector/mqtt_receive.py``): packets cut out of any
split of the byte stream, a persistent session that gets back what was not acknowledged,
flow control, keep-alive, and damaged input that costs only itself. Against the real
Mosquitto, except where a broker must misbehave (a scripted one on a loopback socket)."""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.mqtt_receive import (
    MQTT_5,
    MQTT_311,
    Message,
    MqttReceiver,
    ProtocolError,
    connack_properties,
    decode_length,
    encode_length,
    packet,
    parse_packets,
    publish_packet,
)
from tests.brokers import MosquittoUnderTest, Subscriber, wait_until

TOPIC = "halledge/v1/hall-1/events"


def qos1_publish(topic: str, payload: bytes, mid: int, protocol: int,
                 properties: bytes = b"") -> bytes:
    raw = topic.encode()
    body = len(raw).to_bytes(2, "big") + raw + mid.to_bytes(2, "big")
    if protocol == MQTT_5:
        body += encode_length(len(properties)) + properties
    return packet(3, 2, body + payload)


def as_tuples(messages: list[Message]) -> list[tuple[str, bytes, int, int]]:
    return [(m.topic, m.payload, m.qos, m.mid) for m in messages]


# --- the wire, without a broker ------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152,
                               268_435_455])
def test_remaining_lengths_round_trip_at_every_width(n: int) -> None:
    encoded = encode_length(n)
    assert len(encoded) == 1 + (n >= 128) + (n >= 16_384) + (n >= 2_097_152)
    assert decode_length(b"\xff" + encoded + b"rest", 1) == (n, 1 + len(encoded))
    assert decode_length(encoded[:-1], 0) is None  # still arriving


def test_a_remaining_length_of_five_bytes_breaks_the_stream_after_what_came_before() -> None:
    good = qos1_publish(TOPIC, b"{}", 4, MQTT_5)
    parsed = parse_packets(good + b"\x30\xff\xff\xff\xff\x01" + b"x" * 10 + good)
    assert parsed.broken and parsed.used == len(good)
    assert [m.mid for m in parsed.messages] == [4]
    with pytest.raises(ProtocolError):
        decode_length(b"\xff\xff\xff\xff\x01", 0)


@pytest.mark.parametrize("protocol", [MQTT_311, MQTT_5])
def test_packets_are_the_same_however_the_stream_is_split(protocol: int) -> None:
    """QoS 0 and 1, empty to 300 KB payloads (one to three length bytes), MQTT 5 properties,
    a PINGRESP after each, a topic that is not UTF-8: cut at random places, read as they
    come."""
    rnd = random.Random(7)
    sent = [(TOPIC, b"", 1, 1), (TOPIC, b"x" * 200, 1, 2), ("a/b", b"y" * 300_000, 0, 0),
            (TOPIC, bytes(rnd.randrange(256) for _ in range(5000)), 1, 65535)]
    stream = b""
    for topic, payload, qos, mid in sent:
        if qos:
            # From an MQTT 5 publisher a message may carry properties (here: UTF-8 payload,
            # a user property); they are skipped.
            props = b"\x01\x01\x26\x00\x01k\x00\x01v" if mid == 2 else b""
            stream += qos1_publish(topic, payload, mid, protocol, props)
        else:
            stream += publish_packet(topic, payload, protocol=protocol)
        stream += b"\xd0\x00"  # PINGRESP
    bad_topic = b"halledge/v1/\xff/events"
    stream += packet(3, 2, len(bad_topic).to_bytes(2, "big") + bad_topic + b"\x00\x09"
                     + (b"\x00" if protocol == MQTT_5 else b"") + b"{}")  # fmt: skip
    for _ in range(20):
        cuts = sorted(rnd.sample(range(1, len(stream)), 30))
        buf, got, controls = b"", [], []
        for lo, hi in zip([0, *cuts], [*cuts, len(stream)]):
            buf += stream[lo:hi]
            messages, more, damaged, used, broken = parse_packets(buf, protocol)
            assert not damaged and not broken
            got += messages
            controls += more
            buf = buf[used:]
        assert buf == b""
        assert as_tuples(got[:-1]) == sent
        assert got[-1].topic.encode("utf-8", "surrogateescape") == bad_topic
        assert [kind for kind, _ in controls] == [13] * len(sent)


def test_a_damaged_publish_costs_only_itself() -> None:
    good = qos1_publish(TOPIC, b"{}", 1, MQTT_5)
    too_long_topic = packet(3, 2, b"\x00\x50abc\x00\x02\x00")
    qos3 = packet(3, 6, b"\x00\x01t\x00\x03\x00{}")
    messages, _, damaged, used, _ = parse_packets(good + too_long_topic + qos3 + good, MQTT_5)
    assert [m.mid for m in messages] == [1, 1]
    assert damaged == [("topic longer than the packet", 0), ("QoS 3", 3)]
    assert used == len(good) * 2 + len(too_long_topic) + len(qos3)


# --- against Mosquitto ---------------------------------------------------------------------


class Publisher:
    def __init__(self, broker: MosquittoUnderTest) -> None:
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, payloads: list[bytes], topic: str = TOPIC) -> None:
        infos = [self.client.publish(topic, p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(30)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Collected:
    """A receiver and what it got; acknowledges only when told to."""

    def __init__(self, broker: MosquittoUnderTest | tuple[str, int], client_id: str,
                 **options: Any) -> None:
        host, port = (broker.host, broker.port) if not isinstance(broker, tuple) else broker
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        self.connects = 0
        self.receiver = MqttReceiver(host, port, client_id, [("halledge/v1/+/events", 1)],
                                     self._take, on_connect=self._connected,
                                     reconnect_delay=(0.2, 0.5), **options)  # fmt: skip

    def _take(self, messages: list[Message]) -> None:
        with self.lock:
            self.messages += messages

    def _connected(self) -> None:
        self.connects += 1

    def payloads(self) -> list[bytes]:
        with self.lock:
            return [m.payload for m in self.messages]

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


@pytest.fixture
def publisher(mosquitto: MosquittoUnderTest) -> Iterator[Publisher]:
    pub = Publisher(mosquitto)
    try:
        yield pub
    finally:
        pub.close()


def started(collected: Collected) -> Collected:
    collected.receiver.start()
    assert collected.receiver.wait_subscribed(30)
    return collected


@pytest.mark.parametrize("protocol", [MQTT_311, MQTT_5])
def test_what_is_not_acknowledged_comes_back_to_the_same_session_and_nothing_else(
    mosquitto: MosquittoUnderTest, publisher: Publisher, protocol: int
) -> None:
    """Ten messages in order, one of 300 KB; the first six acknowledged in one call. A new
    connection under the same client id gets the other four again, not the six."""
    payloads = [b"%d" % i + (b"." * 300_000 if i == 3 else b"") for i in range(10)]
    first = started(Collected(mosquitto, "ingest-a", protocol=protocol))
    try:
        publisher.send(payloads)
        assert wait_until(lambda: first.count() == 10, 30)
        assert first.payloads() == payloads
        assert first.receiver.ack(first.messages[:6]) == 6
        publisher.send([b"after"])
        assert wait_until(lambda: first.count() == 11, 30)
    finally:
        first.receiver.stop()
    again = started(Collected(mosquitto, "ingest-a", protocol=protocol))
    try:
        assert wait_until(lambda: again.count() >= 5, 30)
        assert not wait_until(lambda: again.count() > 5, 1.0)
        assert again.payloads() == payloads[6:] + [b"after"]
        again.receiver.ack(again.messages)
    finally:
        again.receiver.stop()
    third = started(Collected(mosquitto, "ingest-a", protocol=protocol))
    try:
        assert not wait_until(lambda: third.count() > 0, 1.5)
    finally:
        third.receiver.stop()


@pytest.mark.parametrize(("protocol", "window"), [(MQTT_311, 20), (MQTT_5, 100)])
def test_the_broker_sends_no_more_than_the_window_before_acknowledgements(
    mosquitto: MosquittoUnderTest, publisher: Publisher, protocol: int, window: int
) -> None:
    """MQTT 5 sets the window (Receive Maximum, here 100); 3.1.1 gets Mosquitto's 20. Each
    acknowledgement lets the next messages come."""
    collected = started(Collected(mosquitto, "ingest-w", protocol=protocol,
                                  receive_maximum=100))  # fmt: skip
    try:
        publisher.send([b"%d" % i for i in range(250)])
        assert wait_until(lambda: collected.count() == window, 30)
        assert not wait_until(lambda: collected.count() > window, 1.0)
        while collected.count() < 250:
            with collected.lock:
                pending = list(collected.messages)
            collected.receiver.ack(pending)
            assert wait_until(lambda: collected.count() > len(pending)
                              or collected.count() == 250, 30)  # fmt: skip
        assert collected.payloads() == [b"%d" % i for i in range(250)]
    finally:
        collected.receiver.stop()


def test_an_idle_connection_is_kept_alive_and_a_frozen_broker_is_left(
    mosquitto: MosquittoUnderTest, publisher: Publisher
) -> None:
    """Keep-alive 2 s: idle for 6 s, the broker does not drop the receiver (it would after
    3 s without a PINGREQ). A frozen broker answers no PINGREQ: the receiver gives the
    connection up, and once the broker runs again connects and is subscribed again."""
    collected = started(Collected(mosquitto, "ingest-k", keepalive=2))
    try:
        assert not wait_until(lambda: collected.connects > 1, 6.0)
        assert collected.receiver.status.connect_failures == 0
        assert "exceeded timeout" not in mosquitto.log_text()
        mosquitto.freeze()
        try:
            assert wait_until(lambda: not collected.receiver.subscribed.is_set(), 15)
        finally:
            assert mosquitto.pid is not None
            os.kill(mosquitto.pid, signal.SIGCONT)
        assert wait_until(collected.receiver.subscribed.is_set, 30)
        publisher.send([b"back"])
        assert wait_until(lambda: b"back" in collected.payloads(), 30)
    finally:
        collected.receiver.stop()


def test_connack_properties_are_read_whatever_comes_before_the_keepalive() -> None:
    props = (b"\x21\x00\x14" + b"\x22\x00\x0a" + b"\x12\x00\x07auto-id"
             + b"\x26\x00\x01k\x00\x01v" + b"\x13\x00\x0f")  # fmt: skip
    body = b"\x00\x00" + encode_length(len(props)) + props
    assert connack_properties(body) == {0x21: 20, 0x22: 10, 0x12: b"auto-id", 0x26: b"v",
                                        0x13: 15}  # fmt: skip


class ShortKeepaliveMosquitto(MosquittoUnderTest):
    """Holds every client to a keep-alive of 10 s (its least), whatever it asks for."""

    def config_text(self) -> str:
        return super().config_text() + "max_keepalive 10\n"


def test_the_brokers_keepalive_is_kept_when_it_is_shorter(tmp_path: Path) -> None:
    broker = ShortKeepaliveMosquitto(tmp_path / "mosquitto")
    broker.start()
    collected = started(Collected(broker, "ingest-s", keepalive=30))
    try:
        assert wait_until(lambda: collected.receiver.keepalive == 10, 10)
    finally:
        collected.receiver.stop()
        broker.close()


def test_after_a_broker_restart_an_old_connections_message_is_not_acknowledged_on_the_new(
    mosquitto: MosquittoUnderTest
) -> None:
    """A message delivered on the first connection and not acknowledged comes again on the
    second. Acknowledging the first copy does nothing (its packet id belongs to the old
    connection); the second copy is acknowledged."""
    collected = started(Collected(mosquitto, "ingest-r"))
    pub = Publisher(mosquitto)
    try:
        pub.send([b"once"])
        assert wait_until(lambda: collected.count() == 1, 30)
    finally:
        pub.close()
    try:
        mosquitto.stop()  # saves the session with the unacknowledged message
        mosquitto.start()
        assert wait_until(lambda: collected.count() == 2, 30)
        old, new = collected.messages
        assert old.payload == new.payload == b"once"
        assert collected.receiver.ack([old]) == 0
        assert collected.receiver.ack([new]) == 1
    finally:
        collected.receiver.stop()


def test_published_messages_reach_a_subscriber(mosquitto: MosquittoUnderTest) -> None:
    watcher = Subscriber(mosquitto.host, mosquitto.port, "halledge/v1/+/stored")
    collected = started(Collected(mosquitto, "ingest-p"))
    try:
        assert collected.receiver.publish_many(
            [("halledge/v1/h1/stored", b"1"), ("halledge/v1/h2/stored", b"2")], retain=True)
        assert wait_until(lambda: len(watcher.received()) == 2, 30)
        assert [(m.topic, m.payload) for m in watcher.received()] == [
            ("halledge/v1/h1/stored", b"1"), ("halledge/v1/h2/stored", b"2")]
    finally:
        collected.receiver.stop()
        watcher.close()


# --- a broker that misbehaves --------------------------------------------------------------


class ScriptedBroker:
    """Accepts connections on loopback; on each, answers CONNECT and SUBSCRIBE (MQTT 5), then
    sends the next script's bytes and records what the client writes back."""

    def __init__(self, scripts: list[bytes]) -> None:
        self.scripts = scripts
        self.received: list[bytes] = []
        self.connections = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            script = self.scripts[min(self.connections, len(self.scripts) - 1)]
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn, script), daemon=True).start()

    def _talk(self, conn: socket.socket, script: bytes) -> None:
        with conn:
            try:
                conn.recv(4096)  # the CONNECT
                conn.sendall(b"\x20\x03\x00\x00\x00")  # CONNACK: accepted
                conn.recv(4096)  # the SUBSCRIBE
                conn.sendall(b"\x90\x04\x00\x01\x00\x01" + script)  # SUBACK: QoS 1
                while chunk := conn.recv(4096):
                    self.received.append(chunk)
            except OSError:
                return

    def close(self) -> None:
        self.server.close()


def test_damaged_packets_cost_only_themselves_and_a_broken_stream_is_reconnected() -> None:
    """First connection: good, damaged (its id readable), good, then a remaining length of
    five bytes. The good ones arrive, the damaged one is acknowledged unseen, and the broken
    stream makes the receiver connect again."""
    script = (qos1_publish(TOPIC, b"a", 1, MQTT_5) + packet(3, 6, b"\x00\x01t\x00\x07\x00")
              + qos1_publish(TOPIC, b"b", 2, MQTT_5) + b"\x32\xff\xff\xff\xff\x01")
    broker = ScriptedBroker([script, qos1_publish(TOPIC, b"c", 3, MQTT_5)])
    collected = Collected(("127.0.0.1", broker.port), "ingest-d")
    collected.receiver.start()
    try:
        assert wait_until(lambda: collected.count() == 3, 30)
        assert collected.payloads() == [b"a", b"b", b"c"]
        assert collected.receiver.malformed == 1
        assert broker.connections == 2
        assert b"\x40\x02\x00\x07" in b"".join(broker.received)  # the damaged one's PUBACK
    finally:
        collected.receiver.stop()
        broker.close()


def test_an_mqtt_5_connection_takes_over_the_session_a_3_1_1_collector_left(
    mosquitto: MosquittoUnderTest, publisher: Publisher
) -> None:
    """An upgraded collector (MQTT 5) gets what queued for the release before (3.1.1) under
    the same client id while it was down."""
    old = started(Collected(mosquitto, "ingest-u", protocol=MQTT_311))
    old.receiver.stop()
    publisher.send([b"queued-1", b"queued-2"])
    new = started(Collected(mosquitto, "ingest-u", protocol=MQTT_5))
    try:
        assert wait_until(lambda: new.count() == 2, 30)
        assert new.payloads() == [b"queued-1", b"queued-2"]
    finally:
        new.receiver.stop()


class _ClosedSocket:
    def sendall(self, data: bytes) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_failed_write_is_logged_as_text_so_no_log_record_keeps_the_receiver_alive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A record keeps its args: an error among them keeps its traceback, the frame, the
    # receiver and whatever its callback reaches (a stopped collector's whole state, held
    # until the capturing handler lets go).
    receiver = MqttReceiver("127.0.0.1", 1, "c", [(TOPIC, 1)], lambda messages: None)
    receiver._sock = _ClosedSocket()  # type: ignore[assignment]
    with caplog.at_level("DEBUG", logger="collector.mqtt_receive"):
        assert receiver._write(b"\x40\x02\x00\x01") is False
    (record,) = caplog.records
    assert "Broken pipe" in record.getMessage()
    assert not any(isinstance(arg, BaseException) for arg in record.args or ())
