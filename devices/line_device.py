"""What every device on the hall line protocol shares: PING health and closing.

The call display, the rating pad and the window screen each hold a line driver, a device id
and an optional ``on_close`` callback (whoever opened the device may own something behind it,
such as a simulator, to stop with it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from core.errors import DeviceError
from devices.health import Health
from protocols.hall_line import expect_pong


class LineDeviceMixin:
    """``health()`` and ``close()`` for a line-protocol device.

    The class sets :attr:`LINE_KIND` (the kind its ``PONG`` must name); instances have
    ``driver``, ``device_id`` and ``on_close``.
    """

    LINE_KIND: ClassVar[str]
    driver: Any
    device_id: str
    on_close: Callable[[], None] | None

    def health(self) -> Health:
        """Ask the device whether it is there (``PING``); never raises for device faults."""
        try:
            expect_pong(self.driver.request("PING"), self.LINE_KIND)
        except DeviceError as err:
            return Health.from_error(self.device_id, err)
        return Health.ok(self.device_id)

    def close(self) -> None:
        """Close the connection, then call ``on_close``."""
        self.driver.close()
        if self.on_close is not None:
            self.on_close()
