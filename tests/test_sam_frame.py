"""The SAM frame codec, byte for byte against the frames published for real modules (§1.3, §1.5)."""

from __future__ import annotations

import pytest

from core.errors import SamFrameError
from protocols.sam_frame import (
    Cmd,
    FrameParser,
    Sw3,
    decode_frame,
    decode_response,
    encode_command,
    encode_response,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("command", "frame"),
    [
        (Cmd.RESET, "AA AA AA 96 69 00 03 10 FF EC"),
        (Cmd.STATUS, "AA AA AA 96 69 00 03 11 FF ED"),
        (Cmd.SAM_ID, "AA AA AA 96 69 00 03 12 FF EE"),
        (Cmd.FIND_CARD, "AA AA AA 96 69 00 03 20 01 22"),
        (Cmd.SELECT_CARD, "AA AA AA 96 69 00 03 20 02 21"),
        (Cmd.READ_TEXT_PHOTO, "AA AA AA 96 69 00 03 30 01 32"),
        (Cmd.READ_WITH_FINGERPRINT, "AA AA AA 96 69 00 03 30 10 23"),
    ],
)
def test_host_commands_are_the_published_bytes(command: Cmd, frame: str) -> None:
    assert encode_command(command) == h(frame)


def test_a_command_with_data_counts_it_in_len() -> None:
    # Set the RF frame size to 80 bytes, as the open-source daemon does once after status.
    from protocols.sam_frame import Command

    assert encode_command(Command(0x61, 0xFF, b"\x50")) == h("AA AA AA 96 69 00 04 61 FF 50 CA")


@pytest.mark.parametrize(
    ("sw3", "data", "frame"),
    [
        (Sw3.FIND_OK, bytes(4), "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97"),
        (Sw3.NO_CARD, b"", "AA AA AA 96 69 00 04 00 00 80 84"),
        (Sw3.OK, bytes(8), "AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"),
        (Sw3.SELECT_FAILED, b"", "AA AA AA 96 69 00 04 00 00 81 85"),
        (Sw3.READ_FAILED, b"", "AA AA AA 96 69 00 04 00 00 41 45"),
        (Sw3.CARD_AUTH_SAM_FAILED, b"", "AA AA AA 96 69 00 04 00 00 31 35"),
        (Sw3.OK, b"", "AA AA AA 96 69 00 04 00 00 90 94"),
    ],
)
def test_reader_answers_are_the_published_bytes(sw3: Sw3, data: bytes, frame: str) -> None:
    assert encode_response(sw3, data) == h(frame)
    answer = decode_response(h(frame))
    assert (answer.sw1, answer.sw2, answer.sw3, answer.data) == (0, 0, sw3, data)


def test_a_read_answer_is_1295_bytes_with_the_published_header() -> None:
    data = h("01 00 04 00") + b"\x20\x00" * 128 + bytes(1024)
    frame = encode_response(Sw3.OK, data)
    assert len(frame) == 1295
    assert frame[:14] == h("AA AA AA 96 69 05 08 00 00 90 01 00 04 00")
    assert decode_response(frame).data == data


@pytest.mark.parametrize(
    ("fingerprint", "length", "total"), [(0, "05 0A", 1297), (1024, "09 0A", 2321)]
)
def test_a_fingerprint_read_answer_has_the_published_length(
    fingerprint: int, length: str, total: int
) -> None:
    sizes = h("01 00 04 00") + fingerprint.to_bytes(2, "big")
    frame = encode_response(Sw3.OK, sizes + bytes(256 + 1024 + fingerprint))
    assert (frame[5:7], len(frame)) == (h(length), total)


@pytest.mark.parametrize(
    ("frame", "fault"),
    [
        ("AA AA AA 96 69 00 04 00 00 80 85", "checksum"),
        ("AA AA AA 96 69 00 05 00 00 80 84", "length"),
        ("AA AA AA 96 96 00 04 00 00 80 84", "preamble"),
        ("AA AA AA 96 69 00", "truncated"),
    ],
)
def test_a_damaged_frame_is_a_typed_error_naming_the_damage(frame: str, fault: str) -> None:
    with pytest.raises(SamFrameError) as err:
        decode_frame(h(frame))
    assert (err.value.code, err.value.details["fault"]) == (321, fault)


def test_the_parser_skips_noise_and_finds_frames_split_anywhere() -> None:
    stream = (
        b"\x00\xaa\xaa\x96"
        + encode_response(Sw3.NO_CARD)
        + b"\xaa"
        + encode_response(Sw3.FIND_OK, bytes(4))
    )
    for cut in range(1, len(stream)):
        parser = FrameParser()
        found = []
        for part in (stream[:cut], stream[cut:]):
            parser.feed(part)
            found += list(parser.frames())
        assert [body[2] for body in found] == [Sw3.NO_CARD, Sw3.FIND_OK]


def test_after_a_bad_checksum_the_parser_resyncs_on_the_next_frame() -> None:
    bad = bytearray(encode_response(Sw3.NO_CARD))
    bad[-1] ^= 1
    parser = FrameParser()
    parser.feed(bytes(bad) + encode_response(Sw3.OK))
    with pytest.raises(SamFrameError):
        list(parser.frames())
    assert [body[2] for body in parser.frames()] == [Sw3.OK]


def test_a_frame_hidden_inside_a_too_long_frame_is_still_found() -> None:
    liar = bytearray(encode_response(Sw3.NO_CARD))
    liar[5:7] = (40).to_bytes(2, "big")  # claims 40 bytes; a real frame follows at once
    parser = FrameParser()
    parser.feed(bytes(liar) + encode_response(Sw3.OK) + bytes(40))
    bodies, errors = [], 0
    for _ in range(10):
        try:
            bodies += list(parser.frames())
            break
        except SamFrameError:
            errors += 1
    assert errors == 1 and [b[2] for b in bodies] == [Sw3.OK]
