"""Keeps the kiosk's copy of the item catalog current: at start and every few minutes, only
what changed since the copy's version (``GET /catalog/changes?since=V``).

A sync that fails (the uplink is down, the platform answers 500) changes nothing: the copy
stays at its version, guides keep working from it, and the screen shows its age once it is
older than a day. The next attempt comes at the next interval.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from core.clock import Clock
from core.errors import PlatformError
from core.periodic import Periodic
from flows.item_catalog import ItemCatalog
from govplatform.catalog import CatalogClient

log = logging.getLogger(__name__)

#: Seconds between two syncs: the catalog changes a few times a week, and a check that finds
#: nothing new is one small request.
SYNC_INTERVAL_S = 15 * 60.0


@dataclass(frozen=True)
class SyncOutcome:
    """One sync's result.

    Attributes:
        version: the copy's version afterwards.
        changed: items added or changed.
        removed: items withdrawn.
        error_key: why the copy could not be brought up to date; None when it was.
    """

    version: int
    changed: int = 0
    removed: int = 0
    error_key: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_key is None


class CatalogSync:
    """Brings an :class:`ItemCatalog` up to the platform's version.

    Args:
        catalog: the local copy.
        client: the platform's catalog, or None for a kiosk without an uplink (the copy
            then stays as installed).
        clock: the hall clock (the copy's age is measured on it).
        interval_s: seconds between background syncs.
    """

    def __init__(
        self,
        catalog: ItemCatalog,
        client: CatalogClient | None,
        clock: Clock,
        interval_s: float = SYNC_INTERVAL_S,
    ) -> None:
        self.catalog = catalog
        self.client = client
        self.clock = clock
        self._periodic = Periodic("item-catalog-sync", interval_s, self._tick, at_start=True)
        # One sync at a time, whether from the thread or a direct call.
        self._running = threading.Lock()

    def sync_now(self) -> SyncOutcome:
        """Fetch and apply what changed since the copy's version. Never raises a platform
        error: the outcome says what went wrong, and the copy is unchanged."""
        with self._running:
            held = self.catalog.state().version
            if self.client is None:
                return SyncOutcome(held, error_key=PlatformError.key)
            try:
                changes = self.client.changes(since=held)
                replace_all = changes.version < held
                if replace_all:
                    # The platform's version went back: its catalog was rebuilt. Start over.
                    log.warning("item catalog: platform at %d, copy at %d; full export",
                                changes.version, held)  # fmt: skip
                    changes = self.client.changes(since=0)
            except PlatformError as err:
                log.info("item catalog sync failed, copy stays at %d: %s (%d)",
                         held, err, err.code)  # fmt: skip
                return SyncOutcome(held, error_key=err.key)
            now = self.clock.now()
            if changes.items or changes.removed or changes.version != held:
                self.catalog.apply(
                    changes.items, changes.removed, changes.version, now,
                    replace_all=replace_all,
                )  # fmt: skip
                log.info("item catalog %d → %d: %d changed, %d removed", held,
                         changes.version, len(changes.items), len(changes.removed))  # fmt: skip
            else:
                self.catalog.mark_current(now)
            return SyncOutcome(changes.version, len(changes.items), len(changes.removed))

    def _tick(self) -> None:
        # The thread must outlive anything a sync can hit (a full disk, a corrupt answer the
        # parser missed): the next interval tries again.
        try:
            self.sync_now()
        except Exception:
            log.exception("item catalog sync")

    def start(self) -> None:
        """Sync now and then every interval, on a background thread."""
        self._periodic.start()

    def stop(self) -> None:
        """Stop the background syncs (waits for one in progress)."""
        self._periodic.stop()
