"""A kiosk's remote control without its window: commands from the collector through a real
Mosquitto reach the kiosk's own ticket flow, on the app's worker thread.

The window itself (the refreshed service list drawn, the process exiting with 75 after
``restart_app``) is covered by ``tests/test_app_remote_ui.py``.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from collector.commands import CommandSender
from core.clock import SystemClock
from core.config import DEFAULT_CONFIG, load_hall_config
from devices.open import open_ticket_printer
from flows.queue import HallQueue
from flows.ticketing import TicketFlow
from hallstore import journal
from kiosk.app_remote import AppRemote, use_catalog
from kiosk.background import Background
from tests.brokers import MosquittoUnderTest, wait_until

HALL = "hall-demo"
KIOSK = "kiosk-1"
TAX_SERVICE = '\n[[services]]\ncode = "tax"\nname = "税务"\nprefix = "D"\naht_s = 360\n'


@dataclass
class Kiosk:
    """A kiosk's flow, worker and remote control, and the collector's sender."""

    config: Path
    flow: TicketFlow
    remote: AppRemote
    sender: CommandSender
    restarts: threading.Event

    def ask(self, name: str, timeout: float = 30, **kw: Any) -> dict[str, Any] | None:
        return self.sender.wait_ack(self.sender.send(HALL, KIOSK, name, **kw), timeout)

    def services_shown(self) -> list[str]:
        return [s["name"] for s in self.flow.choose_service().data["services"]]


@pytest.fixture
def kiosk(mosquitto: MosquittoUnderTest, tmp_path: Path) -> Iterator[Kiosk]:
    config = tmp_path / "hall.toml"
    shutil.copy(DEFAULT_CONFIG, config)
    hall = load_hall_config(config)
    db = tmp_path / "hall.db"
    record = tmp_path / "tickets.jsonl"
    flow = TicketFlow(
        HallQueue(journal.connect(db), hall, SystemClock()),
        open_ticket_printer(f"sim://usb-printer?record={record}", f"{KIOSK}-printer"),
        KIOSK,
        SystemClock(),
    )
    worker = Background("kiosk-worker")
    restarts = threading.Event()
    remote = AppRemote(
        "kiosk",
        hall,
        config,
        db,
        KIOSK,
        mosquitto.host,
        mosquitto.port,
        worker.call,
        lambda read: use_catalog(flow.queue, read),
        lambda: [flow.printer.health()],
        restarts.set,
    )
    sender = CommandSender(mosquitto.host, mosquitto.port)
    sender.start()
    assert sender.subscribed.wait(30)
    remote.start()
    rig = Kiosk(config, flow, remote, sender, restarts)
    # A command sent before the kiosk's subscription took is lost (clean session).
    assert wait_until(lambda: rig.ask("upload_diagnostics", timeout=2) is not None, 60)
    try:
        yield rig
    finally:
        sender.stop()
        remote.stop()
        worker.stop()
        flow.printer.close()
        flow.queue.conn.close()


def test_a_refreshed_catalog_is_what_the_kiosk_offers_and_a_bad_file_changes_nothing(
    kiosk: Kiosk,
):
    assert kiosk.services_shown() == ["社保医保", "户籍办理", "企业开办"]
    text = kiosk.config.read_text(encoding="utf-8")
    text = text.replace('config_version = "1"', 'config_version = "2"')
    text = text.replace('name = "户籍办理"', 'name = "户籍证照"')
    kiosk.config.write_text(text + TAX_SERVICE, encoding="utf-8")

    ack = kiosk.ask("refresh_catalog")
    assert ack is not None and ack["outcome"] == "ok", ack
    assert ack["result"] == {
        "services": 4,
        "config_version": "2",
        "added": ["tax"],
        "removed": [],
        "changed": ["household"],
    }
    assert kiosk.services_shown() == ["社保医保", "户籍证照", "企业开办", "税务"]
    # The new service is one a citizen can take a ticket for, without a restart.
    ticket = kiosk.flow.take("tax")
    assert (ticket.name, ticket.data["ticket_no"]) == ("ticket", "D001")

    kiosk.config.write_text("not toml [", encoding="utf-8")
    ack = kiosk.ask("refresh_catalog")
    assert ack is not None and (ack["outcome"], ack["code"]) == ("failed", 100)
    assert kiosk.services_shown()[-1] == "税务"

    kiosk.config.write_text(text.replace('id = "hall-demo"', 'id = "hall-east"'), "utf-8")
    ack = kiosk.ask("refresh_catalog")
    assert ack is not None and (ack["outcome"], ack["reason"]) == ("rejected", "other_hall")
    assert len(kiosk.services_shown()) == 4
    assert kiosk.ask("upload_diagnostics")["result"]["diagnostics"]["hall_config_version"] == "2"


def test_diagnostics_name_the_kiosk_and_its_printer_and_carry_no_ticket(kiosk: Kiosk):
    issued = kiosk.flow.take("social")
    ack = kiosk.ask("upload_diagnostics")
    assert ack is not None and ack["outcome"] == "ok", ack
    diag = ack["result"]["diagnostics"]
    assert (diag["hall_id"], diag["device"], diag["app"]) == (HALL, KIOSK, "kiosk")
    assert (diag["hall_config_version"], diag["services"]) == ("1", 3)
    assert diag["peripherals"] == [
        {"device": f"{KIOSK}-printer", "state": "ok", "reasons": [], "code": None}
    ]
    assert diag["uptime_s"] >= 0 and diag["software_version"]
    assert issued.data["ticket_no"] not in json.dumps(diag)


def test_a_command_for_another_kiosk_is_refused_and_a_restart_comes_after_its_ack(
    kiosk: Kiosk,
):
    refused = kiosk.ask("restart_app", addressed_to="kiosk-2")
    assert refused is not None and (refused["outcome"], refused["reason"]) == (
        "rejected",
        "wrong_device",
    )
    assert "result" not in refused  # a restart that ran would say when it comes

    ack = kiosk.ask("restart_app")
    assert ack is not None and ack["outcome"] == "ok", ack
    assert kiosk.restarts.wait(30)
