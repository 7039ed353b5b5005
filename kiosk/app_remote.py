"""Remote control of one hall app (a citizen kiosk, a window PAD) for its own device id.

A kiosk or PAD started with ``--mqtt`` takes the collector's commands addressed to it
(``kiosk-1``, ``pad-3``; ``docs/remote-control.md``):

* ``restart_app``: acknowledged, then the window closes cleanly and the process exits with
  :data:`agent.commands.RESTART_EXIT_CODE` (75) for its supervisor to start it again.
* ``refresh_catalog``: the hall configuration file is read again; the app's services (and the
  windows that serve them) are swapped on the app's worker thread, between two taps, so the
  next service list drawn is the new one.
* ``upload_diagnostics``: versions, uptime and the health of the app's devices; never a
  citizen's data or a staff id.

Commands arrive and run on the remote control's own thread; whatever touches the app's flow
goes through the app's worker (:meth:`kiosk.background.Background.call`), never the Kivy
thread. Nothing here imports Kivy.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from agent import commands
from agent.remote import RemoteControl
from agent.remote_store import RemoteStore
from agent.service_catalog import ServiceCatalog
from core.config import HallConfig
from core.mqtt import MqttAuth
from core.version import software_version
from devices.health import Health
from flows.queue import HallQueue

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Runs a call on the app's worker thread and returns its result.
OnWorker = Callable[[Callable[[], T]], T]


def app_remote_db_path(hall_db: Path | str, device_id: str) -> Path:
    """Where an app keeps its answered commands: next to the hall database, one file per
    device (``hall.db`` → ``hall.kiosk-1.remote.db``), so a repeat after a restart is still
    answered from the record."""
    path = Path(hall_db)
    return path.with_name(f"{path.stem}.{device_id}.remote.db")


def use_catalog(queue: HallQueue, read: HallConfig) -> None:
    """Put a refreshed catalog in force for an app's queue: the services and the windows that
    serve them come from the file; the hall's name and devices stay as started (the app
    opened its devices at start; a new device URL takes a restart).

    Call it on the app's worker thread: one attribute swap between two steps, so the next
    step (the next service list drawn, the next ticket) sees the whole new catalog.
    """
    queue.hall = replace(
        queue.hall,
        services=read.services,
        windows=read.windows,
        config_version=read.config_version,
    )


class AppRemote:
    """The remote control of one kiosk or PAD and the record of its answered commands.

    Args:
        app: ``kiosk`` or ``pad`` (in diagnostics).
        hall: the configuration the app started with.
        config_path: the file ``hall`` was read from.
        hall_db: the hall database (the record lives next to it).
        device_id: this app's device id; commands naming another device are refused.
        host: broker address.
        port: broker port.
        on_worker: runs a call on the app's worker thread and returns its result.
        apply_catalog: puts a refreshed configuration in force in the app's flow; runs on the
            worker; raises to refuse it (a PAD whose window is gone).
        peripherals: the health of the app's devices; runs on the worker.
        request_restart: closes the app for a restart; called once the ack has left.
        auth: the app's own broker account (``<device_id>@<hall>``, never the hall box's)
            and TLS; its remote control logs in as ``<account>.remote``
            (``docs/deployment.md``).
    """

    def __init__(
        self,
        app: str,
        hall: HallConfig,
        config_path: Path | str,
        hall_db: Path | str,
        device_id: str,
        host: str,
        port: int,
        on_worker: OnWorker[Any],
        apply_catalog: Callable[[HallConfig], None],
        peripherals: Callable[[], list[Health]],
        request_restart: Callable[[], None],
        auth: MqttAuth | None = None,
    ) -> None:
        self.app = app
        self.hall_id = hall.hall_id
        self.device_id = device_id
        self.started_at = time.time()
        self._on_worker = on_worker
        self._peripherals = peripherals
        self.catalog = ServiceCatalog(
            config_path, hall, lambda read: on_worker(lambda: apply_catalog(read))
        )
        self.store = RemoteStore(app_remote_db_path(hall_db, device_id))
        handlers = {
            "restart_app": commands.restart_app(request_restart),
            "refresh_catalog": commands.refresh_catalog(self.catalog.refresh),
            "upload_diagnostics": commands.upload_diagnostics(self.diagnostics),
        }
        self.remote = RemoteControl(
            host, port, hall.hall_id, device_id, self.store, handlers, auth=auth
        )

    def diagnostics(self) -> dict[str, Any]:
        """Counts, versions and device health; no ticket, ID number or staff id."""
        devices = self._on_worker(self._peripherals)
        return {
            "hall_id": self.hall_id,
            "device": self.device_id,
            "app": self.app,
            "software_version": software_version(),
            "python": platform.python_version(),
            "uptime_s": round(time.time() - self.started_at, 1),
            "hall_config_version": self.catalog.config_version,
            "services": len(self.catalog.services),
            "peripherals": [h.to_event_data() for h in devices],
        }

    def start(self) -> None:
        self.remote.start()

    def stop(self) -> None:
        self.remote.stop()
        self.store.close()
