"""Start the citizen-facing window terminal: ``python main.py window-terminal --window N``.

On the hall box it opens the hall database and watches it (:class:`flows.window_terminal.
HallBoxWatch`); on a machine of its own (``--hall-box HOST:PORT --device-file F``, a device
enrolled with ``hall-devices add terminal-3 --role window-terminal --window 3``) it follows
the hall box's pushes. Either way it only reads the queue.

Examples::

    python main.py window-terminal --window 3
    python main.py window-terminal --hall-box 192.168.10.2:7700 \\
        --device-file var/terminal-3/device.json --item-catalog var/kiosk-1/item_catalog.db
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import DEFAULT_CONFIG, HallConfig

if TYPE_CHECKING:
    from kiosk.window_terminal_app import TerminalModel, WindowTerminalApp

log = logging.getLogger(__name__)

ROLE = "window-terminal"
DEFAULT_SIZE = "1280x800"


def add_window_terminal_arguments(parser: argparse.ArgumentParser) -> None:
    """The window terminal's options."""
    from kiosk.launch import add_window_arguments

    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="hall config TOML")
    add_window_arguments(parser)
    parser.add_argument("--hall-db", help="hall database (default var/<hall id>/hall.db)")
    parser.add_argument("--device-id", help="this device's id (default terminal-<window>)")
    parser.add_argument("--hall-box", help="HOST:PORT of the hall box's hall API")
    parser.add_argument("--device-file", help="this machine's device file (hall-devices add)")
    parser.add_argument(
        "--window", type=int, help="window number (default: the device file's, else 1)"
    )
    parser.add_argument(
        "--item-catalog",
        help="a copy of the item catalog (item_catalog.db, e.g. a kiosk's) for the guides'"
        " materials; without one the hall config's [guides] words are shown",
    )
    parser.add_argument(
        "--rating-timeout", type=float, default=30.0,
        help="seconds the rating request stays up without an answer",
    )  # fmt: skip
    parser.set_defaults(app="window-terminal")


def build_window_terminal(args: argparse.Namespace, hall: HallConfig) -> WindowTerminalApp:
    """Build (not run) the window terminal app of parsed arguments.

    Raises:
        ConfigError (100): an unknown window, a device file of another role.
    """
    from kiosk import launch
    from kiosk.window_terminal_app import WindowTerminalApp

    remote = launch._remote(args, ROLE, args.device_id or f"terminal-{args.window or 1}")
    window_no = args.window or (remote.device.window if remote else None) or 1
    hall.window(window_no)  # an unknown window fails now, on the console
    hall_box = remote.queue(hall) if remote else None
    relay = _PushRelay()
    if hall_box is not None:
        hall_box.on_push(relay)
    db = None if remote else launch._hall_db(args, hall)
    catalog_path = Path(args.item_catalog) if args.item_catalog else None

    def build(on_change: Callable[[], None]) -> TerminalModel:
        from flows.window_terminal import GuideBook, HallBoxWatch, WindowTerminal

        queue, clock = launch._open_queue(hall_box, db or Path(), hall)
        terminal = WindowTerminal(
            queue, window_no, clock, GuideBook(queue.hall, _item_lookup(catalog_path)),
            rating_timeout_s=args.rating_timeout, on_change=on_change,
        )  # fmt: skip
        if hall_box is not None:
            relay.attach(terminal)
            return terminal
        return HallBoxWatch(queue.conn, terminal)

    def close(model: TerminalModel) -> None:
        if hall_box is not None:
            hall_box.close()
        else:
            model.conn.close()  # type: ignore[attr-defined]  # the HallBoxWatch's

    return WindowTerminalApp(build, close, window_no=window_no, link=hall_box)


class _PushRelay:
    """Hands the hall box's pushes to the terminal: the window view does not say whether a
    ticket left *finished* (only then is a rating asked), who signed in, or the rating.

    Registered before the queue starts, so that the first snapshot (the sign-in) is not
    missed; what arrives before the terminal exists is held for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._terminal: Any = None
        self._held: list[tuple[str, dict[str, Any]]] = []

    def attach(self, terminal: Any) -> None:
        with self._lock:
            self._terminal, held, self._held = terminal, self._held, []
            for kind, data in held:
                self._deliver(kind, data)

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            if self._terminal is None:
                self._held.append((kind, data))
            else:
                self._deliver(kind, data)

    def _deliver(self, kind: str, data: dict[str, Any]) -> None:
        terminal = self._terminal
        if kind != "snapshot":
            terminal.observe(kind, data)
            return
        # Connected (again): the sign-in as the hall box has it now.
        for w in data.get("windows", []):
            if int(w.get("no", -1)) == terminal.window_no:
                kind = "window.opened" if w.get("is_open") else "window.closed"
                terminal.observe(kind, {"window": w["no"], "staff_id": w.get("staff_id")})


def _item_lookup(path: Path | None) -> Callable[[str], Any] | None:
    """``ItemCatalog.item`` of the copy at ``path``, or None (absent: no copy is created)."""
    if path is None:
        return None
    if not path.exists():
        log.warning("no item catalog at %s: the guides show the hall config's words", path)
        return None
    from flows.item_catalog import ItemCatalog

    return ItemCatalog(path).item
