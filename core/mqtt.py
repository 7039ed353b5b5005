"""What every MQTT client of Hall Edge shares: credentials and TLS, one way to name a failed
connection, and a background connection that keeps its subscriptions.

A technician must tell "the network is down" from "this box's password is refused" from "the
broker's certificate is not the one we trust", whichever client hit it. Every client keeps a
:class:`ConnectionStatus`: its ``last_error`` is a ``BrokerUnavailable`` (410),
``MqttAuthRefused`` (470) or ``MqttTlsFailed`` (471), and a warning is logged whenever that
kind changes.

paho forgets subscriptions with a clean session, so :class:`Subscription` makes them again on
every connect; paho reconnects by itself (1–10 s back-off) after a drop. Messages reach
``on_message`` on paho's network thread: a slow handler must hand work to its own thread.

With credentials, a connection's client id is its broker account. The production broker
replaces every client id by the username (``use_username_as_clientid``,
``docs/deployment.md``), so no device can connect under another's id and disconnect it or
take over its session. One account therefore carries one connection at a time: a device's
further connections (its presence, its remote control …) each log in as
``<device account>.<connection>`` (:meth:`MqttAuth.for_connection`), with the same password.
"""

from __future__ import annotations

import argparse
import logging
import ssl
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.errors import BrokerUnavailable, MqttAuthRefused, MqttTlsFailed

log = logging.getLogger(__name__)

#: Joins a device's account and the name of one of its connections:
#: ``hallbox-hall-demo`` + ``presence`` → ``hallbox-hall-demo.presence``.
CONNECTION_SEPARATOR = "."


@dataclass(frozen=True)
class MqttAuth:
    """How one device proves who it is to the broker, and checks who the broker is.

    Every device has its own account (the broker's ACL ties it to its hall), so a leaked
    password opens one device of one hall, not all of them. The account is also the client id
    (:func:`owned_client_id`), and each further connection of the device has an account of its
    own (:meth:`for_connection`).

    Args:
        username: the device's broker account; no credentials are sent without it.
        password: that account's password (shared by the device's connection accounts).
        ca_file: the CA that signed the broker's certificate; TLS is on only when given.
        certfile: a client certificate, for brokers that require one.
        keyfile: the private key of ``certfile``.
    """

    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    @property
    def tls(self) -> bool:
        """Whether connections are encrypted."""
        return self.ca_file is not None

    def for_connection(self, connection: str) -> MqttAuth:
        """This device's credentials for one of its connections: account
        ``<username>.<connection>``, same password, CA and client certificate.

        The broker binds a client id to its account, so two connections of one device need
        two accounts (``docs/deployment.md``). An account that already ends in
        ``.<connection>`` is kept as it is, so an account given per connection (a test, an
        operator's choice) is not named twice. Without a username nothing changes: anonymous
        clients have no account to derive from.
        """
        suffix = f"{CONNECTION_SEPARATOR}{connection}"
        if self.username is None or self.username.endswith(suffix):
            return self
        return replace(self, username=f"{self.username}{suffix}")

    def apply(self, client: Any) -> None:
        """Set credentials and TLS on a paho client before it connects.

        Certificate and host-name checks stay on: a broker that cannot prove its name is
        refused (paho's defaults, never ``tls_insecure_set(True)``).
        """
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.ca_file is not None:
            client.tls_set(ca_certs=self.ca_file, certfile=self.certfile, keyfile=self.keyfile)

    @classmethod
    def from_options(
        cls,
        username: str | None = None,
        password_file: str | Path | None = None,
        ca_file: str | None = None,
    ) -> MqttAuth | None:
        """The auth from command-line options, or None when none was given.

        The password is read from a file, never taken from the command line, where ``ps``
        and shell history would show it to anyone on the box.
        """
        if username is None and password_file is None and ca_file is None:
            return None
        password = None
        if password_file is not None:
            password = Path(password_file).read_text(encoding="utf-8").rstrip("\r\n")
        return cls(username=username, password=password, ca_file=ca_file)


def apply_auth(client: Any, auth: MqttAuth | None) -> None:
    """``auth.apply(client)`` when there is an auth; anonymous plain TCP otherwise."""
    if auth is not None:
        auth.apply(client)


def connection_auth(auth: MqttAuth | None, connection: str | None) -> MqttAuth | None:
    """The credentials of one named connection of a device (None stays None: anonymous)."""
    if auth is None or connection is None:
        return auth
    return auth.for_connection(connection)


