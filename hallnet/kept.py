"""What a kiosk or PAD keeps for the hall box's return (``docs/hall-api.md``, "Idempotency").

**Kept requests**: ratings and device health reports that no answer acknowledged. Nothing on
screen waits for them, so they are delivered later, in order, each with the key it was first
sent with (the hall box answers a repeat from its stored answer).

**The unsettled request**: the last tap (a PAD's 叫号, 办结 …, a kiosk's 取号) whose answer never
came. The hall box may have acted on it; the same tap again must carry the same key, so that
the hall box answers with what it did the first time instead of acting a second time (calling a
second citizen). Any answered tap settles it.

Where both are kept:

* on disk (:class:`KeptOnDisk`, :class:`UnsettledOnDisk`): in the machine's own database
  (:class:`hallnet.local_store.LocalStore`) when it has a data directory: a PAD restarted
  during an outage still delivers the rating a citizen pressed before, and repeats its
  unanswered 叫号 with the key it was sent with;
* in memory (:class:`KeptInMemory`, :class:`UnsettledInMemory`): otherwise (a client built
  without a device file); at most :data:`MEMORY_MAX` kept requests, the oldest dropped first
  with an error in the log.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
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


# --- the unsettled request -----------------------------------------------------------------


@dataclass(frozen=True)
class Unsettled:
    """A state change sent with ``key`` that got no answer.

    Attributes:
        fingerprint: what the key is bound to (:func:`hallnet.wire.request_fingerprint`): only
            the same request again reuses it.
        key: its Idempotency-Key.
        path: the API path, for the log.
        at: when it went unanswered, on the wall clock (epoch seconds), so that its age means
            the same after a restart.
    """

    fingerprint: str
    key: str
    path: str
    at: float


class UnsettledSlot(Protocol):
    def get(self) -> Unsettled | None: ...

    def set(self, entry: Unsettled | None) -> None:
        """Remember ``entry`` (None: settled); the previous one is forgotten."""
        ...

    def forget(self, key: str) -> None:
        """The entry with ``key`` was taken over elsewhere: forget it without writing."""
        ...


class UnsettledInMemory:
    def __init__(self) -> None:
        self._entry: Unsettled | None = None

    def get(self) -> Unsettled | None:
        return self._entry

    def set(self, entry: Unsettled | None) -> None:
        self._entry = entry

    def forget(self, key: str) -> None:
        if self._entry is not None and self._entry.key == key:
            self._entry = None


class UnsettledOnDisk:
    """The slot in ``hall-local.db`` (table ``unsettled``), read once at open and cached: a tap
    that was answered and leaves nothing unsettled costs no write."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        with store.read() as conn:
            row = conn.execute("SELECT fingerprint, key, path, at FROM unsettled").fetchone()
        self._entry = (
            None if row is None else Unsettled(str(row[0]), str(row[1]), str(row[2]), float(row[3]))
        )

    def get(self) -> Unsettled | None:
        return self._entry

    def set(self, entry: Unsettled | None) -> None:
        with self._lock:
            if entry == self._entry:
                return
            with self.store.transaction() as conn:
                conn.execute("DELETE FROM unsettled")
                if entry is not None:
                    conn.execute(
                        "INSERT INTO unsettled(slot, fingerprint, key, path, at)"
                        " VALUES (1, ?, ?, ?, ?)",
                        (entry.fingerprint, entry.key, entry.path, entry.at),
                    )
            self._entry = entry

    def forget(self, key: str) -> None:
        """The row with ``key`` was deleted in another transaction of the store (a kiosk's
        offline ticket took it over as ``replaces``: :meth:`hallnet.offline.OfflineNumbers.issue`).
        """
        with self._lock:
            if self._entry is not None and self._entry.key == key:
                self._entry = None
