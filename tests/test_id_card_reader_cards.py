"""Decoding every card layout from the frames the simulated module sends, and keeping the
personal data out of logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date

import pytest

from core.errors import UnsupportedCard
from core.privacy import mask_number
from core.strings_zh import error_text
from devices.id_card_reader import IdCardReader
from devices.open import open_id_card_reader
from hardware_sim import simulator_of
from hardware_sim.id_card_reader import SAMPLE_CARDS, photo_of
from protocols.id_card import (
    NATIONS,
    CardKind,
    IdCard,
    check_digit,
    decode_card,
    encode_card,
)

DECODED_FIELDS = (
    "kind",
    "name",
    "sex_code",
    "birth",
    "id_number",
    "valid_from",
    "valid_to",
    "address",
    "issuer",
    "nation_code",
    "english_name",
    "nationality",
    "pass_number",
    "issue_count",
    "card_version",
    "authority_code",
)


@pytest.fixture
def reader() -> Iterator[IdCardReader]:
    r = open_id_card_reader("sim://id-reader?card=none&timing=instant", "id-reader-1")
    yield r
    r.close()


@pytest.mark.parametrize("name", sorted(SAMPLE_CARDS))
def test_each_card_layout_reads_back_field_for_field(reader: IdCardReader, name: str) -> None:
    sample = SAMPLE_CARDS[name]
    simulator_of(reader).place(sample)
    card = reader.read_card()
    assert {f: getattr(card, f) for f in DECODED_FIELDS} == {
        f: getattr(sample, f) for f in DECODED_FIELDS
    }
    assert card.photo == photo_of(sample) and len(card.photo) == 1024
    assert card.photo_image is None and card.fingerprint == b""


def test_a_resident_card_speaks_chinese_for_sex_nation_and_long_term_validity(
    reader: IdCardReader,
) -> None:
    simulator_of(reader).place(SAMPLE_CARDS["resident"])
    card = reader.read_card()
    assert (card.sex, card.nation, card.long_term) == ("女", "汉", True)
    assert card.valid_on(date(2090, 1, 1)) and not card.valid_on(date(2016, 4, 30))
    assert card.id_number[-1] == check_digit(card.id_number[:17])


def test_a_permit_has_no_nation_but_a_pass_number_and_issue_count(reader: IdCardReader) -> None:
    simulator_of(reader).place(SAMPLE_CARDS["hk_macao_taiwan"])
    card = reader.read_card()
    assert (card.kind, card.nation, card.pass_number, card.issue_count) == (
        CardKind.HK_MACAO_TAIWAN,
        "",
        "H12345678",
        "02",
    )


def test_the_old_foreigner_card_puts_the_birth_date_after_validity(reader: IdCardReader) -> None:
    simulator_of(reader).place(SAMPLE_CARDS["foreigner"])
    card = reader.read_card()
    assert (card.english_name, card.nationality, card.birth) == (
        "TESTER, ALICE",
        "USA",
        date(1970, 2, 3),
    )
    assert card.masked()["id_number"] == "USA********0301"


def test_the_2023_foreigner_card_keeps_its_disputed_fields_raw(reader: IdCardReader) -> None:
    simulator_of(reader).place(SAMPLE_CARDS["foreigner_2023"])
    card = reader.read_card()
    assert card.raw_fields["32:4"] == "01".encode("utf-16-le")
    assert set(card.raw_fields) == {"32:4", "158:30", "220:22", "250:6"}
    assert (card.nation, card.issuer, card.english_name) == ("", "", "TESTER, BOB")


def test_the_published_name_bytes_decode_as_ucs2_little_endian() -> None:
    block = bytearray(encode_card(SAMPLE_CARDS["resident"]))
    block[0:30] = bytes.fromhex("8B 73 8E 7F 1C 5A") + b"\x20\x00" * 12
    block[30:36] = bytes.fromhex("32 00 30 00 31 00")
    card = decode_card(bytes(block))
    assert (card.name, card.sex, card.nation) == ("王美娜", "女", "汉")


def test_an_unknown_card_type_is_refused_in_chinese() -> None:
    block = bytearray(encode_card(SAMPLE_CARDS["resident"]))
    block[248:250] = "Z".encode("utf-16-le")
    with pytest.raises(UnsupportedCard) as err:
        decode_card(bytes(block))
    assert (err.value.code, error_text(err.value)) == (326, "无法识别该证件，请使用身份证或居住证")


def test_nation_codes_follow_the_card_table() -> None:
    assert (NATIONS["01"], NATIONS["46"], NATIONS["56"], NATIONS["98"]) == (
        "汉",
        "德昂",
        "基诺",
        "外国血统中国籍人士",
    )
    assert len(NATIONS) == 58


def test_a_card_never_prints_its_holder(
    reader: IdCardReader, caplog: pytest.LogCaptureFixture
) -> None:
    simulator_of(reader).place(SAMPLE_CARDS["resident"])
    card = reader.read_card()
    with caplog.at_level(logging.INFO):
        logging.getLogger("kiosk").info("read %s / %r / %s", card, card, [card])
    shown = caplog.text + str(card.masked()) + f"{card}"
    assert card.id_number not in shown and card.name not in shown
    assert card.address not in shown and "19900307" not in shown
    assert card.masked() == {
        "kind": "resident",
        "name": "测**",
        "id_number": "110101********002X",
    }


def test_masking_keeps_region_and_last_four() -> None:
    assert mask_number("110101199003071234") == "110101********1234"
    assert mask_number("1234567") == "*******"


def test_a_photo_decoder_is_a_hook_and_its_failure_costs_only_the_picture() -> None:
    r = open_id_card_reader("sim://id-reader?card=resident&timing=instant", "id-reader-1")
    try:
        r.photo_decoder = lambda wlt: b"BM" + wlt[:4]
        assert r.read_card().photo_image == b"BM" + photo_of(SAMPLE_CARDS["resident"])[:4]
        r.photo_decoder = _broken_decoder
        card = r.read_card()
        assert card.photo_image is None and len(card.photo) == 1024
    finally:
        r.close()


def test_a_fingerprint_reader_returns_the_templates() -> None:
    url = (
        "sim://id-reader?card=resident&timing=instant&fingerprint=1024&profile=sam-uart-fingerprint"
    )
    r = open_id_card_reader(url, "id-reader-1")
    try:
        card = r.read_card()
        assert len(card.fingerprint) == 1024 and card.name == "测试甲"
        assert simulator_of(r).commands[-1] == 0x3010
    finally:
        r.close()


def _broken_decoder(wlt: bytes) -> bytes:
    raise OSError("vendor library missing")


def test_sample_cards_are_fake_but_well_formed() -> None:
    for card in SAMPLE_CARDS.values():
        assert isinstance(card, IdCard) and card.name.startswith("测试")
        if len(card.id_number) == 18:
            assert card.id_number[-1] == check_digit(card.id_number[:17])
