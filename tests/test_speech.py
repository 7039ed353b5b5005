"""What citizens read on the board and hear from the announcer when a ticket is called."""

from __future__ import annotations

import pytest

from protocols.call_speech import call_speech, call_text, spell_ticket_no


def test_the_board_shows_the_ticket_and_window_as_printed() -> None:
    assert call_text("A001", 3) == "请A001号到3号窗口办理"


def test_a_recall_is_marked_on_the_board() -> None:
    assert call_text("A001", 3, recall=True) == "请A001号到3号窗口办理（重呼）"


def test_the_announcer_reads_the_ticket_digit_by_digit() -> None:
    """'A001' must be heard as A-零-零-一, never as 'A一' (reference §5.4, FQM#174)."""
    assert call_speech("A001", 3) == "请A零零一号到三号窗口办理"


@pytest.mark.parametrize(
    ("ticket", "spoken"),
    [("A001", "A零零一"), ("B120", "B一二零"), ("C2345", "C二三四五"), ("AB909", "AB九零九")],
)
def test_every_digit_is_read_on_its_own(ticket: str, spoken: str) -> None:
    assert spell_ticket_no(ticket) == spoken


def test_the_window_is_read_as_a_number_not_digit_by_digit() -> None:
    """Window 10 is 十号窗口 ("10号"), not 一零号."""
    assert call_speech("B012", 10) == "请B零一二号到十号窗口办理"
    assert call_text("B012", 10) == "请B012号到10号窗口办理"


def test_a_recall_is_announced_as_such_first() -> None:
    spoken = call_speech("A001", 3, recall=True)
    assert spoken.startswith("重呼")
    assert spoken.endswith("请A零零一号到三号窗口办理")
