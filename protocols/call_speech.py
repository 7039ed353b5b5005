"""What the hall display shows and what the announcer says when a ticket is called.

Text-to-speech engines read "A001" as "A一" or "A one thousand and one"; halls read a ticket
number letter by letter and digit by digit ("A零零一"), and the window as a cardinal ("3号窗口",
which every Mandarin voice reads as 三号). See reference device-protocols §5.4 and FQM#174.
"""

from __future__ import annotations

#: Digits as read in a ticket number. 二, not 两: numbers are read digit by digit.
DIGIT_ZH = dict(zip("0123456789", "零一二三四五六七八九", strict=True))

RECALL_MARK = "（重呼）"
RECALL_SPOKEN = "重呼，"


def call_text(ticket_no: str, window_no: int, recall: bool = False) -> str:
    """The sentence shown on the hall display for a call.

    Args:
        ticket_no: the ticket number as printed, e.g. ``"A001"``.
        window_no: the window the citizen should go to.
        recall: True for a repeated call (重呼).

    Returns:
        e.g. ``"请A001号到3号窗口办理"``, with ``"（重呼）"`` appended for a recall.
    """
    text = f"请{ticket_no}号到{window_no}号窗口办理"
    return text + RECALL_MARK if recall else text


def call_speech(ticket_no: str, window_no: int, recall: bool = False) -> str:
    """The sentence the announcer speaks for a call, normalised for a TTS engine.

    Args:
        ticket_no: the ticket number as printed, e.g. ``"A001"``.
        window_no: the window the citizen should go to.
        recall: True for a repeated call; the word 重呼 comes first so listeners know at once
            that this number was called before.

    Returns:
        e.g. ``"请A零零一号到3号窗口办理"``.
    """
    spoken = f"请{spell_ticket_no(ticket_no)}号到{window_no}号窗口办理"
    return RECALL_SPOKEN + spoken if recall else spoken


def spell_ticket_no(ticket_no: str) -> str:
    """A ticket number with each digit replaced by its Chinese reading: ``A001`` → ``A零零一``."""
    return "".join(DIGIT_ZH.get(ch, ch) for ch in ticket_no)
