"""Start one hall window: ``python main.py kiosk|pad [options]``.

One Kivy app per process. This module reads the options, builds the app's parts (hall
database, devices, MQTT listener, remote control) as factories the app calls on its worker
thread, and runs the window. Kivy is configured (no argv parsing, window size) before it is
first imported.

With ``--mqtt`` a kiosk or PAD takes the collector's commands for its ``--device-id``
(:mod:`kiosk.app_remote`); after ``restart_app`` the process exits with 75.

With ``--hall-box HOST:PORT`` and/or ``--device-file PATH`` the app runs on a machine of its
own: it reaches the hall's queue through the hall box's API
(:class:`hallnet.client.RemoteHallQueue`, ``docs/hall-api.md``) instead of opening the hall
database, authenticated by its device file (``python main.py hall-devices add`` writes it).
Without them it opens the hall database as before (an app on the hall box itself).

Examples::

    python main.py kiosk --printer "sim://usb-printer?record=/tmp/tickets.jsonl" \\
        --device-id kiosk-1 --mqtt 127.0.0.1:1883
    python main.py pad --window 3 --staff 003 --display tcp://127.0.0.1:7601 \\
        --rating-pad tcp://127.0.0.1:7602 --mqtt 127.0.0.1:1883
    python main.py pad --hall-box 192.168.10.2:7700 --device-file var/pad-3/device.json

The call display and rating pad windows are simulated devices; :mod:`simulation.launch`
starts them with the helpers here.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.commands import RESTART_EXIT_CODE
from core.cli import Command
from core.config import DEFAULT_CONFIG, HallConfig, load_hall_config
from core.errors import ConfigError
from core.mqtt import add_mqtt_auth_arguments, mqtt_auth
from kiosk.window_terminal_launch import add_window_terminal_arguments, build_window_terminal

if TYPE_CHECKING:
    from devices.health import Health
    from flows.kiosk_functions import KioskContext
    from flows.queue_port import QueuePort
    from flows.window_desk import WindowDesk
    from hallnet.client import RemoteHallQueue
    from hallnet.devices import DeviceFile
    from kiosk.app_remote import AppRemote
    from kiosk.flow_app import FlowApp

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SIZES = {"kiosk": "720x960", "pad": "1180x800", "window-terminal": "1280x800"}


def run(args: argparse.Namespace) -> int:
    """Build the app ``args.app`` names (``kiosk`` or ``pad``) and run it until it is closed.

    Returns:
        The process exit code: 0, or 75 after the collector's ``restart_app``.

    Raises:
        ConfigError (100): a bad option, an unreadable hall config, a missing CJK font.
    """
    app = build_app_from(args)
    app.run()
    return int(app.exit_code)


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """Where a window opens and how large: every app with a window takes these."""
    parser.add_argument("--size", help="window size WxH in pixels")
    parser.add_argument("--position", help="window position LEFT,TOP in screen pixels")


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="hall config TOML")
    add_window_arguments(parser)
    parser.add_argument("--hall-db", help="hall database (default var/<hall id>/hall.db)")
    parser.add_argument("--device-id", help="this device's id in events and commands")
    parser.add_argument(
        "--hall-box",
        help="HOST:PORT of the hall box's hall API: use the hall's queue over the LAN instead of"
        " opening the hall database (default: the device file's address)",
    )
    parser.add_argument(
        "--device-file",
        help="this machine's device file from `hall-devices add` (default with --hall-box:"
        " var/<device id>/device.json)",
    )
    parser.add_argument(
        "--mqtt", help="broker host:port: the collector's commands (and the PAD's warnings)"
    )
    add_mqtt_auth_arguments(parser)


def add_kiosk_arguments(parser: argparse.ArgumentParser) -> None:
    """The citizen kiosk's options."""
    _common_arguments(parser)
    parser.add_argument("--printer", help="ticket printer URL (default: the hall config's)")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=60.0,
        help="seconds without a tap before the kiosk goes home",
    )
    parser.add_argument(
        "--functions",
        help="the kiosk functions offered, e.g. ticket,guide (default: the hall config's "
        "[kiosk] functions, else every registered one)",
    )
    parser.add_argument(
        "--data-dir",
        help="the kiosk's own files: item catalog copy, payment order book, receipts (default:"
        " beside the device file, else var/<hall>/<device id>/)",
    )
    parser.add_argument(
        "--platform",
        help="the government platform's URL (default: the hall config's [kiosk] platform);"
        " without one the platform functions say 暂不可用",
    )
    parser.add_argument(
        "--payments",
        help="the payment channels' file (docs/payments.md; default: [kiosk] payments)",
    )
    parser.add_argument(
        "--document-printer", help="A4 printer URL (default: the hall config's)"
    )
    parser.add_argument("--id-reader", help="ID card reader URL (default: the hall config's)")
    parser.add_argument(
        "--camera", help="document camera (高拍仪) URL (default: the hall config's)"
    )
    parser.set_defaults(app="kiosk")


