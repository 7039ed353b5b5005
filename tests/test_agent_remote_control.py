"""The hall box's agent takes the collector's commands, end to end with real processes:
``python main.py agent`` against a real Mosquitto, commands sent by
``python main.py collector command``, effects checked on the box's own files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.commands import RESTART_EXIT_CODE
from agent.hallbox_remote import MAX_RESERVE_BYTES, remote_db_path
from agent.remote_store import RemoteStore
from collector.commands import CommandSender
from collector.ingest import Ingestor
from core.config import DEFAULT_CONFIG
from core.version import software_version
from hallstore import journal, retention
from hallstore.retention import MIB, RetentionPolicy
from tests.brokers import MosquittoUnderTest, wait_until
from tests.collector_cli import collector_command
from tests.conftest import HallDb
from tests.test_publisher import make_activity

ROOT = Path(__file__).resolve().parent.parent
HALL = "hall-demo"
BOX = "hallbox-hall-demo"


@dataclass
class Box:
    """A hall box: its agent process, its files, and the collector's way to command it."""

    hall_db: HallDb
    config: Path
    broker: MosquittoUnderTest
    log: Path
    sender: CommandSender
    agent: subprocess.Popen[bytes] | None = None

    def start_agent(self) -> None:
        self.agent = subprocess.Popen(
            [
                sys.executable,
                "main.py",
                "agent",
                "--mqtt",
                f"{self.broker.host}:{self.broker.port}",
                "--hall-db",
                str(self.hall_db.path),
                "--config",
                str(self.config),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
        )
        # The agent listens once its subscription took; a command sent before that is lost
        # (clean session), so ask until one is answered.
        assert wait_until(lambda: self.ask("upload_diagnostics", timeout=2) is not None, 60), (
            self.log.read_text(errors="replace")
        )

    def ask(
        self, name: str, args: dict[str, Any] | None = None, timeout: float = 30, **kw: Any
    ) -> dict[str, Any] | None:
        """A command through the collector's in-process sender; None when unanswered."""
        return self.sender.wait_ack(self.sender.send(HALL, BOX, name, args, **kw), timeout)

    def command(self, name: str, args: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """A command through ``python main.py collector command``: its exit status and ack."""
        return collector_command(self.broker, HALL, name, args=args or {})

    def diagnostics(self) -> dict[str, Any]:
        ack = self.ask("upload_diagnostics")
        assert ack is not None and ack["outcome"] == "ok", ack
        return ack["result"]["diagnostics"]


@pytest.fixture
def box(hall_db: HallDb, mosquitto: MosquittoUnderTest, tmp_path: Path) -> Iterator[Box]:
    config = tmp_path / "hall.toml"
    shutil.copy(DEFAULT_CONFIG, config)
    sender = CommandSender(mosquitto.host, mosquitto.port)
    sender.start()
    assert sender.subscribed.wait(30)
    rig = Box(hall_db, config, mosquitto, tmp_path / "agent.log", sender)
    rig.start_agent()
    try:
        yield rig
    finally:
        sender.stop()
        if rig.agent is not None and rig.agent.poll() is None:
            rig.agent.terminate()
            rig.agent.wait(timeout=30)


def retention_config(reserve: int, wal: int = 8 * MIB) -> dict[str, Any]:
    return {"retention": {"reserve_bytes": reserve, "wal_limit_bytes": wal}}


def test_configuration_is_applied_kept_across_a_restart_and_bad_ones_are_undone(box: Box):
    status, ack = box.command("set_config", {"version": 2, "config": retention_config(32 * MIB)})
    assert (status, ack["outcome"], ack["result"]) == (0, "ok", {"config_version": 2})
    applied = RetentionPolicy(reserve_bytes=32 * MIB, wal_limit_bytes=8 * MIB)
    # In the hall database, where the kiosks read it.
    assert retention.get_policy(box.hall_db.conn) == applied

    status, ack = box.command("set_config", {"version": 3, "config": retention_config(1 * MIB)})
    assert (status, ack["outcome"], ack["code"]) == (1, "rejected", 452)
    assert "reserve_bytes" in ack["detail"]

    # More reserve than the disk has left: every new ticket would be refused, so undone.
    too_much = retention.room_bytes(box.hall_db.conn) + 1024 * MIB
    if too_much > MAX_RESERVE_BYTES:
        pytest.skip("this disk has more room than any valid reserve")
    status, ack = box.command("set_config", {"version": 4, "config": retention_config(too_much)})
    assert (status, ack["outcome"], ack["code"]) == (1, "failed", 453)
    assert "refuse every new ticket" in ack["detail"] and "back on 2" in ack["detail"]
    assert retention.get_policy(box.hall_db.conn) == applied

    status, ack = box.command("restart_app")
    assert (status, ack["outcome"]) == (0, "ok")
    assert box.agent is not None and box.agent.wait(timeout=60) == RESTART_EXIT_CODE

    box.start_agent()
    assert box.diagnostics()["remote_config_version"] == 2
    kept = box.diagnostics()["retention"]
    assert (kept["reserve_bytes"], kept["wal_limit_bytes"]) == (32 * MIB, 8 * MIB)
    status, ack = box.command("set_config", {"version": 2, "config": retention_config(48 * MIB)})
    assert (status, ack["outcome"]) == (1, "rejected")
    store = RemoteStore(remote_db_path(box.hall_db.path))
    try:
        assert store.active_config() == (2, retention_config(32 * MIB))
    finally:
        store.close()


def test_diagnostics_catalog_power_schedule_and_another_devices_command(box: Box, tmp_path: Path):
    # The journal drains only into a collector that stores the events and says so.
    collector = Ingestor(tmp_path / "collector.db", box.broker.host, box.broker.port)
    collector.start()
    try:
        assert collector.wait_subscribed(30)
        made = make_activity(box.hall_db, tickets=4)
        assert wait_until(lambda: box.diagnostics()["publisher"]["events_stored"] == made, 60)
    finally:
        collector.stop()
        collector.store.close()
        collector.telemetry.close()
    diag = box.diagnostics()
    assert diag["journal"]["backlog"] == journal.backlog(box.hall_db.conn) == 0
    assert diag["disk"]["free_bytes"] > 0 and diag["disk"]["room_bytes"] > 0
    assert diag["software_version"] == software_version()
    assert diag["publisher"]["connected"] is True and diag["publisher"]["last_error"] is None
    assert (diag["hall_config_version"], diag["services"]) == ("1", 3)
    # Counts and versions only: no ticket of the morning appears in what leaves the box.
    ticket_nos = [r[0] for r in box.hall_db.conn.execute("SELECT ticket_no FROM tickets")]
    assert ticket_nos and not any(no in json.dumps(diag) for no in ticket_nos)

    text = box.config.read_text(encoding="utf-8")
    text = text.replace('config_version = "1"', 'config_version = "2"')
    text = text.replace("aht_s = 420", "aht_s = 480")
    text += '\n[[services]]\ncode = "tax"\nname = "税务"\nprefix = "D"\naht_s = 360\n'
    box.config.write_text(text, encoding="utf-8")
    status, ack = box.command("refresh_catalog")
    assert status == 0, ack
    assert ack["result"] == {
        "services": 4,
        "config_version": "2",
        "added": ["tax"],
        "removed": [],
        "changed": ["household"],
    }
    assert box.diagnostics()["services"] == 4

    box.config.write_text("not toml [", encoding="utf-8")
    status, ack = box.command("refresh_catalog")
    assert (status, ack["outcome"], ack["code"]) == (1, "failed", 100)
    assert box.diagnostics()["services"] == 4

    status, ack = box.command("set_power_schedule", {"on": "07:30", "off": "19:00"})
    assert (status, ack["outcome"]) == (0, "ok")
    assert box.diagnostics()["power_schedule"] == {"on": "07:30", "off": "19:00"}

    refused = box.ask("restart_app", addressed_to="kiosk-7")
    assert refused is not None and (refused["outcome"], refused["reason"]) == (
        "rejected",
        "wrong_device",
    )
    # Refused means not run: the agent is still there and answering.
    assert box.agent is not None and box.agent.poll() is None
    assert box.diagnostics()["uptime_s"] > 0
