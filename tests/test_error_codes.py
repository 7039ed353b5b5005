"""The error-code table a technician reads is complete and matches the code."""

from __future__ import annotations

from core.error_table import DOC, render_doc
from core.errors import all_error_types
from core.strings_zh import ERROR_TEXT


def test_every_error_has_a_unique_code_and_key() -> None:
    types = all_error_types()
    assert len({t.code for t in types}) == len(types)
    assert len({t.key for t in types}) == len(types)


def test_every_error_key_has_a_chinese_sentence() -> None:
    missing = [t.key for t in all_error_types() if t.key not in ERROR_TEXT]
    assert missing == []


def test_the_documented_table_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text == render_doc(text), "run `python main.py errors --write`"
