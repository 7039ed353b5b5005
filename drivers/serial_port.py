"""A byte driver over a serial line (pyserial): ID card readers, window callers, rating pads.

The port is named the way pyserial names it, so one configuration line picks the hardware or
a simulator and a technician can turn on a wire trace without a code change:

* ``/dev/ttyUSB0`` or ``/dev/pts/7`` (a simulator's pty) — the port itself;
* ``hwgrep://10c4:ea60`` — the first port whose USB VID:PID (or description) matches;
* ``spy:///dev/ttyUSB0?file=/tmp/trace.txt`` — the same port with a hex dump of the traffic.

The contract is the one every driver here keeps: ``open``, ``write``, ``read``, ``close``.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from core.errors import DeviceError, DeviceNotFound, DeviceTimeout, DeviceUnplugged

T = TypeVar("T")

#: errnos that mean the device went away under an open port.
_GONE = {errno.EIO, errno.ENXIO, errno.ENODEV, errno.EBADF}


def _mapped(method: Callable[..., T]) -> Callable[..., T]:
    """Map pyserial and OS errors to the runtime's device errors, once, at the boundary."""

    @functools.wraps(method)
    def wrapper(self: SerialPort, *args: Any, **kwargs: Any) -> T:
        import serial

        try:
            return method(self, *args, **kwargs)
        except DeviceError:
            raise
        except (serial.SerialException, OSError) as err:
            self._drop()
            cause = getattr(err, "errno", None)
            facts = {"device": self.device_id, "port": self.url, "errno": cause}
            if not self._was_open:
                raise DeviceNotFound(f"cannot open {self.url}: {err}", **facts) from err
            if cause in _GONE or cause is None:
                raise DeviceUnplugged(f"{self.url} went away: {err}", **facts) from err
            raise DeviceError(f"{self.url}: {err}", **facts) from err

    return wrapper


class SerialPort:
    """A serial line, opened lazily.

    Args:
        url: the port (path, ``hwgrep://``, ``spy://`` … see the module docstring).
        baudrate: line speed; 8N1 framing.
        timeout_s: default read timeout.
        device_id: the hall's name for the device, carried in errors.
    """

    def __init__(
        self, url: str, baudrate: int = 9600, timeout_s: float = 1.0, device_id: str = ""
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.device_id = device_id
        self._port: Any = None
        self._was_open = False

    @property
    def is_open(self) -> bool:
        return self._port is not None

    @_mapped
    def open(self) -> None:
        """Open the port.

        Raises:
            DeviceNotFound (301): no such port, or nothing matches the hwgrep pattern.
        """
        if self._port is not None:
            return
        import serial

        self._was_open = False
        self._port = serial.serial_for_url(
            self.url, baudrate=self.baudrate, bytesize=8, parity="N", stopbits=1,
            timeout=self.timeout_s, write_timeout=max(self.timeout_s, 1.0),
        )
        self._was_open = True

    @_mapped
    def write(self, data: bytes, timeout_ms: int | None = None) -> None:
        """Write all of ``data``.

        ``timeout_ms`` is accepted for the common byte-driver contract (a USB write takes
        one); the serial write timeout is the port's.

        Raises:
            DeviceUnplugged (302): the device went away.
            DeviceTimeout (303): the line would not take the bytes (flow control stuck).
        """
        import serial

        self.open()
        try:
            self._port.write(data)
            self._port.flush()
        except serial.SerialTimeoutException as err:
            raise DeviceTimeout(f"write to {self.url} timed out", device=self.device_id) from err

    @_mapped
    def read(
        self, size: int = 1, timeout_s: float | None = None, timeout_ms: int | None = None
    ) -> bytes:
        """Read up to ``size`` bytes, waiting at most ``timeout_s`` for the first ones.

        ``timeout_ms`` is the same limit in the unit USB drivers take, so a device written for
        the common byte-driver contract (the ticket printer) works over either cable.

        Returns:
            What arrived; empty when nothing came in time (the caller decides if that is a
            timeout: a device polled for a card legitimately says nothing).
        """
        self.open()
        if timeout_ms is not None:
            timeout_s = timeout_ms / 1000
        self._port.timeout = self.timeout_s if timeout_s is None else timeout_s
        return bytes(self._port.read(size))

    @_mapped
    def read_available(self, timeout_s: float) -> bytes:
        """Whatever arrives within ``timeout_s`` (at least one byte if any comes)."""
        self.open()
        self._port.timeout = timeout_s
        first = bytes(self._port.read(1))
        if not first:
            return b""
        waiting = self._port.in_waiting
        rest = bytes(self._port.read(waiting)) if waiting else b""
        return first + rest

    def reset_input(self) -> None:
        """Drop unread bytes: after a timeout, a late answer must not pass for the next one."""
        if self._port is not None:
            try:
                self._port.reset_input_buffer()
            except Exception:  # noqa: BLE001 - best effort on a port that may be gone
                self._drop()

    def close(self) -> None:
        self._drop()

    def _drop(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # noqa: BLE001 - the port is being abandoned anyway
                pass
