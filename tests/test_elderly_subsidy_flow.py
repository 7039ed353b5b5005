"""高龄补贴认证 as an elder (or their child) lives it: the ID card decides the age on the hall's
date, the form takes a Luhn-checked bank card, and the certification is registered once however
often it is confirmed, even when the platform's answer is lost."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest

from core.events import Kind
from devices.id_card_reader import IdCardReader
from flows.elderly_subsidy import ElderlySubsidyFlow
from flows.kiosk_functions import KioskHome, built_in
from flows.screens import Screen
from govplatform.http import PlatformHttp
from hallstore import journal
from hardware_sim import simulator_of
from protocols.id_card import check_digit
from tests.conftest import HallDb
from tests.kiosk_citizens import card_of, hall_today, kiosk_context, remembers, serving
from upstream_sim.people import People, Person, make_people
from upstream_sim.server import UpstreamServer
from upstream_sim.subsidy import SubsidyDesk

ELDERLY_SUBSIDY = built_in("elderly_subsidy")
#: A real-format UnionPay debit card number with a valid Luhn digit, and the same with one
#: digit mistyped.
CARD_OK = "6222021234567890128"
CARD_MISTYPED = "6222021234567890138"


def person_born(birth: date, name: str, order: int) -> Person:
    first17 = f"632801{birth:%Y%m%d}{order:02d}1"
    return Person(first17 + check_digit(first17), name, birth, "男", "13912345678", "昆仑路1号")


@dataclass
class Sim:
    server: UpstreamServer
    desk: SubsidyDesk
    http: PlatformHttp
    turns_70_today: Person
    turns_70_tomorrow: Person


@pytest.fixture
def sim(hall_db: HallDb) -> Iterator[Sim]:
    today = hall_today(hall_db)
    seventy = today.replace(year=today.year - 70)
    born_today = person_born(seventy, "王德明", 11)
    born_tomorrow = person_born(date.fromordinal(seventy.toordinal() + 1), "李建国", 12)
    people = People([*make_people(40, seed=20261207, today=today), born_today, born_tomorrow])
    desk = SubsidyDesk(people, lambda: today)
    with serving(desk.routes()) as (server, http):
        yield Sim(server, desk, http, born_today, born_tomorrow)


@pytest.fixture
def flow(hall_db: HallDb, sim: Sim, reader: IdCardReader) -> ElderlySubsidyFlow:
    return ElderlySubsidyFlow(kiosk_context(hall_db, sim, reader))


def transactions(hall_db: HallDb) -> list[dict]:
    return [
        p.event.data
        for p in journal.pending(hall_db.conn, 10_000)
        if p.event.kind == Kind.KIOSK_TRANSACTION
    ]


def tap_card(flow: ElderlySubsidyFlow, reader: IdCardReader, person: Person) -> Screen:
    assert flow.start().name == "intro"
    assert flow.begin().name == "identify_card"
    simulator_of(reader).place(card_of(person))
    return flow.identified(flow.identify.read_card())


def fill(flow: ElderlySubsidyFlow, card: str = CARD_OK) -> Screen:
    flow.set_field("phone", "139 1234 5678")
    flow.set_field("address", "昆仑路12号3单元201")
    flow.set_field("bank_name", "青海银行")
    return flow.set_field("bank_card_no", card)


def test_seventy_today_may_apply_and_seventy_tomorrow_may_not(
    flow: ElderlySubsidyFlow, reader: IdCardReader, sim: Sim, hall_db: HallDb
) -> None:
    young = tap_card(flow, reader, sim.turns_70_tomorrow)
    assert (young.name, young.data["age"]) == ("refused", 69)
    assert young.error_text == "高龄补贴认证仅限年满70周岁的老人办理"
    assert sim.server.log == []  # judged at the kiosk: nothing about the citizen was sent

    form = tap_card(flow, reader, sim.turns_70_today)
    assert (form.name, form.data["age"]) == ("form", 70)
    labels = [f["label"] for f in form.data["fields"]]
    assert labels == ["申请人", "联系电话", "居住地址", "开户银行", "补贴发放银行卡号"]
    assert [t["outcome"] for t in transactions(hall_db)] == ["failed"]


def test_the_platform_refuses_under_70_too(sim: Sim) -> None:
    from govplatform.subsidy import SubsidyClient, SubsidyForm

    from core.errors import SubsidyUnderAge

    form = SubsidyForm(sim.turns_70_tomorrow.id_number, "李建国", "13912345678", "昆仑路1号",
                       "青海银行", CARD_OK)  # fmt: skip
    with pytest.raises(SubsidyUnderAge) as refused:
        SubsidyClient(sim.http).register(form, "k-under-70")
    assert refused.value.details["upstream_code"] == "AGE_BELOW_70"
    assert sim.desk.registrations == []


def test_a_mistyped_bank_card_is_caught_by_its_luhn_digit(
    flow: ElderlySubsidyFlow, reader: IdCardReader, sim: Sim
) -> None:
    tap_card(flow, reader, sim.turns_70_today)
    screen = fill(flow, CARD_MISTYPED)
    assert (screen.name, screen.data["key"]) == ("edit_text", "bank_card_no")
    assert screen.error_text == "银行卡号有误，请核对后重新输入"
    assert screen.data["value"] == ""  # a card number is never echoed back
    screen = flow.set_field("bank_card_no", CARD_OK)
    assert screen.data["complete"] is True
    shown = {f["key"]: f["value"] for f in screen.data["fields"]}
    assert shown["bank_card_no"] == "****0128"


def test_a_proxy_gives_their_own_name_and_id_number(
    flow: ElderlySubsidyFlow, reader: IdCardReader, sim: Sim
) -> None:
    tap_card(flow, reader, sim.turns_70_today)
    form = flow.set_field("relation", "子女")
    assert [f["key"] for f in form.data["fields"]][:3] == ["relation", "agent_name", "agent_id_number"]
    fill(flow)
    assert flow.review().error_key == "form_invalid"
    flow.set_field("agent_name", "王小明")
    flow.set_field("agent_id_number", sim.turns_70_tomorrow.id_number)
    assert flow.review().name == "confirm"
    assert flow.submit().name == "done"


def test_submitting_twice_registers_once(
    flow: ElderlySubsidyFlow, reader: IdCardReader, sim: Sim, hall_db: HallDb
) -> None:
    tap_card(flow, reader, sim.turns_70_today)
    fill(flow)
    confirm = flow.review()
    rows = {r["label"]: r["value"] for r in confirm.data["rows"]}
    assert rows["联系电话"] == "139****5678" and rows["补贴发放银行卡号"] == "****0128"
    assert sim.turns_70_today.id_number not in str(confirm.data)
    done = flow.submit()
    again = flow.submit()
    assert done.name == again.name == "done"
    assert again.data["registration_no"] == done.data["registration_no"]
    assert done.data["monthly"] == "50.00元"
    assert len(sim.desk.registrations) == 1
    events = transactions(hall_db)
    assert [(e["outcome"], e["ref"]) for e in events] == [("done", done.data["registration_no"])]
    assert sim.turns_70_today.id_number not in str(events) and CARD_OK not in str(events)

    # Another visit this year: the platform says it is done already.
    refused = tap_card(flow, reader, sim.turns_70_today)
    assert (refused.name, refused.error_key) == ("refused", "subsidy_already_certified")


def test_a_platform_timeout_is_settled_by_asking_again_with_the_same_key(
    flow: ElderlySubsidyFlow, reader: IdCardReader, sim: Sim, hall_db: HallDb
) -> None:
    tap_card(flow, reader, sim.turns_70_today)
    fill(flow)
    flow.review()
    # Registered upstream, but every answer comes after the kiosk stopped waiting.
    sim.server.fault("slow", path_prefix="/subsidy/elderly/registrations", delay_s=1.0)
    try:
        unknown = flow.submit()
        assert (unknown.name, unknown.error_key) == ("unknown", "outcome_unknown")
        assert flow.edit("bank_card_no").name == "unknown"  # the form sent cannot change now
    finally:
        sim.server.clear_faults()
    done = flow.settle()
    assert done.name == "done"
    assert len(sim.desk.registrations) == 1
    events = transactions(hall_db)
    assert [e["outcome"] for e in events] == ["unknown", "done"]
    assert events[0]["ref"] == events[1]["request"]


def test_a_platform_that_is_down_before_the_form_says_so(
    flow: ElderlySubsidyFlow, reader: IdCardReader, sim: Sim
) -> None:
    sim.server.fault("error500")
    try:
        screen = tap_card(flow, reader, sim.turns_70_today)
        assert (screen.name, screen.error_text) == ("unavailable", "政务服务平台繁忙，请稍后再试")
    finally:
        sim.server.clear_faults()
    assert flow.retry().name == "form"


def test_an_id_card_pulled_away_early_asks_for_it_again(
    flow: ElderlySubsidyFlow, reader: IdCardReader, sim: Sim
) -> None:
    flow.begin()
    sim_reader = simulator_of(reader)
    sim_reader.place(card_of(sim.turns_70_today))
    sim_reader.inject("card_removed")
    screen = flow.identified(flow.identify.read_card())
    assert (screen.name, screen.error_key) == ("identify_retry", "id_card_removed")
    sim_reader.place(card_of(sim.turns_70_today))
    assert flow.identified(flow.identify.read_card()).name == "form"


def test_walking_away_at_the_confirmation_sends_nothing_and_forgets_everything(
    hall_db: HallDb, sim: Sim, reader: IdCardReader
) -> None:
    home = KioskHome(kiosk_context(hall_db, sim, reader), [ELDERLY_SUBSIDY])
    home.open("elderly_subsidy")
    home.step("elderly_subsidy", lambda f: f.begin())
    simulator_of(reader).place(card_of(sim.turns_70_today))
    home.step("elderly_subsidy", lambda f: f.identified(f.identify.read_card()))
    home.step("elderly_subsidy", fill)
    assert home.step("elderly_subsidy", lambda f: f.review()).name == "confirm"
    hall_db.clock.advance(home.context.idle_timeout_s + 1)
    assert home.tick().name == "home"
    flow = home.flows["elderly_subsidy"]
    for secret in (sim.turns_70_today.id_number, sim.turns_70_today.name, CARD_OK):
        assert not remembers(flow, secret)
    assert sim.desk.registrations == []
    assert [(e["outcome"], e["reason"]) for e in transactions(hall_db)] == [("cancelled", "left")]
