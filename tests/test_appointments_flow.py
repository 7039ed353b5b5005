"""预约取号 as a citizen lives it: book with the ID card, cancel, check in on arrival and take a
number ahead of walk-ins; the platform's rules (daily limit, 恶意预约) shown as it refuses;
the platform down, slow or losing an answer, and nothing booked twice. The real reader driver
talks to the simulated module over a pty; the kiosk talks HTTP to the simulated platform."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from core.clock import at_hall_time
from core.events import Kind
from devices.id_card_reader import IdCardReader
from devices.open import open_ticket_printer
from devices.ticket_printer import TicketPrinter
from flows.appointments import AppointmentFlow
from flows.kiosk_functions import KioskHome, built_in
from flows.screens import Screen
from govplatform.bookings import BookingsClient
from hallstore import journal
from hardware_sim import simulator_of
from hardware_sim.id_card_reader import SAMPLE_CARDS
from tests.conftest import HallDb
from tests.kiosk_citizens import Platform, kiosk_context, remembers
from upstream_sim.bookings import BookingRules

CARD = SAMPLE_CARDS["resident"]
#: The demo hall's Monday 2026-11-23 (the tests' day; the hall opens at 08:30).
TODAY, TOMORROW = "2026-11-23", "2026-11-24"

APPOINTMENTS = built_in("appointments")


@pytest.fixture
def printer() -> Iterator[TicketPrinter]:
    p = open_ticket_printer("sim://usb-printer", "printer-1")
    yield p
    p.close()


@pytest.fixture
def flow(hall_db: HallDb, platform: Platform, reader: IdCardReader) -> AppointmentFlow:
    return AppointmentFlow(kiosk_context(hall_db, platform, reader))


def transactions(hall_db: HallDb) -> list[dict]:
    return [
        p.event.data
        for p in journal.pending(hall_db.conn, 10_000)
        if p.event.kind == Kind.KIOSK_TRANSACTION
    ]


def slot_id(day: str, hhmm: str) -> str:
    return f"{day}T{hhmm.replace(':', '')}"


def tap_card(flow: AppointmentFlow, reader: IdCardReader, card=CARD) -> Screen:
    simulator_of(reader).place(card)
    return flow.identified(flow.identify.read_card())


def pick_slot(flow: AppointmentFlow, reader: IdCardReader, slot: str, service: str = "social") -> Screen:
    """预约 → a service → a slot → the card: the confirm screen."""
    assert flow.book().name == "choose_service"
    assert flow.choose_service(service).name == "choose_slot"
    first = flow.choose_slot(slot)
    return tap_card(flow, reader) if first.name == "identify_card" else first


def test_a_citizen_books_a_slot_with_their_card_and_it_is_journaled_before_they_are_told(
    flow: AppointmentFlow, reader: IdCardReader, platform: Platform, hall_db: HallDb
) -> None:
    flow.book()
    slots = flow.choose_service("social")
    days = slots.data["days"]
    assert slots.data["service_name"] == "社保医保"
    assert days[0]["date"] == TODAY and days[0]["slots"][0]["start"] == "09:00"
    assert days[0]["slots"][0]["remaining"] == 3
    assert all(d["weekday"] < 5 for d in days)  # no weekend slots
    assert flow.choose_slot(slot_id(TODAY, "10:00")).name == "identify_card"
    confirm = tap_card(flow, reader)
    assert confirm.name == "confirm"
    assert (confirm.data["date"], confirm.data["start"], confirm.data["end"]) == (TODAY, "10:00", "11:00")
    assert confirm.data["citizen"]["name"] == "测**"
    assert CARD.id_number not in str(confirm.data)
    booked = flow.confirm()
    assert (booked.name, booked.error_key) == ("booked", None)
    [made] = platform.desk.bookings.values()
    assert (made.booking_no, made.id_number, made.start) == (booked.data["booking_no"], CARD.id_number, "10:00")
    [event] = transactions(hall_db)
    assert event | {"request": None} == {
        "function": "appointments",
        "item": "social",
        "outcome": "done",
        "ref": made.booking_no,
        "action": "book",
        "request": None,
    }
    assert CARD.id_number not in str(event) and CARD.name not in str(event)


def test_the_kiosk_home_offers_it_and_going_home_forgets_the_citizen(
    hall_db: HallDb, platform: Platform, reader: IdCardReader
) -> None:
    home = KioskHome(kiosk_context(hall_db, platform, reader), [APPOINTMENTS])
    assert home.open("appointments").name == "menu"
    home.step("appointments", lambda f: f.book())
    home.step("appointments", lambda f: f.choose_service("household"))
    home.step("appointments", lambda f: f.choose_slot(slot_id(TOMORROW, "14:00")))
    simulator_of(reader).place(CARD)
    home.step("appointments", lambda f: f.identified(f.identify.read_card()))
    booked = home.step("appointments", lambda f: f.confirm())
    assert (booked.name, booked.function, booked.data["start"]) == ("booked", "appointments", "14:00")
    flow = home.flows["appointments"]
    assert remembers(flow, CARD.id_number)
    assert home.home().name == "home"
    assert not remembers(flow, CARD.id_number) and not remembers(flow, CARD.name)
    assert not remembers(flow, booked.data["booking_no"])


def test_the_platforms_daily_limit_is_shown_as_it_refuses(
    flow: AppointmentFlow, reader: IdCardReader, platform: Platform, hall_db: HallDb
) -> None:
    # The limit is the platform's to set (here over its simulator API), not the kiosk's.
    requests.post(f"{platform.server.url}/_sim/bookings/rules", json={"daily_limit": 1}, timeout=5)
    pick_slot(flow, reader, slot_id(TOMORROW, "09:00"))
    assert flow.confirm().name == "booked"
    flow.leave()
    refused = pick_slot(flow, reader, slot_id(TOMORROW, "15:00"))
    refused = flow.confirm()
    assert (refused.name, refused.error_key) == ("confirm", "booking_daily_limit")
    assert refused.error_text == "您在该日的预约次数已达上限，请选择其他日期"
    assert refused.data["upstream_code"] == "BOOKING_DAILY_LIMIT"
    assert len(platform.desk.bookings) == 1
    assert [e["outcome"] for e in transactions(hall_db)] == ["done", "failed"]
    flow.leave()
    assert pick_slot(flow, reader, slot_id("2026-11-25", "09:00")).name == "confirm"
    assert flow.confirm().name == "booked"


def test_repeated_no_shows_suspend_booking_as_malicious(
    flow: AppointmentFlow, reader: IdCardReader, platform: Platform, hall_db: HallDb
) -> None:
    platform.desk.rules = BookingRules(no_show_limit=2, no_show_window_days=30)
    for day in (TODAY, TOMORROW):
        pick_slot(flow, reader, slot_id(day, "09:00"))
        assert flow.confirm().name == "booked"
        flow.leave()
    # Neither booking is kept: both slots pass without the citizen checking in.
    hall_db.clock.set(at_hall_time(TOMORROW, "10:30"))
    pick_slot(flow, reader, slot_id("2026-11-26", "09:00"))
    refused = flow.confirm()
    assert (refused.name, refused.error_key) == ("confirm", "booking_suspended")
    assert refused.data["upstream_code"] == "BOOKING_SUSPENDED"
    assert refused.error_text == "您近期多次预约未到，已被暂停网上预约，请到窗口咨询"
    assert sorted(b.status for b in platform.desk.bookings.values()) == ["no_show", "no_show"]
    # Another citizen is not affected.
    flow.leave()
    flow.book()
    flow.choose_service("social")
    flow.choose_slot(slot_id("2026-11-26", "09:00"))
    assert tap_card(flow, reader, SAMPLE_CARDS["hk_macao_taiwan"]).name == "confirm"
    assert flow.confirm().name == "booked"


def test_a_slot_taken_meanwhile_sends_the_citizen_back_to_the_slots(
    flow: AppointmentFlow, reader: IdCardReader, platform: Platform
) -> None:
    platform.desk.rules = BookingRules(capacity=1)
    flow.book()
    flow.choose_service("social")
    flow.choose_slot(slot_id(TOMORROW, "11:00"))
    tap_card(flow, reader)
    # Someone on the province's app takes the last place first.
    other = SAMPLE_CARDS["resident-10y"].id_number
    BookingsClient(platform.http).book("app-1", "hall-demo", "social", slot_id(TOMORROW, "11:00"), other, "")
    back = flow.confirm()
    assert (back.name, back.error_text) == ("choose_slot", "该时段已约满，请选择其他时段")
    [tomorrow] = [d for d in back.data["days"] if d["date"] == TOMORROW]
    assert {s["start"]: s["remaining"] for s in tomorrow["slots"]}["11:00"] == 0
    assert flow.choose_slot(slot_id(TOMORROW, "11:00")).error_key == "booking_slot_full"
    # The citizen is still known: the next slot goes straight to confirm.
    assert flow.choose_slot(slot_id(TOMORROW, "15:00")).name == "confirm"
    assert flow.confirm().name == "booked"


def test_a_lost_answer_is_settled_by_asking_and_books_once(
    flow: AppointmentFlow, reader: IdCardReader, platform: Platform, hall_db: HallDb
) -> None:
    pick_slot(flow, reader, slot_id(TOMORROW, "09:00"))
    # The platform books but answers after the kiosk stopped waiting, every attempt.
    platform.server.fault("slow", path_prefix="/bookings", count=3, delay_s=1.0)
    unknown = flow.confirm()
    assert (unknown.name, unknown.error_key) == ("book_unknown", "platform_timeout")
    assert unknown.error_text == "政务服务平台响应超时，请稍后再试"
    deadline = time.monotonic() + 10
    while not platform.desk.bookings and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.2)  # the last slowed attempt lands too
    assert len(platform.desk.bookings) == 1
    booked = flow.settle()
    assert booked.name == "booked"
    assert [booked.data["booking_no"]] == list(platform.desk.bookings)
    outcomes = [(e["outcome"], e["ref"]) for e in transactions(hall_db)]
    assert outcomes[0][0] == "unknown" and outcomes[1] == ("done", booked.data["booking_no"])
    assert len(outcomes) == 2


def test_a_request_that_never_arrived_is_sent_again_under_the_same_key(
    flow: AppointmentFlow, reader: IdCardReader, platform: Platform
) -> None:
    pick_slot(flow, reader, slot_id(TOMORROW, "09:00"))
    platform.server.fault("error500", path_prefix="/bookings", count=3)
    unknown = flow.confirm()
    assert (unknown.name, unknown.error_key) == ("book_unknown", "platform_server_error")
    assert platform.desk.bookings == {}
    booked = flow.settle()
    assert booked.name == "booked" and len(platform.desk.bookings) == 1
    # Tapping 重新查询 again changes nothing.
    assert flow.settle().name in ("menu", "booked")
    assert len(platform.desk.bookings) == 1


def test_a_platform_that_cannot_be_reached_says_so_in_chinese_and_retry_recovers(
    flow: AppointmentFlow, platform: Platform
) -> None:
    flow.book()
    platform.server.fault("refuse")
    down = flow.choose_service("social")
    assert (down.name, down.error_key) == ("platform_error", "platform_unreachable")
    assert down.error_text == "网络连接中断，暂时无法连接政务服务平台，请稍后再试"
    platform.server.clear_faults()
    assert flow.retry().name == "choose_slot"


def test_a_citizen_cancels_their_booking(
    flow: AppointmentFlow, reader: IdCardReader, platform: Platform, hall_db: HallDb
) -> None:
    made = BookingsClient(platform.http).book(
        "app-2", "hall-demo", "business", slot_id(TOMORROW, "16:00"), CARD.id_number, CARD.name
    )
    assert flow.cancel().name == "identify_card"
    listed = tap_card(flow, reader)
    assert listed.name == "choose_booking"
    assert [b["booking_no"] for b in listed.data["bookings"]] == [made.booking_no]
    assert listed.data["bookings"][0]["service_name"] == "企业开办"
    assert flow.choose_booking(made.booking_no).name == "confirm_cancel"
    done = flow.confirm_cancel()
    assert (done.name, done.data["booking_no"]) == ("cancelled", made.booking_no)
    assert platform.desk.bookings[made.booking_no].status == "cancelled"
    assert transactions(hall_db)[-1] | {"item": "business"} == {
        "function": "appointments",
        "item": "business",
        "outcome": "done",
        "ref": made.booking_no,
        "action": "cancel",
    }
    # Its place is free again.
    flow.book()
    slots = flow.choose_service("business")
    [tomorrow] = [d for d in slots.data["days"] if d["date"] == TOMORROW]
    assert {s["start"]: s["remaining"] for s in tomorrow["slots"]}["16:00"] == 3


def test_arrival_check_in_takes_a_number_called_ahead_of_walk_ins(
    hall_db: HallDb, platform: Platform, reader: IdCardReader, printer: TicketPrinter
) -> None:
    flow = AppointmentFlow(kiosk_context(hall_db, platform, reader, printer=printer))
    walk_ins = [hall_db.queue.issue("social", "kiosk-2").ticket.ticket_no for _ in range(2)]
    made = BookingsClient(platform.http).book(
        "app-3", "hall-demo", "social", slot_id(TODAY, "09:00"), CARD.id_number, CARD.name
    )
    BookingsClient(platform.http).book(
        "app-4", "hall-demo", "social", slot_id(TOMORROW, "09:00"), CARD.id_number, CARD.name
    )
    flow.check_in()
    listed = tap_card(flow, reader)
    # Only today's booking can be checked in.
    assert [b["booking_no"] for b in listed.data["bookings"]] == [made.booking_no]
    ticket = flow.choose_booking(made.booking_no)
    assert (ticket.name, ticket.error_key, ticket.data["printed"]) == ("ticket", None, True)
    assert ticket.data["ticket_no"] in simulator_of(printer).tickets[-1].texts
    assert platform.desk.bookings[made.booking_no].status == "checked_in"
    assert transactions(hall_db)[-1]["action"] == "check_in"
    assert transactions(hall_db)[-1]["ticket_no"] == ticket.data["ticket_no"]
    hall_db.queue.open_window(1, "pad-1", "staff-1")
    called = hall_db.queue.call_next(1, "pad-1")
    assert called is not None and called.ticket_no == ticket.data["ticket_no"]
    assert ticket.data["ticket_no"] not in walk_ins


def test_check_in_before_it_opens_is_refused_with_the_platforms_reason(
    flow: AppointmentFlow, reader: IdCardReader, platform: Platform
) -> None:
    made = BookingsClient(platform.http).book(
        "app-5", "hall-demo", "social", slot_id(TODAY, "16:00"), CARD.id_number, CARD.name
    )
    flow.check_in()
    tap_card(flow, reader)
    refused = flow.choose_booking(made.booking_no)
    assert (refused.name, refused.error_key) == ("choose_booking", "checkin_not_open")
    assert refused.data["upstream_code"] == "CHECKIN_NOT_OPEN"
    assert platform.desk.bookings[made.booking_no].status == "booked"


def test_without_a_reader_the_citizen_books_with_a_typed_number(
    hall_db: HallDb, platform: Platform
) -> None:
    flow = AppointmentFlow(kiosk_context(hall_db, platform, None))
    flow.book()
    flow.choose_service("household")
    typing = flow.choose_slot(slot_id(TOMORROW, "10:00"))
    assert typing.name == "identify_manual"
    wrong = flow.identified(flow.identify.enter_id_number(CARD.id_number[:-1] + "0"))
    assert (wrong.name, wrong.error_key) == ("identify_manual", "id_number_invalid")
    confirm = flow.identified(flow.identify.enter_id_number(CARD.id_number))
    assert confirm.name == "confirm" and confirm.data["citizen"]["name"] == ""
    assert flow.confirm().name == "booked"
    [made] = platform.desk.bookings.values()
    assert made.id_number == CARD.id_number
