"""Which edge devices are online: the collector's side of births, heartbeats and deaths.

Every device's retained ``state`` message says online (a birth, with inventory and versions)
or offline (a clean shutdown, or the broker's Last Will when the connection was lost). A death
that names another boot than the current birth is stale (the old connection's Will arriving
after the device already came back) and is ignored. A device that is online but has not sent a
heartbeat for three intervals is shown as ``stale``: connected, but not making progress.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import MalformedMessage
from core.mqtt import MqttAuth, Subscription, SubscriptionClient
from core.topics import ALL_HEARTBEATS, ALL_STATES

log = logging.getLogger(__name__)

#: Heartbeats missed before an online device counts as stale.
STALE_AFTER_BEATS = 3


@dataclass
class DevicePresence:
    hall: str
    device: str
    state: str  # online / offline
    since: float
    boot_id: str
    reason: str | None = None
    last_heartbeat: float | None = None
    heartbeat_s: float = 30.0
    inventory: dict[str, Any] = field(default_factory=dict)
    config_version: str = ""
    software_version: str = ""

    def status(self, now: float) -> str:
        """``online``, ``stale`` (online but silent) or ``offline``."""
        if self.state != "online":
            return "offline"
        last = self.last_heartbeat or self.since
        return "stale" if now - last > STALE_AFTER_BEATS * self.heartbeat_s else "online"

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "hall": self.hall,
            "device": self.device,
            "status": self.status(now),
            "since": self.since,
            "reason": self.reason,
            "last_heartbeat": self.last_heartbeat,
            "boot_id": self.boot_id,
            "config_version": self.config_version,
            "software_version": self.software_version,
            "inventory": self.inventory,
        }


def _decode(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MalformedMessage("presence payload is not UTF-8 JSON", reason="not_json") from err
    if not isinstance(body, dict) or body.get("v") != 1:
        raise MalformedMessage("presence payload has no version 1", reason="version")
    return body


class PresenceView:
    """The online/offline view of every device, fed with presence messages.

    Args:
        clock: time source for stamping deaths (the Will carries no time) and staleness.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._devices: dict[tuple[str, str], DevicePresence] = {}
        self._lock = threading.Lock()
        self.rejected = 0

    def on_message(self, topic: str, payload: bytes) -> None:
        """Fold in one state or heartbeat message; a malformed one is counted and dropped."""
        parts = topic.split("/")
        try:
            if len(parts) != 5 or parts[3] not in ("state", "heartbeat"):
                raise MalformedMessage(f"not a presence topic: {topic!r}", reason="topic")
            hall, kind, device = parts[2], parts[3], parts[4]
            if not payload:
                return  # a retained message being cleared
            body = _decode(payload)
            with self._lock:
                if kind == "state":
                    self._state(hall, device, body)
                else:
                    self._heartbeat(hall, device, body)
        except (MalformedMessage, KeyError, TypeError, ValueError) as err:
            self.rejected += 1
            log.warning("error 501: dropped presence message on %s: %s", topic, err)

    def devices(self) -> list[dict[str, Any]]:
        now = self._clock()
        with self._lock:
            return [d.to_dict(now) for _, d in sorted(self._devices.items())]

    def _state(self, hall: str, device: str, body: dict[str, Any]) -> None:
        key = (hall, device)
        current = self._devices.get(key)
        now = self._clock()
        if body["state"] == "online":
            self._devices[key] = DevicePresence(
                hall=hall,
                device=device,
                state="online",
                since=float(body.get("at") or now),
                boot_id=str(body["boot_id"]),
                heartbeat_s=float(body.get("heartbeat_s", 30.0)),
                inventory=dict(body.get("inventory") or {}),
                config_version=str(body.get("config_version", "")),
                software_version=str(body.get("software_version", "")),
            )
        elif body["state"] == "offline":
            if current is not None and current.boot_id != body.get("boot_id"):
                return  # the Will of a boot that was already replaced
            if current is None:
                current = DevicePresence(hall, device, "offline", now, str(body.get("boot_id", "")))
                self._devices[key] = current
            current.state, current.since, current.reason = "offline", now, str(body.get("reason"))
        else:
            raise MalformedMessage(f"unknown state {body['state']!r}", reason="state")

    def _heartbeat(self, hall: str, device: str, body: dict[str, Any]) -> None:
        current = self._devices.get((hall, device))
        if current is not None and current.boot_id == body.get("boot_id"):
            current.last_heartbeat = float(body.get("at") or self._clock())


class PresenceListener(SubscriptionClient):
    """Subscribes a :class:`PresenceView` to every hall's presence topics."""

    def __init__(
        self,
        view: PresenceView,
        host: str,
        port: int,
        client_id: str | None = None,
        auth: MqttAuth | None = None,
    ) -> None:
        self.view = view
        self._subscribe(Subscription(
            host, port, [(ALL_STATES, 1), (ALL_HEARTBEATS, 0)], view.on_message,
            client_id or "halledge-presence-",
            auth=auth, name="presence view", logger=log, connection="presence",
        ))

