"""The 2023 foreigner card's disputed span at 220 (reference §1.7 [CONFLICT]): an English name
past 35 characters continues there ([H4] Johann356/readinfo), or a pass number and issue count
sit there ([H5] yzfuture ForeignerInfoNew); each card is read the way its bytes say, through
the real driver and the simulated module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from devices.id_card_reader import IdCardReader
from devices.open import open_id_card_reader
from hardware_sim import simulator_of
from hardware_sim.id_card_reader import SAMPLE_CARDS
from protocols.id_card import Foreigner2023Layout, decode_card, encode_card

LONG = SAMPLE_CARDS["foreigner_2023_long_name"]
PASS = SAMPLE_CARDS["foreigner_2023_pass_number"]


@pytest.fixture
def reader() -> Iterator[IdCardReader]:
    r = open_id_card_reader("sim://id-reader?card=none&timing=instant", "id-reader-1")
    yield r
    r.close()


def test_a_long_english_name_is_read_whole_with_the_space_at_its_break(
    reader: IdCardReader,
) -> None:
    simulator_of(reader).place(LONG)
    card = reader.read_card()
    assert card.english_name == "VANDERBERG-MONTGOMERY, ALEXANDRINA ELIZA KATE"
    assert len(card.english_name) == 45 and card.english_name[34] == " "
    assert card.layout is Foreigner2023Layout.NAME_CONTINUES
    assert (card.pass_number, card.issue_count, card.issuer) == ("", "", "")
    # The disputed bytes stay available as read, whichever reading was taken.
    assert card.raw_fields["220:22"].decode("utf-16-le").strip() == "ELIZA KATE"


def test_a_name_broken_inside_a_word_joins_without_a_space() -> None:
    name = "ABCDEFGHIJKLMNOPQRSTUVWXYZ, ABCDEFGHIJKLMN"
    card = decode_card(encode_card(replace(LONG, english_name=name)))
    assert card.english_name == name


def test_a_card_with_a_pass_number_there_keeps_its_short_name(reader: IdCardReader) -> None:
    simulator_of(reader).place(PASS)
    card = reader.read_card()
    assert card.layout is Foreigner2023Layout.PASS_NUMBER
    assert (card.english_name, card.pass_number, card.issue_count, card.issuer) == (
        "TESTER, CARL",
        "F12345678",
        "01",
        "国家移民管理局",
    )


def test_a_blank_span_needs_neither_reading(reader: IdCardReader) -> None:
    simulator_of(reader).place(SAMPLE_CARDS["foreigner_2023"])
    card = reader.read_card()
    assert (card.layout, card.english_name, card.pass_number) == (
        Foreigner2023Layout.AGREED,
        "TESTER, BOB",
        "",
    )


def test_latin_text_after_a_short_name_is_not_taken_for_its_continuation() -> None:
    block = bytearray(encode_card(SAMPLE_CARDS["foreigner_2023"]))
    block[220:236] = "ABCDEFGH".encode("utf-16-le")
    card = decode_card(bytes(block))
    # A name continues only once its first 35 characters are used up; "TESTER, BOB" is 11.
    assert card.english_name == "TESTER, BOB"
    assert card.layout is Foreigner2023Layout.UNREADABLE and card.pass_number == ""


def test_digits_after_a_full_name_are_a_pass_number_not_a_name() -> None:
    block = bytearray(encode_card(replace(LONG, layout=Foreigner2023Layout.AGREED, english_name=LONG.english_name[:35])))
    block[220:238] = "F12345678".encode("utf-16-le")
    block[238:242] = "03".encode("utf-16-le")
    card = decode_card(bytes(block))
    assert card.layout is Foreigner2023Layout.PASS_NUMBER
    assert (card.english_name, card.pass_number, card.issue_count) == (
        "VANDERBERG-MONTGOMERY, ALEXANDRINA",
        "F12345678",
        "03",
    )


def test_other_cards_have_no_disputed_layout(reader: IdCardReader) -> None:
    simulator_of(reader).place(SAMPLE_CARDS["foreigner"])
    assert reader.read_card().layout is None


@pytest.mark.parametrize(
    ("layout", "name"),
    [
        (Foreigner2023Layout.NAME_CONTINUES, "A" * 47),
        (Foreigner2023Layout.NAME_CONTINUES, "SHORT, NAME"),
        (Foreigner2023Layout.PASS_NUMBER, "B" * 36),
        (Foreigner2023Layout.AGREED, "C" * 36),
    ],
)
def test_the_simulator_refuses_a_name_its_variant_cannot_hold(
    layout: Foreigner2023Layout, name: str
) -> None:
    with pytest.raises(ValueError):
        encode_card(replace(LONG, layout=layout, english_name=name))
