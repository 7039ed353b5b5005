"""The ID card reader as a citizen meets it: every fault, what the screen says, what health says.

The real driver (pyserial on a pty) talks to the simulated SAM module at 115200 baud.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from core.errors import (
    CardAuthFailed,
    CardReadFailed,
    CardRemoved,
    DeviceNotFound,
    DeviceTimeout,
    DeviceUnplugged,
    HallEdgeError,
    NoCard,
    SamFault,
    SamFrameError,
)
from core.strings_zh import error_text
from devices.health import Health, HealthState
from devices.id_card_reader import IdCardReader
from devices.open import open_id_card_reader
from hardware_sim import simulator_of
from hardware_sim.id_card_reader import SAMPLE_CARDS, with_timing
from protocols.id_card import CardKind, IdCard


@pytest.fixture
def reader() -> Iterator[IdCardReader]:
    r = open_id_card_reader("sim://id-reader?card=resident&timing=instant", "id-reader-1")
    yield r
    r.close()


def failure(call: Callable[[], object], kind: type[HallEdgeError]) -> HallEdgeError:
    with pytest.raises(kind) as err:
        call()
    return err.value


def test_a_card_on_the_reader_is_read_and_the_reader_is_ok(reader: IdCardReader) -> None:
    card = reader.read_card()
    assert card.kind is CardKind.RESIDENT and card.name == "测试甲"
    assert reader.last_health == Health.ok("id-reader-1")
    assert simulator_of(reader).commands[-3:] == [0x2001, 0x2002, 0x3001]  # find, select, read


def test_no_card_is_a_quiet_poll_and_a_prompt_when_a_read_is_asked(reader: IdCardReader) -> None:
    simulator_of(reader).inject("no_card")
    assert reader.poll() is None
    health = reader.last_health
    assert (health.state, health.reasons, health.usable) == (HealthState.OK, ("no_card",), True)
    err = failure(reader.read_card, NoCard)
    assert (err.code, error_text(err)) == (322, "请将身份证放在读卡区")


def test_a_card_pulled_mid_read_says_so_and_the_next_placement_reads(reader: IdCardReader) -> None:
    reader.health()
    seen: list[Health] = []
    reader.on_health = seen.append
    sim = simulator_of(reader)
    sim.inject("card_removed")
    err = failure(reader.read_card, CardRemoved)
    assert err.code == 323 and [h.reasons for h in seen] == [("card_removed",)]
    assert error_text(err) == "证件已移开，读取未完成，请重新放置证件并保持不动"
    assert reader.last_health.reasons == ("card_removed",) and reader.last_health.usable
    sim.place(SAMPLE_CARDS["resident"])
    assert reader.poll() == reader.read_card()


def test_a_card_that_stays_but_does_not_read_is_not_called_removed(reader: IdCardReader) -> None:
    simulator_of(reader).inject("read_failed")
    err = failure(reader.read_card, CardReadFailed)
    assert (err.code, error_text(err)) == (324, "证件读取失败，请重新放置证件")
    assert reader.last_health.reasons == ("card_unreadable",)


def test_a_card_the_sam_does_not_trust_sends_the_citizen_to_a_window(reader: IdCardReader) -> None:
    simulator_of(reader).inject("auth_failed")
    err = failure(reader.read_card, CardAuthFailed)
    assert (err.code, error_text(err)) == (325, "证件验证未通过，请到人工窗口办理")
    assert err.details["sw3"] == 0x32


def test_line_noise_before_every_answer_is_skipped(reader: IdCardReader) -> None:
    simulator_of(reader).inject("garbage")
    assert reader.health().state is HealthState.OK
    assert reader.read_card().name == "测试甲"


@pytest.mark.parametrize("fault", ["bad_checksum", "wrong_length"])
def test_a_damaged_answer_is_a_communication_error_not_a_card(
    reader: IdCardReader, fault: str
) -> None:
    sim = simulator_of(reader)
    sim.inject(fault)
    err = failure(reader.read_card, SamFrameError)
    assert (err.code, error_text(err)) == (321, "身份证读取通信异常，请重新放置证件")
    assert err.details["fault"] == ("checksum" if fault == "bad_checksum" else "truncated")
    health = reader.last_health
    assert (health.state, health.reasons, health.code) == (HealthState.UNKNOWN, ("bad_frame",), 321)
    sim.clear(fault)
    assert reader.read_card().name == "测试甲"


def test_a_module_too_slow_to_answer_is_a_timeout(reader: IdCardReader) -> None:
    sim = simulator_of(reader)
    with_timing(sim, slow_s=1.2)  # beyond the 0.8 s the driver waits for find
    sim.inject("slow")
    err = failure(reader.read_card, DeviceTimeout)
    assert (err.code, error_text(err)) == (303, "设备无响应，请联系工作人员")
    assert (reader.last_health.state, reader.last_health.reasons) == (
        HealthState.UNKNOWN,
        ("timeout",),
    )
    sim.clear("slow")
    time.sleep(1.5)  # the late answer (due 1.2 s after find) lands and is dropped first
    assert reader.read_card().name == "测试甲"


def test_a_pulled_cable_is_unplugged_then_not_found_then_back(reader: IdCardReader) -> None:
    assert reader.health().state is HealthState.OK
    sim = simulator_of(reader)
    sim.inject("unplug")
    err = failure(reader.read_card, DeviceUnplugged)
    assert (err.code, error_text(err)) == (302, "设备已断开，请联系工作人员")
    assert (reader.last_health.state, reader.last_health.reasons) == (
        HealthState.OFFLINE,
        ("unplugged",),
    )
    assert failure(reader.read_card, DeviceNotFound).code == 301
    sim.clear("unplug")
    assert reader.read_card().name == "测试甲"


@pytest.mark.parametrize("fault", ["self_test_failed", "sam_not_authorised"])
def test_a_broken_security_module_is_a_technician_job(reader: IdCardReader, fault: str) -> None:
    simulator_of(reader).inject(fault)
    health = reader.health() if fault == "self_test_failed" else None
    if health is not None:
        assert (health.state, health.reasons, health.code) == (
            HealthState.ERROR,
            ("sam_fault",),
            327,
        )
    err = failure(reader.read_card, SamFault)
    assert (err.code, error_text(err)) == (327, "身份证阅读器安全模块异常，请联系工作人员")
    assert not reader.last_health.usable


def test_health_never_raises_and_reports_each_change_once(reader: IdCardReader) -> None:
    seen: list[Health] = []
    reader.on_health = seen.append
    reader.health()
    reader.health()
    simulator_of(reader).inject("unplug")
    assert reader.health().reasons == ("unplugged",)
    assert reader.health().reasons == ("not_found",)
    assert [h.reasons for h in seen] == [(), ("unplugged",), ("not_found",)]


def test_a_card_left_on_the_reader_is_polled_once(reader: IdCardReader) -> None:
    first = reader.poll()
    assert first is not None and reader.poll() is None
    sim = simulator_of(reader)
    sim.lift()
    assert reader.poll() is None
    sim.place(SAMPLE_CARDS["resident"])
    assert reader.poll() == first


def test_a_module_that_hides_a_read_card_is_polled_once_too() -> None:
    r = open_id_card_reader("sim://id-reader?card=resident&timing=instant&repeat_find=0", "r")
    try:
        assert r.poll() is not None
        assert r.poll() is None and r.last_health.reasons == ("no_card",)
        simulator_of(r).place(SAMPLE_CARDS["hk_macao_taiwan"])
        assert r.poll().kind is CardKind.HK_MACAO_TAIWAN
    finally:
        r.close()


def test_watch_reports_each_card_placed_and_each_fault_then_stops(reader: IdCardReader) -> None:
    reader.profile = replace(reader.profile, poll_period_s=0.05)
    cards: list[IdCard] = []
    errors: list[HallEdgeError] = []
    stop = threading.Event()
    thread = threading.Thread(target=reader.watch, args=(cards.append, stop, errors.append))
    thread.start()
    try:
        _wait(lambda: len(cards) == 1)
        sim = simulator_of(reader)
        sim.lift()
        sim.place(SAMPLE_CARDS["foreigner"])
        _wait(lambda: len(cards) == 2)
        sim.inject("auth_failed")
        sim.lift()
        sim.place(SAMPLE_CARDS["resident-10y"])
        _wait(lambda: any(isinstance(e, CardAuthFailed) for e in errors))
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert [c.kind for c in cards] == [CardKind.RESIDENT, CardKind.FOREIGNER]


def test_the_sam_number_is_formatted_as_printed_on_the_module(reader: IdCardReader) -> None:
    assert reader.sam_id() == "05.01-20260101-000000123-000004567"


def _wait(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
