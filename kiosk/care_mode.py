"""关爱模式 (care mode) drawn on any screen: larger type, fewer choices at once, high contrast.

The kiosk window restyles whatever is on screen after drawing it, so every function's screens
get care mode without a line of their own: text and fixed heights grow by :data:`CARE_SCALE`,
the window's own bars keep their heights (marked ``care_keep_height``) so the body keeps its
room, each colour of the normal palette becomes its care twin (:data:`kiosk.widgets.CARE_PALETTE`,
7:1 contrast or more), and a grid of buttons shows fewer columns (the rest scroll). A screen
that wants more (a shorter list, a slower countdown) reads ``ui.care``
(:class:`kiosk.functions.FunctionUi`).

Each widget keeps its normal style the first time it is restyled, so switching back restores
it exactly.
"""

from __future__ import annotations

from typing import Any

from kivy.uix.gridlayout import GridLayout

from kiosk.widgets import CARE_PALETTE

#: How much larger text and fixed heights are in care mode.
CARE_SCALE = 1.3
#: The most columns a button grid has in care mode: two big buttons side by side at most.
CARE_MAX_COLUMNS = 2
#: With this many buttons or fewer, a care-mode grid is one column, as the elderly find easiest.
CARE_ONE_COLUMN_MAX = 6
#: Text grows up to this size; text already as large (a ticket number) stays as it is.
CARE_FONT_MAX = 60
#: Rows of a grid grow up to this height; rows already as tall stay as they are.
CARE_ROW_MAX = 180

_COLOUR_PROPERTIES = ("color", "bg", "fill", "disabled_fill", "disabled_ink")


def _key(colour: Any) -> tuple[float, ...]:
    return tuple(round(float(c), 3) for c in colour)


_CARE = {_key(normal): care for normal, care in CARE_PALETTE.items()}


def restyle(root: Any, care: bool) -> None:
    """Put every widget under ``root`` in care mode, or back in the normal one."""
    for widget in root.walk(restrict=True):
        normal = widget.__dict__.get("_normal_style")
        if normal is None:
            if not care:
                continue  # never restyled: it is in its normal style already
            normal = _normal_style(widget)
            widget.__dict__["_normal_style"] = normal
        _apply(widget, normal, care)


def _normal_style(widget: Any) -> dict[str, Any]:
    style: dict[str, Any] = {}
    for name in _COLOUR_PROPERTIES:
        if hasattr(widget, name) and widget.property(name, quiet=True) is not None:
            style[name] = tuple(getattr(widget, name))
    if widget.property("font_size", quiet=True) is not None and not getattr(
        widget, "care_keep_font", False
    ):
        style["font_size"] = widget.font_size
    keep = getattr(widget, "care_keep_height", False) or isinstance(widget, GridLayout)
    if widget.size_hint_y is None and not keep:
        # A grid's height follows its rows (bound to minimum_height); its rows are scaled.
        # The window's own bars keep theirs, so the screen's body keeps its room.
        style["height"] = widget.height
    if isinstance(widget, GridLayout):
        style["cols"] = widget.cols
        style["row_default_height"] = widget.row_default_height
    return style


def _apply(widget: Any, normal: dict[str, Any], care: bool) -> None:
    scale = CARE_SCALE if care else 1.0
    for name in _COLOUR_PROPERTIES:
        if name in normal:
            colour = normal[name]
            setattr(widget, name, _CARE.get(_key(colour), colour) if care else colour)
    if "font_size" in normal:
        size = normal["font_size"]
        widget.font_size = min(size * scale, max(size, CARE_FONT_MAX))
    if "height" in normal:
        widget.height = normal["height"] * scale
    if "cols" in normal and normal["cols"]:
        columns = normal["cols"]
        if care:
            few = len(widget.children) <= CARE_ONE_COLUMN_MAX
            columns = 1 if few else min(columns, CARE_MAX_COLUMNS)
        widget.cols = columns
        row = normal["row_default_height"]
        widget.row_default_height = min(row * scale, max(row, CARE_ROW_MAX))
