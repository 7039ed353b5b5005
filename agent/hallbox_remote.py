"""Remote control of a hall box: what the collector may change and ask of it.

The hall box's agent (``python main.py agent``) runs one :class:`RemoteControl` for the
device ``hallbox-<hall_id>`` with these commands (``docs/remote-control.md``):

* ``set_config``: the hall box's remotely managed configuration, which today is the disk
  retention policy (``hallstore/retention.py``). It is what a technician far away has to tune on
  a box: a small SD card needs a smaller reserve, a box that keeps failing to check-point
  needs a larger WAL limit. It is validated, versioned and applied in one transaction, and
  rolled back when the box would refuse new tickets at once under it.
* ``set_power_schedule``, ``restart_app``, ``refresh_catalog``, ``upload_diagnostics``.
"""

from __future__ import annotations

import logging
import os
import platform
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from agent import commands
from agent.remote import ConfigTarget, RemoteControl
from agent.remote_store import RemoteStore
from agent.service_catalog import ServiceCatalog
from core.config import HallConfig
from core.mqtt import MqttAuth
from core.topics import hall_box_id
from core.version import software_version
from hallstore import journal, retention
from hallstore.retention import MIB, RetentionPolicy

log = logging.getLogger(__name__)

#: Bounds of a pushed retention policy. Below 16 MiB of reserve the citizens already queued
#: could not finish (about 25,000 events); a WAL limit outside 1 MiB–1 GiB is a typo.
MIN_RESERVE_BYTES = 16 * MIB
MAX_RESERVE_BYTES = 1024 * 1024 * MIB
WAL_LIMIT_BYTES = (1 * MIB, 1024 * MIB)


def remote_db_path(hall_db: Path | str) -> Path:
    """Where the box keeps its remote configuration and answered commands: next to the hall
    database, in a file of its own (``hall.db`` → ``hall.remote.db``)."""
    path = Path(hall_db)
    return path.with_name(f"{path.stem}.remote.db")


class RetentionConfig:
    """The retention policy as a remotely pushed configuration.

    Body: ``{"retention": {"reserve_bytes": int, "wal_limit_bytes": int, …}}``, any field of
    :class:`RetentionPolicy` as a positive integer; a field left out takes the shipped
    default, an unknown one is refused.

    Args:
        conn: a connection to the hall database (the policy lives there, shared by every
            process of the box).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def validate(self, body: dict[str, Any]) -> RetentionPolicy:
        unknown = set(body) - {"retention"}
        if unknown:
            raise ValueError(f"unknown sections {sorted(unknown)}")
        given = body.get("retention")
        if not isinstance(given, dict):
            raise ValueError("no retention section")  # noqa: TRY004 - any error means rejected
        names = {f.name for f in fields(RetentionPolicy)}
        if set(given) - names:
            raise ValueError(f"unknown retention fields {sorted(set(given) - names)}")
        for name, value in given.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer")
        policy = RetentionPolicy(**given)
        if not MIN_RESERVE_BYTES <= policy.reserve_bytes <= MAX_RESERVE_BYTES:
            raise ValueError(
                f"reserve_bytes {policy.reserve_bytes} outside "
                f"{MIN_RESERVE_BYTES}..{MAX_RESERVE_BYTES}"
            )
        if not WAL_LIMIT_BYTES[0] <= policy.wal_limit_bytes <= WAL_LIMIT_BYTES[1]:
            raise ValueError(f"wal_limit_bytes {policy.wal_limit_bytes} outside {WAL_LIMIT_BYTES}")
        return policy

    def apply(self, policy: RetentionPolicy) -> None:
        """Store the policy; put the previous one back if the box would then refuse every new
        ticket at once (a reserve larger than the room left is a mistake, not a policy)."""
        previous = retention.get_policy(self.conn)
        retention.set_policy(self.conn, policy)
        room = retention.room_bytes(self.conn)
        if room < policy.reserve_bytes:
            retention.set_policy(self.conn, previous)
            raise RuntimeError(
                f"reserve_bytes {policy.reserve_bytes} is more than the {room} bytes left:"
                " the kiosks would refuse every new ticket"
            )

    def target(self) -> ConfigTarget:
        return ConfigTarget(self.validate, self.apply)


@dataclass
class Diagnostics:
    """What a technician far away needs to see of a box; counts and versions, never a
    citizen's data (no event payloads, no ticket numbers, no ID numbers)."""

    hall: HallConfig
    hall_db: Path
    conn: sqlite3.Connection
    store: RemoteStore
    catalog: ServiceCatalog
    publisher: Any
    started_at: float

    def collect(self) -> dict[str, Any]:
        active = self.store.active_config()
        disk = os.statvfs(self.hall_db.parent)
        last_error = getattr(self.publisher, "last_error", None)
        return {
            "hall_id": self.hall.hall_id,
            "device": hall_box_id(self.hall.hall_id),
            "software_version": software_version(),
            "python": platform.python_version(),
            "uptime_s": round(time.time() - self.started_at, 1),
            "hall_config_version": self.catalog.config_version,
            "remote_config_version": None if active is None else active[0],
            "services": len(self.catalog.services),
            "journal": {
                "backlog": journal.backlog(self.conn),
                "db_bytes": _size(self.hall_db),
                "wal_bytes": _size(self.hall_db.with_name(self.hall_db.name + "-wal")),
            },
            "disk": {
                "free_bytes": disk.f_bavail * disk.f_frsize,
                "room_bytes": retention.room_bytes(self.conn),
            },
            "retention": asdict(retention.get_policy(self.conn)),
            "power_schedule": self.store.setting("power_schedule"),
            "publisher": {
                **self.publisher.counters(),
                "connected": self.publisher.connected,
                "last_error": None if last_error is None else last_error.code,
            },
        }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class HallBoxRemote:
    """The hall box's remote control, its store and the hall database connection it uses.

    Args:
        hall: the hall configuration the box runs.
        config_path: the file ``hall`` was read from (``refresh_catalog`` reads it again).
        hall_db: the hall database.
        host: broker address.
        port: broker port.
        publisher: the box's journal publisher, for its counters in diagnostics.
        request_restart: called after ``restart_app`` was acknowledged.
        auth: the box's broker credentials and TLS.
    """

    def __init__(
        self,
        hall: HallConfig,
        config_path: Path | str,
        hall_db: Path | str,
        host: str,
        port: int,
        publisher: Any,
        request_restart: Callable[[], None],
        auth: MqttAuth | None = None,
    ) -> None:
        self.device_id = hall_box_id(hall.hall_id)
        self.conn = journal.connect(hall_db)
        self.store = RemoteStore(remote_db_path(hall_db))
        self.catalog = ServiceCatalog(config_path, hall)
        diagnostics = Diagnostics(
            hall, Path(hall_db), self.conn, self.store, self.catalog, publisher, time.time()
        )
        handlers = {
            "set_power_schedule": commands.power_schedule(self.store),
            "restart_app": commands.restart_app(request_restart),
            "refresh_catalog": commands.refresh_catalog(self.catalog.refresh),
            "upload_diagnostics": commands.upload_diagnostics(diagnostics.collect),
        }
        self.remote = RemoteControl(
            host,
            port,
            hall.hall_id,
            self.device_id,
            self.store,
            handlers,
            RetentionConfig(self.conn).target(),
            auth=auth,
        )

    def start(self) -> None:
        self.remote.start()

    def stop(self) -> None:
        self.remote.stop()
        self.store.close()
        self.conn.close()
