"""The hall's service catalog as a process last read it, refreshed on the collector's command.

Every process that shows or serves services (the hall box's agent, each kiosk, each window
PAD) holds one :class:`ServiceCatalog`; ``refresh_catalog`` reads the hall configuration file
again and reports what changed (``docs/remote-control.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.config import HallConfig, Service, load_hall_config
from core.errors import CommandRejected

log = logging.getLogger(__name__)


class ServiceCatalog:
    """The hall's service catalog as this process last read it from its configuration file.

    Args:
        path: the hall configuration (TOML).
        hall: the configuration already loaded from it.
        apply: puts a newly read configuration in force in the process (a kiosk's service
            list); raises to refuse it, and the catalog then stays as it was.
    """

    def __init__(
        self,
        path: Path | str,
        hall: HallConfig,
        apply: Callable[[HallConfig], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.hall_id = hall.hall_id
        self.services: tuple[Service, ...] = hall.services
        self.config_version = hall.config_version
        self._apply = apply

    def refresh(self) -> dict[str, Any]:
        """Read the file again, put it in force and say what changed since the last read.

        Raises:
            ConfigError (100): the file is missing or invalid; the catalog stays as it was.
            CommandRejected (451): the file now describes another hall.
            Whatever ``apply`` raises; the catalog stays as it was.
        """
        hall = load_hall_config(self.path)
        if hall.hall_id != self.hall_id:
            raise CommandRejected(
                f"{self.path} now describes hall {hall.hall_id!r}, this device is in"
                f" {self.hall_id!r}",
                reason="other_hall",
            )
        old = {s.code: s for s in self.services}
        new = {s.code: s for s in hall.services}
        change = {
            "services": len(new),
            "config_version": hall.config_version,
            "added": sorted(new.keys() - old.keys()),
            "removed": sorted(old.keys() - new.keys()),
            "changed": sorted(c for c in new.keys() & old.keys() if new[c] != old[c]),
        }
        if self._apply is not None:
            self._apply(hall)
        self.services, self.config_version = hall.services, hall.config_version
        log.info("service catalog refreshed from %s: %s", self.path, change)
        return change
