"""Requests a kiosk or PAD keeps for the hall box's return: ratings and device health reports
that no answer acknowledged (``docs/hall-api.md``, "Idempotency").

Nothing on screen waits for them, so they are delivered later, in order, each with the key it
was first sent with (the hall box answers a repeat from its stored answer). Where they are kept:

* :class:`KeptOnDisk`: in the machine's own database (:class:`hallnet.local_store.LocalStore`)
  when it has a data directory: a PAD restarted during an outage still delivers the rating a
  citizen pressed before;
* :class:`KeptInMemory`: otherwise (a client built without a device file), at most
  :data:`MEMORY_MAX`, the oldest dropped first with an error in the log.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol

from hallnet.local_store import LocalStore

log = logging.getLogger(__name__)

#: Kept requests held in memory, at most.
MEMORY_MAX = 200

Kept = tuple[str, dict[str, Any], str]


class KeptRequests(Protocol):
    def keep(self, path: str, body: dict[str, Any], key: str) -> None: ...

    def first(self) -> Kept | None:
        """The oldest kept request: ``(path, body, key)``."""
        ...

    def delivered(self, key: str) -> None:
        """The request with ``key`` was answered (or refused for good): forget it."""
        ...


class KeptInMemory:
    def __init__(self, limit: int = MEMORY_MAX) -> None:
        self.limit = limit
        self._items: list[Kept] = []
        self._lock = threading.Lock()

    def keep(self, path: str, body: dict[str, Any], key: str) -> None:
        with self._lock:
            if len(self._items) >= self.limit:
                dropped = self._items.pop(0)
                log.error("undelivered %s dropped: more than %d kept", dropped[0], self.limit)
            self._items.append((path, body, key))

    def first(self) -> Kept | None:
        with self._lock:
            return self._items[0] if self._items else None

    def delivered(self, key: str) -> None:
        with self._lock:
            self._items = [item for item in self._items if item[2] != key]


class KeptOnDisk:
    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def keep(self, path: str, body: dict[str, Any], key: str) -> None:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO kept_requests(path, body, key) VALUES (?, ?, ?)", (path, text, key)
            )

    def first(self) -> Kept | None:
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT path, body, key FROM kept_requests ORDER BY seq LIMIT 1"
            ).fetchone()
        return None if row is None else (str(row[0]), json.loads(row[1]), str(row[2]))

    def delivered(self, key: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM kept_requests WHERE key = ?", (key,))