def owned_client_id(client_id: str, auth: MqttAuth | None) -> str:
    """The client id a connection uses: its account when it has one, else ``client_id``.

    The production broker makes the same substitution (``use_username_as_clientid``); doing it
    here too keeps the client's log and the broker's log naming the connection alike.
    """
    if auth is not None and auth.username is not None:
        return auth.username
    return client_id


def add_mqtt_auth_arguments(parser: argparse.ArgumentParser) -> None:
    """The broker credential options shared by ``agent`` and ``collector``."""
    parser.add_argument("--mqtt-user", help="this device's broker username")
    parser.add_argument(
        "--mqtt-password-file", help="file holding the broker password (never on the command line)"
    )
    parser.add_argument("--mqtt-ca", help="CA certificate of the broker; turns TLS on")


def mqtt_auth(args: argparse.Namespace) -> MqttAuth | None:
    """The credentials the options name, or None for anonymous plain TCP."""
    return MqttAuth.from_options(
        getattr(args, "mqtt_user", None),
        getattr(args, "mqtt_password_file", None),
        getattr(args, "mqtt_ca", None),
    )


#: CONNACK refusals that mean "these credentials", not "the broker is busy": paho maps
#: MQTT 3.1.1's return codes 4 and 5 to the MQTT 5 reason codes 134 and 135.
_AUTH_REFUSALS = (134, 135)


def refusal(reason_code: Any, host: str, port: int) -> BrokerUnavailable:
    """The typed error for a refused CONNACK.

    Returns:
        MqttAuthRefused (470) for bad credentials or an unauthorised client, else
        BrokerUnavailable (410).
    """
    value = getattr(reason_code, "value", reason_code)
    kind = MqttAuthRefused if value in _AUTH_REFUSALS else BrokerUnavailable
    return kind(f"refused: {reason_code}", host=host, port=port)


def connect_error(err: OSError, host: str, port: int) -> BrokerUnavailable:
    """The typed error for a connection attempt that raised: a failed TLS handshake is
    ``MqttTlsFailed`` (471), anything else on the way (refused, unreachable, timed out)
    ``BrokerUnavailable`` (410)."""
    kind = MqttTlsFailed if isinstance(err, ssl.SSLError) else BrokerUnavailable
    return kind(str(err), host=host, port=port)


class ConnectionStatus:
    """Why one client's connection to the broker fails, if it does.

    Fed by the client: :meth:`attempt_failed` when connecting raised, :meth:`connack` with
    the broker's answer, :meth:`closed` when the connection ends.

    Args:
        name: the client, as the log names it (``remote control hallbox-hall-demo``).
        host: broker address.
        port: broker port.
        logger: where failures are logged (the client's own module logger).

    Attributes:
        last_error: why the latest attempt failed, None once connected.
        connect_failures: attempts refused, failed, or closed before the CONNACK.
    """

    def __init__(
        self, name: str, host: str, port: int, logger: logging.Logger | None = None
    ) -> None:
        self.name, self.host, self.port = name, host, port
        self.last_error: BrokerUnavailable | None = None
        self.connect_failures = 0
        self._log = logger or log
        self._awaiting_connack = False
        self._lock = threading.Lock()

    def attempting(self) -> None:
        """A connection attempt begins."""
        with self._lock:
            self._awaiting_connack = True

    def attempt_failed(self, err: OSError) -> None:
        """Connecting raised (socket or TLS handshake)."""
        with self._lock:
            self._awaiting_connack = False
        self.failed(connect_error(err, self.host, self.port))

    def connack(self, reason_code: Any) -> bool:
        """The broker's answer to CONNECT; True when it accepted."""
        with self._lock:
            self._awaiting_connack = False
        if getattr(reason_code, "is_failure", False):
            self.failed(refusal(reason_code, self.host, self.port))
            return False
        with self._lock:
            self.last_error = None
        return True

    def closed(self) -> None:
        """The connection ended; before a CONNACK it counts as a failed attempt (plain TCP
        to a TLS-only listener: the broker just hangs up)."""
        with self._lock:
            early, self._awaiting_connack = self._awaiting_connack, False
        if early:
            self.failed(BrokerUnavailable("closed before CONNACK", host=self.host, port=self.port))

    def failed(self, err: BrokerUnavailable) -> None:
        """Record a failed attempt; log a warning on the first one and when the kind changes."""
        with self._lock:
            self.connect_failures += 1
            # A new kind of failure is worth a warning even in a long outage: the technician
            # must see when "network down" turns into "password refused".
            changed = type(err) is not type(self.last_error)
            self.last_error = err
            first = self.connect_failures == 1
        level = logging.WARNING if first or changed else logging.DEBUG
        self._log.log(
            level, "%s: broker %s:%d unavailable: code=%d %s",
            self.name, self.host, self.port, err.code, err,
        )


