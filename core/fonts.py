"""Where the Chinese font is: Noto Sans CJK from Debian's fonts-noto-cjk.

Kivy's Roboto and Pillow's default font have no Chinese glyphs: without this font every 汉字
in a window, a copy's watermark or a synthetic document is a box (tofu). The windows, docscan
and the simulators all draw with it, so it is looked up once, here.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ConfigError

#: Where fonts-noto-cjk installs the collections. Face 0 of a collection is used (Kivy cannot
#: pick a face); every face covers the whole Simplified Chinese set.
NOTO_CJK_DIR = Path("/usr/share/fonts/opentype/noto")
CJK_REGULAR = NOTO_CJK_DIR / "NotoSansCJK-Regular.ttc"
CJK_BOLD = NOTO_CJK_DIR / "NotoSansCJK-Bold.ttc"


def cjk_font() -> Path:
    """The Noto Sans CJK file (regular face).

    Raises:
        ConfigError (100): it is missing (install fonts-noto-cjk).
    """
    return require_font(CJK_REGULAR)


def require_font(path: Path) -> Path:
    """``path``, if the font file is there.

    Raises:
        ConfigError (100): it is not; the message names the Debian package.
    """
    if not path.is_file():
        raise ConfigError(
            f"Chinese font {path} is missing; install the Debian package fonts-noto-cjk "
            "(scripts/system-deps.sh)",
            path=str(path),
        )
    return path
