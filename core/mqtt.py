"""A background MQTT connection that keeps its subscriptions: the piece every listener shares.

paho forgets subscriptions with a clean session, so they are made again on every connect;
paho reconnects by itself (1–10 s back-off) after a drop. Messages reach ``on_message`` on
paho's network thread: a slow handler must hand work to its own thread.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any


class Subscription:
    """Subscribe to topics for as long as it runs.

    Args:
        host: broker address.
        port: broker port.
        topics: ``(topic filter, QoS)`` pairs.
        on_message: called with each message's topic and payload.
        client_id: the MQTT client id; a random one with this prefix when it ends in ``-``.
        keepalive: seconds; the broker drops a silent client after 1.5× this.
    """

    def __init__(
        self,
        host: str,
        port: int,
        topics: Sequence[tuple[str, int]],
        on_message: Callable[[str, bytes], None],
        client_id: str,
        keepalive: int = 30,
    ) -> None:
        import paho.mqtt.client as mqtt

        if client_id.endswith("-"):
            client_id += uuid.uuid4().hex[:8]
        self.topics = list(topics)
        self.subscribed = threading.Event()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
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
