"""The kiosk's on-screen keyboard and the text field that uses it: a touch screen has no keys.

Four layouts:

* ``pinyin``: QWERTY letters, a candidate bar (the composing letters, the words for them
  from :mod:`flows.pinyin_input`, ◀ ▶ to page), 删除, 分词 (``'``), 空格 (picks the first
  word), 清空;
* ``digits``: 0–9 (a phone number, an amount, a house number, a utility account);
* ``id_number``: 0–9 and X, X only as the 18th character (the check digit of a 居民身份证号);
* ``code``: 0–9 and the capital letters A–Z typed as themselves (a 办件编号 such as
  ``BJ012345678901``, a contract number): on the pinyin layout a letter only ever becomes a
  Chinese word.

A field may offer more than one layout (names and addresses: ``("pinyin", "digits")``, with a
key to switch). The words come from the process's pinyin dictionary; until it is open (the
first start on a machine builds it, :func:`flows.pinyin_input.warm_up`) the candidate bar says
so and the letters wait.

Every key has a ``ui_id`` under the field's: ``<field>_key_b``, ``<field>_key_backspace``,
``<field>_candidate_0``, ``<field>_next``; the field's text is the label ``<field>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from flows.pinyin_input import PinyinComposer, dictionary_if_ready, warm_up
from kiosk.widgets import BLUE, CARD, GREY, INK, MUTED, PAGE, Panel, Text, TouchButton

LAYOUTS = ("pinyin", "digits", "id_number", "code")
BACKSPACE = "backspace"
#: The keys of each layout, row by row; ``BACKSPACE`` is 删除.
KEY_ROWS: dict[str, tuple[tuple[str, ...], ...]] = {
    "pinyin": (tuple("qwertyuiop"), tuple("asdfghjkl"), (*"zxcvbnm", BACKSPACE)),
    "digits": (tuple("123"), tuple("456"), tuple("789"), ("clear", "0", BACKSPACE)),
    "id_number": (tuple("123"), tuple("456"), tuple("789"), ("X", "0", BACKSPACE)),
    "code": (tuple("1234567890"), tuple("QWERTYUIOP"), tuple("ASDFGHJKL"),
             (*"ZXCVBNM", BACKSPACE, "clear")),
}
KEY_LABELS = {
    BACKSPACE: "删除",
    "clear": "清空",
    "space": "空格",
    "separator": "分词",
    "layout_pinyin": "拼音",
    "layout_digits": "123",
}
#: A 居民身份证号 is 18 characters; X can only be the last (GB 11643 check digit).
ID_NUMBER_LENGTH = 18
KEY_HEIGHT = 64
#: Five words and the composing letters fit a 640-px bar with each word on one line (six
#: two-character words wrapped into columns).
CANDIDATES_PER_PAGE = 5
PREEDIT_WIDTH = 120
#: How often a keyboard whose dictionary is still being built looks again.
DICTIONARY_POLL_S = 0.5


class KeyboardField(BoxLayout):
    """A text field with its own on-screen keyboard under it.

    Args:
        ui_id: the field's name; its keys are named after it.
        layouts: the layouts offered, the first shown first (:data:`LAYOUTS`).
        hint: shown, muted, while the field is empty (请输入姓名).
        max_length: the most characters the field takes.
        text: what it holds to begin with.
        foldable: the keys show only once the citizen taps the field (or its 输入 button), and
            收起 folds them away: a search screen keeps its room for the results.

    Attributes:
        text: the field's text (bind to it, or read it when the citizen taps 提交).
        composing: the letters typed on the pinyin layout and not yet put into the field,
            without separators (a search can match them as pinyin while the citizen types).

    Events:
        on_typed: after each key or candidate the citizen tapped (not after :meth:`wipe` or
            a ``text`` set by the program).
    """

    __events__ = ("on_typed",)

    ui_id = StringProperty("")
    text = StringProperty("")
    composing = StringProperty("")
    hint = StringProperty("")
    max_length = NumericProperty(50)
    unfolded = BooleanProperty(True)

    def __init__(self, layouts: Sequence[str] = ("pinyin",), foldable: bool = False,
                 **kwargs: Any) -> None:  # fmt: skip
        kwargs.setdefault("orientation", "vertical")
        kwargs.setdefault("spacing", 8)
        kwargs.setdefault("size_hint_y", None)
        super().__init__(**kwargs)
        unknown = [name for name in layouts if name not in LAYOUTS]
        if unknown or not layouts:
            raise ValueError(f"keyboard layouts {unknown or layouts!r}: one or more of {LAYOUTS}")
        self.layouts = tuple(layouts)
        self.layout = self.layouts[0]
        self.composer = PinyinComposer(dictionary_if_ready(), page_size=CANDIDATES_PER_PAGE)
        if self.composer.dictionary is None and "pinyin" in self.layouts:
            warm_up()
        self._display = Panel(bg=CARD, size_hint_y=None, height=72, padding=(16, 0))
        self._value = Text(ui_id=self.ui_id, font_size=34, color=INK, halign="left")
        self._hint = Text(ui_id=f"{self.ui_id}_hint", font_size=28, color=MUTED, halign="left")
        self._display.add_widget(self._value)
        self.foldable = foldable
        self.unfolded = not foldable
        self._fold = TouchButton(ui_id=f"{self.ui_id}_fold", font_size=24, fill=GREY,
                                 size_hint_x=None, width=120)  # fmt: skip
        self._fold.bind(on_release=lambda _b: self.set_unfolded(not self.unfolded))
        self._candidates = BoxLayout(spacing=6, size_hint_y=None, height=KEY_HEIGHT)
        self._keys = BoxLayout(orientation="vertical", spacing=6, size_hint_y=None)
        # 朗读 reads the field and what is composed, not forty keys.
        self._keys.read_aloud = False
        self._candidates.read_aloud = False
        self.bind(text=lambda *_: self._show_text(), hint=lambda *_: self._show_text(),
                  composing=lambda *_: self._show_text())  # fmt: skip
        self._draw()

    # --- keys -----------------------------------------------------------------------------

    def press(self, key: str) -> None:
        """What a key tap does (also for a hardware keyboard or a test)."""
        if key == BACKSPACE:
            if not (self.layout == "pinyin" and self.composer.backspace()):
                self.text = self.text[:-1]
        elif key == "clear":
            self.composer.clear()
            self.composing = ""
            self.text = ""
        elif key == "space":
            if self.composer.composing:
                self._pick(0)
        elif key == "separator":
            self.composer.type("'")
        elif key.startswith("layout_"):
            self.composer.clear()
            self.layout = key.removeprefix("layout_")
            self._draw()
            return
        elif self.layout == "pinyin" and key.isalpha():
            self.composer.type(key)
        elif self.layout == "id_number" and key == "X":
            if len(self.text) == ID_NUMBER_LENGTH - 1:
                self._insert("X")
        else:
            self._insert(key)
        self._show_candidates()
        self.dispatch("on_typed")

    def on_typed(self) -> None:
        """Default handler of the ``on_typed`` event."""

    def set_unfolded(self, unfolded: bool) -> None:
        """Show the keys (输入) or fold them away (收起); only a foldable field folds.

        Folding puts what is being composed into the field as typed (``sf``), as a phone's
        keyboard does when it hides: the box then shows what the list was searched for.
        """
        self.unfolded = unfolded or not self.foldable
        if not self.unfolded and self.composer.composing:
            self._insert(self.composer.commit_letters())
            self._show_candidates()
            self.dispatch("on_typed")
        self._arrange()

    def on_touch_down(self, touch: Any) -> bool:
        # A tap anywhere on a folded field's box opens its keys, as a phone's search box does.
        if not self.unfolded and self._display.collide_point(*touch.pos):
            self.set_unfolded(True)
            return True
        return bool(super().on_touch_down(touch))

    def wipe(self) -> None:
        """Forget what was typed (the session purge): the text, the composition, the
        candidates shown for it; a foldable field folds again."""
        self.composer.clear()
        self.composing = ""
        self.text = ""
        if self.foldable and self.unfolded:
            self.set_unfolded(False)  # nothing composed is left to put into the field
        self._candidates.clear_widgets()
        self._value.text = ""

    def _insert(self, text: str) -> None:
        limit = ID_NUMBER_LENGTH if self.layout == "id_number" else int(self.max_length)
        self.text = (self.text + text)[:limit]

    def _pick(self, position: int) -> None:
        done = self.composer.pick(position)
        if done:
            self._insert(done)
        self._show_candidates()
        self.dispatch("on_typed")

    # --- drawing --------------------------------------------------------------------------

    def _draw(self) -> None:
        self._keys.clear_widgets()
        rows = KEY_ROWS[self.layout]
        for row in rows:
            self._keys.add_widget(self._key_row(row))
        switch = [f"layout_{name}" for name in ("pinyin", "digits") if name in self.layouts]
        switch = [k for k in switch if k != f"layout_{self.layout}"]
        if self.layout == "pinyin":
            self._keys.add_widget(self._key_row((*switch, "separator", "space", "clear")))
        elif switch:
            self._keys.add_widget(self._key_row(tuple(switch)))
        self._keys.height = len(self._keys.children) * (KEY_HEIGHT + 6)
        self._arrange()
        self._show_text()
        self._show_candidates()

    def _arrange(self) -> None:
        self.clear_widgets()
        self.add_widget(self._display)
        if self.foldable:
            self._fold.text = "收起" if self.unfolded else "输入"
            if self._fold.parent is None:
                self._display.add_widget(self._fold)
        if self.unfolded:
            if self.layout == "pinyin":
                self.add_widget(self._candidates)
            self.add_widget(self._keys)
        self.height = sum(c.height for c in self.children) + self.spacing * len(self.children)

    def _key_row(self, keys: Sequence[str]) -> GridLayout:
        row = GridLayout(cols=len(keys), spacing=6, size_hint_y=None, height=KEY_HEIGHT)
        for key in keys:
            wide = key in ("space", "clear", "separator", BACKSPACE) or key.startswith("layout_")
            button = TouchButton(
                text=KEY_LABELS.get(key, key),
                ui_id=f"{self.ui_id}_key_{key.lower()}",
                font_size=24 if wide else 32,
                fill=GREY if wide or key == BACKSPACE else BLUE,
            )
            button.bind(on_release=lambda _b, k=key: self.press(k))
            row.add_widget(button)
        return row

    def _show_text(self) -> None:
        self._value.text = self.text
        showing_hint = self._hint.parent is not None
        if not self.text and not self.composing and self.hint:
            self._hint.text = self.hint
            if not showing_hint:
                # Left of 输入/收起, which stays the row's last; the empty value gives it its room.
                self._display.add_widget(self._hint, index=1 if self._fold.parent else 0)
                self._value.size_hint_x, self._value.width = None, 0
        elif showing_hint:
            self._display.remove_widget(self._hint)
            self._value.size_hint_x = 1

    def _show_candidates(self) -> None:
        self.composing = self.composer.letters.replace("'", "")
        if self.layout != "pinyin":
            return
        bar = self._candidates
        bar.clear_widgets()
        preedit = Text(
            text=self.composer.preedit,
            ui_id=f"{self.ui_id}_preedit",
            font_size=26,
            color=BLUE,
            size_hint_x=None,
            width=PREEDIT_WIDTH,
        )
        bar.add_widget(preedit)
        if self.composer.dictionary is None:
            self.composer.dictionary = dictionary_if_ready()
            if self.composer.dictionary is None:
                bar.add_widget(Text(text="正在加载词库，请稍候…", font_size=24, color=MUTED))
                Clock.schedule_once(lambda _dt: self._show_candidates(), DICTIONARY_POLL_S)
                return
        shown = self.composer.shown()
        if self.composer.page > 0:
            bar.add_widget(self._paging("prev", "◀"))
        for i, candidate in enumerate(shown):
            button = TouchButton(
                text=candidate.text,
                ui_id=f"{self.ui_id}_candidate_{i}",
                font_size=30,
                fill=PAGE,
                color=INK,
                size_hint_x=max(1, len(candidate.text)),
            )
            button.bind(on_release=lambda _b, i=i: self._pick(i))
            bar.add_widget(button)
        if self.composer.has_next_page():
            bar.add_widget(self._paging("next", "▶"))

    def _paging(self, name: str, label: str) -> TouchButton:
        button = TouchButton(
            text=label, ui_id=f"{self.ui_id}_{name}", font_size=26, fill=GREY, size_hint_x=None,
            width=64,
        )
        step = self.composer.next_page if name == "next" else self.composer.previous_page
        button.bind(on_release=lambda _b: (step(), self._show_candidates()))
        return button
