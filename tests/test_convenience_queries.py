"""便民查询 as a citizen lives it: each of the 17 queries answers through the one generic flow
against the simulated platform, and the social security card's loss report is a confirmed,
journaled transaction that changes the card once however often it is confirmed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
import requests

from core.events import Kind
from devices.id_card_reader import IdCardReader
from flows.convenience_queries import CARD, ConvenienceQueriesFlow
from flows.kiosk_functions import KioskHome, built_in
from flows.query_specs import NOT_QUERIES, QUERIES, QuerySpec
from flows.screens import Screen
from govplatform.http import PlatformHttp
from hallstore import journal
from hardware_sim import simulator_of
from tests.conftest import HallDb
from tests.kiosk_citizens import card_of, hall_today, kiosk_context, remembers, serving
from upstream_sim.citizen_records import records_of
from upstream_sim.people import People, Person, make_people
from upstream_sim.queries import QueriesDesk
from upstream_sim.server import UpstreamServer

CONVENIENCE_QUERIES = built_in("convenience_queries")


@dataclass
class Sim:
    server: UpstreamServer
    desk: QueriesDesk
    people: People
    http: PlatformHttp
    today: date


@pytest.fixture
def sim(hall_db: HallDb) -> Iterator[Sim]:
    today = hall_today(hall_db)
    people = People(make_people(120, seed=20261207, today=today))
    desk = QueriesDesk(people, lambda: today)
    with serving(desk.routes()) as (server, http):
        yield Sim(server, desk, people, http, today)


@pytest.fixture
def flow(hall_db: HallDb, sim: Sim, reader: IdCardReader) -> ConvenienceQueriesFlow:
    return ConvenienceQueriesFlow(kiosk_context(hall_db, sim, reader))


def transactions(hall_db: HallDb) -> list[dict]:
    return [
        p.event.data
        for p in journal.pending(hall_db.conn, 10_000)
        if p.event.kind == Kind.KIOSK_TRANSACTION
    ]


def tap_card(flow: ConvenienceQueriesFlow, reader: IdCardReader, person: Person) -> Screen:
    simulator_of(reader).place(card_of(person))
    return flow.identified(flow.identify.read_card())


def someone_with(sim: Sim, spec: QuerySpec) -> tuple[Person, dict[str, str]]:
    """A citizen the platform has an answer for, and the further fields to type."""
    for person in sim.people.all:
        records = records_of(person, sim.today)
        if spec.id == "school_records":
            if records.children:
                child = records.children[0]
                return person, {"student_id_number": child.id_number, "student_name": child.name}
            continue
        if spec.id == "house_contracts":
            if records.property_contracts:
                return person, {"contract_no": records.property_contracts[0].contract_no.lower()}
            continue
        answer = requests.post(f"{sim.server.url}/queries/{spec.path}", json={"id_number": person.id_number})
        if answer.status_code == 200:
            return person, {}
    raise AssertionError(f"no simulated citizen has an answer for {spec.id}")


def test_the_seventeen_queries_and_the_exclusions_cover_seed_004s_22_rows() -> None:
    rows = [row for spec in QUERIES for row in spec.seed_rows]
    assert len(QUERIES) == 17
    assert len(rows) == len(set(rows))
    assert set(rows) | set(NOT_QUERIES) == set(range(1, 23))
    # The duplicate rows are answered by the query of the row they repeat.
    assert {16, 17} <= set(rows) and {20, 21, 22}.isdisjoint(rows)
    assert len({spec.id for spec in QUERIES}) == len({spec.title for spec in QUERIES}) == 17


@pytest.mark.parametrize("spec", QUERIES, ids=[s.id for s in QUERIES])
def test_every_query_answers_through_the_flow(
    flow: ConvenienceQueriesFlow, reader: IdCardReader, sim: Sim, hall_db: HallDb, spec: QuerySpec
) -> None:
    person, typed = someone_with(sim, spec)
    menu = flow.start()
    assert spec.id in [q["id"] for q in menu.data["queries"]]
    screen = flow.choose(spec.id)
    if spec.citizen:
        assert screen.name == "identify_card"
        screen = tap_card(flow, reader, person)
    for key, text in typed.items():
        assert screen.name == "inputs"
        assert flow.edit(key).name == "edit_text"
        screen = flow.set_field(key, text)
    if typed:
        assert screen.data["complete"] is True
        screen = flow.ask()

    assert (screen.name, screen.error_key) == ("result", None), screen
    assert screen.data["title"] == spec.title
    assert [f["label"] for f in screen.data["fields"]] == [s.label for s in spec.fields]
    params = {"id_number": person.id_number} if spec.citizen else {}
    params |= {k: v.upper() if k == "contract_no" else v for k, v in typed.items()}
    answer = requests.post(f"{sim.server.url}/queries/{spec.path}", json=params).json()["data"]
    if spec.table is not None:
        assert screen.data["table"]["columns"] == [c.label for c in spec.table.columns]
        assert len(screen.data["table"]["rows"]) == len(answer["records"])
    for shown, row in zip(spec.fields, screen.data["fields"]):
        if shown.format == "fen" and isinstance(answer.get(shown.key), int):
            assert row["value"] == f"{answer[shown.key] / 100:,.2f}元"
    assert transactions(hall_db)[-1] == {
        "function": "convenience_queries", "item": spec.id, "outcome": "done", "ref": "",
        "found": True,
    }  # fmt: skip


def test_a_citizen_without_a_record_is_told_so_in_chinese(
    flow: ConvenienceQueriesFlow, reader: IdCardReader, sim: Sim
) -> None:
    person = next(p for p in sim.people.all if not records_of(p, sim.today).id_application)
    flow.choose("id_card_progress")
    screen = tap_card(flow, reader, person)
    assert screen.name == "no_record"
    assert screen.error_text == "未查询到相关信息，请核对后重试"


def test_a_mistyped_student_number_is_caught_before_anything_is_sent(
    flow: ConvenienceQueriesFlow, sim: Sim
) -> None:
    person, typed = someone_with(sim, QUERIES[0])
    flow.choose("school_records")
    wrong = typed["student_id_number"][:-1] + ("0" if typed["student_id_number"][-1] != "0" else "1")
    screen = flow.set_field("student_id_number", wrong)
    assert (screen.name, screen.error_text) == ("edit_text", "身份证号码有误，请核对后重新输入")
    assert flow.ask().error_key == "form_invalid"
    assert not any(path.startswith("/queries/school") for _, path, _ in sim.server.log)


def test_a_typed_id_number_answers_as_the_card_does(flow: ConvenienceQueriesFlow, sim: Sim) -> None:
    spec = next(s for s in QUERIES if s.id == "medical_insured_types")
    person, _ = someone_with(sim, spec)
    flow.choose(spec.id)
    screen = flow.identified(flow.identify.manual())
    assert screen.name == "identify_manual"
    screen = flow.identified(flow.identify.enter_id_number(person.id_number.lower()))
    assert screen.name == "result" and screen.data["table"]["rows"]


def test_a_platform_that_is_down_says_so_and_retry_answers(
    flow: ConvenienceQueriesFlow, reader: IdCardReader, sim: Sim, hall_db: HallDb
) -> None:
    spec = next(s for s in QUERIES if s.id == "medical_expenses")
    person, _ = someone_with(sim, spec)
    flow.choose(spec.id)
    sim.server.fault("refuse")
    try:
        screen = tap_card(flow, reader, person)
        assert screen.name == "unavailable"
        assert screen.error_text == "网络连接中断，暂时无法连接政务服务平台，请稍后再试"
        assert transactions(hall_db)[-1]["outcome"] == "failed"
    finally:
        sim.server.clear_faults()
    assert flow.retry().name == "result"


def report_lost(flow: ConvenienceQueriesFlow, reader: IdCardReader, person: Person) -> Screen:
    flow.choose(CARD)
    status = tap_card(flow, reader, person)
    assert (status.name, status.data["state"], status.data["action"]) == ("card_status", "normal", "report")
    assert person.id_number not in str(status.data)
    confirm = flow.card_change()
    assert confirm.name == "card_confirm"
    return flow.card_confirm()


def test_reporting_the_card_lost_twice_changes_it_once_and_journals_once(
    flow: ConvenienceQueriesFlow, reader: IdCardReader, sim: Sim, hall_db: HallDb
) -> None:
    person = sim.people.all[3]
    done = report_lost(flow, reader, person)
    assert (done.name, done.data["done"], done.data["new_state"]) == ("card_done", True, "lost")
    again = flow.card_confirm()
    assert again.data["ref"] == done.data["ref"]
    assert len(sim.desk.card_changes) == 1
    card_events = [t for t in transactions(hall_db) if t["item"] == CARD]
    assert [(t["outcome"], t["action"], t["ref"]) for t in card_events] == [
        ("done", "report", done.data["ref"])
    ]
    assert person.id_number not in str(card_events)

    # Coming back: the card is lost, so the change offered is 解挂; reporting again is refused.
    flow.leave()
    flow.choose(CARD)
    status = tap_card(flow, reader, person)
    assert (status.data["state"], status.data["action"]) == ("lost", "release")
    flow.card_change()
    found = flow.card_confirm()
    assert (found.data["done"], found.data["new_state"]) == (True, "normal")
    assert [a for _, a, _ in sim.desk.card_changes] == ["report", "release"]


def test_a_lost_answer_is_journaled_unknown_and_settled_with_the_same_key(
    flow: ConvenienceQueriesFlow, reader: IdCardReader, sim: Sim, hall_db: HallDb
) -> None:
    person = sim.people.all[5]
    # The platform carries the change out but answers after the kiosk stopped waiting, on
    # every attempt the HTTP layer makes.
    sim.server.fault("slow", path_prefix="/queries/social-security-card/loss", delay_s=1.0)
    try:
        screen = report_lost(flow, reader, person)
        assert (screen.name, screen.error_key) == ("card_unknown", "outcome_unknown")
        assert screen.error_text == "办理结果正在确认，请勿重复办理，请点击“查询结果”"
    finally:
        sim.server.clear_faults()
    settled = flow.card_settle()
    assert (settled.name, settled.data["done"]) == ("card_done", True)
    assert len(sim.desk.card_changes) == 1
    outcomes = [(t["outcome"], t["request"]) for t in transactions(hall_db) if t["item"] == CARD]
    assert [o for o, _ in outcomes] == ["unknown", "done"]
    assert outcomes[0][1] == outcomes[1][1]


def test_a_citizen_who_walks_away_at_the_confirmation_changes_nothing(
    hall_db: HallDb, sim: Sim, reader: IdCardReader
) -> None:
    home = KioskHome(kiosk_context(hall_db, sim, reader), [CONVENIENCE_QUERIES])
    person = sim.people.all[7]
    home.open("convenience_queries")
    home.step("convenience_queries", lambda f: f.choose(CARD))
    simulator_of(reader).place(card_of(person))
    home.step("convenience_queries", lambda f: f.identified(f.identify.read_card()))
    assert home.step("convenience_queries", lambda f: f.card_change()).name == "card_confirm"
    hall_db.clock.advance(home.context.idle_timeout_s + 1)
    assert home.tick().name == "home"
    flow = home.flows["convenience_queries"]
    assert not remembers(flow, person.id_number) and not remembers(flow, person.name)
    assert sim.desk.card_changes == []
    assert [(t["outcome"], t["reason"]) for t in transactions(hall_db)] == [("cancelled", "left")]
