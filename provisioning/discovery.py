"""What is attached to this hall box: serial ports, USB devices, cameras, print queues.

For the technician setting up a hall: pick a device by VID/PID/serial rather than by
``/dev/ttyUSB0``. Every subsystem is optional (a box without pyusb, libusb, CUPS or cameras is
normal), so nothing here raises: a section that cannot be listed says ``unavailable`` and why.
"""

from __future__ import annotations

import glob
import logging
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: USB base class codes (usb.org "Defined Class Codes") with the names a technician knows.
USB_CLASSES: dict[int, str] = {
    0x00: "per-interface",
    0x01: "audio",
    0x02: "communications",
    0x03: "hid",
    0x06: "image",
    0x07: "printer",
    0x08: "mass-storage",
    0x09: "hub",
    0x0A: "cdc-data",
    0x0B: "smart-card",
    0x0E: "video",
    0xE0: "wireless",
    0xEF: "miscellaneous",
    0xFF: "vendor-specific",
}

#: Seconds ``lpstat`` may take before the CUPS section is reported unavailable.
LPSTAT_TIMEOUT_S = 5.0


@dataclass
class Section:
    """One kind of device found on this machine.

    Attributes:
        status: ``ok`` or ``unavailable`` (the subsystem could not be asked).
        source: what was asked (``pyserial``, ``pyusb``, ``/dev/video*``, ``pycups``, ``lpstat``).
        items: one dict per device.
        reason: why the section is unavailable.
    """

    status: str
    source: str
    items: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hex4(value: int | None) -> str | None:
    return None if value is None else f"{value:04x}"


def serial_ports() -> Section:
    """Serial ports with their USB identity (pyserial ``list_ports``)."""
    from serial.tools import list_ports

    items = [
        {
            "device": port.device,
            "vid": _hex4(port.vid),
            "pid": _hex4(port.pid),
            "serial": port.serial_number,
            "manufacturer": port.manufacturer,
            "description": port.description,
            "hwid": port.hwid,
        }
        for port in sorted(list_ports.comports(), key=lambda p: p.device)
    ]
    return Section("ok", "pyserial", items)


def usb_devices() -> Section:
    """USB devices with their class (pyusb over libusb); strings only where readable."""
    import usb.core

    items = [_usb_item(dev) for dev in usb.core.find(find_all=True)]
    return Section("ok", "pyusb", sorted(items, key=lambda i: (i["bus"] or 0, i["address"] or 0)))


def _usb_item(dev: Any) -> dict[str, Any]:
    classes = [dev.bDeviceClass]
    if dev.bDeviceClass in (0x00, 0xEF):
        # The real function is in the interfaces (a printer, a camera, a CDC serial adapter).
        try:
            classes = sorted({intf.bInterfaceClass for cfg in dev for intf in cfg})
        except Exception:  # noqa: BLE001 - descriptors unreadable without permission
            log.debug("no interface classes for %04x:%04x", dev.idVendor, dev.idProduct)
    return {
        "vid": _hex4(dev.idVendor),
        "pid": _hex4(dev.idProduct),
        "bus": dev.bus,
        "address": dev.address,
        "class": [USB_CLASSES.get(c, f"0x{c:02x}") for c in classes],
        "manufacturer": _usb_string(dev, "manufacturer"),
        "product": _usb_string(dev, "product"),
        "serial": _usb_string(dev, "serial_number"),
    }


def _usb_string(dev: Any, name: str) -> str | None:
    try:
        return getattr(dev, name)
    except Exception:  # noqa: BLE001 - reading strings needs access to the device node
        return None


def cameras(pattern: str = "/dev/video*") -> Section:
    """V4L2 video nodes, with the driver's name for each from sysfs."""
    items = []
    for node in sorted(glob.glob(pattern)):
        name_file = Path("/sys/class/video4linux") / Path(node).name / "name"
        try:
            name = name_file.read_text(encoding="utf-8").strip()
        except OSError:
            name = None
        items.append({"device": node, "name": name})
    return Section("ok", pattern, items)


def print_queues() -> Section:
    """CUPS queues: through pycups if importable, else ``lpstat -e``, else unavailable."""
    try:
        import cups  # type: ignore[import-not-found]
    except ImportError:
        return _lpstat_queues()
    printers = cups.Connection().getPrinters()
    items = [
        {"name": name, "state": attrs.get("printer-state"), "uri": attrs.get("device-uri")}
        for name, attrs in sorted(printers.items())
    ]
    return Section("ok", "pycups", items)


def _lpstat_queues() -> Section:
    lpstat = shutil.which("lpstat")
    if lpstat is None:
        return Section("unavailable", "lpstat", reason="neither pycups nor lpstat is installed")
    done = subprocess.run(
        [lpstat, "-e"], capture_output=True, text=True, timeout=LPSTAT_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        why = done.stderr.strip() or f"lpstat exited with {done.returncode}"
        return Section("unavailable", "lpstat", reason=why)
    items = [{"name": line.strip()} for line in done.stdout.splitlines() if line.strip()]
    return Section("ok", "lpstat", items)


#: Section name → lister, in the order a technician reads them.
LISTERS: dict[str, Callable[[], Section]] = {
    "serial_ports": serial_ports,
    "usb": usb_devices,
    "cameras": cameras,
    "print_queues": print_queues,
}

_SOURCES = {"serial_ports": "pyserial", "usb": "pyusb", "cameras": "/dev/video*"}


def discover() -> dict[str, Section]:
    """Every section; one that fails in any way is ``unavailable`` with the reason."""
    found: dict[str, Section] = {}
    for name, lister in LISTERS.items():
        try:
            found[name] = lister()
        except Exception as err:
            log.debug("discovery of %s failed", name, exc_info=True)
            source = _SOURCES.get(name, "pycups")
            found[name] = Section("unavailable", source, reason=f"{type(err).__name__}: {err}")
    return found