def add_pad_arguments(parser: argparse.ArgumentParser) -> None:
    """The window PAD's options."""
    _common_arguments(parser)
    parser.add_argument(
        "--window", type=int, help="window number (default: the device file's, else 1)"
    )
    parser.add_argument("--staff", default="", help="staff id to fill in at sign-in")
    parser.add_argument("--display", help="call display URL (default: the hall config's)")
    parser.add_argument("--rating-pad", help="rating pad URL (default: the hall config's)")
    parser.set_defaults(app="pad")


def parser() -> argparse.ArgumentParser:
    """The command line of the kiosk and the PAD, on their own (tests build apps with it)."""
    top = argparse.ArgumentParser(prog="main.py", description="one Hall Edge window")
    sub = top.add_subparsers(dest="app", required=True)
    add_kiosk_arguments(sub.add_parser("kiosk", help="citizen kiosk (取号)"))
    add_pad_arguments(sub.add_parser("pad", help="window PAD (叫号)"))
    add_window_terminal_arguments(sub.add_parser("window-terminal", help="双屏窗口终端"))
    return top


def build_app(argv: Sequence[str] | None) -> FlowApp:
    """Configure Kivy and build (not run) the app the command line asks for.

    Raises:
        ConfigError (100): see :func:`run`.
    """
    return build_app_from(parser().parse_args(list(argv) if argv is not None else None))


def build_app_from(args: argparse.Namespace) -> FlowApp:
    """Configure Kivy and build (not run) the app of parsed arguments.

    Raises:
        ConfigError (100): see :func:`run`.
    """
    hall = load_hall_config(args.config)
    prepare_kivy(args.size or DEFAULT_SIZES[args.app], args.position)
    builders: dict[str, Callable[[argparse.Namespace, HallConfig], FlowApp]] = {
        "kiosk": _kiosk,
        "pad": _pad,
        "window-terminal": build_window_terminal,
    }
    return builders[args.app](args, hall)


# --- the two apps ------------------------------------------------------------------------


def _kiosk(args: argparse.Namespace, hall: HallConfig) -> FlowApp:
    from flows.kiosk_functions import enabled
    from kiosk.kiosk_app import KioskApp

    remote = _remote(args, "kiosk", args.device_id or "kiosk-1")
    device_id = remote.device.device_id if remote else args.device_id or "kiosk-1"
    printer_url = args.printer or hall.devices.get("ticket_printer")
    mqtt = _mqtt(args.mqtt)
    db = remote.record_base if remote else _hall_db(args, hall)
    hall_box = remote.queue(hall) if remote else None
    remotes: list[AppRemote] = []
    functions = args.functions.split(",") if args.functions else None
    # A mistyped function id fails here, on the technician's console, not on the kiosk screen.
    enabled(functions if functions is not None else hall.kiosk_functions)

    uplinks = _kiosk_uplinks(args, hall, device_id)
    data_dir = Path(args.data_dir) if args.data_dir else db.parent / device_id
    a4_url = args.document_printer or hall.devices.get("document_printer")
    reader_url = args.id_reader or hall.devices.get("id_card_reader")
    camera_url = args.camera or hall.devices.get("document_camera")

    def build_context() -> KioskContext:
        from devices.open import (
            open_document_camera,
            open_document_printer,
            open_id_card_reader,
            open_ticket_printer,
        )
        from flows.kiosk_functions import KioskContext
        from flows.print_audit import AuditedJournal, PrintAudit
        from kiosk.app_remote import use_catalog

        queue, clock = _open_queue(hall_box, db, hall)
        printer = open_ticket_printer(printer_url, f"{device_id}-printer") if printer_url else None
        data_dir.mkdir(parents=True, exist_ok=True)
        context = KioskContext(
            queue=queue,
            device_id=device_id,
            clock=clock,
            printer=printer,
            idle_timeout_s=args.idle_timeout,
            functions=functions,
            data_dir=data_dir,
            platform=uplinks.platform(),
            payment_channels=uplinks.channels,
            document_printer=(
                open_document_printer(a4_url, f"{device_id}-a4") if a4_url else None
            ),
            id_reader=open_id_card_reader(reader_url, f"{device_id}-id") if reader_url else None,
            document_camera=(
                open_document_camera(camera_url, f"{device_id}-camera") if camera_url else None
            ),
        )
        # Every document printed or copied here is also kept in the kiosk's print audit.
        context.journal = AuditedJournal(context.transactions, PrintAudit.in_dir(data_dir))
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
                    lambda read: use_catalog(context.queue, read),
                    lambda: [] if context.printer is None else [context.printer.health()],
                )
            )
        return context

    def close_context(context: KioskContext) -> None:
        for remote in remotes:
            remote.stop()
        devices = (
            context.printer,
            context.document_printer,
            context.id_reader,
            context.document_camera,
        )
        for device in devices:
            if device is not None:
                device.close()
        if context.platform is not None:
            context.platform.close()
        _close_queue(context.queue)

    app = KioskApp(build_context, close_context, hall_name=hall.name, link=hall_box)
    return app


