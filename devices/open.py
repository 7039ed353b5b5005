"""Open a device from its URL: one configuration line picks the simulator or the hardware.

``sim://`` URLs build a simulator and plug it in *under* the real driver, so the same driver
code runs in the demo, in tests and in the hall. Simulators are imported only for ``sim://``
URLs, and drivers only when their device is opened.
"""

from __future__ import annotations

from core.device_url import DeviceUrl, parse_device_url
from core.errors import ConfigError
from devices.ticket_printer import PROFILES, PrinterProfile, TicketPrinter


def open_ticket_printer(url: str, device_id: str) -> TicketPrinter:
    """Build the ticket printer a URL names. The USB device is opened on first use.

    URL forms::

        sim://usb-printer?record=/tmp/tickets.jsonl&paper=20000&near_end=1500&profile=pos-58
        usb://0416:5011?serial=ABC123&profile=pos-80

    For ``sim://`` the returned printer's ``sim`` attribute is the
    :class:`hardware_sim.escpos_printer.EscPosPrinterSim`; faults are injected there.

    Args:
        url: the device URL.
        device_id: the hall's name for the printer, carried in health and errors.

    Returns:
        A :class:`TicketPrinter` holding a :class:`drivers.usb_bulk.UsbBulk` driver.

    Raises:
        ConfigError (100): unknown scheme, target, profile or a malformed option.
    """
    from drivers.usb_bulk import UsbBulk

    parsed = parse_device_url(url)
    profile = _profile(parsed)
    if parsed.scheme == "sim":
        if parsed.target != "usb-printer":
            raise ConfigError(f"no simulator {parsed.target!r}", url=url)
        from hardware_sim.escpos_printer import EscPosPrinterSim, Fault
        from hardware_sim.usb_printer import SIM_PID, SIM_VID, UsbPrinterBackend

        sim = EscPosPrinterSim(
            paper_mm=_number(parsed, "paper", 50_000.0),
            near_end_mm=_number(parsed, "near_end", 1_500.0),
            dots_per_line=profile.dots_per_line,
            record=parsed.option("record"),
        )
        for fault in filter(None, (parsed.option("faults") or "").split(",")):
            try:
                sim.inject(Fault(fault))
            except ValueError as err:
                raise ConfigError(f"unknown simulator fault {fault!r}", url=url) from err
        serial = parsed.option("serial", "HE58SIM0001")
        backend = UsbPrinterBackend(sim, serial=serial or "HE58SIM0001")
        driver = UsbBulk(SIM_VID, SIM_PID, serial=serial, backend=backend, device_id=device_id)
        return TicketPrinter(driver, profile, device_id=device_id, sim=sim)
    if parsed.scheme == "usb":
        vid, pid = _vid_pid(parsed)
        driver = UsbBulk(vid, pid, serial=parsed.option("serial"), device_id=device_id)
        return TicketPrinter(driver, profile, device_id=device_id)
    raise ConfigError(f"a ticket printer cannot be opened from {parsed.scheme}://", url=url)


def _profile(parsed: DeviceUrl) -> PrinterProfile:
    name = parsed.option("profile", "pos-58") or "pos-58"
    try:
        return PROFILES[name]
    except KeyError as err:
        raise ConfigError(f"unknown printer profile {name!r}", url=parsed.raw) from err


def _vid_pid(parsed: DeviceUrl) -> tuple[int, int]:
    try:
        vid, pid = parsed.target.split(":")
        return int(vid, 16), int(pid, 16)
    except ValueError as err:
        raise ConfigError(f"expected usb://VVVV:PPPP, got {parsed.raw!r}", url=parsed.raw) from err


def _number(parsed: DeviceUrl, name: str, default: float) -> float:
    raw = parsed.option(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as err:
        raise ConfigError(f"option {name}={raw!r} is not a number", url=parsed.raw) from err
