"""An edge device's presence at the collector: birth, heartbeats and a Last-Will death.

Following Sparkplug B's rules in spirit: on every connect the device publishes a *birth*
(retained, QoS 1) with its inventory and versions and a fresh boot id; the broker holds a
*Last Will* that it publishes as the device's *death* if the connection drops without a
goodbye; a clean stop publishes the death itself. Heartbeats in between let the collector tell
a silent-but-connected device from a healthy one. The collector therefore always knows, for
every device, whether it is online, since when, and what it runs.

Presence runs on its own MQTT connection, separate from the event publisher, so that a long
backlog being drained never delays a heartbeat, and the Will belongs to the device, not to a
batch in flight.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

from core.config import HallConfig
from core.errors import BrokerUnavailable
from core.mqtt import ConnectionStatus, MqttAuth, watched_client
from core.topics import hall_box_id, heartbeat_topic, state_topic
from core.version import software_version

log = logging.getLogger(__name__)

PRESENCE_VERSION = 1
#: Seconds between heartbeats.
HEARTBEAT_S = 30.0


def hall_box_presence(
    hall: HallConfig, host: str, port: int, auth: MqttAuth | None = None
) -> Presence:
    """The presence of a hall's edge box: its configured devices are its inventory."""
    return Presence(
        host,
        port,
        hall.hall_id,
        hall_box_id(hall.hall_id),
        inventory=dict(hall.devices),
        config_version=hall.config_version,
        software_version=software_version(),
        auth=auth,
    )


def _payload(body: dict[str, Any]) -> bytes:
    return json.dumps({"v": PRESENCE_VERSION, **body}, ensure_ascii=False).encode("utf-8")


class Presence:
    """Announce one device to the collector for as long as it runs.

    Args:
        host: broker address.
        port: broker port.
        hall_id: the device's hall.
        device_id: the device (``hallbox-hall-demo``, ``kiosk-1`` …).
        inventory: what the device has (peripherals and their URLs), for the birth.
        config_version: the version of the configuration it runs.
        software_version: the Hall Edge version it runs.
        heartbeat_s: seconds between heartbeats.
        keepalive_s: MQTT keepalive; the broker declares the device dead after 1.5× this.
        auth: the device's broker credentials and TLS; anonymous plain TCP when None. The
            connection logs in as ``<account>.presence``, which is also its client id.
    """

    def __init__(
        self,
        host: str,
        port: int,
        hall_id: str,
        device_id: str,
        inventory: dict[str, Any] | None = None,
        config_version: str = "",
        software_version: str = "",
        heartbeat_s: float = HEARTBEAT_S,
        keepalive_s: int = 30,
        auth: MqttAuth | None = None,
    ) -> None:
        self.hall_id = hall_id
        self.device_id = device_id
        self.boot_id = uuid.uuid4().hex
        self.inventory = inventory or {}
        self.config_version = config_version
        self.software_version = software_version
        self.heartbeat_s = heartbeat_s
        self.births = 0
        self.heartbeats = 0
        self._host, self._port, self._keepalive = host, port, keepalive_s
        self._topic = state_topic(hall_id, device_id)
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self.status = ConnectionStatus(f"presence {device_id}", host, port, log)
        # Its own connection, so its own account (``<account>.presence``): the broker ties
        # the client id, and with it the Will, to that account (docs/deployment.md).
        client = watched_client(
            self.status, f"presence-{hall_id}-{device_id}", auth, connection="presence"
        )
        client.will_set(self._topic, self._death("lost"), qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *_: (self._connected.clear(), self.status.closed())
        self._client = client

    def start(self) -> None:
        """Connect in the background; births follow every (re)connect."""
        self._client.connect_async(self._host, self._port, keepalive=self._keepalive)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._beat, name="presence", daemon=True)
        self._thread.start()

    @property
    def last_error(self) -> BrokerUnavailable | None:
        """Why the broker connection fails (410, 470 or 471); None while connected."""
        return self.status.last_error

    def wait_online(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        """Say goodbye (a clean death), then disconnect: the Will is not sent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._connected.is_set():
            info = self._client.publish(self._topic, self._death("shutdown"), qos=1, retain=True)
            info.wait_for_publish(timeout=5)
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, props: Any) -> None:
        if not self.status.connack(reason_code):
            return
        self.births += 1
        birth = {
            "state": "online",
            "hall": self.hall_id,
            "device": self.device_id,
            "boot_id": self.boot_id,
            "births": self.births,
            "at": time.time(),
            "inventory": self.inventory,
            "config_version": self.config_version,
            "software_version": self.software_version,
            "heartbeat_s": self.heartbeat_s,
        }
        client.publish(self._topic, _payload(birth), qos=1, retain=True)
        self._connected.set()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            if not self._connected.is_set():
                continue
            self.heartbeats += 1
            body = {"device": self.device_id, "boot_id": self.boot_id, "n": self.heartbeats,
                    "at": time.time()}
            self._client.publish(heartbeat_topic(self.hall_id, self.device_id), _payload(body), qos=0)

    def _death(self, reason: str) -> bytes:
        # The Will is fixed at connect time, so it carries no time: the collector stamps it.
        return _payload({"state": "offline", "hall": self.hall_id, "device": self.device_id,
                         "boot_id": self.boot_id, "reason": reason})