def _pad(args: argparse.Namespace, hall: HallConfig) -> FlowApp:
    from kiosk.pad_app import PadApp

    remote = _remote(args, "pad", args.device_id or f"pad-{args.window or 1}")
    window_no = args.window or (remote.device.window if remote else None) or 1
    hall.window(window_no)  # an unknown window fails now, with its code, not in the UI
    device_id = remote.device.device_id if remote else args.device_id or f"pad-{window_no}"
    display_url = args.display or hall.devices.get("call_display")
    rating_url = args.rating_pad or hall.devices.get("rating_pad")
    mqtt = _mqtt(args.mqtt)
    db = remote.record_base if remote else _hall_db(args, hall)
    hall_box = remote.queue(hall) if remote else None
    listeners: list[Any] = []
    remotes: list[AppRemote] = []

    def build_desk(on_change: Callable[[], None]) -> WindowDesk:
        from devices.open import open_call_display, open_rating_pad
        from flows.window_desk import WindowDesk
        from kiosk.app_remote import use_catalog

        queue, clock = _open_queue(hall_box, db, hall)
        desk = WindowDesk(
            queue,
            window_no,
            device_id,
            open_call_display(display_url, "call-display") if display_url else None,
            open_rating_pad(rating_url, f"rating-pad-{window_no}") if rating_url else None,
            clock,
            on_change=on_change,
        )
        if hall_box is not None:
            hall_box.on_catalog(lambda read: _desk_window(desk, read))
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
        _close_queue(desk.queue)

    app = PadApp(build_desk, close_desk, window_no=window_no, staff_id=args.staff, link=hall_box)
    return app


# --- the kiosk's upstreams: the government platform and the payment channels -------------


@dataclass(frozen=True)
class _KioskUplinks:
    """Where the kiosk's functions reach beyond the hall: the platform's URL (its client is
    made on the worker) and the payment channels, read once at launch."""

    platform_url: str | None
    channels: dict[str, Any]
    device_id: str

    def platform(self) -> Any:
        from govplatform.http import PlatformHttp

        return PlatformHttp(self.platform_url, self.device_id) if self.platform_url else None


def _kiosk_uplinks(args: argparse.Namespace, hall: HallConfig, device_id: str) -> _KioskUplinks:
    """The platform URL and payment channels from the options, else the hall config.

    Raises:
        ConfigError (100): the payments file is unreadable (on the console, before any window).
    """
    from payments.config import load_channels

    payments = args.payments or hall.kiosk_payments
    channels = load_channels(Path(payments)) if payments else {}
    return _KioskUplinks(args.platform or hall.kiosk_platform, channels, device_id)


# --- the hall's queue: the hall database here, or the hall box over the LAN -------------------


@dataclass(frozen=True)
class _Remote:
    """An app that reaches the hall box over the LAN: its device file and the hall box."""

    device: DeviceFile
    address: tuple[str, int]
    device_file: Path

    @property
    def record_base(self) -> Path:
        """Where the app's remote-control record lives (``app_remote_db_path`` names the file
        after this): beside the device file, since there is no hall database here."""
        return self.device_file.parent / "hall.db"

    def queue(self, hall: HallConfig) -> RemoteHallQueue:
        """The remote queue, not yet started (no network on the Kivy thread)."""
        from hallnet.client import RemoteHallQueue

        return RemoteHallQueue(self.device, hall, address=self.address)


