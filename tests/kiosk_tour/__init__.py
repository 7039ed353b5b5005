"""A whole kiosk for a test in another process: the simulated government platform (every
domain), the three payment gateways, a private CUPS with its cups-pdf queue, the 高拍仪 (an
MJPEG camera simulator whose frames the test sets: a hand over the desk, a page laid on it),
and the kiosk's command line pointing at them; plus the simulated citizens a test picks for
each function and the script steps that lay their ID card on the kiosk's reader.

The kiosk runs under ``python -m tests.kiosk_tour`` (:mod:`tests.kiosk_tour.__main__`): the UI
driver with ``place_card``, ``lift_card`` and ``tap_first``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import requests

from core.clock import hall_time
from hardware_sim.cups_server import CupsServer
from hardware_sim.mjpeg_camera import MjpegCameraSim
from upstream_sim.citizen_records import records_of
from upstream_sim.payment_gateways import PaymentGateways, start_gateways
from upstream_sim.people import People, Person, make_people
from upstream_sim.platform import DOMAINS, TITLE, platform_routes
from upstream_sim.server import UpstreamServer
from upstream_sim.submissions import SubmissionDesk
from upstream_sim.trade_ledger import WAIT_BUYER_PAY

#: The demo's electricity bill (``upstream_sim.utility_bills.demo_bills``): 李*, ¥158.73.
ELECTRICITY_ACCOUNT = "0630118827"
#: A UnionPay debit card number with a valid Luhn digit.
BANK_CARD = "6222021234567890128"


@dataclass
class KioskRig:
    """The kiosk's upstreams and devices, running in the test process.

    Attributes:
        platform: the simulated platform, every domain (as ``platform_server()``), over
            ``people``; ``today`` is the hall's date its ages are judged on.
        gateways: the payment gateways; ``gateways.payments_file`` is the kiosk's.
        desk: the platform's submission domain (网上申报), held here so that a test can
            read the cases filed (``desk.cases``).
        cups: a private cupsd; the kiosk prints to its ``cups-pdf`` queue over IPP.
        camera: the kiosk's 高拍仪; a test lays a page by setting ``camera.frames``.
        db, data_dir, tickets: the hall database, the kiosk's own files, the ticket record.
    """

    work: Path
    people: People
    today: date
    platform: UpstreamServer
    desk: SubmissionDesk
    gateways: PaymentGateways
    cups: CupsServer
    camera: MjpegCameraSim
    db: Path
    data_dir: Path
    tickets: Path

    def argv(self, idle_timeout: float = 120.0) -> list[str]:
        """``main.py kiosk …`` for this rig (after the driver's ``--``)."""
        return [
            "kiosk", "--hall-db", str(self.db), "--device-id", "kiosk-1",
            "--idle-timeout", str(idle_timeout),
            "--printer", f"sim://usb-printer?record={self.tickets}",
            "--platform", self.platform.url,
            "--payments", str(self.gateways.payments_file),
            "--id-reader", "sim://id-reader?card=none&timing=instant",
            "--document-printer", f"cups://cups-pdf?server={self.cups.server}&profile=cups-pdf",
            "--camera", self.camera.url,
            "--data-dir", str(self.data_dir),
        ]  # fmt: skip

    def stop(self) -> None:
        self.platform.stop()
        self.gateways.stop()
        self.cups.close()
        self.camera.close()

    # --- what the test process sees upstream --------------------------------------------

    def get(self, path: str, **params: str) -> Any:
        """The platform's answer to a GET, as the kiosk would get it (``data``), or None."""
        answer = requests.get(f"{self.platform.url}{path}", params=params, timeout=10)
        return answer.json().get("data") if answer.status_code == 200 else None

    def lookup(self, path: str, **fields: str) -> Any:
        """The platform's answer to a lookup by a citizen's ID number: a POST with the number
        in the body, as the platform takes it (never in a URL), or None."""
        answer = requests.post(f"{self.platform.url}{path}", json=fields, timeout=10)
        return answer.json().get("data") if answer.status_code == 200 else None

    def pay_when_asked(self, timeout_s: float = 60.0) -> str:
        """The citizen scans the QR code on the kiosk and pays: the one order waiting, on
        whichever channel it was opened. Returns its order number."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for ledger in self.gateways.ledgers().values():
                waiting = [t for t in ledger.trades.values() if t.state == WAIT_BUYER_PAY]
                if waiting:
                    assert len(waiting) == 1, waiting
                    assert ledger.scan_and_pay(waiting[0].out_trade_no)
                    return waiting[0].out_trade_no
            time.sleep(0.05)
        raise AssertionError("no order waited for the citizen to pay")

    def charges(self) -> list[str]:
        return [t.out_trade_no for ledger in self.gateways.ledgers().values()
                for t in ledger.charges()]  # fmt: skip

    # --- citizens for each function -----------------------------------------------------

    def with_cases(self, check_x: bool = False) -> tuple[Person, list[dict[str, Any]]]:
        """A citizen with at least two cases, and the cases as the platform describes them;
        with ``check_x``, one whose ID number ends in the check character X (the one key of
        the ID-number keyboard that only the 18th place takes)."""
        for person in self.people.all:
            if check_x and not person.id_number.endswith("X"):
                continue
            found = self.lookup("/cases/search", id_number=person.id_number)
            if found and len(found["cases"]) >= 2:
                return person, found["cases"]
        raise AssertionError("no simulated citizen has two cases")

    def pension_payer(self) -> Person:
        return next(p for p in self.people.all if records_of(p, self.today).pension_years)

    def answered(self, path: str) -> tuple[Person, dict[str, Any]]:
        """A citizen the platform has an answer for at ``/queries/<path>``, and the answer."""
        for person in self.people.all:
            answer = self.lookup(f"/queries/{path}", id_number=person.id_number)
            if answer:
                return person, answer
        raise AssertionError(f"no simulated citizen has an answer for {path}")

    def item_code(self, name: str) -> str:
        """The code of an item open to online submission (自助申报, 自助填表), by its name."""
        return next(code for code, item in self.desk.items.items() if item["name"] == name)

    def applicant(self, taken: list[Person]) -> Person:
        """An adult on the platform's file no other function of the test uses."""
        return next(p for p in self.people.all if p.age_on(self.today) >= 18 and p not in taken)

    def elder(self) -> Person:
        """A citizen of 70 or more not yet certified this year."""
        for person in self.people.aged(70, self.today):
            state = self.lookup("/subsidy/elderly/eligibility", id_number=person.id_number)
            if state and state["eligible"] and not state["certified_this_year"]:
                return person
        raise AssertionError("no simulated elder left to certify")


def start_rig(work: Path) -> KioskRig:
    """Start everything; the caller stops it (:meth:`KioskRig.stop`)."""
    today = hall_time(time.time()).date()
    people = People(make_people(300, seed=20261207, today=today))
    desk = SubmissionDesk(people, lambda: today)
    others = tuple(d for d in DOMAINS if d != "upstream_sim.submissions")
    platform = UpstreamServer(TITLE, platform_routes(people, others) + desk.routes()).start()
    gateways = start_gateways(work / "payments")
    cups = CupsServer()
    camera = MjpegCameraSim(fps=15.0)
    try:
        cups.start()
        camera.start()
    except BaseException:
        platform.stop()
        gateways.stop()
        cups.close()
        camera.close()
        raise
    return KioskRig(work, people, today, platform, desk, gateways, cups, camera, work / "hall.db",
                    work / "kiosk-data", work / "tickets.jsonl")  # fmt: skip


def card_step(person: Person) -> dict[str, Any]:
    """The script step that lays ``person``'s resident ID card on the kiosk's reader."""
    card = {
        "name": person.name, "sex_code": "1" if person.sex == "男" else "2",
        "birth": person.birth.isoformat(), "id_number": person.id_number,
        "address": person.address,
    }  # fmt: skip
    return {"op": "place_card", "card": card}


def keys(field: str, text: str) -> list[dict[str, Any]]:
    """Taps on an on-screen keyboard's keys, one per character."""
    return [{"op": "tap", "id": f"{field}_key_{k.lower()}"} for k in text]
