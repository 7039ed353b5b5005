"""The PAD's ear on the collector: the hall's retained warning list over MQTT.

The collector publishes the hall's whole active warning list, retained, on every change
(``docs/topics.md``), so a PAD that starts or reconnects late gets the current state at once.
A malformed message is logged and dropped; the listener keeps listening.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from core.errors import MalformedMessage
from core.mqtt import MqttAuth, Subscription, SubscriptionClient
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


class WarningsListener(SubscriptionClient):
    """Subscribes to a hall's warnings and hands each list to a callback (on paho's thread).

    Args:
        host: broker address.
        port: broker port.
        hall_id: the hall to listen to.
        on_payload: called with each decoded warning list.
        auth: the PAD's broker credentials and TLS; anonymous plain TCP when None. The
            connection logs in as ``<account>.warnings`` (``docs/deployment.md``).
    """

    def __init__(
        self,
        host: str,
        port: int,
        hall_id: str,
        on_payload: Callable[[dict[str, Any]], None],
        auth: MqttAuth | None = None,
    ) -> None:
        self.topic = warnings_topic(hall_id)
        self.on_payload = on_payload
        self.rejected = 0
        self._subscribe(Subscription(
            host, port, [(self.topic, 1)], self._on_message, f"halledge-pad-{hall_id}-",
            auth=auth, name=f"warnings listener {hall_id}", logger=log, connection="warnings",
        ))


    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            body = decode_warnings(payload)
        except MalformedMessage as err:
            self.rejected += 1
            log.warning("error %d: dropped warnings message on %s: %s", err.code, topic, err)
            return
        self.on_payload(body)
