"""The USB bulk driver finds, claims and talks to a printer as libusb presents it."""

from __future__ import annotations

import errno
from typing import Any

import pytest
import usb.core
import usb.util

from core.errors import DeviceError, DeviceNotFound, DeviceTimeout, DeviceUnplugged
from devices.health import HealthState
from devices.open import open_ticket_printer
from drivers.usb_bulk import UsbBulk
from hardware_sim.escpos_printer import EscPosPrinterSim, Fault
from hardware_sim.usb_printer import SIM_PID, SIM_VID, UsbPrinterBackend


def driver_for(backend: UsbPrinterBackend, **kwargs: Any) -> UsbBulk:
    return UsbBulk(SIM_VID, SIM_PID, backend=backend, device_id="printer-1", **kwargs)


def test_endpoints_come_from_the_descriptors_not_from_defaults() -> None:
    sim = EscPosPrinterSim()
    backend = UsbPrinterBackend(sim, ep_out=0x02, ep_in=0x84)
    with driver_for(backend, timeout_ms=5000) as driver:
        assert driver.endpoints == (0x02, 0x84)
        driver.write(b"\x10\x04\x01")
        assert driver.read(16) == b"\x12"


def test_open_takes_the_interface_from_usblp_and_close_gives_it_back() -> None:
    backend = UsbPrinterBackend(EscPosPrinterSim(), kernel_driver=True)
    driver = driver_for(backend)
    driver.open()
    assert not backend.kernel_driver
    assert backend.claimed == {0}
    driver.close()
    assert backend.kernel_driver
    assert backend.claimed == set()


def test_claiming_while_usblp_holds_the_interface_is_busy() -> None:
    # The simulator is as strict as usbfs: the driver has to detach first.
    backend = UsbPrinterBackend(EscPosPrinterSim(), kernel_driver=True)
    dev = usb.core.find(idVendor=SIM_VID, idProduct=SIM_PID, backend=backend)
    with pytest.raises(usb.core.USBError) as caught:
        usb.util.claim_interface(dev, 0)
    assert caught.value.errno == errno.EBUSY


def test_strings_and_device_id_are_readable_through_pyusb() -> None:
    backend = UsbPrinterBackend(EscPosPrinterSim(), serial="KIOSK7-PRN")
    dev = usb.core.find(idVendor=SIM_VID, idProduct=SIM_PID, backend=backend)
    assert dev.serial_number == "KIOSK7-PRN"
    assert dev.product == "POS-58 Simulator"
    dev.detach_kernel_driver(0)  # a class request to the interface claims it
    device_id = dev.ctrl_transfer(0xA1, 0x00, 0, 0, 256).tobytes()
    assert b"CMD:ESC/POS;" in device_id


def test_the_serial_number_picks_the_printer() -> None:
    backend = UsbPrinterBackend(EscPosPrinterSim(), serial="KIOSK7-PRN")
    with driver_for(backend, serial="KIOSK7-PRN") as driver:
        assert driver.is_open
    with pytest.raises(DeviceNotFound) as caught:
        driver_for(backend, serial="KIOSK8-PRN").open()
    assert caught.value.code == 301
    assert caught.value.details == {
        "device": "printer-1", "vid": "0416", "pid": "5011", "serial": "KIOSK8-PRN",
    }


def test_a_missing_device_is_not_found() -> None:
    sim = EscPosPrinterSim()
    sim.inject(Fault.UNPLUGGED)
    with pytest.raises(DeviceNotFound):
        driver_for(UsbPrinterBackend(sim)).open()
    with pytest.raises(DeviceNotFound):
        UsbBulk(SIM_VID, 0x9999, backend=UsbPrinterBackend(EscPosPrinterSim())).open()


def test_no_reply_in_time_is_a_timeout() -> None:
    with driver_for(UsbPrinterBackend(EscPosPrinterSim())) as driver:
        with pytest.raises(DeviceTimeout) as caught:
            driver.read(16, timeout_ms=50)
        assert isinstance(caught.value.__cause__, usb.core.USBTimeoutError)
        assert caught.value.details["errno"] == errno.ETIMEDOUT


def test_pulling_the_cable_is_unplugged_with_the_usb_error_as_cause() -> None:
    sim = EscPosPrinterSim()
    driver = driver_for(UsbPrinterBackend(sim))
    driver.open()
    sim.inject(Fault.UNPLUGGED)
    with pytest.raises(DeviceUnplugged) as caught:
        driver.write(b"\x1b\x40")
    assert caught.value.code == 302
    assert caught.value.__cause__.errno == errno.ENODEV  # type: ignore[union-attr]
    assert not driver.is_open  # the dead handle is dropped; open() will search again


class StallingBackend(UsbPrinterBackend):
    """A printer whose OUT endpoint stalls, as a jammed mechanism's firmware does."""

    def bulk_write(self, dev_handle: Any, ep: int, intf: int, data: Any, timeout: int) -> int:
        raise usb.core.USBError("Pipe error", -9, errno.EPIPE)


def test_a_stalled_pipe_counts_as_unplugged() -> None:
    with driver_for(StallingBackend(EscPosPrinterSim())) as driver:
        with pytest.raises(DeviceUnplugged) as caught:
            driver.write(b"\x1b\x40")
    assert caught.value.details["errno"] == errno.EPIPE


def test_io_before_open_is_refused() -> None:
    with pytest.raises(DeviceError):
        driver_for(UsbPrinterBackend(EscPosPrinterSim())).write(b"x")


def test_zero_timeout_is_refused_because_libusb_would_wait_forever() -> None:
    with pytest.raises(ValueError):
        UsbBulk(SIM_VID, SIM_PID, timeout_ms=0)


def test_usb_url_without_the_hardware_reports_offline() -> None:
    # Real libusb backend; the serial makes sure no printer on a developer's desk matches.
    printer = open_ticket_printer("usb://0416:5011?serial=HALL-EDGE-NO-SUCH-PRINTER", "p-9")
    health = printer.health()
    assert (health.state, health.reasons, health.code) == (
        HealthState.OFFLINE, ("not_found",), 301,
    )