def _remote(args: argparse.Namespace, role: str, default_id: str) -> _Remote | None:
    """The device file and hall box address when the app runs against a hall box elsewhere.

    Raises:
        ConfigError (100): an unreadable device file, one for another role or device id.
    """
    if not args.hall_box and not args.device_file:
        return None
    from core.netaddr import parse_host_port
    from hallnet.devices import HALL_BOX_PORT, DeviceFile, default_device_file

    path = Path(args.device_file) if args.device_file else default_device_file(ROOT, default_id)
    device = DeviceFile.read(path)
    if device.role != role:
        raise ConfigError(
            f"{path} is the device file of a {device.role}, not of a {role}", path=str(path)
        )
    if args.device_id and args.device_id != device.device_id:
        raise ConfigError(
            f"--device-id {args.device_id} but {path} is {device.device_id}", path=str(path)
        )
    address = parse_host_port(args.hall_box, HALL_BOX_PORT) if args.hall_box else device.address
    return _Remote(device, address, path)


def _open_queue(hall_box: RemoteHallQueue | None, db: Path, hall: HallConfig) -> tuple[Any, Any]:
    """The app's queue and clock, on its worker thread: the hall box's (started), or the hall
    database's with the system clock."""
    if hall_box is not None:
        return hall_box.start(), hall_box.clock
    from core.clock import SystemClock
    from flows.queue import HallQueue

    return HallQueue(_connect(db), hall, SystemClock()), SystemClock()


def _close_queue(queue: QueuePort) -> None:
    close = getattr(queue, "close", None)
    if close is not None:
        close()  # a RemoteHallQueue
    else:
        queue.conn.close()  # type: ignore[attr-defined]  # a HallQueue


def _desk_window(desk: WindowDesk, read: HallConfig) -> None:
    """The hall box's catalog changed: keep the desk's window (refused when it is gone)."""
    from core.errors import HallEdgeError

    try:
        desk.window = read.window(desk.window.no)
    except HallEdgeError as err:
        log.error("the hall box's catalog has no window %d: error %d", desk.window.no, err.code)


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
    """Close the window as a person would, then let :func:`run` exit with 75."""
    from kivy.clock import Clock

    log.warning("restart requested by the collector: exiting with %d", RESTART_EXIT_CODE)
    app.exit_code = RESTART_EXIT_CODE
    Clock.schedule_once(lambda _dt: app.stop(), 0)


# --- helpers -----------------------------------------------------------------------------


def prepare_kivy(size: str, position: str | None = None) -> None:
    """Configure Kivy for one window of ``size`` (``WxH``), at ``position`` (``LEFT,TOP`` in
    screen pixels; the window manager's choice when None), and give it the CJK font.

    Call before anything imports Kivy's window or widgets.

    Raises:
        ConfigError (100): a malformed size or position, or the CJK font is missing.
    """
    _configure_kivy(_size(size), _position(position) if position else None)
    from kiosk.fonts import use_cjk_font

    use_cjk_font()


def _configure_kivy(size: tuple[int, int], position: tuple[int, int] | None) -> None:
    # Kivy reads sys.argv and its config at first import; ours are not Kivy options.
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # SDL2's own clipboard: Kivy would otherwise look for xclip/xsel, absent on a kiosk.
    os.environ.setdefault("KIVY_CLIPBOARD", "sdl2")
    from kivy.config import Config

    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "resizable", "1")
    if position is not None:
        # Several windows on one screen (the demo) would otherwise open stacked.
        Config.set("graphics", "position", "custom")
        Config.set("graphics", "left", str(position[0]))
        Config.set("graphics", "top", str(position[1]))
    # A citizen pressing Esc on a kiosk keyboard must not close the window.
    Config.set("kivy", "exit_on_escape", "0")
    # Right-clicks would otherwise leave red multitouch dots on a touch screen.
    Config.set("input", "mouse", "mouse,disable_multitouch")


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise ConfigError(f"--size wants WxH, e.g. 720x960, got {text!r}", size=text)
    return int(width), int(height)


def _position(text: str) -> tuple[int, int]:
    left, sep, top = text.partition(",")
    if not sep or not left.strip().isdigit() or not top.strip().isdigit():
        raise ConfigError(f"--position wants LEFT,TOP, e.g. 0,40, got {text!r}", position=text)
    return int(left), int(top)


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
    from core.errors import JournalError
    from hallstore import journal

    try:
        return journal.connect(path)
    except sqlite3.Error as err:
        raise JournalError(f"cannot open the hall database {path}: {err}", path=str(path)) from err


COMMANDS = (
    Command("kiosk", "citizen kiosk (取号), a Kivy window", add_kiosk_arguments, "kiosk.launch:run"),
    Command("pad", "window PAD (叫号), a Kivy window", add_pad_arguments, "kiosk.launch:run"),
    Command(
        "window-terminal",
        "citizen-facing window terminal (双屏窗口终端), a Kivy window",
        add_window_terminal_arguments,
        "kiosk.launch:run",
    ),
)
