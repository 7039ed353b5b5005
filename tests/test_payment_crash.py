"""The double-charge test: a kill -9 of the kiosk at each step of a payment, then a restart,
ends with exactly one charge and one receipt, or none.

The kiosk is a real child process (``tests/payment_crash_driver.py``) that kills itself with
SIGKILL at one step; a second process on the same disk is the restarted kiosk. The channel,
the biller and CUPS live in this process and outlive both. The simulated citizen pays every
order 0.3 s after it is created, so the kill lands before, during and after the payment.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.document_printer import DocumentPrinter
from devices.open import open_document_printer
from hardware_sim import simulator_of
from hardware_sim.cups_server import CupsServer
from tests.payment_crash_driver import STEPS
from tests.payment_rig import PaymentRig, start_rig, write_config

BILL_NO = "E202511-00418"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cups() -> Iterator[CupsServer]:
    printer: DocumentPrinter = open_document_printer("sim://cups-pdf", "a4-1")
    try:
        yield simulator_of(printer)
    finally:
        printer.close()


@pytest.fixture
def rig() -> Iterator[PaymentRig]:
    rig = start_rig()
    rig.alipay.ledger.auto_pay(0.3)
    try:
        yield rig
    finally:
        rig.stop()


def _kiosk(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tests.payment_crash_driver", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def _settle_receipts(cups: CupsServer, before: set[Path]) -> list[Path]:
    """The receipts that came out, once CUPS has finished writing them."""
    time.sleep(1.0)
    return [p for p in cups.pdfs() if p not in before]


@pytest.mark.parametrize("kill_at", STEPS)
def test_a_kill_at_any_step_ends_with_one_charge_and_one_receipt_or_none(
    rig: PaymentRig, cups: CupsServer, tmp_path: Path, kill_at: str
) -> None:
    config = write_config(rig.config, tmp_path / "rig.json")
    hall = tmp_path / "hall.db"  # the kiosk's own hall database, shared by both processes
    data_dir = tmp_path / "kiosk"
    args = [str(config), str(data_dir), str(hall), cups.server]
    before = set(cups.pdfs())

    killed = _kiosk([*args, "pay", kill_at])
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    time.sleep(0.5)  # the citizen's phone may still pay the code on screen
    restarted = _kiosk([*args, "restart"])
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert json.loads(restarted.stdout.strip().splitlines()[-1]) == {"unsettled": []}

    charges = rig.charges()
    receipts = _settle_receipts(cups, before)
    assert len(charges) <= 1 and len(rig.alipay.ledger.trades) <= 1, "a second order"
    assert len(receipts) == len(charges), (charges, receipts)
    assert rig.bills.paid(BILL_NO) == (charges[0] if charges else None)


def test_without_a_kill_the_citizen_pays_once_and_gets_one_receipt(
    rig: PaymentRig, cups: CupsServer, tmp_path: Path
) -> None:
    config = write_config(rig.config, tmp_path / "rig.json")
    args = [str(config), str(tmp_path / "kiosk"), str(tmp_path / "hall.db"), cups.server]
    before = set(cups.pdfs())
    done = _kiosk([*args, "pay"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"screen": "paid", "error": None}
    assert len(rig.charges()) == 1 and len(_settle_receipts(cups, before)) == 1
