"""The CJK font every Hall Edge window draws its text with (:mod:`core.fonts`)."""

from __future__ import annotations

from pathlib import Path

from core.fonts import CJK_BOLD, CJK_REGULAR, require_font


def use_cjk_font(regular: Path = CJK_REGULAR, bold: Path = CJK_BOLD) -> None:
    """Make the Noto CJK font Kivy's default font, for every label and button.

    Call before the first widget is built.

    Args:
        regular: the regular face.
        bold: the bold face; the regular one stands in when it is missing.

    Raises:
        ConfigError (100): the regular font file is missing (install fonts-noto-cjk).
    """
    from kivy.core.text import DEFAULT_FONT, LabelBase

    require_font(regular)
    LabelBase.register(
        DEFAULT_FONT,
        fn_regular=str(regular),
        fn_bold=str(bold if bold.is_file() else regular),
    )
