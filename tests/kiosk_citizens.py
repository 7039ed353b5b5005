"""What the tests of the citizen-facing kiosk functions share: the simulated platform (bookings
and cases) on the hall's clock, the ID card reader, a card for a simulated citizen, and the
check that a flow forgot a citizen.

Registered as a plugin in tests/conftest.py: the ``platform`` and ``reader`` fixtures are there
for every test that asks (a module's own fixture of the same name wins).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import pytest

from core.clock import hall_time
from devices.id_card_reader import IdCardReader
from devices.open import open_id_card_reader
from flows.kiosk_functions import KioskContext
from govplatform.http import PlatformHttp
from protocols.id_card import CardKind, IdCard
from tests.conftest import HallDb
from upstream_sim.bookings import BookingDesk
from upstream_sim.cases import CaseBook
from upstream_sim.people import People, Person, make_people
from upstream_sim.server import Route, UpstreamServer


@dataclass
class Platform:
    """The simulated platform a kiosk under test talks to.

    Attributes:
        server: the HTTP server (faults: ``server.fault("slow", ...)``).
        desk: its bookings (rules, bookings made).
        cases: its cases.
        people: its citizens.
        http: the kiosk's client, with short timeouts so a fault costs a test little time.
    """

    server: UpstreamServer
    desk: BookingDesk
    cases: CaseBook
    people: People
    http: PlatformHttp


def hall_today(hall_db: HallDb) -> date:
    """The hall's date on its simulated clock: the day the simulated platform lives in."""
    return hall_time(hall_db.clock.now()).date()


@contextmanager
def serving(
    routes: list[Route], read_timeout_s: float = 0.5
) -> Iterator[tuple[UpstreamServer, PlatformHttp]]:
    """A simulated platform serving ``routes`` on loopback, and the kiosk's client of it.

    The client's connect timeout is short so a fault costs a test little time; both are
    closed on leaving.
    """
    server = UpstreamServer("政务服务平台 (test)", routes).start()
    http = PlatformHttp(server.url, "kiosk-1", connect_timeout_s=0.5, read_timeout_s=read_timeout_s)
    try:
        yield server, http
    finally:
        http.close()
        server.stop()


@pytest.fixture
def platform(hall_db: HallDb) -> Iterator[Platform]:
    """The platform's bookings and cases for 60 simulated citizens, on the hall's clock."""
    people = People(make_people(60, seed=20261207, today=hall_today(hall_db)))
    desk = BookingDesk(people, hall_db.clock)
    cases = CaseBook(people, hall_db.clock)
    with serving(desk.routes() + cases.routes()) as (server, http):
        yield Platform(server, desk, cases, people, http)


@pytest.fixture
def reader() -> Iterator[IdCardReader]:
    """The kiosk's ID card reader with no card on it; a test places one on its simulator."""
    r = open_id_card_reader("sim://id-reader?card=none&timing=instant", "id-reader-1")
    yield r
    r.close()


def card_of(person: Person) -> IdCard:
    """The resident ID card a simulated citizen carries."""
    return IdCard(
        CardKind.RESIDENT,
        name=person.name,
        sex_code="1" if person.sex == "男" else "2",
        birth=person.birth,
        id_number=person.id_number,
        valid_from=date(2020, 1, 1),
        valid_to=None,
        address=person.address,
        issuer="示范市公安局",
        nation_code="01",
    )


def kiosk_context(
    hall_db: HallDb, platform: Platform | None, reader: IdCardReader | None, **more: object
) -> KioskContext:
    return KioskContext(
        queue=hall_db.queue,
        device_id="kiosk-1",
        clock=hall_db.clock,
        platform=platform.http if platform else None,
        id_reader=reader,
        **more,  # type: ignore[arg-type]
    )


#: Objects a flow holds that are not the flow's own memory of a citizen: the kiosk's devices
#: and clients (the reader keeps the last number it read, for its debounce; that is the
#: device's, not the function's).
NOT_THE_FLOWS = (KioskContext, IdCardReader, PlatformHttp)


def remembers(obj: object, secret: str, depth: int = 0) -> bool:
    """Whether ``secret`` (an ID number, a name) is anywhere in what a flow keeps."""
    if depth > 8 or isinstance(obj, NOT_THE_FLOWS):
        return False
    if isinstance(obj, str):
        return secret in obj
    if isinstance(obj, bytes | bytearray | memoryview):
        # An owned buffer (core.personal.PersonalText) holds the text encoded.
        return any(form in bytes(obj) for form in (secret.encode("utf-8"), secret.encode("utf-16-le")))
    if isinstance(obj, dict):
        return any(remembers(k, secret, depth + 1) or remembers(v, secret, depth + 1) for k, v in obj.items())
    if isinstance(obj, list | tuple | set | frozenset):
        return any(remembers(v, secret, depth + 1) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return any(remembers(getattr(obj, f.name), secret, depth + 1) for f in dataclasses.fields(obj))
    if hasattr(obj, "__dict__") and not isinstance(obj, type) and not callable(obj):
        return any(remembers(v, secret, depth + 1) for v in vars(obj).values())
    slots = [n for cls in type(obj).__mro__ for n in getattr(cls, "__slots__", ()) if n != "__dict__"]
    if slots and not isinstance(obj, type):
        if any(remembers(getattr(obj, n, None), secret, depth + 1) for n in slots):
            return True
    if callable(obj) and getattr(obj, "__closure__", None):
        return any(remembers(c.cell_contents, secret, depth + 1) for c in obj.__closure__ or ())
    return False
