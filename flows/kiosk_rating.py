"""服务评价: the citizen rates a kiosk transaction on the five national 好差评 levels.

Any kiosk function can end with it: its last step returns :func:`rate_screen` (with the
transaction's service item and reference) instead of a screen of its own, and
:class:`flows.kiosk_functions.KioskHome` hands the citizen to a :class:`KioskRating` for that
transaction; the window draws its screens (``kiosk/functions/rating.py``) whatever the
function. The 服务评价 tile (:class:`RatingTileFlow`) opens the same screens for the
transaction the citizen just did here, or for the kiosk's service in general.

The rules (GB/T 39735-2020 practice, :mod:`core.rating`): 非常满意 … 非常不满意, and a 差评
(不满意 or 非常不满意) needs a reason, picked from :data:`BAD_REASONS` or typed. The rating is
journaled as ``kiosk.rated`` through the kiosk's transaction journal; a typed reason has long
digit runs (a phone or ID number typed by mistake) masked before it is stored, since events
carry no personal data (``docs/privacy.md``).
"""

from __future__ import annotations

import re
from typing import Any

from core.events import Kind
from core.rating import LEVEL_LABELS, is_bad_review
from flows.screens import Screen
from flows.transactions import TransactionJournal

#: The screen a function returns to hand the citizen to rating, and the one after it.
RATE = "rate"
RATED = "rated"
RATING_SCREENS = frozenset({RATE, RATED})

#: Preset reasons for a 差评, what citizens most often say about a self-service kiosk.
BAD_REASONS = (
    "操作步骤太多",
    "等待时间太长",
    "页面看不清楚",
    "设备故障",
    "结果与预期不符",
    "其他",
)
OTHER = "其他"
#: The longest typed reason kept.
NOTE_MAX = 100
#: Six digits or more in a typed reason are masked: a phone, an ID or a bank card number.
_LONG_NUMBER = re.compile(r"\d{6,}[\dXx]?")


def rate_screen(item: str = "", ref: str = "", last: bool = False) -> Screen:
    """What a function's last step returns to let the citizen rate what they just did.

    Args:
        item: the service item or bill type, as in the function's ``kiosk.transaction``.
        ref: what finds the transaction upstream (a case or order number); never personal.
        last: rate the transaction this citizen last did at the kiosk and did not rate
            (the 服务评价 tile); without one, the tile's own function is rated.
    """
    return Screen(RATE, "form", {"item": item, "ref": ref, "last": last})


def mask_numbers(text: str) -> str:
    """A typed reason with long digit runs replaced by ``***``."""
    return _LONG_NUMBER.sub("***", text)


class KioskRating:
    """One citizen rating one transaction: the level, the reasons, then ``kiosk.rated``.

    Args:
        journal: where the rating is journaled (the kiosk's transaction journal).
        function: the kiosk function rated (``bill_payment``).
        item: the service item rated.
        ref: the transaction's reference.

    Attributes:
        level: the level picked (5 非常满意 … 1 非常不满意), or None.
        reasons: the preset reasons picked, in :data:`BAD_REASONS` order.
        note: the reason typed, as typed so far.
        writing: the citizen is typing the reason (the keyboard screen).
        done: the rating is journaled.
    """

    def __init__(self, journal: TransactionJournal, function: str, item: str, ref: str) -> None:
        self.journal = journal
        self.function = function
        self.item = item
        self.ref = ref
        self.level: int | None = None
        self.reasons: list[str] = []
        self.note = ""
        self.writing = False
        self.done = False

    # --- steps ----------------------------------------------------------------------------

    def screen(self, error_key: str | None = None) -> Screen:
        """The screen as it stands."""
        if self.done:
            assert self.level is not None
            return Screen(RATED, "result", {"level": self.level, "label": LEVEL_LABELS[self.level]})
        data: dict[str, Any] = {
            "item": self.item,
            "levels": [
                {"level": lv, "label": LEVEL_LABELS[lv]} for lv in sorted(LEVEL_LABELS, reverse=True)
            ],
            "level": self.level,
            "reason_needed": self.level is not None and is_bad_review(self.level),
            "reasons": list(BAD_REASONS),
            "picked": list(self.reasons),
            "note": self.note,
            "writing": self.writing,
        }
        return Screen(RATE, "form", data, error_key=error_key)

    def choose(self, level: int) -> Screen:
        """A level tapped. A good one is journaled at once; a 差评 asks for the reason first."""
        if level not in LEVEL_LABELS:
            raise ValueError(f"rating level {level} outside 1..5")
        self.level = level
        if not is_bad_review(level):
            self.reasons, self.note = [], ""
            return self.submit()
        return self.screen()

    def toggle_reason(self, reason: str, note: str | None = None) -> Screen:
        """A preset reason tapped (on, or off again); ``note`` keeps what was typed so far."""
        if note is not None:
            self.note = note[:NOTE_MAX]
        if reason in BAD_REASONS:
            picked = set(self.reasons) ^ {reason}
            self.reasons = [r for r in BAD_REASONS if r in picked]
        return self.screen()

    def change_level(self) -> Screen:
        """重新选择: back to the five levels."""
        self.level, self.writing = None, False
        return self.screen()

    def write_note(self) -> Screen:
        """填写其他意见: the keyboard, to type the reason."""
        self.writing = True
        return self.screen()

    def save_note(self, note: str) -> Screen:
        """完成 under the keyboard: keep what was typed, back to the reasons."""
        self.note, self.writing = note[:NOTE_MAX], False
        return self.screen()

    def submit(self, note: str | None = None) -> Screen:
        """提交: journal ``kiosk.rated``; a 差评 without a reason is refused with its key."""
        if note is not None:
            self.note = note[:NOTE_MAX]
        if self.level is None:
            return self.screen()
        note_text = mask_numbers(self.note.strip())
        # 其他 alone says nothing: it stands for the words typed after it.
        said = [r for r in self.reasons if r != OTHER] + ([note_text] if note_text else [])
        if is_bad_review(self.level) and not said:
            return self.screen("rating_reason_required")
        reason = "；".join(said)
        self.journal.record(
            Kind.KIOSK_RATED,
            {
                "function": self.function,
                "item": self.item,
                "ref": self.ref,
                "level": self.level,
                "label": LEVEL_LABELS[self.level],
                "reasons": list(self.reasons),
                "reason": reason,
            },
        )
        self.done = True
        return self.screen()


class RatingTileFlow:
    """The 服务评价 tile's flow (a :class:`flows.kiosk_functions.KioskFlow`): its only screen is
    the rating; :class:`flows.kiosk_functions.KioskHome` fills in the transaction the citizen
    just did at this kiosk, if any."""

    def __init__(self, _context: object) -> None:
        pass

    def start(self) -> Screen:
        return rate_screen(item="自助终端服务", last=True)

    def leave(self) -> None:
        """Nothing of the citizen's is kept here."""
