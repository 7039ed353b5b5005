"""Start one hall window: ``python main.py kiosk|pad|display|rating-pad [options]``.

One Kivy app per process. This module reads the options, builds the app's parts (hall
database, devices, MQTT listener, remote control) as factories the app calls on its worker
thread, and runs the window. Kivy is configured (no argv parsing, window size) before it is
first imported.

With ``--mqtt`` a kiosk or PAD takes the collector's commands for its ``--device-id``
(:mod:`kiosk.app_remote`); after ``restart_app`` the process exits with 75.

Examples::

    python main.py kiosk --printer "sim://usb-printer?record=/tmp/tickets.jsonl" \\
        --device-id kiosk-1 --mqtt 127.0.0.1:1883
    python main.py pad --window 3 --staff 003 --display tcp://127.0.0.1:7601 \\
        --rating-pad tcp://127.0.0.1:7602 --mqtt 127.0.0.1:1883
    python main.py display --port 7601
    python main.py rating-pad --port 7602
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.commands import RESTART_EXIT_CODE
from core.config import DEFAULT_CONFIG, HallConfig, load_hall_config
from core.errors import ConfigError
from core.mqtt import add_mqtt_auth_arguments, mqtt_auth

if TYPE_CHECKING:
    from kivy.app import App

    from devices.health import Health
    from flows.ticketing import TicketFlow
    from flows.window_desk import WindowDesk
    from kiosk.app_remote import AppRemote

log = logging.getLogger(__name__)

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
        The process exit code: 0, or 75 after the collector's ``restart_app``.

    Raises:
        ConfigError (100): a bad option, an unreadable hall config, a missing CJK font.
    """
    app = build_app(argv)
    app.run()
    return int(getattr(app, "exit_code", 0))  # the display and rating pad have none


def parser() -> argparse.ArgumentParser:
    """The command line of the four hall windows."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=str(DEFAULT_CONFIG), help="hall config TOML")
    common.add_argument("--size", help="window size WxH in pixels")
    hall_db = argparse.ArgumentParser(add_help=False)
    hall_db.add_argument("--hall-db", help="hall database (default var/<hall id>/hall.db)")
    hall_db.add_argument("--device-id", help="this device's id in events and commands")
    hall_db.add_argument(
        "--mqtt", help="broker host:port: the collector's commands (and the PAD's warnings)"
    )
    add_mqtt_auth_arguments(hall_db)

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
    mqtt = _mqtt(args.mqtt)
    db = _hall_db(args, hall)
    remotes: list[AppRemote] = []

    def build_flow() -> TicketFlow:
        from core.clock import SystemClock
        from devices.open import open_ticket_printer
        from flows.queue import HallQueue
        from flows.ticketing import TicketFlow
        from kiosk.app_remote import use_catalog

        printer = open_ticket_printer(printer_url, f"{device_id}-printer") if printer_url else None
        flow = TicketFlow(
            HallQueue(_connect(db), hall, SystemClock()),
            printer,
            device_id,
            SystemClock(),
            idle_timeout_s=args.idle_timeout,
        )
        if mqtt is not None:
            remotes.append(
                _start_remote(
                    "kiosk",
                    args,
                    hall,
                    db,
                    device_id,
                    mqtt,
                    app,
                    lambda read: use_catalog(flow.queue, read),
                    lambda: [] if flow.printer is None else [flow.printer.health()],
                )
            )
        return flow

    def close_flow(flow: TicketFlow) -> None:
        for remote in remotes:
            remote.stop()
        if flow.printer is not None:
            flow.printer.close()
        flow.queue.conn.close()

    app = KioskApp(build_flow, close_flow, hall_name=hall.name)
    return app


def _pad(args: argparse.Namespace, hall: HallConfig) -> App:
    from kiosk.pad_app import PadApp

    hall.window(args.window)  # an unknown window fails now, with its code, not in the UI
    device_id = args.device_id or f"pad-{args.window}"
    display_url = args.display or hall.devices.get("call_display")
    rating_url = args.rating_pad or hall.devices.get("rating_pad")
    mqtt = _mqtt(args.mqtt)
    db = _hall_db(args, hall)
    listeners: list[Any] = []
    remotes: list[AppRemote] = []

    def build_desk(on_change: Callable[[], None]) -> WindowDesk:
        from core.clock import SystemClock
        from devices.open import open_call_display, open_rating_pad
        from flows.queue import HallQueue
        from flows.window_desk import WindowDesk
        from kiosk.app_remote import use_catalog

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

            listener = WarningsListener(
                mqtt[0], mqtt[1], hall.hall_id, desk.on_warnings, auth=mqtt_auth(args)
            )
            listener.start()
            listeners.append(listener)

            def desk_catalog(read: HallConfig) -> None:
                # Refused (the catalog stays) when the file no longer has this window.
                window = read.window(desk.window.no)
                use_catalog(desk.queue, read)
                desk.window = window

            remotes.append(
                _start_remote(
                    "pad",
                    args,
                    hall,
                    db,
                    device_id,
                    mqtt,
                    app,
                    desk_catalog,
                    lambda: _line_devices_health(desk),
                )
            )
        return desk

    def close_desk(desk: WindowDesk) -> None:
        for remote in remotes:
            remote.stop()
        for listener in listeners:
            listener.stop()
        for device in (desk.display, desk.rating_pad):
            if device is not None:
                device.close()
        desk.queue.conn.close()

    app = PadApp(build_desk, close_desk, window_no=args.window, staff_id=args.staff)
    return app


def _display(args: argparse.Namespace, hall: HallConfig) -> App:
    from kiosk.display_app import DisplayApp

    return DisplayApp(port=args.port, hall_name=hall.name)


def _rating_pad(args: argparse.Namespace, hall: HallConfig) -> App:
    from kiosk.rating_app import RatingPadApp

    return RatingPadApp(port=args.port, hall_name=hall.name)


# --- remote control ----------------------------------------------------------------------


def _start_remote(
    kind: str,
    args: argparse.Namespace,
    hall: HallConfig,
    db: Path,
    device_id: str,
    mqtt: tuple[str, int],
    app: Any,
    apply_catalog: Callable[[HallConfig], None],
    peripherals: Callable[[], list[Health]],
) -> AppRemote:
    """Start the app's remote control; called on the app's worker thread."""
    from kiosk.app_remote import AppRemote

    remote = AppRemote(
        kind,
        hall,
        args.config,
        db,
        device_id,
        mqtt[0],
        mqtt[1],
        app.background.call,
        apply_catalog,
        peripherals,
        lambda: _restart(app),
        auth=mqtt_auth(args),
    )
    remote.start()
    return remote


def _line_devices_health(desk: WindowDesk) -> list[Health]:
    return [d.health() for d in (desk.display, desk.rating_pad) if d is not None]


def _restart(app: Any) -> None:
    """Close the window as a person would, then let :func:`main` exit with 75."""
    from kivy.clock import Clock

    log.warning("restart requested by the collector: exiting with %d", RESTART_EXIT_CODE)
    app.exit_code = RESTART_EXIT_CODE
    Clock.schedule_once(lambda _dt: app.stop(), 0)


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
