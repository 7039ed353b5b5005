"""One health model for every device of the hall: printer, call display, rating pad.

A device reports a :class:`Health`; the flow that owns the device turns a change of health into a
``device.health`` event (``docs/topics.md``), and the technician screen shows the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from core.errors import (
    BadResponse,
    CoverOpen,
    DeviceError,
    DeviceNotFound,
    DeviceTimeout,
    DeviceUnplugged,
    PaperOut,
    PrinterOffline,
)


class HealthState(str, Enum):
    """How usable a device is, from the citizen's point of view."""

    #: Works.
    OK = "ok"
    #: Works, but needs a technician soon (paper low).
    WARNING = "warning"
    #: Connected but cannot do its job (paper out, cover open, cutter jammed).
    ERROR = "error"
    #: Not reachable: unplugged, not found, or reports itself offline.
    OFFLINE = "offline"
    #: No answer, so nothing is known. Never read as "ok".
    UNKNOWN = "unknown"


class Reason:
    """Reason strings carried in :attr:`Health.reasons` and in ``device.health`` events."""

    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    CUTTER_ERROR = "cutter_error"
    OFFLINE = "offline"
    UNPLUGGED = "unplugged"
    NOT_FOUND = "not_found"
    TIMEOUT = "timeout"
    BAD_FRAME = "bad_frame"


@dataclass(frozen=True)
class Health:
    """A device's health at one moment.

    Attributes:
        device_id: the device this is about (``printer-1``).
        state: overall state.
        reasons: why the state is not ``ok``, most important first (:class:`Reason` strings).
        code: the error code (``core/errors.py``) behind the state, if any.
    """

    device_id: str
    state: HealthState
    reasons: tuple[str, ...] = ()
    code: int | None = None

    @classmethod
    def ok(cls, device_id: str) -> Health:
        """A device that works."""
        return cls(device_id, HealthState.OK)

    @classmethod
    def unknown(cls, device_id: str) -> Health:
        """A device nobody has asked yet."""
        return cls(device_id, HealthState.UNKNOWN)

    @classmethod
    def from_error(cls, device_id: str, err: DeviceError) -> Health:
        """The health a device error implies.

        Args:
            device_id: the device that raised ``err``.
            err: a device error; its ``details["reason"]`` overrides the default reason, and an
                error without a mapping reports ``error`` with the error's key as reason.

        Returns:
            The matching health, carrying ``err.code``.
        """
        state, reason = _ERROR_HEALTH.get(type(err), (HealthState.ERROR, err.key))
        reason = str(err.details.get("reason", reason))
        return cls(device_id, state, (reason,), err.code)

    @property
    def usable(self) -> bool:
        """True when the device may be used (``ok`` or ``warning``)."""
        return self.state in (HealthState.OK, HealthState.WARNING)

    def to_event_data(self) -> dict[str, Any]:
        """The ``data`` of a ``device.health`` event (``docs/topics.md``)."""
        return {
            "device": self.device_id,
            "state": self.state.value,
            "reasons": list(self.reasons),
            "code": self.code,
        }


_ERROR_HEALTH: dict[type[DeviceError], tuple[HealthState, str]] = {
    DeviceNotFound: (HealthState.OFFLINE, Reason.NOT_FOUND),
    DeviceUnplugged: (HealthState.OFFLINE, Reason.UNPLUGGED),
    DeviceTimeout: (HealthState.UNKNOWN, Reason.TIMEOUT),
    BadResponse: (HealthState.UNKNOWN, Reason.BAD_FRAME),
    PaperOut: (HealthState.ERROR, Reason.PAPER_OUT),
    CoverOpen: (HealthState.ERROR, Reason.COVER_OPEN),
    PrinterOffline: (HealthState.OFFLINE, Reason.OFFLINE),
}
