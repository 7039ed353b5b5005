"""A real Mosquitto for tests, and a plain MQTT subscriber to watch what reaches it.

Tests never mock the broker: the publisher and the ingest talk to the Debian ``mosquitto``
binary on a free loopback port. The broker can be stopped and started again on the same
port, which is how the outage tests cut the network.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.broker import MosquittoBroker, mosquitto_binary


class MosquittoUnderTest(MosquittoBroker):
    """A mosquitto process owned by one test.

    Args:
        data_dir: config, log and persistence files (a pytest tmp dir).
    """

    def __init__(self, data_dir: Path) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError(
                "mosquitto is not installed; run `scripts/system-deps.sh test` (Debian package "
                "mosquitto)"
            )
        super().__init__(port=0, data_dir=data_dir, binary=binary)

    def freeze(self) -> None:
        """SIGSTOP the broker: connections stay open, but nothing is read or acknowledged."""
        assert self.pid is not None, "broker is not running"
        os.kill(self.pid, signal.SIGSTOP)

    def log_text(self) -> str:
        """What mosquitto logged, for assertion messages."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; returns its last value.

    Timeouts are generous ceilings, not expectations: the machine is shared.
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


class Subscriber:
    """A paho client that records every message on a topic filter (QoS 1).

    Args:
        host: broker address.
        port: broker port.
        topic: topic filter to subscribe to.
    """

    def __init__(self, host: str, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[Any] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self._client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda c, u, mid, codes, p: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect(host, port)
        self._client.loop_start()
        if not self._subscribed.wait(30):
            self.close()
            raise TimeoutError(f"no SUBACK from {host}:{port}")

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append(msg)

    def received(self) -> list[Any]:
        """A copy of the messages so far."""
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()
