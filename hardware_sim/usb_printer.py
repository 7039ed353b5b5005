"""The simulated printer as a pyusb backend, so the real :class:`drivers.usb_bulk.UsbBulk` runs.

pyusb asks a backend for descriptors and transfers; libusb answers from the kernel, this module
answers from an :class:`~hardware_sim.escpos_printer.EscPosPrinterSim`. It enumerates one USB
printer the way a 58 mm "POS-5890" shows up in ``lsusb -v``: VID 0416, PID 5011, one
configuration, one printer-class interface (class 7, subclass 1, protocol 2 bidirectional) with a
bulk OUT and a bulk IN endpoint, and a serial-number string. Errors are raised as libusb raises
them: a pulled cable is ``USBError`` with errno ``ENODEV``, a read with no data
``USBTimeoutError`` with ``ETIMEDOUT``, a claim while the kernel's usblp holds the interface
``EBUSY``.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import Any

import usb.backend
from usb.core import USBError, USBTimeoutError

from hardware_sim.escpos_printer import EscPosPrinterSim

#: Winbond VID / PID of the generic POS-5890 printers (reference §2.5).
SIM_VID, SIM_PID = 0x0416, 0x5011
#: USB descriptor type numbers (USB 2.0 §9.4, table 9-5).
DESC_STRING = 3
#: libusb error numbers, as pyusb passes them in ``USBError.backend_error_code``.
LIBUSB_ERROR_IO, LIBUSB_ERROR_NO_DEVICE, LIBUSB_ERROR_BUSY = -1, -4, -6
LIBUSB_ERROR_TIMEOUT, LIBUSB_ERROR_PIPE = -7, -9
#: US English, the only language of our strings.
LANGID_EN_US = 0x0409


@dataclass
class _Descriptor:
    """Any USB descriptor: pyusb reads fields by name and ignores the rest."""

    fields: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["fields"][name]
        except KeyError:
            raise AttributeError(name) from None


class _SimDevice:
    """The backend's opaque device identity."""


@dataclass(frozen=True)
class _Handle:
    """An open device handle; it dies with the plug it was opened on."""

    plug: int


