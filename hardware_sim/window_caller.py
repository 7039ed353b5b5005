"""Simulator of an RS-485 bus of window callers (呼叫器) with 4-key rating pads (评价器).

Several callers share one paced pty line at 9600 baud (:class:`hardware_sim.pty_link.PtyLink`),
each answering only its own address, and they speak the ``FF 68 … 16`` frames of
:mod:`protocols.caller_frame` (reference §5.2). The simulator is strict: a host frame with a bad
CS, a wrong L, an unknown function or a digit the display cannot show is refused (counted in
:attr:`WindowCallerBusSim.rejected`), never half-obeyed.

The host must echo each key frame unchanged (a caller whose key was not echoed shows it in
:meth:`WindowCallerBusSim.wait_echo`), and acknowledge each rating with ``F=01`` and the same
key value; an unacknowledged rating is sent again, as a pad keeps a result until the host
has it.

Faults (:class:`CallerFault`) are the ones a technician meets: the cable pulled, noise on the
line, a corrupted checksum, a wrong length byte, and a sender so slow its frames fall apart.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import Enum

from hardware_sim.pty_link import PtyLink
from protocols.caller_frame import (
    BLANK_DIGIT,
    DEVICE_MAX_L,
    DEVICE_MIN_L,
    F_BEEP,
    F_DISPLAY,
    F_KEY,
    F_RATING,
    F_RATING_ACK,
    START_RATING_DATA,
    Frame,
    FrameParser,
    encode_frame,
)

#: The caller's keys as the bytes each sends (§5.2): a function key alone, or a digit key then
#: the confirm key (0F) for the two-key actions.
KEYBOARD: dict[str, bytes] = {
    "call": b"\x0c",
    "recall": b"\x0d",
    "rate": b"\x0b",
    "cancel": b"\x0e",
    "give_up": b"\x06\x0f",
    "hang": b"\x00\x0f",
    "call_back": b"\x03\x0f",
    "one_metre": b"\x11",
    "pause": b"\x12",
    "transfer": b"\x13",
}

#: Noise a "garbage" line puts before each frame: a stray FF, then a false start whose L and L'
#: differ, so the host must report it and resynchronise on the real frame behind it.
NOISE = b"\x00\x55\xaa\xff\x13\xff\x68\x07\x09\x68\x13"

#: Bytes a "slow" caller puts on the line at once.
SLOW_BURST = 3


class CallerFault(str, Enum):
    """Faults the bus can be given (``faults=`` in a ``sim://window-caller`` URL)."""

    #: the RS-485 adapter is pulled out: the port disappears
    UNPLUG = "unplug"
    #: noise and a false frame start before every frame the devices send
    GARBAGE = "garbage"
    #: every frame sent carries CS + 1
    BAD_CHECKSUM = "bad_checksum"
    #: every frame sent has L' = L + 1
    WRONG_LENGTH = "wrong_length"
    #: frames go out in bursts of :data:`SLOW_BURST` bytes, :attr:`WindowCallerBusSim.slow_gap_s`
    #: apart (a busy microcontroller feeding its UART)
    SLOW = "slow"


@dataclass
class CallerUnit:
    """One caller and its rating pad at a bus address.

    Attributes:
        address: bus address.
        display: the six digits shown, as text: waiting count (left 3) and ticket (right 3),
            a space for a blank digit.
        beeps: beeps heard.
        ratings_started: "start rating" commands received.
        echoed: key frames the host echoed, oldest first.
        acked: rating key values the host acknowledged, oldest first.
    """

    address: int
    display: str = "      "
    beeps: int = 0
    ratings_started: int = 0
    echoed: list[bytes] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)
    _awaiting_echo: bytes | None = None
    _awaiting_ack: int | None = None

    @property
    def waiting_digits(self) -> str:
        return self.display[:3]

    @property
    def ticket_digits(self) -> str:
        return self.display[3:]


