"""Bytes in, bytes out over a USB printer's bulk endpoints (pyusb).

The whole driver contract is ``open``/``write``/``read``/``close``: what the bytes mean lives in
:mod:`devices`. The device is found by VID/PID (and serial number, when two identical printers
share a kiosk). A ``backend=`` argument takes any pyusb backend; the default is libusb, and
:mod:`hardware_sim.usb_printer` is a backend that has a simulated printer behind it.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import usb.core
import usb.util

from core.errors import DeviceError, DeviceNotFound, DeviceTimeout, DeviceUnplugged

#: USB interface class of printers (USB Printer Class 1.1, bInterfaceClass).
USB_CLASS_PRINTER = 7

#: libusb errnos that mean the device is gone or its pipe broke: the cable, not the printer.
_UNPLUGGED_ERRNOS = frozenset({errno.ENODEV, errno.EIO, errno.EPIPE})

_T = TypeVar("_T")


def _mapped(method: Callable[..., _T]) -> Callable[..., _T]:
    """Map pyusb errors raised inside a driver method to Hall Edge errors.

    One mapping at the boundary, so each method keeps to its own job.
    """

    @functools.wraps(method)
    def wrapper(self: UsbBulk, *args: Any, **kwargs: Any) -> _T:
        try:
            return method(self, *args, **kwargs)
        except usb.core.USBTimeoutError as err:
            raise DeviceTimeout(f"{self.name}: {err}", **self._facts(err)) from err
        except usb.core.USBError as err:
            if err.errno == errno.ETIMEDOUT:
                raise DeviceTimeout(f"{self.name}: {err}", **self._facts(err)) from err
            if err.errno in _UNPLUGGED_ERRNOS:
                # The handle is dead; forget it so the next open() finds the device again.
                self._forget()
                raise DeviceUnplugged(f"{self.name}: {err}", **self._facts(err)) from err
            raise DeviceError(f"{self.name}: {err}", **self._facts(err)) from err

    return wrapper


class UsbBulk:
    """A USB device spoken to over one bulk OUT and one bulk IN endpoint.

    Args:
        vid: USB vendor id (``0x0416``).
        pid: USB product id (``0x5011``).
        serial: pick the device with this serial number when several match.
        backend: a pyusb backend; ``None`` lets pyusb choose libusb.
        timeout_ms: default timeout of one write or read, in milliseconds. Never 0, which
            libusb reads as "wait forever".
        device_id: the hall's name for the device, carried in errors.
        interface_class: the interface to claim (printer class 7 by default).
    """

    def __init__(
        self,
        vid: int,
        pid: int,
        *,
        serial: str | None = None,
        backend: Any = None,
        timeout_ms: int = 2000,
        device_id: str = "",
        interface_class: int = USB_CLASS_PRINTER,
    ) -> None:
        if timeout_ms <= 0:
            raise ValueError("timeout_ms must be positive; 0 would block forever")
        self.vid = vid
        self.pid = pid
        self.serial = serial
        self.backend = backend
        self.timeout_ms = timeout_ms
        self.device_id = device_id
        self.interface_class = interface_class
        self._dev: Any = None
        self._intf_no: int | None = None
        self._ep_out: Any = None
        self._ep_in: Any = None
        self._reattach = False

    @property
    def name(self) -> str:
        """``vid:pid`` as lsusb shows it, for messages."""
        return f"{self.vid:04x}:{self.pid:04x}"

    @property
    def is_open(self) -> bool:
        """True between a successful :meth:`open` and :meth:`close` or an unplug."""
        return self._dev is not None

    @property
    def endpoints(self) -> tuple[int, int]:
        """``(out, in)`` endpoint addresses found in the descriptors.

        Raises:
            DeviceError (300): the driver is not open.
        """
        if self._ep_out is None or self._ep_in is None:
            raise DeviceError(f"{self.name}: not open", **self._facts())
        return self._ep_out.bEndpointAddress, self._ep_in.bEndpointAddress

    @_mapped
    def open(self) -> None:
        """Find the device, take its printer interface from the kernel, and claim it.

        Raises:
            DeviceNotFound (301): no device with this VID/PID (and serial).
            DeviceUnplugged (302): the device went away while opening.
            DeviceError (300): the interface is busy or access is denied.
        """
        if self._dev is not None:
            return
        dev = self._find()
        intf = self._printer_interface(dev)
        if self._kernel_driver_active(dev, intf.bInterfaceNumber):
            # usblp (or CUPS through it) holds a printer interface; bulk I/O needs it back.
            dev.detach_kernel_driver(intf.bInterfaceNumber)
            self._reattach = True
        self._ensure_configured(dev)
        usb.util.claim_interface(dev, intf.bInterfaceNumber)
        self._ep_out = _bulk_endpoint(intf, usb.util.ENDPOINT_OUT)
        self._ep_in = _bulk_endpoint(intf, usb.util.ENDPOINT_IN)
        if self._ep_out is None or self._ep_in is None:
            usb.util.dispose_resources(dev)
            raise DeviceError(f"{self.name}: interface has no bulk OUT/IN pair", **self._facts())
        self._dev, self._intf_no = dev, intf.bInterfaceNumber

    @_mapped
    def write(self, data: bytes, timeout_ms: int | None = None) -> None:
        """Send all of ``data`` to the bulk OUT endpoint.

        Raises:
            DeviceUnplugged (302): the device went away.
            DeviceTimeout (303): the device did not take the data in time (buffer full,
                printer stopped).
        """
        self._require_open()
        view = memoryview(data)
        while view:
            sent = self._dev.write(self._ep_out, view, self._timeout(timeout_ms))
            if sent <= 0:
                raise DeviceTimeout(f"{self.name}: write accepted no bytes", **self._facts())
            view = view[sent:]

    @_mapped
    def read(self, size: int = 64, timeout_ms: int | None = None) -> bytes:
        """Read what the device has sent on the bulk IN endpoint, up to ``size`` bytes.

        Raises:
            DeviceUnplugged (302): the device went away.
            DeviceTimeout (303): nothing arrived in time.
        """
        self._require_open()
        return bytes(self._dev.read(self._ep_in, size, self._timeout(timeout_ms)))

    def close(self) -> None:
        """Release the interface and give it back to the kernel driver. Never raises."""
        dev, intf_no, reattach = self._dev, self._intf_no, self._reattach
        self._clear()
        if dev is None:
            return
        try:
            usb.util.release_interface(dev, intf_no)
            if reattach:
                dev.attach_kernel_driver(intf_no)
        except (usb.core.USBError, NotImplementedError):
            pass  # the device may already be gone; closing must not fail a shutdown
        usb.util.dispose_resources(dev)

    def __enter__(self) -> UsbBulk:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers ---------------------------------------------------------------------------

    def _find(self) -> Any:
        try:
            found = list(
                usb.core.find(
                    find_all=True, idVendor=self.vid, idProduct=self.pid, backend=self.backend
                )
            )
        except usb.core.NoBackendError as err:
            raise DeviceNotFound(
                f"{self.name}: no USB backend (is libusb-1.0 installed?)", **self._facts()
            ) from err
        for dev in found:
            if self.serial is None or _serial_of(dev) == self.serial:
                return dev
        raise DeviceNotFound(f"{self.name}: no such USB device", **self._facts())

    def _printer_interface(self, dev: Any) -> Any:
        cfg = dev[0]
        intf = usb.util.find_descriptor(cfg, bInterfaceClass=self.interface_class)
        if intf is None:
            raise DeviceNotFound(
                f"{self.name}: no interface of class {self.interface_class}", **self._facts()
            )
        return intf

    @staticmethod
    def _kernel_driver_active(dev: Any, intf_no: int) -> bool:
        try:
            return bool(dev.is_kernel_driver_active(intf_no))
        except NotImplementedError:
            return False  # Windows/macOS backends have no kernel driver to detach
        except usb.core.USBError as err:
            if err.errno == errno.ENOSYS:
                return False
            raise

    @staticmethod
    def _ensure_configured(dev: Any) -> None:
        try:
            dev.get_active_configuration()
        except usb.core.USBError:
            # Unconfigured (no kernel driver did it yet): setting it now is safe and needed.
            dev.set_configuration()

    def _require_open(self) -> None:
        if self._dev is None:
            raise DeviceError(f"{self.name}: not open", **self._facts())

    def _timeout(self, timeout_ms: int | None) -> int:
        return self.timeout_ms if timeout_ms is None else max(1, timeout_ms)

    def _clear(self) -> None:
        self._dev = self._intf_no = self._ep_out = self._ep_in = None
        self._reattach = False

    def _forget(self) -> None:
        dev = self._dev
        self._clear()
        if dev is not None:
            try:
                usb.util.dispose_resources(dev)
            except usb.core.USBError:
                pass

    def _facts(self, err: usb.core.USBError | None = None) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "device": self.device_id,
            "vid": f"{self.vid:04x}",
            "pid": f"{self.pid:04x}",
        }
        if self.serial:
            facts["serial"] = self.serial
        if err is not None and err.errno is not None:
            facts["errno"] = err.errno
        return facts


def _bulk_endpoint(intf: Any, direction: int) -> Any:
    return usb.util.find_descriptor(
        intf,
        custom_match=lambda ep: usb.util.endpoint_direction(ep.bEndpointAddress) == direction
        and usb.util.endpoint_type(ep.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK,
    )


def _serial_of(dev: Any) -> str | None:
    try:
        return dev.serial_number
    except (usb.core.USBError, ValueError):
        # No string descriptors or no permission to read them: cannot be the one asked for.
        return None
