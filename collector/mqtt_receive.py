"""A lean MQTT client for the collector's ingest: one persistent subscription, QoS 1 in,
PUBACKs written in bulk after each commit, QoS 0 out (the stored-watermarks).

paho costs some 35–50 µs of CPU per received message (its callbacks, its per-message
bookkeeping, a wake-up of its network thread and a system call per PUBACK), which is about
the raw baseline's whole budget per message at province scale. This client reads the socket
in large chunks, cuts PUBLISH packets straight out of the buffer, hands each chunk's
messages on in one call, and leaves acknowledging to its owner, which acknowledges a whole
group in one write once the group is committed. It is not a general client: it publishes
QoS 0 only and never receives QoS 2 (it subscribes with QoS 1 at most).

What it keeps of MQTT (3.1.1 and 5, ``protocol``):

* **A persistent session.** 3.1.1: ``clean_session`` 0. 5: ``clean_start`` 0 with a session
  that never expires (a 3.1.1 session left by an older collector is resumed as it is). After
  a drop it connects again on its own (1–5 s back-off); the broker then delivers again every
  message not acknowledged.
* **Acknowledgement only on request**, and only on the connection that delivered the
  message: a message from an older connection is not acknowledged on a newer one (its packet
  id may by then name another message); the broker delivers it again instead.
* **Either level.** With ``protocol`` 5 (the default) and a broker that refuses or drops
  an MQTT 5 CONNECT, the attempts alternate with 3.1.1 until one is accepted.
* **Flow control.** MQTT 5 lets the client say how many unacknowledged messages it takes
  (``Receive Maximum``); Mosquitto otherwise keeps a client at ``max_inflight_messages``
  (20), so the ingest could never commit more than 20 messages together and each group
  waited a round trip for the next. 3.1.1 clients keep the broker's setting.
* **Keep-alive.** A PINGREQ goes out when nothing else was written for half the keep-alive
  (a shorter one the broker imposes is kept); no PINGRESP within the keep-alive closes the
  connection, which is then made again.
* **A clean goodbye.** Stopping sends DISCONNECT and half-closes the socket, then waits for
  the broker to close: a full close with the broker's bytes unread resets the connection,
  and the broker then drops what it had not read yet (the last PUBACKs among it).
* **Damaged input costs only itself.** A PUBLISH whose framing is intact but whose content
  is not (a topic longer than the packet, QoS 3) is logged, counted (``malformed``) and
  acknowledged when its packet id can be read; broken framing (a remaining length longer
  than four bytes) cannot be resynchronised, so what came before it is handed on and the
  connection is made again. A topic that is not UTF-8 is delivered with its bad bytes
  escaped, for the ingest to dead-letter.

TLS and credentials as every client of Hall Edge has them (:class:`core.mqtt.MqttAuth`);
failed attempts reach a :class:`core.mqtt.ConnectionStatus` (410, 470, 471).
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from core.mqtt import ConnectionStatus, MqttAuth

log = logging.getLogger(__name__)

MQTT_311 = 4
MQTT_5 = 5
#: Unacknowledged messages the broker may send (MQTT 5): a few groups' worth, so the next
#: group has arrived while one commits.
RECEIVE_MAXIMUM = 512
#: Bytes asked of the socket per read.
RECV_BYTES = 256 * 1024
#: Seconds a read waits before the keep-alive and stop are looked at.
TICK_S = 0.5
#: Seconds stopping waits for the broker to close the connection after our DISCONNECT.
STOP_WAIT_S = 2.0
#: Seconds an MQTT 5 CONNECT waits for its CONNACK before 3.1.1 is tried.
CONNACK_PROBE_S = 5.0

CONNECT, CONNACK, PUBLISH, SUBSCRIBE, SUBACK = 1, 2, 3, 8, 9
PINGRESP, DISCONNECT = 13, 14
_PINGREQ = b"\xc0\x00"
_DISCONNECT = b"\xe0\x00"
_PUBACK = struct.Struct("!BBH")
_U16 = struct.Struct("!H")
#: MQTT 3.1.1 CONNACK return codes as the MQTT 5 reason codes paho reports them with, so
#: :func:`core.mqtt.refusal` tells bad credentials (134, 135) from the rest.
_V311_REFUSALS = {1: 132, 2: 133, 3: 136, 4: 134, 5: 135}
_SESSION_EXPIRY_NEVER = 0xFFFFFFFF


class ProtocolError(Exception):
    """The byte stream cannot be read on: the connection is closed and made again."""


class Message:
    """A received PUBLISH.

    Attributes:
        topic: its topic (bytes that are not UTF-8 escaped as lone surrogates).
        payload: its payload.
        qos: 0 or 1.
        mid: its packet id (0 for QoS 0).
        connection: which connection of the client delivered it.
    """

    __slots__ = ("topic", "payload", "qos", "mid", "connection")

    def __init__(self, topic: str, payload: bytes, qos: int, mid: int, connection: int) -> None:
        self.topic, self.payload, self.qos, self.mid = topic, payload, qos, mid
        self.connection = connection


class Reason:
    """A CONNACK's answer as :class:`core.mqtt.ConnectionStatus` reads it (like paho's)."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.is_failure = value >= 0x80

    def __str__(self) -> str:
        return f"reason code {self.value}"


