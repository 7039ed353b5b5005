"""No URL the kiosk sends to the platform holds personal data: a citizen's ID number, or a
bill's account number (户号, which identifies a household) (docs/privacy.md,
docs/gov-platform.md "Personal data: in the body, never in a URL").

Every platform call of :mod:`govplatform` that carries an ID number, and every bill call of
:mod:`payments.utility_bills`, is made with known values against the whole simulated
platform, while the request lines are captured at DEBUG on both sides: urllib3's on the kiosk
(what a kiosk's log file gets) and the platform's access line (what a real platform, and any
proxy before it, writes). Refusals do not matter here: a refused request was sent all the
same. urllib's cache of split URLs is searched too: the session purge does not empty it
(docs/privacy.md), which is safe only while no URL holds personal data.
"""

from __future__ import annotations

import gc
import inspect
import logging
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest

from core.errors import HallEdgeError
from govplatform import bookings, cases, certificates, queries, submissions, subsidy
from govplatform.http import PlatformHttp
from payments import utility_bills
from payments.utility_bills import LOOKUP_PATH, UtilityBills
from upstream_sim.citizen_records import records_of
from upstream_sim.people import People, Person, make_people
from upstream_sim.platform import TITLE, platform_routes
from upstream_sim.queries import QUERIES
from upstream_sim.server import UpstreamServer
from upstream_sim.utility_bills import PAID_UP_ACCOUNTS, demo_bills

#: Where the request lines come from: urllib3's pool on the kiosk, the platform's handler.
KIOSK_LINES = "urllib3.connectionpool"
PLATFORM_LINES = "upstream_sim.server"
#: Every client method that takes an ID number, and so must be exercised below.
EXERCISED = {
    "BookingsClient.book", "BookingsClient.of_citizen", "BookingsClient.cancel",
    "BookingsClient.check_in", "CasesClient.of_citizen", "CertificatesClient.issue",
    "QueriesClient.card", "QueriesClient.change_card", "SubsidyClient.eligibility",
}  # fmt: skip
#: Every bill call that takes an account number, and so must be exercised below.
EXERCISED_BILLS = {"UtilityBills.lookup"}
#: Accounts the simulated billers do not know, one well formed and one not: such a lookup is
#: refused, but its request was sent all the same.
UNKNOWN_ACCOUNT, MALFORMED_ACCOUNT = "3201007719", "32010077"


@dataclass(frozen=True)
class Citizens:
    """The numbers a run carries: an insured worker with a school child, and an elder."""

    worker: Person
    child_id: str
    child_name: str
    elder: Person

    def numbers(self) -> set[str]:
        return {self.worker.id_number, self.child_id, self.elder.id_number}


def accounts() -> set[str]:
    """Every account number the bill calls below send, each as typed and without its dash
    (``0979-8412345`` is ``09798412345`` to the biller)."""
    typed = {b.account for b in demo_bills()} | set(PAID_UP_ACCOUNTS.values())
    typed |= {UNKNOWN_ACCOUNT, MALFORMED_ACCOUNT}
    return typed | {a.replace("-", "") for a in typed}


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


def split_urls() -> list[str]:
    """What urllib's cache of split URLs holds (``urlsplit`` is an ``lru_cache``: its dict of
    entries is among the wrapper's referents, keyed by the call's arguments)."""
    found = []
    for held in gc.get_referents(urllib.parse.urlsplit):
        if isinstance(held, dict):
            found += [str(key[0]) for key in held if isinstance(key, tuple) and key]
    return found


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


def every_bill_call(http: PlatformHttp) -> None:
    """Each bill call, the kiosk's way: every demo account (a bill due, paid up, a phone
    number with and without its dash), an unknown and a malformed one; a write-off."""
    billers = UtilityBills(http)
    due = demo_bills()
    for bill in due:
        billers.lookup(bill.bill_type, bill.account)
    sent(lambda: billers.lookup("phone", due[3].account.replace("-", "")))
    for bill_type, account in PAID_UP_ACCOUNTS.items():
        sent(lambda t=bill_type, a=account: billers.lookup(t, a))
    sent(lambda: billers.lookup("water", UNKNOWN_ACCOUNT))
    sent(lambda: billers.lookup("water", MALFORMED_ACCOUNT))
    found = billers.lookup("electricity", due[1].account)
    billers.write_off(found.bill_no, "kiosk1_251122093000_a1b2c3", "alipay", found.amount_fen)


