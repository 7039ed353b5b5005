"""A kiosk on its own machine, as a process a test drives: ``python -m tests.hall_kiosk_process
<device file>``.

It is the real thing without Kivy: :class:`hallnet.client.RemoteHallQueue` (with its event
listener, its own disk in the device file's directory and its uplink) under a
:class:`flows.ticketing.TicketFlow` with a simulated USB ticket printer. The test writes one
JSON command per line on stdin and reads one JSON answer per line on stdout:

* ``{"op": "take", "service": "social"}``: a citizen takes a ticket (取号) →
  ``{"ticket_no", "ticket_id", "error_key", "printed"}``;
* ``{"op": "record", "ref": "…"}``: a kiosk function journals a ``kiosk.transaction`` →
  ``{"event_id"}``, answered once it is on the kiosk's disk;
* ``{"op": "status"}`` → ``{"connected", "left": {service: numbers left today},
  "pending_tickets", "journal_backlog"}``;
* ``{"op": "quit"}``.

The first line it prints is ``{"ready": true}``, once the queue is started.
:class:`KioskProcess` is the test's side: it starts, drives and kills such a process.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.clock import business_day
from core.config import load_hall_config
from core.events import Kind
from devices.open import open_ticket_printer
from flows.ticketing import TicketFlow
from flows.transactions import transaction_event, transaction_journal_for
from hallnet.client import RemoteHallQueue
from hallnet.devices import DeviceFile
from hardware_sim import register_simulators


def main(device_file: str) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    register_simulators()
    device = DeviceFile.read(device_file)
    queue = RemoteHallQueue(device, load_hall_config()).start()
    printer = open_ticket_printer("sim://usb-printer", f"{device.device_id}-printer")
    flow = TicketFlow(queue, printer, device.device_id, queue.clock)
    journal = transaction_journal_for(queue, device.device_id, queue.clock)
    answer({"ready": True})
    try:
        for line in sys.stdin:
            command = json.loads(line)
            op = command["op"]
            if op == "quit":
                break
            if op == "take":
                screen = flow.take(command["service"])
                data = screen.data
                payload = str(data.get("qr_payload", ""))
                answer(
                    {
                        "ticket_no": data.get("ticket_no"),
                        "ticket_id": payload.split("|")[-1] if payload else None,
                        "error_key": screen.error_key,
                        "printed": data.get("printed"),
                    }
                )
                flow.home()
            elif op == "record":
                event = journal.record(
                    Kind.KIOSK_TRANSACTION,
                    transaction_event("bill_payment", "done", item="water", ref=command["ref"]),
                )
                answer({"event_id": event.event_id})
            elif op == "status":
                answer(status(queue))
            else:
                answer({"error": f"unknown op {op}"})
    finally:
        printer.close()
        queue.close()
    return 0


def status(queue: RemoteHallQueue) -> dict[str, Any]:
    assert queue.offline is not None and queue.journal is not None
    today = business_day(queue.clock.now())
    return {
        "connected": queue.connected,
        "left": {s.code: queue.offline.left(today, s.code) for s in queue.hall.services},
        "pending_tickets": len(queue.offline.pending()),
        "journal_backlog": queue.journal.backlog(),
    }


def answer(data: dict[str, Any]) -> None:
    print(json.dumps(data, ensure_ascii=False), flush=True)


# --- the test's side -----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


class KioskProcess:
    """A kiosk process the test drives; its stderr (the kiosk's log) goes to ``log``."""

    def __init__(self, device_file: Path, log: Path) -> None:
        self.device_file = device_file
        self.log = log
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.hall_kiosk_process", str(device_file)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        assert self._read() == {"ready": True}

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def take(self, service: str) -> dict[str, Any]:
        return self.ask(op="take", service=service)

    def status(self) -> dict[str, Any]:
        return self.ask(op="status")

    def wait_status(self, predicate: Any, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.status()
            if predicate(found) or time.monotonic() > deadline:
                assert predicate(found), f"{self.device_file.parent.name}: {found}"
                return found
            time.sleep(0.1)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask(op="quit")
            except (AssertionError, OSError, ValueError):
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the kiosk process ended: {self.log.read_text()[-3000:]}"
        return dict(json.loads(line))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