def watched_client(status: ConnectionStatus, client_id: str, auth: MqttAuth | None = None,
                   connection: str | None = None, **options: Any) -> Any:
    """A paho client that reports every failed connection attempt to ``status``.

    paho's own thread retries a failed connect and only says "it failed"; this client catches
    the socket or TLS error on the way, so the kind of failure is known. The caller still
    feeds ``status.connack`` and ``status.closed`` from its own callbacks.

    Args:
        client_id: the client id when anonymous; with credentials it is the account
            (:func:`owned_client_id`).
        auth: the device's credentials and TLS; anonymous plain TCP when None.
        connection: names this connection among the device's several; it then logs in as
            ``<account>.<connection>`` (:meth:`MqttAuth.for_connection`). None for the
            device's own account.
        options: further ``paho.mqtt.client.Client`` arguments (``clean_session`` …).
    """
    import paho.mqtt.client as mqtt

    class _WatchedClient(mqtt.Client):
        def reconnect(self) -> Any:
            status.attempting()
            try:
                return super().reconnect()
            except OSError as err:
                status.attempt_failed(err)
                raise

    auth = connection_auth(auth, connection)
    client = _WatchedClient(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=owned_client_id(client_id, auth),
        protocol=mqtt.MQTTv311,
        **options,
    )
    apply_auth(client, auth)
    return client


class Subscription:
    """Subscribe to topics for as long as it runs.

    Args:
        host: broker address.
        port: broker port.
        topics: ``(topic filter, QoS)`` pairs.
        on_message: called with each message's topic and payload.
        client_id: the MQTT client id when anonymous; a random one with this prefix when it
            ends in ``-``. With credentials the client id is the account.
        keepalive: seconds; the broker drops a silent client after 1.5× this.
        auth: credentials and TLS; anonymous plain TCP when None.
        name: the client as the log names it (default: the client id).
        logger: where connection failures are logged (the owner's module logger).
        connection: names this connection among the device's several (``remote``,
            ``warnings`` …): it logs in as ``<account>.<connection>``.

    Attributes:
        status: the connection's :class:`ConnectionStatus` (``last_error`` …).
        subscribed: set once the broker confirmed the subscriptions.
    """

    def __init__(
        self,
        host: str,
        port: int,
        topics: Sequence[tuple[str, int]],
        on_message: Callable[[str, bytes], None],
        client_id: str,
        keepalive: int = 30,
        auth: MqttAuth | None = None,
        name: str | None = None,
        logger: logging.Logger | None = None,
        connection: str | None = None,
    ) -> None:
        auth = connection_auth(auth, connection)
        if client_id.endswith("-"):
            client_id += uuid.uuid4().hex[:8]
        client_id = owned_client_id(client_id, auth)
        self.topics = list(topics)
        self.subscribed = threading.Event()
        self.status = ConnectionStatus(name or client_id, host, port, logger)
        self._client = watched_client(self.status, client_id, auth)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = lambda *_: self.status.closed()
        self._client.on_subscribe = lambda *_: self.subscribed.set()
        self._client.on_message = lambda c, u, msg: on_message(msg.topic, msg.payload)
        self._host, self._port, self._keepalive = host, port, keepalive

    @property
    def last_error(self) -> BrokerUnavailable | None:
        """Why the latest connection attempt failed (410, 470 or 471); None once connected."""
        return self.status.last_error

    def start(self) -> None:
        """Connect in the background."""
        self._client.connect_async(self._host, self._port, keepalive=self._keepalive)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> Any:
        """Publish on the same connection (paho queues it while disconnected)."""
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, props: Any) -> None:
        if self.status.connack(reason_code):
            client.subscribe(self.topics)


class SubscriptionClient:
    """What every client built on one :class:`Subscription` shares: its connection's health,
    and starting and stopping it. Subclasses call :meth:`_subscribe` in ``__init__``.

    Attributes:
        subscribed: set once the broker confirmed the subscriptions.
        status: the connection's :class:`ConnectionStatus` (``last_error``, ``connect_failures``).
    """

    _subscription: Subscription

    def _subscribe(self, subscription: Subscription) -> None:
        self._subscription = subscription
        self.subscribed = subscription.subscribed
        self.status = subscription.status

    @property
    def last_error(self) -> BrokerUnavailable | None:
        """Why the broker connection fails (410, 470 or 471); None while connected."""
        return self._subscription.last_error

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself after a drop."""
        self._subscription.start()

    def stop(self) -> None:
        self._subscription.stop()
