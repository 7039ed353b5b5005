"""The command table of ``python main.py``: each package registers its own commands.

A package that offers commands lists them as ``COMMANDS`` in one module, and ``main.py`` names
that module once. A :class:`Command` only declares its arguments; the work it runs is imported
when the command runs, so ``python main.py --help`` loads neither Kivy, OpenCV nor the
collector service.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One ``python main.py NAME`` command.

    Args:
        name: the word typed after ``main.py``.
        help: one line for ``--help``.
        add_arguments: declares the command's options on its own parser.
        run: ``"module:function"``; the function takes the parsed arguments and returns the
            process exit status. Resolved only when the command runs.
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: str

    def runner(self) -> Callable[[argparse.Namespace], int]:
        module, _, function = self.run.partition(":")
        return getattr(importlib.import_module(module), function)


def commands_of(modules: Iterable[str]) -> list[Command]:
    """Every command the named modules register, in their order.

    Raises:
        ValueError: two modules register the same command name.
    """
    found: dict[str, Command] = {}
    for module in modules:
        for command in importlib.import_module(module).COMMANDS:
            if command.name in found:
                raise ValueError(f"command {command.name!r} registered twice ({module})")
            found[command.name] = command
    return list(found.values())


def build_parser(commands: Sequence[Command], description: str) -> argparse.ArgumentParser:
    """The top-level parser: ``-v`` and one subcommand per registered command."""
    parser = argparse.ArgumentParser(prog="main.py", description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands:
        command.add_arguments(sub.add_parser(command.name, help=command.help,
                                             description=command.help))
    return parser
