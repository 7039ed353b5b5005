"""A background MQTT connection that keeps its subscriptions: the piece every listener shares.

paho forgets subscriptions with a clean session, so they are made again on every connect;
paho reconnects by itself (1–10 s back-off) after a drop. Messages reach ``on_message`` on
paho's network thread: a slow handler must hand work to its own thread.
"""

from __future__ import annotations

import argparse
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class MqttAuth:
    """How one device proves who it is to the broker, and checks who the broker is.

    Every hall box has its own username (the broker's ACL ties it to its hall), so a leaked
    password opens one hall, not all of them.

    Args:
        username: the device's broker account; no credentials are sent without it.
        password: that account's password.
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


class Subscription:
    """Subscribe to topics for as long as it runs.

    Args:
        host: broker address.
        port: broker port.
        topics: ``(topic filter, QoS)`` pairs.
        on_message: called with each message's topic and payload.
        client_id: the MQTT client id; a random one with this prefix when it ends in ``-``.
        keepalive: seconds; the broker drops a silent client after 1.5× this.
        auth: credentials and TLS; anonymous plain TCP when None.
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
    ) -> None:
        import paho.mqtt.client as mqtt

        if client_id.endswith("-"):
            client_id += uuid.uuid4().hex[:8]
        self.topics = list(topics)
        self.subscribed = threading.Event()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
        apply_auth(self._client, auth)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_: self.subscribed.set()
        self._client.on_message = lambda c, u, msg: on_message(msg.topic, msg.payload)
        self._host, self._port, self._keepalive = host, port, keepalive

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
        if not reason_code.is_failure:
            client.subscribe(self.topics)
