"""Where one citizen's scans live while they self-submit: a private directory of the kiosk's
own, deleted when the citizen is done or walks away.

Scans are personal documents (an ID card, a household register), so they are never kept
beyond the session: one directory per session under ``<data_dir>/scans`` (mode 0700, files
0600), removed whole by :meth:`ScanStore.purge`. A directory left by a kiosk that crashed is
removed by :func:`purge_stale` at the next start.

Before the camera starts, :meth:`ScanStore.check_room` refuses when the disk could not hold
the session's pages and still keep the reserve the hall journal needs
(:class:`core.errors.ScanStorageFull`, 422): a citizen must not place ten pages only to learn
that none can be kept.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from core.errors import ScanStorageFull

#: Free space that must remain after the scans: the hall journal and the print spool live on
#: the same disk.
RESERVE_BYTES = 256 * 1024 * 1024
#: What one page may take on disk (a 200-dpi A4 JPEG is 0.3–0.8 MB).
PAGE_BUDGET_BYTES = 1024 * 1024
SCANS = "scans"


class ScanStore:
    """One session's scan directory.

    Args:
        root: the kiosk's data directory.
        reserve_bytes: see :data:`RESERVE_BYTES`.
    """

    def __init__(self, root: Path, reserve_bytes: int = RESERVE_BYTES) -> None:
        self.root = root / SCANS
        self.reserve_bytes = reserve_bytes
        self.path: Path | None = None

    def check_room(self, pages: int) -> None:
        """Refuse before capture when ``pages`` pages would eat into the reserve.

        Raises:
            ScanStorageFull (422).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.root).free
        if free - pages * PAGE_BUDGET_BYTES < self.reserve_bytes:
            raise ScanStorageFull("too little disk for the scans", free=free,
                                  reserve=self.reserve_bytes)  # fmt: skip

    def save(self, name: str, data: bytes) -> Path:
        """Write one page (``M01-1.jpg``) into the session's directory."""
        directory = self._directory()
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path

    def files(self) -> list[Path]:
        return sorted(self.path.iterdir()) if self.path and self.path.exists() else []

    def purge(self) -> None:
        """Delete the session's directory and everything in it."""
        path, self.path = self.path, None
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)

    def _directory(self) -> Path:
        if self.path is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self.path = self.root / secrets.token_hex(8)
            self.path.mkdir(mode=0o700)
        return self.path


def purge_stale(root: Path) -> int:
    """Remove every session directory under ``<root>/scans`` (a kiosk starting has no session
    yet, so any found was left by a crash); how many were removed."""
    scans = root / SCANS
    if not scans.is_dir():
        return 0
    stale = [p for p in scans.iterdir() if p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)
