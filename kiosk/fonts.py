"""The CJK font every Hall Edge window draws its text with.

Kivy's bundled Roboto has no Chinese glyphs: without this, every 汉字 renders as a box (tofu).
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ConfigError

#: Debian package fonts-noto-cjk. Face 0 of the collection is used (Kivy cannot pick a face);
#: every face covers the whole Simplified Chinese set.
CJK_REGULAR = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_BOLD = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")


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

    if not regular.is_file():
        raise ConfigError(
            f"Chinese font {regular} is missing; install the Debian package fonts-noto-cjk "
            "(scripts/system-deps.sh)",
            path=str(regular),
        )
    LabelBase.register(
        DEFAULT_FONT,
        fn_regular=str(regular),
        fn_bold=str(bold if bold.is_file() else regular),
    )
