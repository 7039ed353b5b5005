"""Sending commands and configuration to edge devices, and collecting their outcomes."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

from core.mqtt import MqttAuth, Subscription, SubscriptionClient
from core.topics import ALL_COMMAND_ACKS, command_topic

log = logging.getLogger(__name__)


class CommandSender(SubscriptionClient):
    """The collector's side of remote control.

    Args:
        host: broker address.
        port: broker port.
        auth: the collector's broker credentials and TLS; anonymous plain TCP when None.
    """

    def __init__(self, host: str, port: int, auth: MqttAuth | None = None) -> None:
        self._acks: dict[str, dict[str, Any]] = {}
        self._arrived = threading.Condition()
        self._subscribe(Subscription(
            host, port, [(ALL_COMMAND_ACKS, 1)], self._on_ack, "halledge-commands-",
            auth=auth, name="command sender", logger=log, connection="commands",
        ))


    def send(
        self,
        hall_id: str,
        device_id: str,
        name: str,
        args: dict[str, Any] | None = None,
        addressed_to: str | None = None,
    ) -> str:
        """Send a command to a device; returns its id for :meth:`wait_ack`.

        Args:
            addressed_to: the device named inside the command (defaults to ``device_id``);
                a device refuses a command that names another one.
        """
        cmd_id = uuid.uuid4().hex
        body = {"v": 1, "cmd_id": cmd_id, "device": addressed_to or device_id, "name": name,
                "args": args or {}, "at": time.time()}
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._subscription.publish(command_topic(hall_id, device_id), payload, qos=1)
        return cmd_id

    def wait_ack(self, cmd_id: str, timeout: float) -> dict[str, Any] | None:
        """The device's acknowledgement, or None if none came in time."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while cmd_id not in self._acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._arrived.wait(left)
            return self._acks[cmd_id]

    def _on_ack(self, topic: str, payload: bytes) -> None:
        try:
            ack = json.loads(payload.decode("utf-8"))
            cmd_id = ack["cmd_id"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            return
        with self._arrived:
            if cmd_id is not None:
                self._acks[cmd_id] = ack
            self._arrived.notify_all()
