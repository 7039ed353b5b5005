"""服务评价 without a window: the five levels, a reason for a 差评, the ``kiosk.rated`` event,
handed over from a function's last step or opened from its own tile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.events import Kind
from flows.kiosk_functions import KioskContext, KioskHome, register, unregister
from flows.kiosk_rating import BAD_REASONS, mask_numbers
from hallstore import journal
from tests.conftest import HallDb
from tests.kiosk_extras import EXTRAS


@pytest.fixture
def home(hall_db: HallDb) -> Iterator[KioskHome]:
    """A kiosk offering 取号, 服务评价 and 键盘测试 (a function that ends with rating)."""
    for row in EXTRAS:
        register(row)
    try:
        yield KioskHome.for_context(KioskContext(hall_db.queue, "kiosk-1", hall_db.clock))
    finally:
        for row in EXTRAS:
            unregister(row.id)


def _rated(hall_db: HallDb) -> list[dict]:
    return [p.event.data for p in journal.pending(hall_db.conn, 1000)
            if p.event.kind == Kind.KIOSK_RATED]


def test_a_function_hands_the_citizen_to_rating_and_a_good_rating_is_journaled_at_once(
    home: KioskHome, hall_db: HallDb
) -> None:
    home.open("form_probe")
    home.step("form_probe", lambda f: f.submit("张三", "", ""))
    rate = home.step("form_probe", lambda f: f.rate())
    assert (rate.name, rate.function) == ("rate", "form_probe")
    assert [lv["label"] for lv in rate.data["levels"]] == [
        "非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    thanks = home.rate("form_probe", lambda r: r.choose(4))
    assert thanks.name == "rated" and thanks.data["label"] == "满意"
    assert _rated(hall_db) == [{
        "function": "form_probe", "item": "键盘测试事项", "ref": "KB-0001", "level": 4,
        "label": "满意", "reasons": [], "reason": "",
    }]


def test_a_bad_rating_needs_a_reason_picked_or_typed(home: KioskHome, hall_db: HallDb) -> None:
    home.open("form_probe")
    home.step("form_probe", lambda f: f.rate())
    asks = home.rate("form_probe", lambda r: r.choose(1))
    assert asks.data["reason_needed"] and asks.data["reasons"] == list(BAD_REASONS)
    refused = home.rate("form_probe", lambda r: r.submit())
    assert refused.error_key == "rating_reason_required"
    assert refused.error_text == "请选择或填写不满意的原因"
    # 其他 alone says nothing: still refused.
    home.rate("form_probe", lambda r: r.toggle_reason("其他"))
    assert home.rate("form_probe", lambda r: r.submit()).error_key == "rating_reason_required"
    assert _rated(hall_db) == []
    home.rate("form_probe", lambda r: r.toggle_reason("等待时间太长"))
    home.rate("form_probe", lambda r: r.write_note())
    home.rate("form_probe", lambda r: r.save_note("打印太慢，电话13812345678"))
    done = home.rate("form_probe", lambda r: r.submit())
    assert done.name == "rated" and done.data["label"] == "非常不满意"
    [event] = _rated(hall_db)
    assert event["level"] == 1 and event["reasons"] == ["等待时间太长", "其他"]
    assert event["reason"] == "等待时间太长；打印太慢，电话***"


def test_the_rating_tile_rates_what_the_citizen_just_did_and_left_unrated(
    home: KioskHome, hall_db: HallDb
) -> None:
    home.open("form_probe")
    home.step("form_probe", lambda f: f.rate())
    home.home()  # walked away from the rating screen
    tile = home.open("rating")
    assert (tile.name, tile.function, tile.data["item"]) == ("rate", "rating", "键盘测试事项")
    home.rate("rating", lambda r: r.choose(5))
    assert _rated(hall_db)[0]["function"] == "form_probe"
    assert _rated(hall_db)[0]["ref"] == "KB-0001"
    # Rated now: the tile rates the kiosk's service in general.
    home.home()
    home.open("rating")
    home.rate("rating", lambda r: r.choose(3))
    assert _rated(hall_db)[1]["function"] == "rating"
    assert _rated(hall_db)[1]["item"] == "自助终端服务"


def test_a_rating_tap_after_the_kiosk_went_home_does_nothing(
    home: KioskHome, hall_db: HallDb
) -> None:
    home.open("rating")
    home.home()
    assert home.rate("rating", lambda r: r.choose(5)).name == "home"
    assert _rated(hall_db) == []


def test_long_numbers_typed_in_a_reason_are_masked() -> None:
    assert mask_numbers("身份证43010219900101123X有误") == "身份证***有误"
    assert mask_numbers("等了20分钟") == "等了20分钟"
