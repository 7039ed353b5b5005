"""The FF 68 … 16 caller frame: golden bytes from reference §5.2, the parser's resync, fuzz."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import CallerChecksum, CallerFrameInvalid
from devices.window_caller import display_digits
from protocols.caller_frame import (
    DEVICE_MAX_L,
    DEVICE_MIN_L,
    F_RATING,
    F_RATING_ACK,
    HOST_MAX_L,
    HOST_MIN_L,
    Frame,
    FrameParser,
    checksum,
    decode_frame,
    encode_frame,
)

GOLDEN = {
    # SendTicket, address 3, ticket ...001: blank waiting half, digits 0 0 1.
    "ticket": (
        Frame(3, 0x02, bytes.fromhex("0A0A0A000001")),
        "FF 68 08 08 68 03 02 0A 0A 0A 00 00 01 24 16",
    ),
    "beep": (Frame(3, 0x03), "FF 68 02 02 68 03 03 06 16"),
    "start_rating": (Frame(3, 0x01, b"\x0b"), "FF 68 03 03 68 03 01 0B 0F 16"),
}


@pytest.mark.parametrize("name", GOLDEN)
def test_host_commands_encode_to_the_published_bytes(name: str) -> None:
    frame, wire = GOLDEN[name]
    assert encode_frame(frame) == bytes.fromhex(wire)
    assert decode_frame(bytes.fromhex(wire)) == frame


def test_the_ticket_display_frame_is_built_from_the_ticket_number() -> None:
    digits = display_digits("A001", None)
    assert encode_frame(Frame(3, 0x02, digits)).hex(" ").upper() == GOLDEN["ticket"][1]


def test_checksum_is_address_plus_function_plus_data_mod_256() -> None:
    assert checksum(0xFF, 0xFF, b"\xff\x03") == (0xFF * 3 + 3) % 256
    assert encode_frame(Frame(0xF0, 0x20, b"\x30"))[-2] == 0x40


@pytest.mark.parametrize("key", [0, 1, 2, 3])
def test_the_rating_ack_is_function_01_same_key_and_cs_minus_0x10(key: int) -> None:
    rating = encode_frame(Frame(3, F_RATING, bytes((key,))))
    ack = encode_frame(Frame(3, F_RATING_ACK, bytes((key,))))
    assert rating[:6] == ack[:6] and rating[7] == ack[7] and rating[-1] == ack[-1] == 0x16
    assert ack[6] == 0x01
    assert ack[-2] == (rating[-2] - 0x10) % 256


def test_the_host_refuses_frames_without_a_key_or_longer_than_the_installation_allows() -> None:
    with pytest.raises(CallerFrameInvalid) as short:
        decode_frame(encode_frame(Frame(3, 0x05)), HOST_MIN_L, HOST_MAX_L)
    with pytest.raises(CallerFrameInvalid) as long:
        decode_frame(encode_frame(Frame(3, 0x05, b"\x01\x02\x03\x0c")), HOST_MIN_L, HOST_MAX_L)
    assert short.value.details["reason"] == long.value.details["reason"] == "bad_length"


def test_a_bad_checksum_is_its_own_error_and_code() -> None:
    wire = bytearray(encode_frame(Frame(3, 0x05, b"\x0c")))
    wire[-2] ^= 0x01
    with pytest.raises(CallerChecksum) as err:
        decode_frame(bytes(wire))
    assert err.value.code == 351


def test_l_and_l_prime_must_agree() -> None:
    wire = bytearray(encode_frame(Frame(3, 0x05, b"\x0c")))
    wire[3] += 1
    with pytest.raises(CallerFrameInvalid) as err:
        decode_frame(bytes(wire))
    assert err.value.details["reason"] == "length_mismatch"


def test_the_parser_resyncs_on_the_frame_after_noise_and_a_false_start() -> None:
    good = encode_frame(Frame(3, 0x05, b"\x0c"))
    parser = FrameParser(HOST_MIN_L, HOST_MAX_L)
    results = parser.feed(b"\x00\xff\x13\xff\x68\x07\x09\x68\x13" + good)
    assert [type(r) for r in results] == [CallerFrameInvalid, Frame]
    assert results[1] == Frame(3, 0x05, b"\x0c")


def test_a_frame_inside_a_broken_one_is_not_lost() -> None:
    good = encode_frame(Frame(2, 0x05, b"\x0d"))
    # A frame start whose L claims more bytes than come, followed at once by a real frame.
    results = FrameParser(DEVICE_MIN_L, DEVICE_MAX_L).feed(b"\xff\x68\x05\x05\x68\x01" + good)
    assert Frame(2, 0x05, b"\x0d") in results


def test_frames_split_across_reads_byte_by_byte_are_whole() -> None:
    parser = FrameParser()
    wire = encode_frame(Frame(7, 0x02, display_digits("B123", 45)))
    got = [r for b in wire for r in parser.feed(bytes((b,)))]
    assert got == [Frame(7, 0x02, bytes.fromhex("000405010203"))]


def test_flush_reports_a_cut_off_frame_and_forgets_it() -> None:
    parser = FrameParser()
    parser.feed(encode_frame(Frame(3, 0x05, b"\x0c"))[:6])
    cut = parser.flush()
    assert isinstance(cut, CallerFrameInvalid) and cut.details["reason"] == "truncated"
    assert parser.pending == 0 and parser.flush() is None


# --- fuzz ----------------------------------------------------------------------------------

_frames = st.builds(
    Frame,
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(min_size=1, max_size=3),
)


def _check_stream(parser: FrameParser, chunks: list[bytes]) -> list[Frame]:
    frames: list[Frame] = []
    for chunk in chunks:
        for result in parser.feed(chunk):
            assert isinstance(result, Frame | CallerFrameInvalid)
            if isinstance(result, Frame):
                assert HOST_MIN_L <= result.length <= HOST_MAX_L
                frames.append(result)
        # Never more than one frame's bytes held, however long the stream.
        assert parser.pending <= 9 + 255
    return frames


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_random_bytes_never_crash_the_parser(chunks: list[bytes]) -> None:
    _check_stream(FrameParser(HOST_MIN_L, HOST_MAX_L), chunks)


@settings(max_examples=200, deadline=None)
@given(st.lists(_frames, min_size=1, max_size=5), st.binary(max_size=30), st.data())
def test_valid_frames_survive_noise_before_them_and_any_chunking(
    frames: list[Frame], noise: bytes, data: st.DataObject
) -> None:
    wire = noise + b"".join(encode_frame(f) for f in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    chunks = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    got = _check_stream(FrameParser(HOST_MIN_L, HOST_MAX_L), chunks)
    # Noise may eat a frame only by posing as a longer one; the last frames always arrive.
    assert got[-1] == frames[-1]


@settings(max_examples=200, deadline=None)
@given(_frames, st.integers(0, 12), st.integers(1, 255))
def test_a_frame_with_any_corrupted_byte_is_never_taken_for_itself(
    frame: Frame, at: int, flip: int
) -> None:
    wire = bytearray(encode_frame(frame))
    at %= len(wire)
    wire[at] ^= flip
    parser = FrameParser(HOST_MIN_L, HOST_MAX_L)
    results = parser.feed(bytes(wire)) + [r for r in [parser.flush()] if r is not None]
    assert frame not in results
    assert all(isinstance(r, Frame | CallerFrameInvalid) for r in results)


def test_an_endless_stream_is_parsed_in_bounded_time_and_memory() -> None:
    good = encode_frame(Frame(3, 0x05, b"\x0c"))
    noisy = b"\xff\x68\xff\x68\x03\x04" + good + b"\xff" * 50
    parser = FrameParser(HOST_MIN_L, HOST_MAX_L)
    frames = 0
    for _ in range(2000):
        frames += sum(isinstance(r, Frame) for r in parser.feed(noisy))
        assert parser.pending <= 9 + 255
    assert frames == 2000


@pytest.mark.slow
@settings(max_examples=5_000, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=50))
def test_long_fuzz_of_random_streams(chunks: list[bytes]) -> None:
    start = time.monotonic()
    _check_stream(FrameParser(HOST_MIN_L, HOST_MAX_L), chunks)
    assert time.monotonic() - start < 30