class UsbPrinterBackend(usb.backend.IBackend):
    """A pyusb backend with one simulated USB printer on it.

    Args:
        sim: the printer behind the USB interface.
        serial: the serial-number string descriptor.
        ep_out: address of the bulk OUT endpoint.
        ep_in: address of the bulk IN endpoint (0x80 bit set).
        kernel_driver: start with the kernel's usblp bound to the interface, as on Linux.
    """

    def __init__(
        self,
        sim: EscPosPrinterSim,
        *,
        serial: str = "HE58SIM0001",
        ep_out: int = 0x03,
        ep_in: int = 0x81,
        kernel_driver: bool = True,
        vid: int = SIM_VID,
        pid: int = SIM_PID,
    ) -> None:
        super().__init__()
        self.sim = sim
        self.kernel_driver = kernel_driver
        self._kernel_driver_on_plug = kernel_driver
        self._plug_seen = sim.unplug_count
        self.configuration = 1
        self.claimed: set[int] = set()
        self._device = _SimDevice()
        self._strings = {1: "Hall Edge", 2: "POS-58 Simulator", 3: serial}
        self._device_desc = _Descriptor({
            "bLength": 18, "bDescriptorType": 1, "bcdUSB": 0x0200,
            "bDeviceClass": 0, "bDeviceSubClass": 0, "bDeviceProtocol": 0,
            "bMaxPacketSize0": 64, "idVendor": vid, "idProduct": pid, "bcdDevice": 0x0100,
            "iManufacturer": 1, "iProduct": 2, "iSerialNumber": 3, "bNumConfigurations": 1,
            "address": 7, "bus": 1, "port_number": 2, "port_numbers": (2,), "speed": 2,
        })
        self._config_desc = _Descriptor({
            "bLength": 9, "bDescriptorType": 2, "wTotalLength": 32, "bNumInterfaces": 1,
            "bConfigurationValue": 1, "iConfiguration": 0, "bmAttributes": 0xC0,
            "bMaxPower": 50, "extra_descriptors": [],
        })
        self._intf_desc = _Descriptor({
            "bLength": 9, "bDescriptorType": 4, "bInterfaceNumber": 0, "bAlternateSetting": 0,
            "bNumEndpoints": 2, "bInterfaceClass": 7, "bInterfaceSubClass": 1,
            "bInterfaceProtocol": 2, "iInterface": 0, "extra_descriptors": [],
        })
        self._ep_descs = [
            _Descriptor({
                "bLength": 7, "bDescriptorType": 5, "bEndpointAddress": address,
                "bmAttributes": 0x02, "wMaxPacketSize": 64, "bInterval": 0, "bRefresh": 0,
                "bSynchAddress": 0, "extra_descriptors": [],
            })
            for address in (ep_out, ep_in)
        ]
        self.ep_out, self.ep_in = ep_out, ep_in

    # --- enumeration and descriptors --------------------------------------------------------

    def enumerate_devices(self) -> Any:
        if self.sim.plugged:
            yield self._device

    def get_parent(self, dev: Any) -> None:
        return None

    def get_device_descriptor(self, dev: Any) -> _Descriptor:
        return self._device_desc

    def get_configuration_descriptor(self, dev: Any, config: int) -> _Descriptor:
        if config != 0:
            raise IndexError("the printer has one configuration")
        return self._config_desc

    def get_interface_descriptor(self, dev: Any, intf: int, alt: int, config: int) -> _Descriptor:
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError("the printer has one interface")
        return self._intf_desc

    def get_endpoint_descriptor(
        self, dev: Any, ep: int, intf: int, alt: int, config: int
    ) -> _Descriptor:
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError("the printer has one interface")
        return self._ep_descs[ep]

    # --- handles and interfaces -------------------------------------------------------------

    def open_device(self, dev: Any) -> _Handle:
        self._check_plugged()
        return _Handle(self.sim.unplug_count)

    def close_device(self, dev_handle: Any) -> None:
        if dev_handle.plug == self.sim.unplug_count:
            self.claimed.clear()

    def set_configuration(self, dev_handle: Any, config_value: int) -> None:
        self._check_plugged(dev_handle)
        if self.claimed:
            _raise(LIBUSB_ERROR_BUSY, errno.EBUSY, "Resource busy")
        self.configuration = config_value

    def get_configuration(self, dev_handle: Any) -> int:
        self._check_plugged(dev_handle)
        return self.configuration

    def set_interface_altsetting(self, dev_handle: Any, intf: int, altsetting: int) -> None:
        self._check_plugged(dev_handle)

    def claim_interface(self, dev_handle: Any, intf: int) -> None:
        self._check_plugged(dev_handle)
        if self.kernel_driver:
            _raise(LIBUSB_ERROR_BUSY, errno.EBUSY, "Resource busy")
        self.claimed.add(intf)

    def release_interface(self, dev_handle: Any, intf: int) -> None:
        self.claimed.discard(intf)

    def is_kernel_driver_active(self, dev_handle: Any, intf: int) -> bool:
        self._check_plugged(dev_handle)
        return self.kernel_driver

    def detach_kernel_driver(self, dev_handle: Any, intf: int) -> None:
        self._check_plugged(dev_handle)
        self.kernel_driver = False

    def attach_kernel_driver(self, dev_handle: Any, intf: int) -> None:
        self._check_plugged(dev_handle)
        self.kernel_driver = True

    def clear_halt(self, dev_handle: Any, ep: int) -> None:
        self._check_plugged(dev_handle)

    def reset_device(self, dev_handle: Any) -> None:
        self._check_plugged(dev_handle)

    # --- transfers --------------------------------------------------------------------------

    def bulk_write(self, dev_handle: Any, ep: int, intf: int, data: Any, timeout: int) -> int:
        self._check_plugged(dev_handle)
        self._check_claimed(intf)
        if ep != self.ep_out:
            _raise(LIBUSB_ERROR_PIPE, errno.EPIPE, "Pipe error")
        payload = bytes(data)
        self.sim.feed(payload)
        return len(payload)

    def bulk_read(self, dev_handle: Any, ep: int, intf: int, buff: Any, timeout: int) -> int:
        self._check_plugged(dev_handle)
        self._check_claimed(intf)
        if ep != self.ep_in:
            _raise(LIBUSB_ERROR_PIPE, errno.EPIPE, "Pipe error")
        # libusb reads 0 as "no timeout"; honour it like libusb does.
        got = self.sim.read_reply(len(buff), None if timeout == 0 else timeout / 1000)
        self._check_plugged(dev_handle)
        if not got:
            raise USBTimeoutError("Operation timed out", LIBUSB_ERROR_TIMEOUT, errno.ETIMEDOUT)
        buff[: len(got)] = type(buff)(buff.typecode, got)
        return len(got)

    def ctrl_transfer(
        self, dev_handle: Any, bmRequestType: int, bRequest: int, wValue: int, wIndex: int,
        data: Any, timeout: int,
    ) -> int:
        self._check_plugged(dev_handle)
        reply = self._control_reply(bmRequestType, bRequest, wValue, wIndex)
        if reply is None:
            _raise(LIBUSB_ERROR_PIPE, errno.EPIPE, "Pipe error")  # a device stalls what it lacks
        reply = reply[: len(data)]
        data[: len(reply)] = type(data)(data.typecode, reply)
        return len(reply)

    def _control_reply(
        self, request_type: int, request: int, value: int, index: int
    ) -> bytes | None:
        if request_type == 0x80 and request == 0x06 and value >> 8 == DESC_STRING:
            string_index = value & 0xFF
            if string_index == 0:
                return bytes((4, DESC_STRING)) + LANGID_EN_US.to_bytes(2, "little")
            text = self._strings.get(string_index)
            if text is None:
                return None
            body = text.encode("utf-16-le")
            return bytes((2 + len(body), DESC_STRING)) + body
        if request_type == 0xA1 and request == 0x00:
            # Printer class GET_DEVICE_ID: IEEE 1284 id, big-endian length prefix included.
            ident = b"MFG:Hall Edge;MDL:POS-58 Simulator;CMD:ESC/POS;CLS:PRINTER;"
            return (len(ident) + 2).to_bytes(2, "big") + ident
        return None

    def _check_plugged(self, handle: _Handle | None = None) -> None:
        if self._plug_seen != self.sim.unplug_count:
            # Replugged or gone: the kernel forgot our claim and rebinds usblp on arrival.
            self._plug_seen = self.sim.unplug_count
            self.claimed.clear()
            self.kernel_driver = self._kernel_driver_on_plug
            self.configuration = 1
        stale = handle is not None and handle.plug != self.sim.unplug_count
        if not self.sim.plugged or stale:
            _raise(LIBUSB_ERROR_NO_DEVICE, errno.ENODEV,
                   "No such device (it may have been disconnected)")

    def _check_claimed(self, intf: int) -> None:
        if intf not in self.claimed:
            # Linux usbfs refuses I/O on an interface the process has not claimed.
            _raise(LIBUSB_ERROR_IO, errno.EIO, "Input/Output Error")


def _raise(code: int, err_no: int, message: str) -> None:
    raise USBError(message, code, err_no)
