"""The host end of an RS-485 caller bus: one serial port, several device addresses.

A reader thread turns the line's bytes into frames (:class:`protocols.caller_frame.FrameParser`)
and keeps the link rules of reference §5.2: every key frame from a configured address is echoed
unchanged, every rating (``F=11``) is acknowledged with ``F=01`` and the same key value. The
frame then goes to the handler registered for its address. Broken frames, a frame cut off by a
line quiet for longer than :attr:`CallerBus.frame_gap_s`, and a lost port are reported to
the error handler and kept for :meth:`CallerBus.last_fault`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from core.errors import CallerFrameInvalid, DeviceError, HallEdgeError
from drivers.serial_port import SerialPort
from protocols.caller_frame import (
    F_RATING,
    F_RATING_ACK,
    HOST_MAX_L,
    HOST_MIN_L,
    Frame,
    FrameParser,
    encode_frame,
)

log = logging.getLogger(__name__)

FrameHandler = Callable[[Frame], None]
ErrorHandler = Callable[[HallEdgeError], None]

#: How long the reader waits for bytes before checking for a stalled frame or a stop.
_POLL_S = 0.05
#: How long the reader waits before opening a lost port again.
_REOPEN_S = 0.3


class CallerBus:
    """Callers and rating pads at several addresses on one serial line.

    Args:
        port: the serial line (9600 8N1 for §5.2 devices).
        frame_gap_s: a frame not complete after the line has been quiet this long is dropped
            as truncated. A 15-byte frame takes 16 ms at 9600 baud.
        on_error: told about each broken frame and a lost port, on the reader thread.
    """

    def __init__(
        self,
        port: SerialPort,
        *,
        frame_gap_s: float = 0.3,
        on_error: ErrorHandler | None = None,
    ) -> None:
        self.port = port
        self.frame_gap_s = frame_gap_s
        self.on_error = on_error
        self._parser = FrameParser(HOST_MIN_L, HOST_MAX_L)
        self._handlers: dict[int, FrameHandler] = {}
        self._write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fault: DeviceError | None = None
        self._frames = 0

    # --- life cycle -------------------------------------------------------------------

    def attach(self, address: int, handler: FrameHandler) -> None:
        """Route frames from ``address`` to ``handler`` (on the reader thread)."""
        if not 0 <= address <= 0xFF:
            raise ValueError(f"bus address {address} outside one byte")
        self._handlers[address] = handler

    def start(self) -> CallerBus:
        """Open the port and start reading. A port that cannot be opened now is tried again
        in the background; :meth:`last_fault` says why it is not there.
        """
        if self._thread is None:
            self._stop.clear()
            self._try_open()
            self._thread = threading.Thread(
                target=self._read_forever, name=f"caller-bus-{self.port.url}", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop reading and close the port."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
        self.port.close()

    # --- host to device -----------------------------------------------------------------

    def send(self, frame: Frame) -> None:
        """Put one frame on the line.

        Raises:
            DeviceNotFound (301): the port cannot be opened.
            DeviceUnplugged (302): the port went away.
            DeviceTimeout (303): the line would not take the bytes.
        """
        with self._write_lock:
            try:
                self.port.write(encode_frame(frame))
            except DeviceError as err:
                self._set_fault(err)
                raise

    # --- state -------------------------------------------------------------------------

    def last_fault(self) -> DeviceError | None:
        """The fault since the last good frame or open: a lost port or a broken frame."""
        with self._state_lock:
            return self._fault

    @property
    def frames_received(self) -> int:
        """Valid frames read so far."""
        return self._frames

    # --- reader ------------------------------------------------------------------------

    def _try_open(self) -> bool:
        try:
            self.port.open()
        except DeviceError as err:
            self._set_fault(err)
            return False
        with self._state_lock:
            if self._fault is not None and not isinstance(self._fault, CallerFrameInvalid):
                self._fault = None
        return True

    def _read_forever(self) -> None:
        last_byte = time.monotonic()
        while not self._stop.is_set():
            if not self.port.is_open and not self._try_open():
                self._stop.wait(_REOPEN_S)
                continue
            try:
                data = self.port.read_available(_POLL_S)
            except DeviceError as err:
                self._lost(err)
                continue
            now = time.monotonic()
            if data:
                last_byte = now
                self._take(self._parser.feed(data))
            elif self._parser.pending and now - last_byte > self.frame_gap_s:
                cut = self._parser.flush()
                if cut is not None:
                    self._take([cut])

    def _lost(self, err: DeviceError) -> None:
        self._set_fault(err)
        self._report(err)
        # A frame half-read before the cable went is not completed by the next device's bytes.
        self._parser.flush()
        self._stop.wait(_REOPEN_S)

    def _take(self, results: list[Frame | CallerFrameInvalid]) -> None:
        for result in results:
            if isinstance(result, CallerFrameInvalid):
                result.details.setdefault("port", self.port.url)
                self._set_fault(result)
                self._report(result)
                continue
            self._frames += 1
            with self._state_lock:
                self._fault = None
            handler = self._handlers.get(result.address)
            if handler is None:
                log.debug("frame from unconfigured address %d ignored", result.address)
                continue
            self._answer(result)
            try:
                handler(result)
            except HallEdgeError as err:
                self._report(err)
            except Exception:
                log.exception("caller frame handler failed on %s", result)

    def _answer(self, frame: Frame) -> None:
        """The §5.2 link answer: echo a key frame, acknowledge a rating."""
        reply = frame
        if frame.function == F_RATING:
            reply = Frame(frame.address, F_RATING_ACK, frame.data[:1])
        try:
            self.send(reply)
        except DeviceError as err:
            self._report(err)

    def _set_fault(self, err: DeviceError) -> None:
        with self._state_lock:
            self._fault = err

    def _report(self, err: HallEdgeError) -> None:
        log.warning("caller bus %s: error %s (%s): %s", self.port.url, err.code, err.key, err)
        if self.on_error is not None:
            try:
                self.on_error(err)
            except Exception:
                log.exception("caller bus error handler failed")
