"""The PAD's ear on the collector: the hall's retained warning list over MQTT.

The collector publishes the hall's whole active warning list, retained, on every change
(``docs/topics.md``), so a PAD that starts or reconnects late gets the current state at once.
A malformed message is logged and dropped; the listener keeps listening.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from core.errors import MalformedMessage
from core.topics import warnings_topic

log = logging.getLogger(__name__)


def decode_warnings(payload: bytes) -> dict[str, Any]:
    """Parse a warning-list payload.

    Raises:
        MalformedMessage (501): not UTF-8 JSON, not version 1, or no warnings list.
    """
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MalformedMessage("warnings payload is not UTF-8 JSON", reason="not_json") from err
    if not isinstance(body, dict) or body.get("v") != 1 or not isinstance(body.get("warnings"), list):
        raise MalformedMessage("warnings payload has no version-1 warning list", reason="shape")
    return body


class WarningsListener:
    """Subscribes to a hall's warnings and hands each list to a callback (on paho's thread).

    Args:
        host: broker address.
        port: broker port.
        hall_id: the hall to listen to.
        on_payload: called with each decoded warning list.
    """

    def __init__(
        self, host: str, port: int, hall_id: str, on_payload: Callable[[dict[str, Any]], None]
    ) -> None:
        import paho.mqtt.client as mqtt

        self.topic = warnings_topic(hall_id)
        self.on_payload = on_payload
        self.subscribed = threading.Event()
        self.rejected = 0
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"halledge-pad-{hall_id}-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
        )
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_: self.subscribed.set()
        self._client.on_message = self._on_message
        self._host, self._port = host, port

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself after a drop."""
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, props: Any) -> None:
        if not reason_code.is_failure:
            client.subscribe(self.topic, qos=1)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            body = decode_warnings(msg.payload)
        except MalformedMessage as err:
            self.rejected += 1
            log.warning("error %d: dropped warnings message on %s: %s", err.code, msg.topic, err)
            return
        self.on_payload(body)
