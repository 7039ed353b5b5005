"""Pinyin input without a window: Rime's luna_pinyin words in Simplified Chinese, best first,
for full pinyin, phrases, unfinished syllables and initials; composing word by word."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from flows.pinyin_input import PinyinComposer, PinyinDictionary


@pytest.fixture(scope="module")
def words(tmp_path_factory: pytest.TempPathFactory) -> PinyinDictionary:
    """The index built once for this module, in a cache of its own."""
    return PinyinDictionary.open(cache_dir=tmp_path_factory.mktemp("pinyin-cache"))


def first(words: PinyinDictionary, letters: str, n: int = 8) -> list[str]:
    return [c.text for c in words.candidates(letters)[:n]]


@pytest.mark.parametrize(
    ("letters", "expected"),
    [("beijing", "北京"), ("zhongguo", "中国"), ("shenfenzheng", "身份证"), ("dizhi", "地址"),
     ("nihao", "你好"), ("changsha", "长沙"), ("hunan", "湖南"), ("women", "我们")],
)
def test_a_phrase_typed_in_full_pinyin_comes_first(
    words: PinyinDictionary, letters: str, expected: str
) -> None:
    assert first(words, letters)[0] == expected


def test_characters_are_simplified_and_ranked_by_use(words: PinyinDictionary) -> None:
    zhang = first(words, "zhang")
    assert zhang[0] == "张" and "張" not in first(words, "zhang", 50)
    assert {"被", "北", "背"} <= set(first(words, "bei"))
    assert "绿" in first(words, "lv")  # v for ü


def test_initials_and_an_unfinished_syllable_find_the_phrase(words: PinyinDictionary) -> None:
    assert "北京" in first(words, "bj", 3)
    assert "北京" in first(words, "beij", 2)
    assert first(words, "sfz")[0] == "身份证"
    assert first(words, "zgrm")[0] == "中国人民"


def test_a_separator_splits_syllables_by_hand(words: PinyinDictionary) -> None:
    assert first(words, "xi'an")[0] == "西安"
    assert first(words, "xian")[0] != "西安"  # 先 现 线 … come first without it


def test_a_long_input_is_composed_word_by_word(words: PinyinDictionary) -> None:
    composer = PinyinComposer(words)
    for letter in "woaibeijing":
        composer.type(letter)
    assert composer.shown()[0].text == "我爱"
    assert composer.pick(0) is None and composer.preedit == "我爱beijing"
    assert composer.shown()[0].text == "北京"
    assert composer.pick(0) == "我爱北京" and not composer.composing
    # 删除 takes back a picked word before any letter.
    for letter in "nihao":
        composer.type(letter)
    at = [c.text for c in composer.candidates()].index("你")  # on a later page: ▶ to it
    while composer.page < at // composer.page_size:
        composer.next_page()
    composer.pick(at % composer.page_size)
    assert composer.preedit == "你hao"
    composer.backspace()
    composer.backspace()
    assert composer.preedit == "你h"


def test_the_index_is_built_once_and_reopened_from_the_cache(tmp_path: Path) -> None:
    PinyinDictionary.open(cache_dir=tmp_path).close()
    [index] = tmp_path.glob("pinyin-*.sqlite")
    built = index.stat().st_mtime_ns
    again = PinyinDictionary.open(cache_dir=tmp_path)
    assert index.stat().st_mtime_ns == built and again.candidates("ni")[0].text


def test_a_missing_dictionary_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rime-data-luna-pinyin"):
        PinyinDictionary.open(source=tmp_path / "none.dict.yaml", cache_dir=tmp_path)
