"""Start one hall window: ``python main.py kiosk|pad|display|rating-pad [options]``.

One Kivy app per process. This module reads the options, builds the app's parts (hall
database, devices, MQTT listener) as factories the app calls on its worker thread, and runs
the window. Kivy is configured (no argv parsing, window size) before it is first imported.

Examples::

    python main.py kiosk --printer "sim://usb-printer?record=/tmp/tickets.jsonl"
    python main.py pad --window 3 --staff 003 --display tcp://127.0.0.1:7601 \\
        --rating-pad tcp://127.0.0.1:7602 --mqtt 127.0.0.1:1883
    python main.py display --port 7601
    python main.py rating-pad --port 7602
"""

from __future__ import annotations

import argparse
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import DEFAULT_CONFIG, HallConfig, load_hall_config
from core.errors import ConfigError

if TYPE_CHECKING:
    from kivy.app import App

    from flows.ticketing import TicketFlow
    from flows.window_desk import WindowDesk

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SIZES = {
    "kiosk": "720x960",
    "pad": "1180x800",
    "display": "1024x600",
    "rating-pad": "800x480",
}
DEFAULT_PORTS = {"display": 7601, "rating-pad": 7602}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one hall window until it is closed.

    Args:
        argv: the subcommand and its options, e.g. ``["kiosk", "--device-id", "kiosk-2"]``.

    Returns:
        The process exit code (0).

    Raises:
        ConfigError (100): a bad option, an unreadable hall config, a missing CJK font.
    """
    build_app(argv).run()
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line of the four hall windows."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=str(DEFAULT_CONFIG), help="hall config TOML")
    common.add_argument("--size", help="window size WxH in pixels")
    hall_db = argparse.ArgumentParser(add_help=False)
    hall_db.add_argument("--hall-db", help="hall database (default var/<hall id>/hall.db)")
    hall_db.add_argument("--device-id", help="this device's id in events")

    top = argparse.ArgumentParser(prog="main.py", description="one Hall Edge window")
    sub = top.add_subparsers(dest="app", required=True)
    kiosk = sub.add_parser("kiosk", parents=[common, hall_db], help="citizen kiosk (取号)")
    kiosk.add_argument("--printer", help="ticket printer URL (default: the hall config's)")
    kiosk.add_argument(
        "--idle-timeout",
        type=float,
        default=60.0,
        help="seconds without a tap before the kiosk goes home",
    )
    pad = sub.add_parser("pad", parents=[common, hall_db], help="window PAD (叫号)")
    pad.add_argument("--window", type=int, default=1, help="window number")
    pad.add_argument("--staff", default="", help="staff id to fill in at sign-in")
    pad.add_argument("--display", help="call display URL (default: the hall config's)")
    pad.add_argument("--rating-pad", help="rating pad URL (default: the hall config's)")
    pad.add_argument("--mqtt", help="broker host:port for tidal-window warnings")
    for name, help_text in (("display", "hall call display"), ("rating-pad", "rating pad")):
        app = sub.add_parser(name, parents=[common], help=f"{help_text}, simulated in a window")
        app.add_argument(
            "--port",
            type=int,
            default=DEFAULT_PORTS[name],
            help="TCP port the simulated device listens on (127.0.0.1)",
        )
    return top


def build_app(argv: Sequence[str] | None) -> App:
    """Configure Kivy and build (not run) the app the command line asks for.

    Raises:
        ConfigError (100): see :func:`main`.
    """
    args = parser().parse_args(list(argv) if argv is not None else None)
    hall = load_hall_config(args.config)
    _configure_kivy(_size(args.size or DEFAULT_SIZES[args.app]))
    from kiosk.fonts import use_cjk_font

    use_cjk_font()
    builders: dict[str, Callable[[argparse.Namespace, HallConfig], App]] = {
        "kiosk": _kiosk,
        "pad": _pad,
        "display": _display,
        "rating-pad": _rating_pad,
    }
    return builders[args.app](args, hall)


# --- the four apps -----------------------------------------------------------------------


def _kiosk(args: argparse.Namespace, hall: HallConfig) -> App:
    from kiosk.kiosk_app import KioskApp

    device_id = args.device_id or "kiosk-1"
    printer_url = args.printer or hall.devices.get("ticket_printer")
    db = _hall_db(args, hall)

    def build_flow() -> TicketFlow:
        from core.clock import SystemClock
        from devices.open import open_ticket_printer
        from flows.queue import HallQueue
        from flows.ticketing import TicketFlow

        printer = open_ticket_printer(printer_url, f"{device_id}-printer") if printer_url else None
        return TicketFlow(
            HallQueue(_connect(db), hall, SystemClock()),
            printer,
            device_id,
            SystemClock(),
            idle_timeout_s=args.idle_timeout,
        )

    def close_flow(flow: TicketFlow) -> None:
        if flow.printer is not None:
            flow.printer.close()
        flow.queue.conn.close()

    return KioskApp(build_flow, close_flow, hall_name=hall.name)


def _pad(args: argparse.Namespace, hall: HallConfig) -> App:
    from kiosk.pad_app import PadApp

    hall.window(args.window)  # an unknown window fails now, with its code, not in the UI
    device_id = args.device_id or f"pad-{args.window}"
    display_url = args.display or hall.devices.get("call_display")
    rating_url = args.rating_pad or hall.devices.get("rating_pad")
    mqtt = _mqtt(args.mqtt)
    db = _hall_db(args, hall)
    listeners: list[Any] = []

    def build_desk(on_change: Callable[[], None]) -> WindowDesk:
        from core.clock import SystemClock
        from devices.open import open_call_display, open_rating_pad
        from flows.queue import HallQueue
        from flows.window_desk import WindowDesk

        desk = WindowDesk(
            HallQueue(_connect(db), hall, SystemClock()),
            args.window,
            device_id,
            open_call_display(display_url, "call-display") if display_url else None,
            open_rating_pad(rating_url, f"rating-pad-{args.window}") if rating_url else None,
            SystemClock(),
            on_change=on_change,
        )
        if mqtt is not None:
            from agent.warnings_listener import WarningsListener

            listener = WarningsListener(mqtt[0], mqtt[1], hall.hall_id, desk.on_warnings)
            listener.start()
            listeners.append(listener)
        return desk

    def close_desk(desk: WindowDesk) -> None:
        for listener in listeners:
            listener.stop()
        for device in (desk.display, desk.rating_pad):
            if device is not None:
                device.close()
        desk.queue.conn.close()

    return PadApp(build_desk, close_desk, window_no=args.window, staff_id=args.staff)


def _display(args: argparse.Namespace, hall: HallConfig) -> App:
    from kiosk.display_app import DisplayApp

    return DisplayApp(port=args.port, hall_name=hall.name)


def _rating_pad(args: argparse.Namespace, hall: HallConfig) -> App:
    from kiosk.rating_app import RatingPadApp

    return RatingPadApp(port=args.port, hall_name=hall.name)


# --- helpers -----------------------------------------------------------------------------


def _configure_kivy(size: tuple[int, int]) -> None:
    # Kivy reads sys.argv and its config at first import; ours are not Kivy options.
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # SDL2's own clipboard: Kivy would otherwise look for xclip/xsel, absent on a kiosk.
    os.environ.setdefault("KIVY_CLIPBOARD", "sdl2")
    from kivy.config import Config

    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "resizable", "1")
    # A citizen pressing Esc on a kiosk keyboard must not close the window.
    Config.set("kivy", "exit_on_escape", "0")
    # Right-clicks would otherwise leave red multitouch dots on a touch screen.
    Config.set("input", "mouse", "mouse,disable_multitouch")


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise ConfigError(f"--size wants WxH, e.g. 720x960, got {text!r}", size=text)
    return int(width), int(height)


def _mqtt(text: str | None) -> tuple[str, int] | None:
    if not text:
        return None
    from core.netaddr import parse_host_port

    return parse_host_port(text)


def _hall_db(args: argparse.Namespace, hall: HallConfig) -> Path:
    path = Path(args.hall_db) if args.hall_db else ROOT / "var" / hall.hall_id / "hall.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _connect(path: Path) -> sqlite3.Connection:
    from agent import journal
    from core.errors import JournalError

    try:
        return journal.connect(path)
    except sqlite3.Error as err:
        raise JournalError(f"cannot open the hall database {path}: {err}", path=str(path)) from err
