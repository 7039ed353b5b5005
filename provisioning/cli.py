"""``python main.py devices``: the hall's configured devices with their health, and what is
attached to this machine (:mod:`provisioning.discovery`).

Each configured device is opened from its URL, asked for its health and closed again, so the
command shows what a kiosk would meet if it started now. A device that cannot even be opened
is reported with its error code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from core.cli import Command
from core.config import DEFAULT_CONFIG, load_hall_config
from core.errors import HallEdgeError, all_error_types
from core.strings_zh import ERROR_TEXT, error_text
from devices.health import Health, HealthState
from provisioning.discovery import discover

#: The OK sentence of the table (user-facing).
OK_TEXT = "正常"


@dataclass(frozen=True)
class DeviceReport:
    """One configured device and its health.

    Attributes:
        role: its key under ``[devices]`` (``ticket_printer``), also its device id here.
        url: its device URL.
        health: what it answered.
        message: the Chinese sentence a citizen or staff member would see.
    """

    role: str
    url: str
    health: Health
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "url": self.url,
            "message": self.message,
            **self.health.to_event_data(),
        }


def check_device(role: str, url: str) -> DeviceReport:
    """Open the device a role names, ask its health, close it.

    The opener is ``devices.open.open_<role>`` (``open_ticket_printer`` …); a role without one
    is reported ``unknown`` with reason ``no_opener``.
    """
    import devices.open as openers

    opener = getattr(openers, f"open_{role}", None)
    if opener is None:
        health = Health(role, HealthState.UNKNOWN, ("no_opener",))
        return DeviceReport(role, url, health, "")
    try:
        device = opener(url, role)
    except HallEdgeError as err:
        return DeviceReport(role, url, _failed(role, err), error_text(err))
    try:
        health = device.health()
    finally:
        try:
            device.close()
        except HallEdgeError:
            pass
    return DeviceReport(role, url, health, _message(health))


def _failed(role: str, err: HallEdgeError) -> Health:
    from core.errors import DeviceError

    if isinstance(err, DeviceError):
        return Health.from_error(role, err)
    return Health(role, HealthState.ERROR, (err.key,), err.code)


def _message(health: Health) -> str:
    if health.code is None:
        return OK_TEXT if health.usable else ""
    keys = {cls.code: cls.key for cls in all_error_types()}
    return ERROR_TEXT.get(keys.get(health.code, ""), error_text("internal_error"))


def collect(config: str | None) -> dict[str, Any]:
    """The whole report as JSON-ready data: hall, configured devices, discovered devices."""
    hall = load_hall_config(config or DEFAULT_CONFIG)
    reports = [check_device(role, str(url)) for role, url in hall.devices.items()]
    return {
        "hall": hall.hall_id,
        "configured": [r.to_dict() for r in reports],
        "discovered": {name: section.to_dict() for name, section in discover().items()},
    }


def run_devices(args: argparse.Namespace) -> int:
    """Print the report (``--json``: one JSON object). Returns 1 when a device is not usable.

    Raises:
        ConfigError (100): the hall config cannot be read.
    """
    report = collect(getattr(args, "config", None))
    if getattr(args, "json", False):
        print(json.dumps(report, ensure_ascii=False))
    else:
        sys.stdout.write(render(report))
    usable = (HealthState.OK.value, HealthState.WARNING.value)
    return 0 if all(d["state"] in usable for d in report["configured"]) else 1


def render(report: dict[str, Any]) -> str:
    """The report as plain-text tables for a terminal."""
    rows = [("role", "state", "code", "message", "url")]
    for dev in report["configured"]:
        reasons = ",".join(dev["reasons"])
        state = dev["state"] + (f" ({reasons})" if reasons else "")
        rows.append((dev["role"], state, str(dev["code"] or ""), dev["message"], dev["url"]))
    out = [f"hall {report['hall']}: configured devices", _table(rows), ""]
    for name, section in report["discovered"].items():
        if section["status"] != "ok":
            out.append(f"{name}: unavailable ({section['reason']})")
            continue
        out.append(f"{name} ({section['source']}): {len(section['items'])} found")
        out.extend(f"  {_item_line(item)}" for item in section["items"])
    return "\n".join(out) + "\n"


def _item_line(item: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v}" for k, v in item.items() if v not in (None, "", []))


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--config", help="hall config TOML (default: the demo hall)")


COMMANDS = (
    Command("devices", "configured devices with their health; what is attached", _arguments,
            "provisioning.cli:run_devices"),
)
