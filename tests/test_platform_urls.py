"""No URL the kiosk sends to the platform holds a citizen's ID number (docs/privacy.md,
docs/gov-platform.md "Personal data: in the body, never in a URL").

Every platform call of :mod:`govplatform` that carries an ID number is made with known
numbers against the whole simulated platform, while the request lines are captured at DEBUG
on both sides: urllib3's on the kiosk (what a kiosk's log file gets) and the platform's access
line (what a real platform, and any proxy before it, writes). Refusals do not matter here: a
refused request was sent all the same.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest

from core.errors import HallEdgeError
from govplatform import bookings, cases, certificates, queries, submissions, subsidy
from govplatform.http import PlatformHttp
from upstream_sim.citizen_records import records_of
from upstream_sim.people import People, Person, make_people
from upstream_sim.platform import TITLE, platform_routes
from upstream_sim.queries import QUERIES
from upstream_sim.server import UpstreamServer

#: Where the request lines come from: urllib3's pool on the kiosk, the platform's handler.
KIOSK_LINES = "urllib3.connectionpool"
PLATFORM_LINES = "upstream_sim.server"
#: Every client method that takes an ID number, and so must be exercised below.
EXERCISED = {
    "BookingsClient.book", "BookingsClient.of_citizen", "BookingsClient.cancel",
    "BookingsClient.check_in", "CasesClient.of_citizen", "CertificatesClient.issue",
    "QueriesClient.card", "QueriesClient.change_card", "SubsidyClient.eligibility",
}  # fmt: skip


@dataclass(frozen=True)
class Citizens:
    """The numbers a run carries: an insured worker with a school child, and an elder."""

    worker: Person
    child_id: str
    child_name: str
    elder: Person

    def numbers(self) -> set[str]:
        return {self.worker.id_number, self.child_id, self.elder.id_number}


@pytest.fixture
def platform() -> Iterator[tuple[UpstreamServer, PlatformHttp, Citizens]]:
    today = date.today()
    people = People(make_people(80, seed=20261207, today=today))
    worker, child = next(
        (p, r.children[0]) for p in people.all
        if (r := records_of(p, today)).pension_years and r.children
    )  # fmt: skip
    elder = people.aged(70, today)[0]
    with UpstreamServer(TITLE, platform_routes(people)) as sim:
        http = PlatformHttp(sim.url, "kiosk-1", connect_timeout_s=1.0, read_timeout_s=5.0)
        try:
            yield sim, http, Citizens(worker, child.id_number, child.name, elder)
        finally:
            http.close()


def request_lines(caplog: pytest.LogCaptureFixture, source: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == source]


def holding(lines: list[str], numbers: set[str]) -> list[str]:
    """The lines holding any of ``numbers`` (an 18th character X in either case)."""
    spelt = {form for n in numbers for form in (n, n.upper(), n.lower())}
    return [line for line in lines if any(n in line for n in spelt)]


def sent(call: object) -> None:
    """Make a platform call; a refusal on the merits is an answer too (the request went)."""
    try:
        call()  # type: ignore[operator]
    except HallEdgeError:
        pass


def every_lookup(http: PlatformHttp, who: Citizens) -> None:
    """Each govplatform call that carries an ID number, the kiosk's way."""
    number = who.worker.id_number
    found = cases.CasesClient(http)
    found.of_citizen(number)

    desk = bookings.BookingsClient(http)
    slot = next(s for s in desk.slots("hall-demo", "social") if s.remaining > 0)
    booking = desk.book(uuid.uuid4().hex, "hall-demo", "social", slot.slot_id, number,
                        who.worker.name)  # fmt: skip
    desk.of_citizen(number)
    desk.of_citizen(number, "booked")
    sent(lambda: desk.check_in(uuid.uuid4().hex, booking.booking_no, number))
    sent(lambda: desk.cancel(uuid.uuid4().hex, booking.booking_no, number))

    asked = queries.QueriesClient(http)
    for query in QUERIES:
        params = {"id_number": number, "contract_no": "HT0000000001",
                  "student_id_number": who.child_id, "student_name": who.child_name}  # fmt: skip
        sent(lambda q=query, p=params: asked.ask(q.slug, p))
        if query.printable:
            sent(lambda q=query, p=params: asked.fetch(asked.document(q.slug, p)))
    asked.card(number)
    sent(lambda: asked.change_card(number, "report", uuid.uuid4().hex))
    sent(lambda: asked.change_card(number, "release", uuid.uuid4().hex))

    issued = certificates.CertificatesClient(http)
    issued.fetch(issued.issue("pension_payment", number))
    sent(lambda: issued.fetch(issued.issue("no_house", number)))

    elder = who.elder
    allowance = subsidy.SubsidyClient(http)
    allowance.eligibility(elder.id_number)
    form = subsidy.SubsidyForm(elder.id_number, elder.name, "13912345678", "格尔木市昆仑中路28号",
                               "中国农业银行", "6228480000000000000")  # fmt: skip
    sent(lambda: allowance.register(form, uuid.uuid4().hex))

    case = submissions.CaseSubmission("1163280147879416120700001000000", "", number,
                                      who.worker.name, {}, ())  # fmt: skip
    sent(lambda: submissions.SubmissionsClient(http).submit(case, uuid.uuid4().hex))


def test_no_request_line_of_any_lookup_holds_an_id_number(
    platform: tuple[UpstreamServer, PlatformHttp, Citizens], caplog: pytest.LogCaptureFixture
) -> None:
    sim, http, who = platform
    with caplog.at_level(logging.DEBUG):
        every_lookup(http, who)
    kiosk, served = request_lines(caplog, KIOSK_LINES), request_lines(caplog, PLATFORM_LINES)
    # Both sides were heard, request by request: a capture that missed them would prove nothing.
    assert len(kiosk) >= len(sim.log) > 40, "urllib3's request lines were not captured"
    assert len(served) == len(sim.log), "the platform's access lines were not captured"
    for _method, path, _status in sim.log:
        assert any(path in line for line in kiosk), path
    assert holding(kiosk, who.numbers()) == []
    assert holding(served, who.numbers()) == []


def test_the_check_catches_an_id_number_in_a_query_string(
    platform: tuple[UpstreamServer, PlatformHttp, Citizens], caplog: pytest.LogCaptureFixture
) -> None:
    """The control: the old way (``GET …?id_number=``) is caught on both sides."""
    _sim, http, who = platform
    with caplog.at_level(logging.DEBUG):
        sent(lambda: http.get("/cases/search", {"id_number": who.worker.id_number}))
    assert holding(request_lines(caplog, KIOSK_LINES), who.numbers())
    assert holding(request_lines(caplog, PLATFORM_LINES), who.numbers())


def test_every_client_call_that_takes_an_id_number_is_exercised() -> None:
    """A new call taking an ID number must join :func:`every_lookup` (and its URL be checked)."""
    taking = {
        f"{cls.__name__}.{name}"
        for module in (bookings, cases, certificates, queries, submissions, subsidy)
        for cls in vars(module).values()
        if inspect.isclass(cls) and cls.__module__ == module.__name__ and cls.__name__.endswith("Client")
        for name, method in inspect.getmembers(cls, inspect.isfunction)
        if "id_number" in inspect.signature(method).parameters
    }  # fmt: skip
    assert taking == EXERCISED
