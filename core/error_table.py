"""The error-code table as Markdown, generated from the error classes.

``docs/error-codes.md`` embeds this table between markers; ``python main.py errors --write``
regenerates it and a test fails when the two drift apart.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import Command
from core.errors import all_error_types
from core.strings_zh import ERROR_TEXT

DOC = Path(__file__).resolve().parent.parent / "docs" / "error-codes.md"
BEGIN = "<!-- error-table:begin -->"
END = "<!-- error-table:end -->"


def markdown_table() -> str:
    rows = ["| code | key | type | citizen sees | meaning |", "|---|---|---|---|---|"]
    for cls in all_error_types():
        doc = (cls.__doc__ or "").strip().splitlines()
        meaning = doc[0] if doc and cls.__doc__ != cls.__mro__[1].__doc__ else ""
        rows.append(
            f"| {cls.code} | `{cls.key}` | `{cls.__name__}` | {ERROR_TEXT.get(cls.key, '')} | {meaning} |"
        )
    return "\n".join(rows)


def render_doc(text: str) -> str:
    """The doc text with the table between the markers replaced by the current one."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}"


def write_doc() -> None:
    DOC.write_text(render_doc(DOC.read_text(encoding="utf-8")), encoding="utf-8")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--write", action="store_true", help="update docs/error-codes.md")


def run(args: argparse.Namespace) -> int:
    if args.write:
        write_doc()
    print(markdown_table())
    return 0


COMMANDS = (
    Command("errors", "print the error-code table (Markdown)", _arguments, "core.error_table:run"),
)
