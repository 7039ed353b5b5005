"""The serial window caller (窗口呼叫器) and its 4-key rating pad (评价器), reference §5.2.

A caller is a keypad with a small 3+3 digit display on the counter: staff press 呼叫, 重呼,
评价 … and the host turns each key frame into a :class:`CallerAction`. The host shows the
ticket being served and the waiting count on the digits, and can make the caller beep.

The 4-key pad next to it answers a rating request with a key value 0–3. The national 好差评
scale has five levels (reference §5.5), so the pad cannot express all of them; the mapping is
data (:data:`RATER_PROFILES`) and documented in ``docs/devices/window-caller.md``.
:class:`CallerRatingPad` keeps the interface of :class:`devices.rating_pad.RatingPad`, so a
window flow can use either.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from core.errors import (
    BadResponse,
    CallerKeyUnknown,
    DeviceError,
    HallEdgeError,
    RatingKeyInvalid,
    RatingNotRequested,
)
from devices.health import Health, HealthState, Reason
from drivers.caller_bus import CallerBus
from protocols.caller_frame import (
    BLANK_DIGIT,
    F_BEEP,
    F_DISPLAY,
    F_RATING,
    F_RATING_ACK,
    START_RATING_DATA,
    Frame,
)
from protocols.hall_line import check_ticket_no, check_window_no


class CallerAction(str, Enum):
    """What a caller key asks for (§5.2 key table)."""

    CALL = "call"
    RECALL = "recall"
    RATE = "rate"
    CANCEL = "cancel"
    GIVE_UP = "give_up"
    HANG = "hang"
    CALL_BACK = "call_back"
    ONE_METRE = "one_metre"
    PAUSE = "pause"
    TRANSFER = "transfer"


#: What staff see for each action (PAD log, technician screen).
ACTION_LABELS: dict[CallerAction, str] = {
    CallerAction.CALL: "叫号",
    CallerAction.RECALL: "重呼",
    CallerAction.RATE: "评价",
    CallerAction.CANCEL: "取消",
    CallerAction.GIVE_UP: "弃号",
    CallerAction.HANG: "挂起",
    CallerAction.CALL_BACK: "回呼",
    CallerAction.ONE_METRE: "一米线",
    CallerAction.PAUSE: "暂停",
    CallerAction.TRANSFER: "转移",
}

#: Single keys: the last data byte of a key frame (§5.2). ``cancel`` and ``one_metre`` are
#: decoded but no flow uses them, as in the source installation.
SINGLE_KEYS: dict[int, CallerAction] = {
    0x0C: CallerAction.CALL,
    0x0D: CallerAction.RECALL,
    0x0B: CallerAction.RATE,
    0x0E: CallerAction.CANCEL,
    0x11: CallerAction.ONE_METRE,
    0x12: CallerAction.PAUSE,
    0x13: CallerAction.TRANSFER,
}
#: Confirm key 0F after a digit: exactly two data bytes, digit then 0F (§5.2).
CONFIRM_KEY = 0x0F
DIGIT_CONFIRM_KEYS: dict[int, CallerAction] = {
    0x06: CallerAction.GIVE_UP,
    0x00: CallerAction.HANG,
    0x03: CallerAction.CALL_BACK,
}


@dataclass(frozen=True)
class RaterProfile:
    """How a pad model's key values map to the five 好差评 levels (5 非常满意 … 1 非常不满意).

    Attributes:
        name: the profile's name in a device URL (``rater=``).
        levels: key value → level. A level missing here cannot be given on this pad.
    """

    name: str
    levels: dict[int, int]


#: §5.2's installation stores keys 0, 2, 3 as 不满意, 满意, 非常满意 and key 1 as "no rating"
#: (0). A pad with a key for "no opinion" is unlikely; key 1 sits between 不满意 and 满意, so
#: we read it as 基本满意. 非常不满意 has no key: its citizens press 不满意, which is 差评 too,
#: so the 差评 follow-up rule still applies to them.
RATER_PROFILES: dict[str, RaterProfile] = {
    "4key": RaterProfile("4key", {0: 2, 1: 3, 2: 4, 3: 5}),
}


@dataclass(frozen=True)
class CallerPress:
    """A key press the host took.

    Attributes:
        address: the caller's bus address.
        action: what it asks for.
        label: the Chinese label staff know it by.
        data: the frame's data bytes, for the technician log.
    """

    address: int
    action: CallerAction
    label: str
    data: bytes


def decode_key(frame: Frame, device_id: str = "") -> CallerAction:
    """The action of a key frame.

    Raises:
        CallerKeyUnknown (352): no key, an unknown key byte, or a confirm key after a digit
            with no action.
    """
    data = frame.data
    if data and data[-1] == CONFIRM_KEY and len(data) == 2 and data[0] in DIGIT_CONFIRM_KEYS:
        return DIGIT_CONFIRM_KEYS[data[0]]
    if data and data[-1] in SINGLE_KEYS:
        return SINGLE_KEYS[data[-1]]
    raise CallerKeyUnknown(
        f"unknown key data {data.hex(' ')}",
        device=device_id,
        address=frame.address,
        data=data.hex(" "),
    )


def display_digits(ticket_no: str | None, waiting: int | None) -> bytes:
    """The six digit bytes for the caller's display: waiting count left, ticket right.

    The ticket shows its last three digits (``A012`` → 012, §5.2 ``SendTicket``); a count
    above 999 shows 999; None leaves that half blank.

    Raises:
        DeviceRejected (305): a ticket number outside the hall line grammar.
        ValueError: a negative waiting count.
    """
    left = right = bytes((BLANK_DIGIT,)) * 3
    if waiting is not None:
        if waiting < 0:
            raise ValueError(f"waiting count {waiting} < 0")
        left = bytes(int(c) for c in f"{min(waiting, 999):03d}")
    if ticket_no is not None:
        digits = "".join(c for c in check_ticket_no(ticket_no) if c.isdigit())
        right = bytes(int(c) for c in digits.rjust(3, "0")[-3:])
    return left + right


def bus_health(device_id: str, bus: CallerBus) -> Health:
    """A device's health from its bus: the port and the frames since the last good one.

    The §5.2 protocol has no poll, so a live port whose frames are sound is ``ok``: a caller
    that was unplugged from a working adapter is only noticed by its silence.
    """
    fault = bus.last_fault()
    if fault is None:
        if not bus.port.is_open:
            try:
                bus.port.open()
            except DeviceError as err:
                return Health.from_error(device_id, err)
        return Health.ok(device_id)
    if isinstance(fault, BadResponse):
        return Health(device_id, HealthState.UNKNOWN, (Reason.BAD_FRAME,), fault.code)
    return Health.from_error(device_id, fault)


class WindowCaller:
    """A caller at one address of a caller bus.

    Args:
        bus: the bus; this caller registers for its address.
        address: the caller's bus address (set by DIP switch on the device).
        device_id: the caller's id in events and health reports.
        on_press: called with each :class:`CallerPress`, on the bus's reader thread.
        on_error: told about each key that could not be understood.
        rater: the rating pad profile (:data:`RATER_PROFILES`).
        owns_bus: close the bus with this caller (one caller per opened URL).
        on_close: called by :meth:`close` after the bus is closed.

    Attributes:
        rating_pad: the 4-key pad wired to this caller, a :class:`CallerRatingPad`.
        presses: the most recent key presses, oldest first.
    """

    def __init__(
        self,
        bus: CallerBus,
        address: int,
        device_id: str,
        on_press: Callable[[CallerPress], None] | None = None,
        on_error: Callable[[HallEdgeError], None] | None = None,
        *,
        rater: RaterProfile = RATER_PROFILES["4key"],
        owns_bus: bool = False,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.bus = bus
        self.address = address
        self.device_id = device_id
        self.on_press = on_press
        self.on_error = on_error
        self.owns_bus = owns_bus
        self.on_close = on_close
        self.presses: deque[CallerPress] = deque(maxlen=50)
        self.rating_pad = CallerRatingPad(self, rater)
        bus.attach(address, self._frame)

    def show(self, ticket_no: str | None = None, waiting: int | None = None) -> None:
        """Show a ticket (last three digits) and the waiting count on the caller's digits.

        Raises:
            DeviceRejected (305): a ticket number outside the hall grammar.
            DeviceNotFound (301), DeviceUnplugged (302), DeviceTimeout (303): not sent.
        """
        self.bus.send(Frame(self.address, F_DISPLAY, display_digits(ticket_no, waiting)))

    def show_ticket(self, ticket_no: str) -> None:
        """Show only the ticket, the waiting half blank (§5.2 ``SendTicket``). Raises as
        :meth:`show`."""
        self.show(ticket_no=ticket_no)

    def show_waiting(self, count: int) -> None:
        """Show only the waiting count, the ticket half blank (§5.2 ``SendWait``). Raises as
        :meth:`show`."""
        self.show(waiting=count)

    def beep(self) -> None:
        """Make the caller beep. Raises as :meth:`show`."""
        self.bus.send(Frame(self.address, F_BEEP))

    def health(self) -> Health:
        """The caller's health; never raises."""
        return bus_health(self.device_id, self.bus)

    def close(self) -> None:
        """Close the bus if this caller owns it, then call ``on_close``."""
        if self.owns_bus:
            self.bus.close()
        if self.on_close is not None:
            self.on_close()

    def _frame(self, frame: Frame) -> None:
        if frame.function == F_RATING:
            self.rating_pad.handle_key(frame)
            return
        try:
            action = decode_key(frame, self.device_id)
        except CallerKeyUnknown as err:
            self._report(err)
            return
        press = CallerPress(frame.address, action, ACTION_LABELS[action], frame.data)
        self.presses.append(press)
        if self.on_press is not None:
            self.on_press(press)

    def _report(self, err: HallEdgeError) -> None:
        if self.on_error is not None:
            self.on_error(err)