def encode_length(n: int) -> bytes:
    """MQTT's variable byte integer (remaining lengths, property lengths)."""
    out = bytearray()
    while True:
        digit, n = n & 0x7F, n >> 7
        if not n:
            out.append(digit)
            return bytes(out)
        out.append(digit | 0x80)


def decode_length(buf: bytes, pos: int) -> tuple[int, int] | None:
    """A variable byte integer at ``pos``: (value, position after it); None when ``buf`` ends
    inside it.

    Raises:
        ProtocolError: it runs over four bytes.
    """
    value = shift = 0
    for at in range(pos, min(pos + 4, len(buf))):
        byte = buf[at]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at + 1
        shift += 7
    if len(buf) >= pos + 4:
        raise ProtocolError("a variable length runs over four bytes")
    return None


def _utf8(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _U16.pack(len(raw)) + raw


def packet(kind: int, flags: int, body: bytes) -> bytes:
    """A control packet: fixed header and body."""
    return bytes([kind << 4 | flags]) + encode_length(len(body)) + body


def connect_packet(
    client_id: str, keepalive: int, protocol: int = MQTT_5, username: str | None = None,
    password: str | None = None, receive_maximum: int = RECEIVE_MAXIMUM,
) -> bytes:
    """CONNECT for a persistent session (never clean, never expiring)."""
    flags = (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    body = _utf8("MQTT") + bytes([protocol, flags]) + _U16.pack(keepalive)
    if protocol == MQTT_5:
        props = b"\x11" + struct.pack("!I", _SESSION_EXPIRY_NEVER) + b"\x21" + _U16.pack(
            receive_maximum)  # fmt: skip
        body += encode_length(len(props)) + props
    body += _utf8(client_id)
    if username is not None:
        body += _utf8(username)
    if password is not None:
        body += _utf8(password)
    return packet(CONNECT, 0, body)


def subscribe_packet(mid: int, topics: Sequence[tuple[str, int]], protocol: int = MQTT_5) -> bytes:
    body = _U16.pack(mid) + (b"\x00" if protocol == MQTT_5 else b"")
    body += b"".join(_utf8(topic) + bytes([qos]) for topic, qos in topics)
    return packet(SUBSCRIBE, 2, body)


def publish_packet(topic: str, payload: bytes, retain: bool = False,
                   protocol: int = MQTT_5) -> bytes:
    """A QoS 0 PUBLISH."""
    body = _utf8(topic) + (b"\x00" if protocol == MQTT_5 else b"") + payload
    return packet(PUBLISH, 1 if retain else 0, body)


def pubacks(mids: Sequence[int]) -> bytes:
    """PUBACKs of these packet ids, back to back: four bytes each (MQTT 5 may leave out the
    reason code when it is success)."""
    return b"".join([_PUBACK.pack(0x40, 2, mid) for mid in mids])


#: MQTT 5 property ids by the shape of their value (the ones a CONNACK may carry, and all
#: others of the same shapes).
_PROPERTY_SIZES = {
    **dict.fromkeys((0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A), 1),
    **dict.fromkeys((0x13, 0x21, 0x22, 0x23), 2),
    **dict.fromkeys((0x02, 0x11, 0x18, 0x27), 4),
}
_PROPERTY_TEXTS = frozenset((0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F))


def connack_properties(body: bytes) -> dict[int, int | bytes]:
    """The properties of an MQTT 5 CONNACK body: integers by id, texts as bytes (a user
    property keeps its last pair). Stops at anything it cannot read: they only refine."""
    found: dict[int, int | bytes] = {}
    try:
        length = decode_length(body, 2)
    except ProtocolError:
        return found
    if length is None:
        return found
    at, end = length[1], min(len(body), length[1] + length[0])
    while at < end:
        prop = body[at]
        at += 1
        if prop in _PROPERTY_SIZES:
            size = _PROPERTY_SIZES[prop]
            found[prop] = int.from_bytes(body[at:at + size], "big")
            at += size
        elif prop in _PROPERTY_TEXTS or prop == 0x26:
            for _ in range(2 if prop == 0x26 else 1):
                size = int.from_bytes(body[at:at + 2], "big")
                found[prop] = body[at + 2:at + 2 + size]
                at += 2 + size
        else:
            break  # 0x0B (a variable integer) or unknown: nothing after it is needed
    return found


class Parsed(NamedTuple):
    """What :func:`parse_packets` cut out of a buffer.

    Attributes:
        messages: the PUBLISH messages, in order.
        controls: the other packets as (type, body).
        damaged: the damaged PUBLISH packets as (why, packet id or 0 when unreadable).
        used: bytes used; what follows is the start of a packet still arriving.
        broken: the stream broke at ``used`` (a remaining length over four bytes): nothing
            after it can be read.
    """

    messages: list[Message]
    controls: list[tuple[int, bytes]]
    damaged: list[tuple[str, int]]
    used: int
    broken: bool = False


def parse_packets(buf: bytes, protocol: int = MQTT_5, connection: int = 0) -> Parsed:
    """Cut every whole packet out of ``buf`` (see :class:`Parsed`); the packets before a
    break in the stream are returned too."""
    messages: list[Message] = []
    controls: list[tuple[int, bytes]] = []
    damaged: list[tuple[str, int]] = []
    pos, end = 0, len(buf)
    v5 = protocol == MQTT_5
    while end - pos >= 2:
        first = buf[pos]
        # The remaining length, inline for its usual one or two bytes: this loop runs once
        # per message received.
        size = buf[pos + 1]
        body = pos + 2
        if size >= 0x80 and end - pos > 2 and buf[pos + 2] < 0x80:
            size = (size & 0x7F) | buf[pos + 2] << 7
            body = pos + 3
        elif size >= 0x80:
            try:
                found = decode_length(buf, pos + 1)
            except ProtocolError:
                return Parsed(messages, controls, damaged, pos, True)
            if found is None:
                break
            size, body = found
        stop = body + size
        if stop > end:
            break
        pos = stop
        if first >> 4 != PUBLISH:
            controls.append((first >> 4, buf[body:stop]))
            continue
        qos = (first >> 1) & 3
        at = body + 2
        if at > stop:
            damaged.append(("no topic", 0))
            continue
        topic_end = at + (buf[body] << 8 | buf[body + 1])
        mid = 0
        if qos:
            if topic_end + 2 > stop:
                damaged.append(("topic longer than the packet", 0))
                continue
            mid = buf[topic_end] << 8 | buf[topic_end + 1]
            at = topic_end + 2
        else:
            at = topic_end
        if qos > 1 or at > stop:
            damaged.append((f"QoS {qos}" if qos > 1 else "topic longer than the packet", mid))
            continue
        if v5 and at < stop and buf[at] == 0:
            at += 1  # no properties: what Mosquitto forwards from an MQTT 3.1.1 publisher
        elif v5:
            try:
                props = decode_length(buf, at)
            except ProtocolError:
                props = None
            if props is None or props[1] + props[0] > stop:
                damaged.append(("properties longer than the packet", mid))
                continue
            at = props[1] + props[0]
        topic = str(buf[body + 2:topic_end], "utf-8", "surrogateescape")
        messages.append(Message(topic, buf[at:stop], qos, mid, connection))
    return Parsed(messages, controls, damaged, pos)


class MqttReceiver:
    """One subscription on a persistent session, read in bulk; see the module docstring.

    Args:
        host: broker address.
        port: broker port.
        client_id: the session's client id (with credentials, pass the account:
            :func:`core.mqtt.owned_client_id`).
        topics: ``(topic filter, QoS ≤ 1)`` pairs.
        on_messages: called on the network thread with each read's messages, in order.
            Nothing is acknowledged until :meth:`ack` is called with a message.
        auth: credentials and TLS (already for this connection); anonymous TCP when None.
        status: where failed attempts and refusals are reported.
        keepalive: seconds.
        protocol: :data:`MQTT_5` or :data:`MQTT_311`.
        receive_maximum: MQTT 5: most unacknowledged messages the broker may send.
        on_connect: called on the network thread once the broker accepted a connection
            (after the SUBSCRIBE is sent).
        on_disconnect: called on the network thread when a connection ends.
        reconnect_delay: (first, longest) seconds between attempts.

    Attributes:
        subscribed: set while the broker has confirmed the subscription on this connection.
        malformed: damaged PUBLISH packets received (and skipped).
    """

    def __init__(
        self, host: str, port: int, client_id: str, topics: Sequence[tuple[str, int]],
        on_messages: Callable[[list[Message]], None], *, auth: MqttAuth | None = None,
        status: ConnectionStatus | None = None, keepalive: int = 30, protocol: int = MQTT_5,
        receive_maximum: int = RECEIVE_MAXIMUM, on_connect: Callable[[], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        reconnect_delay: tuple[float, float] = (1.0, 5.0),
    ) -> None:
        if protocol not in (MQTT_311, MQTT_5):
            raise ValueError(f"MQTT protocol level {protocol} is not 4 (3.1.1) or 5")
        self.host, self.port, self.client_id = host, port, client_id
        self.topics = list(topics)
        self.auth = auth
        self.keepalive = keepalive
        self.protocol = protocol
        self._protocol_known = protocol == MQTT_311
        self.receive_maximum = receive_maximum
        self.status = status or ConnectionStatus(f"mqtt {client_id}", host, port, log)
        self.subscribed = threading.Event()
        self.malformed = 0
        self._on_messages = on_messages
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._delays = reconnect_delay
        self._tls: ssl.SSLContext | None = None
        if auth is not None and auth.tls:
            self._tls = ssl.create_default_context(cafile=auth.ca_file)
            if auth.certfile is not None:
                self._tls.load_cert_chain(auth.certfile, auth.keyfile)
        # Writers: the network thread, the ingest's worker (PUBACKs), the watermark thread.
        # Under TLS reads take it too: one SSL object must not be used by two threads at once.
        self._write_lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._connection = 0
        self._last_out = 0.0
        self._stopping = threading.Event()
        self._stop_by = 0.0
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; connects again after every drop until :meth:`stop`."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="mqtt-receive", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Disconnect (the session stays on the broker) and end the network thread."""
        self._stop_by = time.monotonic() + STOP_WAIT_S
        self._stopping.set()
        with self._write_lock:
            sock = self._sock
            if sock is not None:
                try:
                    sock.sendall(_DISCONNECT)
                except OSError:
                    pass  # already gone: nothing to say goodbye to
        self._half_close(sock)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_subscribed(self, timeout: float) -> bool:
        return self.subscribed.wait(timeout)

    def redeliver(self) -> None:
        """Drop the connection, so that the broker delivers every message not acknowledged
        again on the next one (MQTT redelivers only on a new connection)."""
        with self._write_lock:
            sock = self._sock
        self._half_close(sock)

    @staticmethod
    def _half_close(sock: socket.socket | None) -> None:
        """End our side of the connection after what was written (PUBACKs, DISCONNECT);
        the broker reads it all, then closes, which ends the network thread's read. A full
        close with the broker's bytes still unread would reset the connection instead, and
        the broker would drop what it had not read yet: acknowledgements among it."""
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # already closed

    # --- writing ----------------------------------------------------------------------

    def ack(self, messages: Sequence[Message]) -> int:
        """PUBACK these messages in one write; those of an earlier connection (and QoS 0)
        are left out. Returns how many were acknowledged (0 also when not connected: the
        broker delivers them again)."""
        with self._write_lock:
            current = self._connection
            mids = [m.mid for m in messages if m.qos == 1 and m.connection == current]
            if mids and self._write(pubacks(mids)):
                return len(mids)
        return 0

    def publish_many(self, messages: Sequence[tuple[str, bytes]], retain: bool = False) -> bool:
        """Publish with QoS 0, all in one write. False when not connected (then nothing is
        sent; QoS 0 promises nothing more)."""
        with self._write_lock:  # the protocol level is the connection's
            protocol = self.protocol
            return self._write(b"".join([publish_packet(t, p, retain, protocol)
                                         for t, p in messages]))  # fmt: skip

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> bool:
        return self.publish_many([(topic, payload)], retain)

    def _write(self, data: bytes) -> bool:
        """Under ``_write_lock``."""
        sock = self._sock
        if sock is None:
            return False
        try:
            sock.sendall(data)
        except OSError as err:
            # The network thread sees the broken connection on its next read. The text, not
            # the error: a log record keeps its args, and a handler that holds records (a
            # test's capture, a memory handler) would keep this frame, and through it the
            # whole ingest, alive after the collector stopped.
            log.debug("write to the broker failed: %s", str(err))
            return False
        self._last_out = time.monotonic()
        return True

    def _send(self, data: bytes) -> None:
        with self._write_lock:
            if not self._write(data):
                raise ConnectionError("could not write to the broker")

    # --- the network thread -------------------------------------------------------------

    def _run(self) -> None:
        first, longest = self._delays
        delay = first
        while not self._stopping.is_set():
            sock = self._open()
            if sock is not None:
                accepted = [False]
                try:
                    self._serve(sock, accepted)
                except (OSError, ProtocolError) as err:
                    if not self._stopping.is_set():
                        log.info("broker %s:%d: connection lost: %s", self.host, self.port, str(err))
                finally:
                    self._close(sock)
                if accepted[0]:
                    delay = first  # a connection that worked starts the back-off again
                    if not self._protocol_known and self.protocol == MQTT_311:
                        log.warning("broker %s:%d does not take MQTT 5: on MQTT 3.1.1, the "
                                    "broker's in-flight limit applies", self.host, self.port)
                    self._protocol_known = True
                elif not self._protocol_known:
                    # A broker that speaks only MQTT 3.1.1 (amqtt, the demo's fallback broker)
                    # refuses or drops an MQTT 5 CONNECT: until one level is accepted, the
                    # attempts alternate between the two.
                    self.protocol = MQTT_311 if self.protocol == MQTT_5 else MQTT_5
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, longest)

    def _open(self) -> socket.socket | None:
        self.status.attempting()
        raw: socket.socket | None = None
        try:
            raw = socket.create_connection((self.host, self.port), timeout=10.0)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = raw
            if self._tls is not None:
                sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except OSError as err:
            if raw is not None:
                raw.close()
            self.status.attempt_failed(err)
            return None
        sock.settimeout(TICK_S)
        with self._write_lock:
            self._sock = sock
            self._connection += 1
        return sock

    def _close(self, sock: socket.socket) -> None:
        with self._write_lock:
            self._sock = None
        self.subscribed.clear()
        try:
            sock.close()
        except OSError:
            pass
        self.status.closed()
        if self._on_disconnect is not None:
            self._on_disconnect()

    def _serve(self, sock: socket.socket, accepted: list[bool]) -> None:
        """Run one connection until it ends (by an exception, a refusal or :meth:`stop`);
        ``accepted[0]`` tells whether the broker had accepted it."""
        auth = self.auth
        self._send(connect_packet(
            self.client_id, self.keepalive, self.protocol,
            None if auth is None else auth.username, None if auth is None else auth.password,
            self.receive_maximum,
        ))  # fmt: skip
        opened = time.monotonic()
        ping_sent: float | None = None
        connection = self._connection
        buf = b""
        while not self._stopping.is_set() or time.monotonic() < self._stop_by:
            data = self._read(sock)
            if data == b"":
                if self._stopping.is_set():
                    return  # the broker took our DISCONNECT and closed
                raise ConnectionError("the broker closed the connection")
            if data:
                buf = buf + data if buf else data
                parsed = parse_packets(buf, self.protocol, connection)
                buf = buf[parsed.used:]
                for kind, body in parsed.controls:
                    if kind == CONNACK:
                        if not self._connack(body):
                            return
                        accepted[0] = True
                    elif kind == SUBACK:
                        self._suback(body)
                    elif kind == PINGRESP:
                        ping_sent = None
                    elif kind == DISCONNECT:
                        code = body[0] if body else 0
                        raise ConnectionError(f"the broker disconnected (reason code {code})")
                if parsed.damaged:
                    self._damaged(parsed.damaged, connection)
                if parsed.messages:
                    self._on_messages(parsed.messages)
                if parsed.broken:
                    # What came before the break is handed on; whatever is not acknowledged
                    # before the connection closes, the broker delivers again on the next.
                    raise ProtocolError("a remaining length runs over four bytes")
            now = time.monotonic()
            if not accepted[0]:
                # A 3.1.1-only broker may not answer an MQTT 5 CONNECT at all (amqtt waits
                # for bytes that never come): while the level is not known, give up early.
                limit = max(10.0, self.keepalive) if self._protocol_known else CONNACK_PROBE_S
                if now - opened > limit:
                    raise TimeoutError("no CONNACK")
                continue
            if now - self._last_out >= self.keepalive / 2:
                self._send(_PINGREQ)
                ping_sent = now if ping_sent is None else ping_sent
            if ping_sent is not None and now - ping_sent > self.keepalive:
                raise TimeoutError(f"no PINGRESP within {self.keepalive} s")

    def _read(self, sock: socket.socket) -> bytes | None:
        """What the socket has (b"" when the broker closed it), None when nothing came."""
        try:
            if self._tls is None:
                return sock.recv(RECV_BYTES)
            if not sock.pending():  # type: ignore[attr-defined]
                ready, _, _ = select.select([sock], [], [], TICK_S)
                if not ready:
                    return None
            with self._write_lock:
                return sock.recv(RECV_BYTES)
        except (TimeoutError, ssl.SSLWantReadError):
            return None

    def _connack(self, body: bytes) -> bool:
        code = body[1] if len(body) >= 2 else 0x80
        if 0 < code < 0x80:
            # A 3.1.1 return code (also what a 3.1.1-only broker answers an MQTT 5 CONNECT
            # with: 1, unacceptable protocol version).
            code = _V311_REFUSALS.get(code, 0x80)
        if not self.status.connack(Reason(code)):
            return False
        if self.protocol == MQTT_5:
            # A broker with a ``max_keepalive`` answers with the keep-alive it holds us to.
            server_keepalive = connack_properties(body).get(0x13)
            if isinstance(server_keepalive, int) and server_keepalive > 0:
                self.keepalive = server_keepalive
        self._send(subscribe_packet(1, self.topics, self.protocol))
        if self._on_connect is not None:
            self._on_connect()
        return True

    def _suback(self, body: bytes) -> None:
        at = 2
        if self.protocol == MQTT_5:
            found = decode_length(body, at)
            at = len(body) if found is None else found[1] + found[0]
        codes = body[at:]
        if codes and all(c < 0x80 for c in codes):
            self.subscribed.set()
        else:
            log.error("broker %s:%d refused the subscription %s (codes %s)",
                      self.host, self.port, self.topics, list(codes))  # fmt: skip

    def _damaged(self, damaged: list[tuple[str, int]], connection: int) -> None:
        self.malformed += len(damaged)
        for why, mid in damaged:
            log.error("broker %s:%d sent a damaged PUBLISH (%s, packet id %d); skipped",
                      self.host, self.port, why, mid)  # fmt: skip
        # Acknowledged when its id can be read: it would only come back damaged again.
        self.ack([Message("", b"", 1, mid, connection) for _, mid in damaged if mid])
