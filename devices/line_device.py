"""What every device on the hall line protocol shares: PING health and closing.

The call display, the rating pad and the window screen each hold a line driver, a device id
and, when opened from a ``sim://`` URL, the in-process simulator they own.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.errors import DeviceError
from devices.health import Health
from protocols.hall_line import expect_pong


class LineDeviceMixin:
    """``health()`` and ``close()`` for a line-protocol device.

    The class sets :attr:`LINE_KIND` (the kind its ``PONG`` must name); instances have
    ``driver``, ``device_id`` and ``sim``.
    """

    LINE_KIND: ClassVar[str]
    driver: Any
    device_id: str
    sim: Any

    def health(self) -> Health:
        """Ask the device whether it is there (``PING``); never raises for device faults."""
        try:
            expect_pong(self.driver.request("PING"), self.LINE_KIND)
        except DeviceError as err:
            return Health.from_error(self.device_id, err)
        return Health.ok(self.device_id)

    def close(self) -> None:
        """Close the connection, and stop the in-process simulator if this device owns one."""
        self.driver.close()
        if self.sim is not None:
            self.sim.stop()
