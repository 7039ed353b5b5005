"""Start a simulated device's window: ``python main.py display|rating-pad [options]``.

The call display and the rating pad are devices a hall buys; in the demo and the UI tests
they are simulators with a window (:mod:`simulation.display_window`,
:mod:`simulation.rating_window`). Each listens on a loopback port, and the PAD reaches it with
``tcp://127.0.0.1:PORT`` through the real driver. Kivy is set up as for the hall's own windows
(:func:`kiosk.launch.prepare_kivy`).

Examples::

    python main.py display --port 7601
    python main.py rating-pad --port 7602
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from core.cli import Command
from core.config import DEFAULT_CONFIG, load_hall_config
from kiosk.launch import add_window_arguments, prepare_kivy

if TYPE_CHECKING:
    from kivy.app import App

#: The commands, with their window size and default port (the demo's).
WINDOWS = {"display": ("1024x600", 7601), "rating-pad": ("800x480", 7602)}


def run(args: argparse.Namespace) -> int:
    """Build the window ``args.app`` names and run it until it is closed; returns 0.

    Raises:
        ConfigError (100): a bad option, an unreadable hall config, a missing CJK font.
    """
    build_app_from(args).run()
    return 0


def _window_arguments(name: str) -> Callable[[argparse.ArgumentParser], None]:
    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="hall config TOML")
        add_window_arguments(parser)
        parser.add_argument(
            "--port",
            type=int,
            default=WINDOWS[name][1],
            help="TCP port the simulated device listens on (127.0.0.1)",
        )
        parser.set_defaults(app=name)

    return add


HELP = {"display": "hall call display, simulated in a window",
        "rating-pad": "好差评 rating pad, simulated in a window"}


def parser() -> argparse.ArgumentParser:
    """The command line of the simulated device windows, on their own."""
    top = argparse.ArgumentParser(prog="main.py", description="a simulated hall device window")
    sub = top.add_subparsers(dest="app", required=True)
    for name in WINDOWS:
        _window_arguments(name)(sub.add_parser(name, help=HELP[name]))
    return top


def build_app(argv: Sequence[str] | None) -> App:
    """Configure Kivy and build (not run) the window the command line asks for.

    Raises:
        ConfigError (100): see :func:`run`.
    """
    return build_app_from(parser().parse_args(list(argv) if argv is not None else None))


def build_app_from(args: argparse.Namespace) -> App:
    """Configure Kivy and build (not run) the window of parsed arguments."""
    hall = load_hall_config(args.config)
    prepare_kivy(args.size or WINDOWS[args.app][0], args.position)
    if args.app == "display":
        from simulation.display_window import CallDisplayWindow

        return CallDisplayWindow(port=args.port, hall_name=hall.name, one=hall.read_one_as)
    from simulation.rating_window import RatingPadWindow

    return RatingPadWindow(port=args.port, hall_name=hall.name)


COMMANDS = tuple(
    Command(name, HELP[name], _window_arguments(name), "simulation.launch:run") for name in WINDOWS
)
