"""Remote configuration and commands through a real broker, each acknowledged with its outcome."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent import commands
from agent.remote import ConfigTarget, RemoteControl
from agent.remote_store import RemoteStore
from collector.commands import CommandSender
from core.config import DEFAULT_CONFIG, HallConfig, parse_hall_config
from tests.brokers import MosquittoUnderTest


@dataclass
class Box:
    """A hall box whose configuration the collector changes."""

    running: list[HallConfig] = field(default_factory=list)
    fail_next_apply: bool = False
    restarts: int = 0

    def apply(self, config: HallConfig) -> None:
        if self.fail_next_apply:
            self.fail_next_apply = False
            raise RuntimeError("window 9 has no PAD")
        self.running.append(config)


@dataclass
class Rig:
    box: Box
    store: RemoteStore
    remote: RemoteControl
    sender: CommandSender
    ran: list[str]

    def send(self, name: str, args: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        cmd_id = self.sender.send("hall-demo", "hallbox-1", name, args, **kw)
        ack = self.sender.wait_ack(cmd_id, 15)
        assert ack is not None, f"no ack for {name}"
        return ack


@pytest.fixture
def rig(mosquitto: MosquittoUnderTest, tmp_path: Path) -> Iterator[Rig]:
    box, ran = Box(), []
    store = RemoteStore(tmp_path / "remote.db")
    handlers = {
        "set_power_schedule": commands.power_schedule(store),
        "refresh_catalog": commands.refresh_catalog(
            lambda: ran.append("refresh") or {"services": 3}
        ),
        "upload_diagnostics": commands.upload_diagnostics(lambda: {"backlog": 0}),
    }
    remote = RemoteControl(
        mosquitto.host, mosquitto.port, "hall-demo", "hallbox-1", store, handlers,
        ConfigTarget(parse_hall_config, box.apply),
    )
    sender = CommandSender(mosquitto.host, mosquitto.port)
    remote.start()
    sender.start()
    assert remote.subscribed.wait(15) and sender.subscribed.wait(15)
    yield Rig(box, store, remote, sender, ran)
    sender.stop()
    remote.stop()
    store.close()


def hall_config(windows: int = 4) -> dict[str, Any]:
    raw = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw["windows"] = raw["windows"][:windows]
    return raw


def test_a_valid_configuration_is_applied_and_acknowledged(rig: Rig) -> None:
    ack = rig.send("set_config", {"version": 2, "config": hall_config(windows=3)})
    assert ack["outcome"] == "ok" and ack["result"] == {"config_version": 2}
    assert [len(c.windows) for c in rig.box.running] == [3]
    assert rig.store.active_config()[0] == 2


def test_an_invalid_configuration_changes_nothing(rig: Rig) -> None:
    rig.send("set_config", {"version": 2, "config": hall_config()})
    broken = hall_config()
    broken["windows"][0]["services"] = ["no-such-service"]
    ack = rig.send("set_config", {"version": 3, "config": broken})
    assert (ack["outcome"], ack["code"]) == ("rejected", 452)
    assert rig.store.active_config()[0] == 2 and len(rig.box.running) == 1


def test_an_old_configuration_is_refused(rig: Rig) -> None:
    rig.send("set_config", {"version": 5, "config": hall_config()})
    assert rig.send("set_config", {"version": 5, "config": hall_config()})["outcome"] == "rejected"
    assert rig.send("set_config", {"version": 4, "config": hall_config()})["outcome"] == "rejected"


def test_a_configuration_that_fails_to_apply_is_rolled_back(rig: Rig) -> None:
    rig.send("set_config", {"version": 2, "config": hall_config(windows=4)})
    rig.box.fail_next_apply = True
    ack = rig.send("set_config", {"version": 3, "config": hall_config(windows=2)})
    assert (ack["outcome"], ack["code"]) == ("failed", 453)
    # Back on version 2: applied again after the failure.
    assert [len(c.windows) for c in rig.box.running] == [4, 4]
    assert rig.store.active_config()[0] == 2


def test_a_command_for_another_device_is_refused(rig: Rig) -> None:
    ack = rig.send("refresh_catalog", addressed_to="kiosk-7")
    assert (ack["outcome"], ack["reason"]) == ("rejected", "wrong_device")
    assert rig.ran == []


def test_unknown_commands_and_bad_arguments_are_refused(rig: Rig) -> None:
    assert rig.send("format_disk")["reason"] == "unknown_command"
    bad = rig.send("set_power_schedule", {"on": "18:00", "off": "08:00"})
    assert (bad["outcome"], bad["reason"]) == ("rejected", "bad_args")
    assert rig.store.setting("power_schedule") is None


def test_commands_run_once_even_when_delivered_twice(rig: Rig) -> None:
    ack = rig.send("refresh_catalog")
    assert ack["result"] == {"services": 3}
    payload = (
        '{"v":1,"cmd_id":"%s","device":"hallbox-1","name":"refresh_catalog","args":{}}' % ack["cmd_id"]
    ).encode()
    again = rig.remote.handle(payload)
    assert again == ack and rig.ran == ["refresh"]


def test_power_schedule_and_diagnostics(rig: Rig) -> None:
    ok = rig.send("set_power_schedule", {"on": "07:30", "off": "19:00"})
    assert ok["outcome"] == "ok"
    assert rig.store.setting("power_schedule") == {"on": "07:30", "off": "19:00"}
    assert rig.send("upload_diagnostics")["result"] == {"diagnostics": {"backlog": 0}}


def test_a_malformed_command_is_refused_not_crashed(rig: Rig) -> None:
    ack = rig.remote.handle(b"\x00not json")
    assert ack["outcome"] == "rejected" and ack["code"] == 451
    assert rig.send("upload_diagnostics")["outcome"] == "ok"
