"""Remote configuration and commands from the collector, each acknowledged with its outcome.

A command arrives on the device's own topic (``docs/topics.md``) and is answered on its ack
topic with ``ok``, ``rejected`` (not attempted: another device's command, an unknown one, bad
arguments, an old configuration) or ``failed`` (attempted and undone). The broker may deliver a
command twice (QoS 1); the device answers the repeat from its record instead of running it
again.

``set_config`` is built in: the configuration is validated first, then applied; if applying
fails, the previous configuration is applied again, so the device never runs half of a
change. Other commands are handlers the composition root registers (restart the app,
refresh the service catalog, set the power schedule, upload diagnostics …).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from agent.remote_store import RemoteStore
from core.errors import (
    CommandRejected,
    ConfigApplyFailed,
    ConfigRejected,
    HallEdgeError,
    RemoteError,
)
from core.mqtt import MqttAuth, Subscription, SubscriptionClient
from core.topics import command_ack_topic, command_topic

log = logging.getLogger(__name__)

#: A command handler: takes the command's args, returns a JSON-ready result (or None), and
#: raises a HallEdgeError to report failure.
Handler = Callable[[dict[str, Any]], dict[str, Any] | None]


class ConfigTarget:
    """How a device validates and applies a pushed configuration.

    Args:
        validate: turns the pushed body into the object the device runs; raises on anything
            invalid (any exception means "rejected, nothing changed").
        apply: puts a validated configuration in force; raises if that fails.
    """

    def __init__(self, validate: Callable[[dict[str, Any]], Any], apply: Callable[[Any], None]) -> None:
        self.validate = validate
        self.apply = apply


class RemoteControl(SubscriptionClient):
    """Takes commands for one device and acknowledges each.

    Args:
        host: broker address.
        port: broker port.
        hall_id: the device's hall.
        device_id: the device; commands naming another device are refused.
        store: where configurations and answered commands are kept.
        handlers: command name → handler.
        config: the ``set_config`` target; without one, ``set_config`` is an unknown command.
        auth: the device's broker credentials and TLS; anonymous plain TCP when None. The
            connection logs in as ``<account>.remote`` (``docs/deployment.md``).
    """

    def __init__(
        self,
        host: str,
        port: int,
        hall_id: str,
        device_id: str,
        store: RemoteStore,
        handlers: dict[str, Handler] | None = None,
        config: ConfigTarget | None = None,
        auth: MqttAuth | None = None,
    ) -> None:
        self.hall_id = hall_id
        self.device_id = device_id
        self.store = store
        self.handlers = dict(handlers or {})
        self.config = config
        self._inbox: queue.Queue[bytes | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        # Handlers may take time (diagnostics); paho's network thread only queues.
        self._subscribe(Subscription(
            host, port, [(command_topic(hall_id, device_id), 1)],
            lambda topic, payload: self._inbox.put(payload), f"remote-{hall_id}-{device_id}-",
            auth=auth, name=f"remote control {device_id}", logger=log, connection="remote",
        ))

    def start(self) -> None:
        self._worker = threading.Thread(target=self._work, name="remote-control", daemon=True)
        self._worker.start()
        super().start()

    def stop(self) -> None:
        self._inbox.put(None)
        if self._worker is not None:
            self._worker.join(timeout=10)
        super().stop()

    def handle(self, payload: bytes) -> dict[str, Any]:
        """Carry out one command message and return its acknowledgement (also published)."""
        try:
            command = self._parse(payload)
        except CommandRejected as err:
            return self._ack({"cmd_id": None, "name": None}, "rejected", err)
        previous = self.store.answered(command["cmd_id"])
        if previous is not None:
            return self._publish(previous)
        try:
            result = self._run(command)
        except (CommandRejected, ConfigRejected) as err:
            ack = self._ack(command, "rejected", err)
        except HallEdgeError as err:
            ack = self._ack(command, "failed", err)
        except Exception as err:  # noqa: BLE001 - a handler bug is a failed command, not a crash
            log.exception("command %s failed", command["name"])
            ack = self._ack(command, "failed", RemoteError(f"{type(err).__name__}: {err}"))
        else:
            ack = self._ack(command, "ok", None, result)
        self.store.record_command(command["cmd_id"], command["name"], ack)
        return ack

    # --- internals --------------------------------------------------------------------

    def _parse(self, payload: bytes) -> dict[str, Any]:
        try:
            body = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CommandRejected("command is not UTF-8 JSON", reason="not_json") from err
        if not isinstance(body, dict) or body.get("v") != 1:
            raise CommandRejected("command has no version 1", reason="version")
        for name, kind in (("cmd_id", str), ("name", str), ("device", str), ("args", dict)):
            if not isinstance(body.get(name), kind):
                raise CommandRejected(f"command field {name!r} missing or mistyped", reason="shape")
        return body

    def _run(self, command: dict[str, Any]) -> dict[str, Any] | None:
        if command["device"] != self.device_id:
            raise CommandRejected(
                f"command for {command['device']!r} reached {self.device_id!r}",
                reason="wrong_device",
            )
        if command["name"] == "set_config" and self.config is not None:
            return self._set_config(command["args"])
        handler = self.handlers.get(command["name"])
        if handler is None:
            raise CommandRejected(f"unknown command {command['name']!r}", reason="unknown_command")
        return handler(command["args"])

    def _set_config(self, args: dict[str, Any]) -> dict[str, Any]:
        assert self.config is not None
        version, body = args.get("version"), args.get("config")
        if not isinstance(version, int) or isinstance(version, bool) or not isinstance(body, dict):
            raise ConfigRejected("set_config needs an integer version and a config object")
        active = self.store.active_config()
        if active is not None and version <= active[0]:
            raise ConfigRejected(f"version {version} is not newer than {active[0]}", active=active[0])
        try:
            candidate = self.config.validate(body)
        except Exception as err:
            self.store.record_config(version, body, "failed", f"invalid: {err}")
            raise ConfigRejected(f"configuration {version} is invalid: {err}") from err
        try:
            self.config.apply(candidate)
        except Exception as err:
            if active is not None:
                self.config.apply(self.config.validate(active[1]))
            self.store.record_config(version, body, "failed", f"apply failed: {err}")
            back_on = active[0] if active else "the shipped one"
            raise ConfigApplyFailed(
                f"configuration {version} failed to apply ({err}); back on {back_on}"
            ) from err
        self.store.record_config(version, body, "active")
        return {"config_version": version}

    def _ack(
        self,
        command: dict[str, Any],
        outcome: str,
        err: HallEdgeError | None,
        result: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        ack: dict[str, Any] = {
            "v": 1,
            "cmd_id": command.get("cmd_id"),
            "device": self.device_id,
            "name": command.get("name"),
            "outcome": outcome,
            "at": time.time(),
        }
        if err is not None:
            ack |= {"code": err.code, "key": err.key, "detail": str(err)}
            if "reason" in err.details:
                ack["reason"] = err.details["reason"]
        if result is not None:
            ack["result"] = result
        return self._publish(ack)

    def _publish(self, ack: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps(ack, ensure_ascii=False).encode("utf-8")
        self._subscription.publish(command_ack_topic(self.hall_id, self.device_id), payload, qos=1)
        return ack

    def _work(self) -> None:
        while (payload := self._inbox.get()) is not None:
            try:
                self.handle(payload)
            except Exception:  # noqa: BLE001 - the worker must outlive one bad command
                log.exception("remote command handling failed")
