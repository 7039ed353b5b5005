"""办件查询 as a citizen lives it: tap the ID card (or type a case number) and see each step of
the case with its date; a platform that is slow or down says so in Chinese."""

from __future__ import annotations


import pytest

from devices.id_card_reader import IdCardReader
from flows.case_progress import CaseProgressFlow
from flows.kiosk_functions import KioskHome, built_in
from hardware_sim import simulator_of
from hardware_sim.id_card_reader import SAMPLE_CARDS
from tests.conftest import HallDb
from tests.kiosk_citizens import Platform, card_of, kiosk_context, remembers
from upstream_sim.cases import CaseSpec
from upstream_sim.people import Person

CASE_PROGRESS = built_in("case_progress")


@pytest.fixture
def flow(hall_db: HallDb, platform: Platform, reader: IdCardReader) -> CaseProgressFlow:
    return CaseProgressFlow(kiosk_context(hall_db, platform, reader))


def applicant(platform: Platform, cases: int = 2) -> Person:
    """A simulated citizen with at least ``cases`` cases."""
    return next(p for p in platform.people.all if len(platform.cases.of(p.id_number)) >= cases)


def test_tapping_the_card_lists_the_citizens_cases_and_each_steps_dates(
    flow: CaseProgressFlow, reader: IdCardReader, platform: Platform
) -> None:
    person = applicant(platform)
    expected = [platform.cases.describe(c) for c in platform.cases.of(person.id_number)]
    assert flow.start().name == "choose_lookup"
    assert flow.by_card().name == "identify_card"
    simulator_of(reader).place(card_of(person))
    listed = flow.identified(flow.identify.read_card())
    assert listed.name == "cases"
    assert [c["case_no"] for c in listed.data["cases"]] == [c["case_no"] for c in expected]
    detail = flow.show_case(expected[0]["case_no"])
    assert detail.name == "case_detail" and detail.data["from_list"] is True
    assert detail.data["item_name"] == expected[0]["item_name"]
    assert detail.data["status"] == expected[0]["status"]
    assert [(s["name"], s["date"]) for s in detail.data["steps"]] == [
        (s["name"], s["date"]) for s in expected[0]["steps"]
    ]
    assert detail.data["steps"][0]["name"] == "申请" and detail.data["steps"][0]["date"]
    assert person.id_number not in str(detail.data) and person.name not in str(detail.data)
    assert flow.back_to_list().name == "cases"


def test_a_finished_case_dates_every_step_and_one_in_progress_only_the_done_ones(
    flow: CaseProgressFlow, platform: Platform
) -> None:
    number = SAMPLE_CARDS["resident"].id_number
    platform.cases.add(CaseSpec("BJ000000000001", number, "测试甲", "social_card", 20, 4))
    platform.cases.add(CaseSpec("BJ000000000002", number, "测试甲", "elderly_subsidy", 6, 2))
    flow.by_card()
    listed = flow.identified(flow.identify.enter_id_number(number))
    assert [c["status"] for c in listed.data["cases"]] == ["审核中", "已办结"]
    done = flow.show_case("BJ000000000001").data
    assert done["finished"] is True
    assert [(s["name"], s["date"]) for s in done["steps"]] == [
        ("申请", "2026-11-03"),
        ("受理", "2026-11-06"),
        ("审核", "2026-11-10"),
        ("办结", "2026-11-13"),
    ]
    going = flow.show_case("BJ000000000002").data
    assert [(s["name"], s["state"], s["date"] is not None) for s in going["steps"]] == [
        ("申请", "done", True),
        ("受理", "done", True),
        ("审核", "current", False),
        ("办结", "pending", False),
    ]


def test_a_case_sent_back_for_papers_says_so(flow: CaseProgressFlow, platform: Platform) -> None:
    number = SAMPLE_CARDS["resident"].id_number
    platform.cases.add(CaseSpec("BJ000000000003", number, "测试甲", "sole_trader", 2, 2, correction=True))
    flow.by_case_no()
    detail = flow.enter_case_no("bj 000000000003")
    assert detail.name == "case_detail" and detail.data["status"] == "待补正材料"
    assert [s["name"] for s in detail.data["steps"] if s["state"] == "current"] == ["补正材料"]
    assert detail.data["applicant"] == "测**"


def test_a_case_number_finds_the_case_and_an_unknown_one_says_so(
    flow: CaseProgressFlow, platform: Platform
) -> None:
    person = applicant(platform, 1)
    case_no = platform.cases.of(person.id_number)[0].case_no
    assert flow.by_case_no().name == "enter_case_no"
    detail = flow.enter_case_no(case_no)
    assert (detail.name, detail.data["case_no"], detail.data["from_list"]) == ("case_detail", case_no, False)
    unknown = flow.enter_case_no("BJ999999999999")
    assert (unknown.name, unknown.error_text) == ("enter_case_no", "未查询到办件，请核对身份证号或办件编号")
    assert flow.enter_case_no("12").error_key == "case_not_found"


def test_a_citizen_without_cases_is_told_so(flow: CaseProgressFlow, platform: Platform) -> None:
    nobody = next(p for p in platform.people.all if not platform.cases.of(p.id_number))
    flow.by_card()
    assert flow.identified(flow.identify.enter_id_number(nobody.id_number)).name == "no_cases"


def test_a_slow_platform_says_so_and_retry_gets_the_case(
    flow: CaseProgressFlow, platform: Platform
) -> None:
    person = applicant(platform, 1)
    case_no = platform.cases.of(person.id_number)[0].case_no
    flow.by_case_no()
    platform.server.fault("timeout", path_prefix="/cases", delay_s=2.0)
    slow = flow.enter_case_no(case_no)
    assert (slow.name, slow.error_key) == ("platform_error", "platform_timeout")
    assert slow.error_text == "政务服务平台响应超时，请稍后再试"
    platform.server.clear_faults()
    assert flow.retry().data["case_no"] == case_no


def test_an_unreadable_answer_is_an_error_not_a_wrong_case(
    flow: CaseProgressFlow, platform: Platform
) -> None:
    flow.by_card()
    platform.server.fault("malformed", path_prefix="/cases")
    bad = flow.identified(flow.identify.enter_id_number(SAMPLE_CARDS["resident"].id_number))
    assert (bad.name, bad.error_key) == ("platform_error", "platform_bad_response")


def test_going_home_forgets_the_citizen_and_their_cases(
    hall_db: HallDb, platform: Platform, reader: IdCardReader
) -> None:
    person = applicant(platform)
    home = KioskHome(kiosk_context(hall_db, platform, reader), [CASE_PROGRESS])
    home.open("case_progress")
    home.step("case_progress", lambda f: f.by_card())
    simulator_of(reader).place(card_of(person))
    listed = home.step("case_progress", lambda f: f.identified(f.identify.read_card()))
    assert listed.name == "cases" and listed.function == "case_progress"
    flow = home.flows["case_progress"]
    assert remembers(flow, person.id_number)
    home.home()
    case_no = listed.data["cases"][0]["case_no"]
    for secret in (person.id_number, person.name, case_no):
        assert not remembers(flow, secret)
