"""The device end of a simulated serial line: a pty pair paced at the configured baud rate.

The real driver opens :attr:`PtyLink.path` with pyserial, exactly as it would open
``/dev/ttyUSB0``. pyserial's baud setting does nothing on a pty, so the link paces both
directions itself: bytes reach the simulator, and the simulator's answers reach the driver, no
faster than ``baud`` allows (10 bits a byte for 8N1). A 115200-baud ID card read therefore takes
as long on the simulator as on the wire.

:attr:`path` is a stable symlink, so :meth:`unplug` / :meth:`plug` can model a cable pulled and
put back: the driver's open port dies with EIO, and the same path works again after ``plug``.
"""

from __future__ import annotations

import os
import select
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

#: Bits on the wire per byte for 8N1: start bit, 8 data bits, stop bit.
BITS_PER_BYTE = 10


class PtyLink:
    """A paced serial line whose far end is a Python callback.

    Args:
        baud: line speed used for pacing.
        on_bytes: called on the link's thread with each chunk the driver wrote, after the
            chunk's wire time has passed.
        name: a label for the symlink (``ttySIM-idreader``).
    """

    def __init__(self, baud: int, on_bytes: Callable[[bytes], None], name: str = "ttySIM") -> None:
        self.baud = baud
        self.on_bytes = on_bytes
        self._dir = Path(tempfile.mkdtemp(prefix="halledge-pty-"))
        self.path = str(self._dir / name)
        self._master: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        #: Total bytes each way, for benchmarks (wire time = bytes × 10 / baud).
        self.bytes_in = 0
        self.bytes_out = 0

    def byte_time(self, n: int) -> float:
        """Seconds ``n`` bytes take on the wire."""
        return n * BITS_PER_BYTE / self.baud

    def start(self) -> PtyLink:
        self.plug()
        return self

    def plug(self) -> None:
        """Connect (again): a fresh pty behind the same :attr:`path`."""
        if self._master is not None:
            return
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        link = Path(self.path)
        link.unlink(missing_ok=True)
        link.symlink_to(os.ttyname(slave))
        # The driver opens its own fd through the path; ours would keep the pty alive.
        self._slave_keepalive = slave
        self._master = master
        self._stop.clear()
        self._thread = threading.Thread(target=self._pump, name=f"pty-{link.name}", daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        """Pull the cable: the driver's open port fails, opening the path fails."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        master, self._master = self._master, None
        for fd in (master, getattr(self, "_slave_keepalive", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._slave_keepalive = None
        Path(self.path).unlink(missing_ok=True)

    def stop(self) -> None:
        self.unplug()
        try:
            self._dir.rmdir()
        except OSError:
            pass

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def send(self, data: bytes, chunk: int = 16) -> None:
        """Answer the driver, paced at the baud rate (in small chunks, as a UART drains)."""
        with self._write_lock:
            for i in range(0, len(data), chunk):
                part = data[i : i + chunk]
                start = time.monotonic()
                master = self._master
                if master is None:
                    return
                try:
                    os.write(master, part)
                except OSError:
                    return
                self.bytes_out += len(part)
                _sleep_until(start + self.byte_time(len(part)))

    def _pump(self) -> None:
        master = self._master
        while not self._stop.is_set() and master is not None:
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except OSError:
                # EIO while no driver holds the slave open: nothing to read, keep waiting.
                time.sleep(0.01)
                continue
            if not data:
                continue
            arrived = time.monotonic()
            self.bytes_in += len(data)
            # The host's bytes are only all here once their wire time has passed.
            _sleep_until(arrived + self.byte_time(len(data)))
            try:
                self.on_bytes(data)
            except Exception:  # noqa: BLE001 - a simulator bug must not kill the line
                import logging

                logging.getLogger(__name__).exception("simulator failed on %r", data[:32])


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
