"""识别身份, the step every citizen function shares: the four cards on the real reader driver
over a pty to the simulated SAM module, a card pulled too early, and typing the number when
there is no reader (or it broke)."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from devices.id_card_reader import IdCardReader
from flows.identify import TYPED, Citizen, IdentifyCitizen, parse_id_number
from flows.screens import Screen
from hardware_sim import simulator_of
from hardware_sim.id_card_reader import SAMPLE_CARDS
from protocols.id_card import check_digit


@pytest.mark.parametrize(
    ("card", "kind"),
    [
        ("resident", "resident"),
        ("hk_macao_taiwan", "hk_macao_taiwan"),
        ("foreigner", "foreigner"),
        ("foreigner_2023", "foreigner_2023"),
        ("foreigner_2023_long_name", "foreigner_2023"),
        ("foreigner_2023_pass_number", "foreigner_2023"),
    ],
)
def test_each_card_type_identifies_its_holder(reader: IdCardReader, card: str, kind: str) -> None:
    sample = SAMPLE_CARDS[card]
    identify = IdentifyCitizen(reader)
    assert identify.start().name == "identify_card"
    simulator_of(reader).place(sample)
    citizen = identify.read_card()
    assert citizen == Citizen(sample.id_number, sample.name, sample.birth, kind)


def test_a_foreign_card_without_a_chinese_name_goes_by_its_english_name(
    reader: IdCardReader,
) -> None:
    from dataclasses import replace

    simulator_of(reader).place(replace(SAMPLE_CARDS["foreigner_2023_long_name"], name=""))
    citizen = IdentifyCitizen(reader).read_card()
    assert isinstance(citizen, Citizen)
    assert citizen.name == "VANDERBERG-MONTGOMERY, ALEXANDRINA ELIZA KATE"


def test_reading_with_nothing_on_the_reader_asks_for_the_card(reader: IdCardReader) -> None:
    screen = IdentifyCitizen(reader).read_card()
    assert isinstance(screen, Screen)
    assert (screen.name, screen.error_text) == ("identify_card", "请将身份证放在读卡区")


def test_a_card_pulled_away_too_early_asks_for_it_again_and_then_reads(
    reader: IdCardReader,
) -> None:
    identify = IdentifyCitizen(reader)
    sim = simulator_of(reader)
    sim.place(SAMPLE_CARDS["resident"])
    sim.inject("card_removed")
    screen = identify.read_card()
    assert isinstance(screen, Screen)
    assert (screen.name, screen.error_key) == ("identify_retry", "id_card_removed")
    assert screen.error_text == "证件已移开，读取未完成，请重新放置证件并保持不动"
    assert screen.data["reader"] is True
    sim.place(SAMPLE_CARDS["resident"])
    citizen = identify.read_card()
    assert isinstance(citizen, Citizen) and citizen.name == "测试甲"


def test_a_card_the_security_module_rejects_sends_the_citizen_to_a_window(
    reader: IdCardReader,
) -> None:
    sim = simulator_of(reader)
    sim.place(SAMPLE_CARDS["resident"])
    sim.inject("auth_failed")
    screen = IdentifyCitizen(reader).read_card()
    assert isinstance(screen, Screen) and screen.name == "identify_retry"
    assert screen.error_text == "证件验证未通过，请到人工窗口办理"


def test_a_pulled_reader_cable_falls_back_to_typing_the_number(reader: IdCardReader) -> None:
    identify = IdentifyCitizen(reader)
    simulator_of(reader).inject("unplug")
    screen = identify.read_card()
    assert isinstance(screen, Screen)
    # Never opened before, the port is simply not there; opened, it was unplugged.
    assert screen.name == "identify_manual"
    assert screen.error_key in ("device_not_found", "device_unplugged")
    citizen = identify.enter_id_number(SAMPLE_CARDS["resident"].id_number)
    assert isinstance(citizen, Citizen) and citizen.card_kind == TYPED


def test_a_polling_screen_sees_a_card_once_it_lies_on_the_reader(reader: IdCardReader) -> None:
    identify = IdentifyCitizen(reader)
    quiet = identify.poll()
    assert isinstance(quiet, Screen) and (quiet.name, quiet.error_key) == ("identify_card", None)
    simulator_of(reader).place(SAMPLE_CARDS["hk_macao_taiwan"])
    citizen = identify.poll()
    assert isinstance(citizen, Citizen) and citizen.card_kind == "hk_macao_taiwan"


def test_without_a_reader_the_citizen_types_a_checked_number() -> None:
    identify = IdentifyCitizen(None)
    screen = identify.start()
    assert (screen.name, screen.kind, screen.data["reader"]) == ("identify_manual", "form", False)
    number = SAMPLE_CARDS["resident"].id_number
    wrong_digit = number[:10] + ("4" if number[10] != "4" else "5") + number[11:]
    for typo in (number[:17], wrong_digit, "1101011990023100" + "1" + check_digit("1101011990023100" + "1")):
        refused = identify.enter_id_number(typo)
        assert isinstance(refused, Screen)
        assert refused.error_text == "身份证号码有误，请核对后重新输入"
    citizen = identify.enter_id_number(" " + number[:6] + " " + number[6:].lower())
    assert citizen == Citizen(number, "", date(1990, 3, 7), TYPED)


def test_a_typed_number_with_x_and_spaces_is_read_as_printed() -> None:
    first17 = "11010519491231002"
    number = first17 + check_digit(first17)
    assert parse_id_number(number.lower()) == (number, date(1949, 12, 31))


def test_a_citizen_never_prints_their_number_or_name(
    reader: IdCardReader, caplog: pytest.LogCaptureFixture
) -> None:
    simulator_of(reader).place(SAMPLE_CARDS["resident"])
    citizen = IdentifyCitizen(reader).read_card()
    with caplog.at_level(logging.INFO):
        logging.getLogger("kiosk").info("identified %s %r", citizen, [citizen])
    assert isinstance(citizen, Citizen)
    assert citizen.id_number not in caplog.text and citizen.name not in caplog.text
    assert citizen.masked()["id_number"] == "110101********002X"
