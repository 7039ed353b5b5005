"""What the hall display shows and what the announcer says when a ticket is called.

Text-to-speech engines read "A001" as "A一" or "A one thousand and one"; halls read a ticket
number letter by letter and digit by digit ("A零零一"), and the window as a cardinal ("三号窗口",
"十二号窗口"). See reference device-protocols §5.4, province-and-kiosk-services §4 and FQM#174.
The call is therefore normalised here, never left to an engine's text normalisation: the
spoken sentence has every number already in Chinese, and :func:`call_pinyin` gives the
tone-numbered pinyin an offline voice reads (espeak-ng's ``cmn-latn-pinyin``).

Whether the digit 1 of a ticket number is read 一 (yī) or 幺 (yāo) is a hall setting
(``[calls] read_one_as``): 幺 is the radio and telephone reading that cannot be mistaken for
七. The window number is a cardinal and always says 一 (十一号窗口).
"""

from __future__ import annotations

#: Digits as read in a ticket number. 二, not 两: numbers are read digit by digit.
DIGIT_ZH = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
#: The two readings of the digit 1 a hall may choose.
ONE_READINGS = ("一", "幺")

RECALL_MARK = "（重呼）"
RECALL_SPOKEN = "重呼，"

#: Tone-numbered pinyin of every character a call sentence can contain.
_PINYIN = {
    "请": "qing3", "号": "hao4", "到": "dao4", "窗": "chuang1", "口": "kou3", "办": "ban4",
    "理": "li3", "重": "chong2", "呼": "hu1", "零": "ling2", "一": "yi1", "幺": "yao1",
    "二": "er4", "三": "san1", "四": "si4", "五": "wu3", "六": "liu4", "七": "qi1", "八": "ba1",
    "九": "jiu3", "十": "shi2", "百": "bai3", "，": ",",
}  # fmt: skip
#: Letters as Chinese halls say them (the English letter names, in pinyin the voice can read).
_LETTER_PINYIN = {
    "A": "ei1", "B": "bi4", "C": "xi1", "D": "di4", "E": "yi4", "F": "ai2 fu1", "G": "ji4",
    "H": "ai2 qi1", "I": "ai4", "J": "jie4", "K": "kai4", "L": "ai2 le1", "M": "ai2 mu1",
    "N": "en1", "O": "ou1", "P": "pi4", "Q": "kiu1", "R": "a4 er3", "S": "ai2 si1", "T": "ti4",
    "U": "you1", "V": "wei1", "W": "da2 bu1 liu3", "X": "ai2 ke4 si1", "Y": "wai4", "Z": "zei4",
}  # fmt: skip


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


def call_speech(ticket_no: str, window_no: int, recall: bool = False, one: str = "一") -> str:
    """The sentence the announcer speaks for a call, every number already in words.

    Args:
        ticket_no: the ticket number as printed, e.g. ``"A001"``.
        window_no: the window the citizen should go to (1–999).
        recall: True for a repeated call; the word 重呼 comes first so listeners know at once
            that this number was called before.
        one: how the digit 1 of the ticket number is read: ``"一"`` or ``"幺"``.

    Returns:
        e.g. ``"请A零零一号到三号窗口办理"``.
    """
    spoken = f"请{spell_ticket_no(ticket_no, one)}号到{cardinal_zh(window_no)}号窗口办理"
    return RECALL_SPOKEN + spoken if recall else spoken


def call_pinyin(ticket_no: str, window_no: int, recall: bool = False, one: str = "一") -> str:
    """:func:`call_speech` as tone-numbered pinyin for the ``cmn-latn-pinyin`` voice.

    ``call_pinyin("A001", 3)`` → ``"qing3 ei1 ling2 ling2 yi1 hao4 dao4 san1 hao4 chuang1 kou3
    ban4 li3"``. A fixed table, no dictionary: a call has only these words.
    """
    words = []
    for ch in call_speech(ticket_no, window_no, recall, one):
        if ch in _LETTER_PINYIN:
            words.append(_LETTER_PINYIN[ch])
        else:
            words.append(_PINYIN[ch])
    return " ".join(words)


def spell_ticket_no(ticket_no: str, one: str = "一") -> str:
    """A ticket number with each digit replaced by its Chinese reading: ``A001`` → ``A零零一``
    (``A零零幺`` when the hall reads 1 as 幺).

    Raises:
        ValueError: ``one`` is neither 一 nor 幺.
    """
    if one not in ONE_READINGS:
        raise ValueError(f"the digit 1 is read 一 or 幺, not {one!r}")
    digits = DIGIT_ZH | {"1": one}
    return "".join(digits.get(ch, ch) for ch in ticket_no)


def cardinal_zh(n: int) -> str:
    """A window number (1–999) as a Chinese cardinal: 3 → 三, 10 → 十, 12 → 十二, 20 → 二十,
    105 → 一百零五, 110 → 一百一十.

    Raises:
        ValueError: outside 1–999.
    """
    if not 1 <= n <= 999:
        raise ValueError(f"a window number is 1–999, not {n}")
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    d = DIGIT_ZH
    if hundreds == 0:
        head = "" if tens == 1 else d[str(tens)] if tens else ""
        return (head + "十" if tens else "") + (d[str(units)] if units else "")
    out = d[str(hundreds)] + "百"
    if tens:
        out += d[str(tens)] + "十"
    elif units:
        out += "零"
    return out + (d[str(units)] if units else "")