def test_no_request_line_of_any_lookup_holds_an_id_number_or_an_account(
    platform: tuple[UpstreamServer, PlatformHttp, Citizens], caplog: pytest.LogCaptureFixture
) -> None:
    sim, http, who = platform
    personal = who.numbers() | accounts()
    urllib.parse.urlsplit.cache_clear()  # what earlier tests split is not this run's
    with caplog.at_level(logging.DEBUG):
        every_lookup(http, who)
        every_bill_call(http)
    kiosk, served = request_lines(caplog, KIOSK_LINES), request_lines(caplog, PLATFORM_LINES)
    # Both sides were heard, request by request: a capture that missed them would prove nothing.
    assert len(kiosk) >= len(sim.log) > 50, "urllib3's request lines were not captured"
    assert len(served) == len(sim.log), "the platform's access lines were not captured"
    for _method, path, _status in sim.log:
        assert any(path in line for line in kiosk), path
    assert any(LOOKUP_PATH in line for line in served), "the bill lookups were not made"
    assert any("/payments" in line for line in served), "the write-off was not made"
    assert holding(kiosk, personal) == []
    assert holding(served, personal) == []
    # What the session purge leaves: urllib split these very URLs, and none is personal.
    split = split_urls()
    assert any(LOOKUP_PATH in url for url in split), split
    assert holding(split, personal) == []


def test_the_check_catches_an_id_number_in_a_query_string(
    platform: tuple[UpstreamServer, PlatformHttp, Citizens], caplog: pytest.LogCaptureFixture
) -> None:
    """The control: the old way (``GET …?id_number=``) is caught on both sides and in
    urllib's cache of split URLs."""
    _sim, http, who = platform
    with caplog.at_level(logging.DEBUG):
        sent(lambda: http.get("/cases/search", {"id_number": who.worker.id_number}))
    assert holding(request_lines(caplog, KIOSK_LINES), who.numbers())
    assert holding(request_lines(caplog, PLATFORM_LINES), who.numbers())
    assert holding(split_urls(), who.numbers())


def test_the_check_catches_an_account_in_a_query_string(
    platform: tuple[UpstreamServer, PlatformHttp, Citizens], caplog: pytest.LogCaptureFixture
) -> None:
    """The control for bills: the old lookup (``GET /utility/bills?account=``) is caught."""
    _sim, http, _who = platform
    with caplog.at_level(logging.DEBUG):
        sent(lambda: http.get("/utility/bills", {"bill_type": "gas", "account": "80261145"}))
    assert holding(request_lines(caplog, KIOSK_LINES), accounts())
    assert holding(request_lines(caplog, PLATFORM_LINES), accounts())
    assert holding(split_urls(), accounts())


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


def test_every_bill_call_that_takes_an_account_is_exercised() -> None:
    """A new bill call taking an account must join :func:`every_bill_call`."""
    taking = {
        f"{cls.__name__}.{name}"
        for cls in vars(utility_bills).values()
        if inspect.isclass(cls) and cls.__module__ == utility_bills.__name__
        for name, method in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and "account" in inspect.signature(method).parameters
    }  # fmt: skip
    assert taking == EXERCISED_BILLS


def test_no_operation_takes_personal_data_in_its_url() -> None:
    """The platform's description agrees: no operation takes an ID number or an account as a
    query or path parameter, and the bill lookup takes both its fields in its body."""
    doc = UpstreamServer(TITLE, platform_routes(People(make_people(5, 1)))).openapi()
    in_url = [
        f"{method.upper()} {path}: {param['name']}"
        for path, item in doc["paths"].items()
        for method, op in item.items() if isinstance(op, dict)
        for param in op.get("parameters", [])
        if param.get("in") in ("query", "path")
        and ("id_number" in param["name"] or "account" in param["name"])
    ]  # fmt: skip
    assert in_url == []
    body = doc["paths"][LOOKUP_PATH]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["schema"]["required"]) == {"bill_type", "account"}
