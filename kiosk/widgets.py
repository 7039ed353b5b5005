"""The few widgets every Hall Edge window is built from, with the hall's colours.

Each widget has a ``ui_id``: a stable name the UI tests find it by (``take_button``,
``ticket_no`` …). Kivy's kv ``id`` is local to one rule, so it cannot serve here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kivy.graphics.texture import Texture
from kivy.lang import Builder
from kivy.properties import ColorProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

#: Government-hall palette: deep blue header, light page, strong colours only for states.
#: Every text colour meets WCAG AA (4.5:1) on the backgrounds it is drawn on, and white meets
#: it on every fill (``tests/test_contrast.py`` measures the pairs the windows really draw).
#: AMBER, GREEN, VALLEY and GREY were darkened for it: white on the old amber was 2.1:1 (the
#: PAD's 过号), on the old grey 2.5:1 (返回首页).
BLUE = (0.11, 0.31, 0.54, 1)
PAGE = (0.95, 0.96, 0.98, 1)
INK = (0.12, 0.14, 0.18, 1)
MUTED = (0.38, 0.42, 0.48, 1)
WHITE = (1, 1, 1, 1)
RED = (0.80, 0.12, 0.12, 1)
AMBER = (0.64, 0.36, 0.0, 1)
GREEN = (0.10, 0.48, 0.26, 1)
VALLEY = (0.12, 0.42, 0.60, 1)
CARD = (1, 1, 1, 1)
GREY = (0.29, 0.33, 0.39, 1)
#: A disabled button: a pale fill with dark grey text (still readable, clearly not live).
DISABLED_FILL = (0.85, 0.87, 0.90, 1)
DISABLED_INK = (0.33, 0.36, 0.41, 1)

#: 关爱模式 (care mode) palette: each colour of the normal palette has a deeper or plainer
#: twin, so that every pair reaches WCAG AAA (7:1): white page, black ink, dark fills.
CARE_PALETTE: dict[tuple[float, ...], tuple[float, ...]] = {
    BLUE: (0.02, 0.17, 0.40, 1),
    PAGE: (1, 1, 1, 1),
    INK: (0, 0, 0, 1),
    MUTED: (0.16, 0.16, 0.18, 1),
    RED: (0.62, 0.0, 0.0, 1),
    AMBER: (0.45, 0.24, 0.0, 1),
    GREEN: (0.0, 0.33, 0.16, 1),
    VALLEY: (0.02, 0.27, 0.43, 1),
    GREY: (0.13, 0.14, 0.16, 1),
    DISABLED_FILL: (0.88, 0.88, 0.90, 1),
    DISABLED_INK: (0.20, 0.20, 0.22, 1),
}
#: The ratio every text must reach: WCAG AA for normal text; AAA in care mode.
CONTRAST_MIN = 4.5
CARE_CONTRAST_MIN = 7.0

#: A kiosk function's tile colour, by the name its registry row gives
#: (:data:`flows.kiosk_functions.COLOURS`).
TILE_COLOURS = {"blue": BLUE, "green": GREEN, "teal": VALLEY, "amber": AMBER}

#: Up to this many big buttons stand in one column (what the elderly find easiest); more go
#: in two columns.
SINGLE_COLUMN_MAX = 4

Builder.load_string(
    """
<Panel>:
    canvas.before:
        Color:
            rgba: self.bg
        Rectangle:
            pos: self.pos
            size: self.size

<Text>:
    text_size: self.width, None
    halign: "center"
    valign: "middle"
    color: 0.12, 0.14, 0.18, 1

<TouchButton>:
    background_normal: ""
    background_down: ""
    background_disabled_normal: ""
    background_color: self.fill if not self.disabled else self.disabled_fill
    color: 1, 1, 1, 1
    disabled_color: self.disabled_ink
    halign: "center"
    valign: "middle"
    text_size: self.width - dp(16), None
"""
)


class Panel(BoxLayout):
    """A box with a plain background colour."""

    ui_id = StringProperty("")
    bg = ColorProperty(PAGE)


class Text(Label):
    """A label that wraps to its width and keeps its ``ui_id``."""

    ui_id = StringProperty("")


class TouchButton(Button):
    """A large touch target (at least 80 px high in every window)."""

    ui_id = StringProperty("")
    fill = ColorProperty(BLUE)
    disabled_fill = ColorProperty(DISABLED_FILL)
    disabled_ink = ColorProperty(DISABLED_INK)


def clear_into(box: BoxLayout, *widgets: Any) -> None:
    """Replace a box's children with ``widgets``, in order."""
    box.clear_widgets()
    for w in widgets:
        box.add_widget(w)


def header(title: str, ui_id: str, right: str = "", right_id: str = "") -> Panel:
    """The blue bar at the top of a window: a title left, a status right."""
    bar = Panel(orientation="horizontal", bg=BLUE, size_hint_y=None, height=72, padding=(20, 0))
    bar.add_widget(
        Text(text=title, ui_id=ui_id, color=WHITE, font_size=30, bold=True, halign="left")
    )
    if right or right_id:
        bar.add_widget(
            Text(
                text=right,
                ui_id=right_id,
                color=WHITE,
                font_size=22,
                halign="right",
                size_hint_x=0.6,
            )
        )
    return bar


def grid_columns(count: int, single_column_max: int = SINGLE_COLUMN_MAX) -> int:
    """How many columns :func:`button_grid` should use for ``count`` buttons: 1 or 2."""
    return 1 if count <= single_column_max else 2


def button_grid(buttons: list[Widget], columns: int, row_height: int) -> ScrollView:
    """Big buttons in ``columns`` columns of ``row_height`` rows (the service list, the kiosk's
    home tiles), all reachable whatever their number.

    The caller picks columns and height so that the usual count fits without scrolling (two
    columns keep ten services on a kiosk screen); beyond that the list scrolls rather than
    running off the bottom of the screen.
    """
    grid = GridLayout(
        cols=columns,
        spacing=16 if columns == 1 else 12,
        padding=(0, 8),
        size_hint_y=None,
        row_default_height=row_height,
        row_force_default=True,
    )
    grid.bind(minimum_height=grid.setter("height"))
    for button in buttons:
        grid.add_widget(button)
    scroll = ScrollView(do_scroll_x=False, bar_width=12)
    scroll.add_widget(grid)
    return scroll


def qr_widget(rows: Sequence[str], size: int, ui_id: str = "") -> Image:
    """A QR code drawn from its modules (``rows``, top to bottom, ``"1"`` dark), ``size``
    pixels square.

    The texture holds one pixel per module and is scaled up with nearest-neighbour filtering,
    so the edges stay sharp; no image is encoded or decoded on the Kivy thread (a PNG of the
    symbol cost tens of milliseconds per screen).
    """
    n = len(rows)
    pixels = bytearray()
    for row in reversed(rows):  # a texture's first row is its bottom one
        for module in row:
            pixels += b"\x00\x00\x00\xff" if module == "1" else b"\xff\xff\xff\xff"
    texture = Texture.create(size=(n, n), colorfmt="rgba")
    texture.blit_buffer(bytes(pixels), colorfmt="rgba", bufferfmt="ubyte")
    texture.mag_filter = texture.min_filter = "nearest"
    image = Image(texture=texture, size_hint=(None, None), size=(size, size), fit_mode="fill")
    image.ui_id = ui_id  # type: ignore[attr-defined]
    return image


def find(root: Any, ui_id: str) -> Any:
    """The widget under ``root`` (itself included) with this ``ui_id``, or None."""
    for w in root.walk(restrict=True):
        if getattr(w, "ui_id", None) == ui_id:
            return w
    return None
