"""``python main.py hall-devices add|remove|list``: the hall box's device list.

Run on the hall box. ``add`` generates a secret, puts its hash in the device list and writes the
machine's device file (copy it to the kiosk or PAD, e.g. to ``var/<device_id>/device.json``);
``remove`` takes a device off the list, and the running hall box refuses it from its next
request on and closes its event stream. Examples::

    python main.py hall-devices add pad-3 --role pad --window 3 --hall-box 192.168.10.2:7700
    python main.py hall-devices add kiosk-1 --role kiosk --hall-box 192.168.10.2:7700
    python main.py hall-devices remove pad-3
    python main.py hall-devices list
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import Command
from core.config import DEFAULT_CONFIG, HallConfig, load_hall_config
from core.errors import ConfigError
from hallnet.devices import (
    DEVICE_LIST_NAME,
    ROLES,
    default_device_file,
    default_device_list,
    enrol,
    read_device_list,
    remove_device,
)

ROOT = Path(__file__).resolve().parent.parent
_WILDCARD = ("", "0.0.0.0", "::", "[::]")


def device_list_path(args: argparse.Namespace, hall: HallConfig) -> Path:
    """``--devices``, else ``[hall_box] devices``, else next to ``--hall-db``, else
    ``var/<hall id>/hall-devices.json`` (next to the default hall database)."""
    if args.devices:
        return Path(args.devices)
    if hall.hall_box_devices:
        return Path(hall.hall_box_devices)
    if args.hall_db:
        return default_device_list(args.hall_db)
    return ROOT / "var" / hall.hall_id / DEVICE_LIST_NAME


def run(args: argparse.Namespace) -> int:
    hall = load_hall_config(args.config)
    devices = device_list_path(args, hall)
    if args.action == "add":
        hall_box = args.hall_box or _reachable(hall.hall_box_listen)
        path = (
            Path(args.device_file)
            if args.device_file
            else default_device_file(ROOT, args.device_id)
        )
        enrol(
            devices, path, hall.hall_id, args.device_id, args.role, hall_box, args.window,
            args.replace,
        )
        print(f"{args.device_id} ({args.role}) added to {devices}")
        print(f"device file: {path}  (copy it to the {args.role}; it holds the secret)")
        return 0
    if args.action == "remove":
        if not remove_device(devices, args.device_id):
            print(f"{args.device_id} is not in {devices}")
            return 1
        print(f"{args.device_id} removed from {devices}; the hall box refuses it from now on")
        return 0
    _, listed = read_device_list(devices)
    print(f"{devices}: {len(listed)} device(s)")
    for entry in sorted(listed.values(), key=lambda d: d.device_id):
        window = "" if entry.window is None else f"  window {entry.window}"
        print(f"  {entry.device_id:<16} {entry.role:<6}{window}")
    return 0


def _reachable(listen: str | None) -> str:
    """The hall box's address as a device should dial it, from ``[hall_box] listen``."""
    host = (listen or "").rpartition(":")[0]
    if listen is None or host in _WILDCARD:
        raise ConfigError(
            "say where the device reaches the hall box: --hall-box HOST:PORT"
            " ([hall_box] listen is unset or a wildcard address)"
        )
    return listen


def _arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=str(DEFAULT_CONFIG), help="hall config TOML")
    common.add_argument("--devices", help="the device list file (see docs/hall-api.md)")
    common.add_argument("--hall-db", help="the hall database; the list defaults to beside it")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", parents=[common], help="add a device and write its device file")
    add.add_argument("device_id", help="e.g. pad-3, kiosk-1")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--window", type=int, help="bind a PAD to this window")
    add.add_argument("--hall-box", help="HOST:PORT the device reaches the hall box at")
    add.add_argument(
        "--device-file", help="where to write it (default var/<device_id>/device.json)"
    )
    add.add_argument("--replace", action="store_true", help="give a listed device a new secret")
    remove = sub.add_parser("remove", parents=[common], help="take a device off the list")
    remove.add_argument("device_id")
    sub.add_parser("list", parents=[common], help="list the devices")


COMMANDS = (
    Command("hall-devices", "the hall box's device list: add, remove, list", _arguments,
            "hallnet.cli:run"),
)