class WindowCallerBusSim:
    """Callers at several addresses on one simulated RS-485 line.

    Args:
        addresses: the bus addresses of the callers (each with its pad).
        baud: line speed; 9600 as in §5.2.
        name: the pty symlink's name.
        resend_s: how long a pad waits for a rating acknowledgement before sending again.
        resends: how many times it sends a rating again before giving up.

    Attributes:
        rejected: reasons for host frames the devices refused, oldest first.
        slow_gap_s: pause between bytes under the ``slow`` fault.
    """

    def __init__(
        self,
        addresses: tuple[int, ...] = (1,),
        baud: int = 9600,
        name: str = "ttySIM-caller",
        *,
        resend_s: float = 0.5,
        resends: int = 3,
    ) -> None:
        self.units = {a: CallerUnit(a) for a in addresses}
        self.link = PtyLink(baud, self._on_bytes, name=name)
        self.resend_s = resend_s
        self.resends = resends
        self.slow_gap_s = 0.05
        self.faults: set[CallerFault] = set()
        self.rejected: list[str] = []
        self._parser = FrameParser(DEVICE_MIN_L, DEVICE_MAX_L)
        self._changed = threading.Condition()
        self._stopping = threading.Event()

    @property
    def path(self) -> str:
        """The port the host opens (a stable symlink to the pty)."""
        return self.link.path

    def start(self) -> WindowCallerBusSim:
        self._stopping.clear()
        self.link.start()
        if CallerFault.UNPLUG in self.faults:
            self.link.unplug()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.link.stop()

    def unit(self, address: int) -> CallerUnit:
        return self.units[address]

    # --- faults -----------------------------------------------------------------------

    def inject(self, fault: CallerFault) -> None:
        """Turn a fault on."""
        self.faults.add(fault)
        if fault is CallerFault.UNPLUG:
            self.link.unplug()

    def clear(self, fault: CallerFault) -> None:
        """Turn a fault off (``unplug``: the adapter is plugged back in)."""
        self.faults.discard(fault)
        if fault is CallerFault.UNPLUG and not self._stopping.is_set():
            self.link.plug()

    # --- what the staff and citizens do ------------------------------------------------

    def press(self, address: int, key: str) -> bytes:
        """A staff member presses a key (a :data:`KEYBOARD` name) on the caller at ``address``.

        Returns:
            The frame as the caller meant it (before any fault spoils it on the wire).
        """
        return self.press_raw(address, KEYBOARD[key])

    def press_raw(self, address: int, data: bytes) -> bytes:
        """Send a key frame with arbitrary data, for keys outside the table."""
        frame = encode_frame(Frame(address, F_KEY, data))
        with self._changed:
            self.units[address]._awaiting_echo = frame
        self._send(frame)
        return frame

    def rate(self, address: int, key_value: int) -> None:
        """A citizen presses rating key ``key_value`` (0–3, or any byte to test the host) on the
        pad at ``address``; the pad sends it until the host acknowledges it."""
        frame = encode_frame(Frame(address, F_RATING, bytes((key_value,))))
        with self._changed:
            self.units[address]._awaiting_ack = key_value
        threading.Thread(
            target=self._send_until_acked,
            args=(address, key_value, frame),
            daemon=True,
            name=f"sim-rater-{address}",
        ).start()

    def send_noise(self, data: bytes) -> None:
        """Put bytes on the line as they are (a crosstalk burst, another vendor's device)."""
        self.link.send(data)

    # --- for tests ---------------------------------------------------------------------

    def wait_echo(self, address: int, timeout: float = 2.0) -> bool:
        """Wait until the caller's last key frame was echoed; False if it never was."""
        return self._wait(lambda: self.units[address]._awaiting_echo is None, timeout)

    def wait_acked(self, address: int, timeout: float = 3.0) -> bool:
        """Wait until the pad's last rating was acknowledged; False if it never was."""
        return self._wait(lambda: self.units[address]._awaiting_ack is None, timeout)

    def wait_for(self, predicate, timeout: float = 2.0) -> bool:  # type: ignore[no-untyped-def]
        """Wait until ``predicate()`` holds after a host frame; False on timeout."""
        return self._wait(predicate, timeout)

    def _wait(self, predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    # --- the wire ------------------------------------------------------------------------

    def _send(self, frame: bytes) -> None:
        wire = self._spoil(frame)
        if CallerFault.SLOW in self.faults:
            for at in range(0, len(wire), SLOW_BURST):
                self.link.send(wire[at : at + SLOW_BURST])
                if self._stopping.wait(self.slow_gap_s):
                    return
        else:
            self.link.send(wire)

    def _spoil(self, frame: bytes) -> bytes:
        wire = bytearray(frame)
        if CallerFault.BAD_CHECKSUM in self.faults:
            wire[-2] = (wire[-2] + 1) & 0xFF
        if CallerFault.WRONG_LENGTH in self.faults:
            wire[3] = (wire[3] + 1) & 0xFF
        if CallerFault.GARBAGE in self.faults:
            wire[:0] = NOISE
        return bytes(wire)

    def _send_until_acked(self, address: int, key_value: int, frame: bytes) -> None:
        for _ in range(1 + self.resends):
            if self._stopping.is_set():
                return
            self._send(frame)
            if self._wait(lambda: self.units[address]._awaiting_ack != key_value, self.resend_s):
                return

    def _on_bytes(self, data: bytes) -> None:
        for result in self._parser.feed(data):
            if isinstance(result, Frame):
                self._obey(result)
            else:
                self._refuse(f"{result.details.get('reason')}: {result}")

    def _obey(self, frame: Frame) -> None:
        unit = self.units.get(frame.address)
        if unit is None:
            return  # another device's address: RS-485 devices ignore it
        with self._changed:
            reason = self._apply(unit, frame)
            self._changed.notify_all()
        if reason:
            self._refuse(reason)

    def _apply(self, unit: CallerUnit, frame: Frame) -> str | None:
        raw = encode_frame(frame)
        if unit._awaiting_echo is not None and raw == unit._awaiting_echo:
            unit.echoed.append(raw)
            unit._awaiting_echo = None
            return None
        if frame.function == F_RATING_ACK and frame.data == START_RATING_DATA:
            unit.ratings_started += 1
            return None
        if frame.function == F_RATING_ACK and len(frame.data) == 1:
            if unit._awaiting_ack != frame.data[0]:
                return f"ack of rating {frame.data[0]} that was not sent"
            unit.acked.append(frame.data[0])
            unit._awaiting_ack = None
            return None
        if frame.function == F_BEEP and not frame.data:
            unit.beeps += 1
            return None
        if frame.function == F_DISPLAY and len(frame.data) == 6:
            if any(d > 9 and d != BLANK_DIGIT for d in frame.data):
                return f"display digit outside 0-9/0A: {frame.data.hex(' ')}"
            unit.display = "".join(" " if d == BLANK_DIGIT else str(d) for d in frame.data)
            return None
        return f"unknown command F=0x{frame.function:02X} data={frame.data.hex(' ')}"

    def _refuse(self, reason: str) -> None:
        with self._changed:
            self.rejected.append(reason)
            self._changed.notify_all()
