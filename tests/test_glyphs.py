"""Every character the kiosk's screens write is in the font they are drawn with.

A character Noto Sans CJK lacks draws as an empty box (办件查询's ✔ did). The check reads every
string literal of the Kivy apps and asks fontconfig for the font's character set."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from core.fonts import cjk_font

ROOT = Path(__file__).resolve().parent.parent


def _charset(font: str) -> set[int]:
    out = subprocess.run(
        ["fc-query", "--index", "0", "--format", "%{charset}", font],
        capture_output=True, text=True, check=True,
    ).stdout
    covered: set[int] = set()
    for part in out.split():
        first, _, last = part.partition("-")
        covered.update(range(int(first, 16), int(last or first, 16) + 1))
    return covered


def _ui_strings() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for ch in node.value:
                    if ord(ch) > 0x7F and not ch.isspace():
                        found.setdefault(ch, set()).add(path.name)
    return found


def test_every_character_on_the_kiosk_screens_is_in_the_cjk_font() -> None:
    covered = _charset(str(cjk_font()))
    strings = _ui_strings()
    assert len(strings) > 300  # the screens' Chinese text was read (417 characters today)
    missing = {f"{ch} U+{ord(ch):04X}": sorted(files) for ch, files in strings.items()
               if ord(ch) not in covered}  # fmt: skip
    assert not missing, missing
