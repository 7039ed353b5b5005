"""Fuzzing the SAM frame parser: whatever the line delivers, it never crashes, never hangs,
never hoards memory, and every valid frame between the noise comes out.

The default run keeps examples few; ``pytest -m slow`` runs the same properties at length.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import SamFrameError
from protocols.sam_frame import HEADER_LEN, MAX_LEN, PREAMBLE, FrameParser, encode_response

QUICK = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=4000, deadline=None, suppress_health_check=list(HealthCheck))

#: A reader answer: any SW3, up to 64 data bytes.
frames = st.builds(
    lambda sw3, data: encode_response(sw3, data),
    st.integers(0, 255),
    st.binary(max_size=64),
)
#: Line noise that does not itself contain a preamble.
noise = st.binary(max_size=40).filter(lambda b: PREAMBLE not in b)


def drain(parser: FrameParser) -> tuple[list[bytes], int]:
    """Every frame the parser yields, and how many malformed ones it reported on the way."""
    bodies: list[bytes] = []
    errors = 0
    while True:
        try:
            bodies += list(parser.frames())
            return bodies, errors
        except SamFrameError as err:
            assert err.code == 321 and err.details["fault"] in ("length", "checksum")
            errors += 1


def feed_in_chunks(parser: FrameParser, data: bytes, cuts: list[int]) -> tuple[list[bytes], int]:
    bodies, errors, start = [], 0, 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]:
        parser.feed(data[start:cut])
        start = cut
        found, bad = drain(parser)
        bodies += found
        errors += bad
        assert parser.buffered <= HEADER_LEN + MAX_LEN
    return bodies, errors


def random_bytes_never_crash(data: bytes, cuts: list[int]) -> None:
    parser = FrameParser()
    bodies, _ = feed_in_chunks(parser, data, cuts)
    assert all(len(body) >= 2 for body in bodies)


def frames_survive_noise(parts: list[tuple[bytes, bytes]], cuts: list[int]) -> None:
    stream = b"".join(n + f for n, f in parts)
    bodies, errors = feed_in_chunks(FrameParser(), stream, cuts)
    assert errors == 0
    assert bodies == [f[7:-1] for _, f in parts]


def truncation_waits_without_error(frame: bytes, keep: int) -> None:
    keep = keep % len(frame)
    parser = FrameParser()
    parser.feed(frame[:keep])
    assert drain(parser) == ([], 0)
    parser.feed(frame[keep:])
    assert drain(parser) == ([frame[7:-1]], 0)


def a_corrupted_frame_is_reported_then_the_next_one_found(
    frame: bytes, flip: int, at_len: bool, good: bytes
) -> None:
    damaged = bytearray(frame)
    # Resync restarts at the next preamble: one inside the damaged frame's data would be
    # (rightly) taken for a frame start.
    index = 6 if at_len else len(damaged) - 1
    damaged[index] ^= flip
    parser = FrameParser()
    # Padding lets a frame that now claims to be longer be judged (and rejected) in full.
    parser.feed(bytes(damaged) + good + b"\x00" * (MAX_LEN + HEADER_LEN))
    bodies, errors = drain(parser)
    if not at_len:
        assert (bodies, errors) == ([good[7:-1]], 1)
    else:
        # A wrong Len either misplaces the checksum (reported) or, with odds of 1 in 256,
        # lands on a byte that happens to match: either way nothing but frames or typed errors.
        assert errors >= 1 or bodies


def an_endless_stream_stays_bounded(chunks: list[bytes]) -> None:
    parser = FrameParser()
    for chunk in chunks * 20:
        parser.feed(chunk)
        drain(parser)
        assert parser.buffered <= HEADER_LEN + MAX_LEN


def _both(prop: Callable[..., None], **strategies: Any) -> tuple[Any, Any]:
    quick = QUICK(given(**strategies)(prop))
    long = pytest.mark.slow(LONG(given(**strategies)(prop)))
    return quick, long


_cuts = st.lists(st.integers(0, 10_000), max_size=8)
# A stream that keeps presenting preambles with random lengths is the worst case for hoarding.
_hostile = st.lists(
    st.one_of(st.binary(max_size=64), st.builds(lambda b: PREAMBLE + b, st.binary(max_size=8))),
    min_size=1,
    max_size=10,
)

test_random_bytes_never_crash, test_random_bytes_never_crash_long = _both(
    random_bytes_never_crash, data=st.binary(max_size=3000), cuts=_cuts
)
test_frames_survive_noise, test_frames_survive_noise_long = _both(
    frames_survive_noise, parts=st.lists(st.tuples(noise, frames), max_size=6), cuts=_cuts
)
test_truncation_waits, test_truncation_waits_long = _both(
    truncation_waits_without_error, frame=frames, keep=st.integers(0, 200)
)
test_corruption_is_reported, test_corruption_is_reported_long = _both(
    a_corrupted_frame_is_reported_then_the_next_one_found,
    frame=frames.filter(lambda f: PREAMBLE not in f[1:]),
    flip=st.integers(1, 255),
    at_len=st.booleans(),
    good=frames,
)
test_endless_stream_is_bounded, test_endless_stream_is_bounded_long = _both(
    an_endless_stream_stays_bounded, chunks=_hostile
)


def test_a_stream_of_preambles_with_huge_lengths_is_rejected_not_awaited() -> None:
    parser = FrameParser()
    parser.feed((PREAMBLE + b"\xff\xff") * 1000)
    bodies, errors = drain(parser)
    assert bodies == [] and errors == 1000 and parser.buffered == 0