ResultHandler = Callable[[int], None]


@dataclass(frozen=True)
class RatingRequest:
    """A rating the pad was asked for and has not answered yet."""

    ticket_no: str
    window_no: int
    on_result: ResultHandler


class CallerRatingPad:
    """The 4-key pad at a caller's address, with the interface of
    :class:`devices.rating_pad.RatingPad`.

    The pad knows no ticket numbers, so the host pairs a key with the one open request of its
    window; a key with no request open is acknowledged (so the pad stops sending it) and
    rejected, never stored.

    Attributes:
        rejected: the most recent rejected keys, oldest first.
    """

    def __init__(self, caller: WindowCaller, profile: RaterProfile) -> None:
        self.caller = caller
        self.profile = profile
        self.device_id = caller.device_id
        self.rejected: deque[HallEdgeError] = deque(maxlen=50)
        self._pending: RatingRequest | None = None
        self._lock = threading.Lock()

    @property
    def pending(self) -> RatingRequest | None:
        """The request waiting for the citizen, or None."""
        with self._lock:
            return self._pending

    def request(self, ticket_no: str, window_no: int, on_result: ResultHandler) -> None:
        """Ask the citizen to rate; ``on_result`` gets the level 1–5 on the reader thread.

        Sends §5.2's "start rating" (``F=01 0B``); a new request replaces an open one.

        Raises:
            DeviceRejected (305): a ticket or window number outside the hall grammar.
            DeviceNotFound (301), DeviceUnplugged (302), DeviceTimeout (303): not sent; no
                result will come.
        """
        request = RatingRequest(check_ticket_no(ticket_no), check_window_no(window_no), on_result)
        with self._lock:
            self._pending = request
        try:
            self.caller.bus.send(Frame(self.caller.address, F_RATING_ACK, START_RATING_DATA))
        except DeviceError:
            with self._lock:
                if self._pending is request:
                    self._pending = None
            raise

    def cancel(self, ticket_no: str) -> None:
        """Withdraw a request; a later key is rejected. The protocol has no cancel command,
        so nothing is sent."""
        with self._lock:
            if self._pending is not None and self._pending.ticket_no == ticket_no:
                self._pending = None

    def handle_key(self, frame: Frame) -> None:
        """Take a rating frame (already acknowledged by the bus) and pass its level on.

        Errors go to the caller's error handler and :attr:`rejected`:
        RatingKeyInvalid (353) for a key value outside the profile, RatingNotRequested (354)
        for a key with no request open.
        """
        try:
            level = self._level(frame)
            with self._lock:
                request, self._pending = self._pending, None
            if request is None:
                raise RatingNotRequested(
                    "rating key with no request open",
                    device=self.device_id,
                    key=frame.data[0],
                    reason="not_requested",
                )
        except HallEdgeError as err:
            self.rejected.append(err)
            self.caller._report(err)
            return
        request.on_result(level)

    def _level(self, frame: Frame) -> int:
        key = frame.data[0] if frame.data else None
        if key is None or key not in self.profile.levels:
            raise RatingKeyInvalid(
                f"rating key {key} outside profile {self.profile.name}",
                device=self.device_id,
                key=key,
            )
        return self.profile.levels[key]

    def health(self) -> Health:
        """The pad shares the caller's line: its health is the caller's."""
        return self.caller.health()

    def close(self) -> None:
        """Close the caller (and its bus, if it owns it)."""
        self.caller.close()
