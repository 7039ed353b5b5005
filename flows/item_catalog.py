"""The kiosk's own copy of the platform's item catalog (事项目录), so guides work offline.

One SQLite file in the kiosk's data directory (``item_catalog.db``), its schema a
:class:`core.sqlite_migrations.Migrations` history. Each item is stored as the platform's
JSON (read back with :func:`govplatform.catalog.parse_item`, one parser for both) beside the
columns a search needs: audiences, themes, the implementing body, and the name's pinyin, full
and as initials (``居民身份证换领`` → ``jmsfzhl``), computed once when the item is synced
rather than at every keystroke.

Search is plain ``LIKE``: a few hundred rows answer in well under a millisecond, and SQLite's
FTS tokenizers split Chinese badly (``unicode61`` takes a run of 汉字 as one token).

This is the catalog of service items (事项), not the hall's list of ticket services
(:mod:`agent.service_catalog`).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pypinyin import Style, lazy_pinyin

from core.errors import ServiceItemNotFound
from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic
from govplatform.catalog import ServiceItem, item_to_json, parse_item

FILE_NAME = "item_catalog.db"

SCHEMA = Migrations(
    "item_catalog",
    (
        Migration(
            1,
            "items with search columns, and the sync state",
            (
                "CREATE TABLE catalog_items ("
                " code TEXT PRIMARY KEY, name TEXT NOT NULL,"
                " department_code TEXT NOT NULL, department TEXT NOT NULL,"
                " audiences TEXT NOT NULL, themes TEXT NOT NULL,"  # '|个人|法人|'
                " initials TEXT NOT NULL, pinyin TEXT NOT NULL,"
                " body TEXT NOT NULL, version INTEGER NOT NULL)",
                "CREATE INDEX catalog_items_name ON catalog_items(name)",
                "CREATE TABLE catalog_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            ),
        ),
    ),
)

_LETTERS = re.compile(r"^[a-z]+$")
#: The implementation number, the item code's last three characters (``docs/gov-platform.md``):
#: ``000`` for the city's department, ``001``… for a street or township service centre. The
#: city's own departments and items come first, then the centres' (the same items, nearer).
_CENTRES_LAST = "substr(code, 29)"


def pinyin_of(text: str) -> tuple[str, str]:
    """The text's pinyin without tones, and its initials: ``身份证`` → ``shenfenzheng``,
    ``sfz``. Characters that are not 汉字 (brackets, digits) are left out.

    A character with several readings takes its most common one (``行`` in 银行 is read
    ``xing``); item names rarely hit that, and the full name still matches by characters.
    """
    full = lazy_pinyin(text, style=Style.NORMAL, errors="ignore")
    return "".join(full).lower(), "".join(p[0] for p in full if p).lower()


@dataclass(frozen=True)
class ItemSummary:
    """One line of a search's results."""

    code: str
    name: str
    department: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class Facet:
    """A filter a citizen can tap, with how many items it has."""

    value: str
    label: str
    count: int


@dataclass(frozen=True)
class SyncState:
    """What the copy holds.

    Attributes:
        version: the platform's catalog version last applied (0: never synced).
        synced_at: when the kiosk last confirmed the copy current (hall clock), or None.
        items: how many items it holds.
    """

    version: int
    synced_at: float | None
    items: int


class ItemCatalog:
    """The local copy: applied to by the sync, searched by the guide flow. Thread-safe: the
    sync runs on its own thread, the flow on the kiosk's worker.

    Args:
        path: the SQLite file (created, and migrated, on open).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        # Deleted rows are overwritten with zeros, not just unlinked (docs/privacy.md).
        self._conn.execute("PRAGMA secure_delete=ON")
        self._lock = threading.Lock()
        #: The themes and departments with their counts, as of the last :meth:`apply`: the
        #: search screen shows them at every letter typed, and they change only with a sync.
        self._facets: tuple[list[Facet], list[Facet]] | None = None
        SCHEMA.apply(self._conn)

    @classmethod
    def in_dir(cls, data_dir: Path | str) -> ItemCatalog:
        """The copy in a kiosk's data directory."""
        return cls(Path(data_dir) / FILE_NAME)

    def scrub(self) -> None:
        """End of a citizen's visit (:mod:`kiosk.session_purge`): move the WAL into the file and
        truncate it, so no older page versions stay in ``-wal``; ``secure_delete`` (set at
        open) has zeroed what was deleted. The file is this kiosk's alone, so no other process's
        reader holds the checkpoint back."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- the sync's side ----------------------------------------------------------------

    def apply(
        self,
        items: Iterable[ServiceItem],
        removed: Iterable[str],
        version: int,
        at: float,
        *,
        replace_all: bool = False,
    ) -> None:
        """Apply an export in one transaction: the copy is either at the old version or at
        ``version``, never half-way.

        Args:
            items: changed or new items.
            removed: codes withdrawn.
            version: the platform's version the export brings the copy to.
            at: now, on the hall clock: the copy is current as of this moment.
            replace_all: the export is the whole catalog and replaces the copy (the platform's
                version went back: it was rebuilt).
        """
        rows = [_row(item) for item in items]
        with self._lock, atomic(self._conn):
            if replace_all:
                self._conn.execute("DELETE FROM catalog_items")
            self._conn.executemany(
                "INSERT OR REPLACE INTO catalog_items(code, name, department_code, department,"
                " audiences, themes, initials, pinyin, body, version)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            self._conn.executemany(
                "DELETE FROM catalog_items WHERE code = ?", [(c,) for c in removed]
            )
            self._set("version", str(version))
            self._set("synced_at", repr(at))
            self._facets = None

    def mark_current(self, at: float) -> None:
        """The platform has nothing newer: the copy is current as of ``at``."""
        with self._lock, atomic(self._conn):
            self._set("synced_at", repr(at))

    def state(self) -> SyncState:
        with self._lock:
            values = dict(self._conn.execute("SELECT key, value FROM catalog_state"))
            (count,) = self._conn.execute("SELECT count(*) FROM catalog_items").fetchone()
        synced = values.get("synced_at")
        return SyncState(int(values.get("version", 0)), float(synced) if synced else None, count)

    # --- the guide's side ---------------------------------------------------------------

    def search(
        self,
        *,
        audience: str | None = None,
        theme: str | None = None,
        department: str | None = None,
        text: str = "",
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[int, list[ItemSummary]]:
        """Items matching every filter given, and how many match in all.

        ``text`` in Latin letters matches the name's pinyin or its initials (``sfz``,
        ``shenfen``); any other text matches part of the name or of the department. Names
        that begin with the text come first, then by name.
        """
        where: list[str] = []
        args: list[object] = []
        if audience:
            where.append("audiences LIKE ? ESCAPE '\\'")
            args.append(f"%|{_escape(audience)}|%")
        if theme:
            where.append("themes LIKE ? ESCAPE '\\'")
            args.append(f"%|{_escape(theme)}|%")
        if department:
            where.append("department_code = ?")
            args.append(department)
        needle = text.strip().lower()
        first = ""
        first_args: list[object] = []
        if needle and _LETTERS.match(needle):
            where.append("(initials LIKE ? ESCAPE '\\' OR pinyin LIKE ? ESCAPE '\\')")
            args += [f"%{_escape(needle)}%"] * 2
            first = (
                "CASE WHEN initials LIKE ? ESCAPE '\\' OR pinyin LIKE ? ESCAPE '\\'"
                " THEN 0 ELSE 1 END, "
            )
            first_args = [f"{_escape(needle)}%"] * 2
        elif needle:
            where.append("(name LIKE ? ESCAPE '\\' OR department LIKE ? ESCAPE '\\')")
            args += [f"%{_escape(needle)}%"] * 2
            first = "CASE WHEN name LIKE ? ESCAPE '\\' THEN 0 ELSE 1 END, "
            first_args = [f"{_escape(needle)}%"]
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            (total,) = self._conn.execute(
                f"SELECT count(*) FROM catalog_items {clause}", args
            ).fetchone()
            rows = self._conn.execute(
                f"SELECT code, name, department, audiences FROM catalog_items {clause}"
                f" ORDER BY {first}name, {_CENTRES_LAST}, code LIMIT ? OFFSET ?",
                [*args, *first_args, limit, offset],
            ).fetchall()
        return total, [
            ItemSummary(code, name, dept, tuple(a for a in auds.split("|") if a))
            for code, name, dept, auds in rows
        ]

    def item(self, code: str) -> ServiceItem:
        """One item's whole guide.

        Raises:
            ServiceItemNotFound (250): the copy has no such item.
        """
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM catalog_items WHERE code = ?", (code,)
            ).fetchone()
        if row is None:
            raise ServiceItemNotFound(f"no catalog item {code}", item_code=code)
        return parse_item(json.loads(row[0]))

    def themes(self) -> list[Facet]:
        """Every theme with its item count, most items first."""
        return list(self._counted()[0])

    def departments(self) -> list[Facet]:
        """Every implementing body with its item count, most items first."""
        return list(self._counted()[1])

    def _counted(self) -> tuple[list[Facet], list[Facet]]:
        with self._lock:
            if self._facets is None:
                counts: dict[str, int] = {}
                for (themes,) in self._conn.execute("SELECT themes FROM catalog_items"):
                    for t in filter(None, themes.split("|")):
                        counts[t] = counts.get(t, 0) + 1
                rows = self._conn.execute(
                    "SELECT department_code, department, count(*) FROM catalog_items"
                    f" GROUP BY department_code ORDER BY min({_CENTRES_LAST}), count(*) DESC,"
                    " department"
                ).fetchall()
                by_count = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                self._facets = (
                    [Facet(t, t, n) for t, n in by_count],
                    [Facet(code, name, n) for code, name, n in rows],
                )
            return self._facets

    def _set(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO catalog_state(key, value) VALUES (?, ?)", (key, value)
        )


def _row(item: ServiceItem) -> tuple[object, ...]:
    pinyin, initials = pinyin_of(item.name)
    return (
        item.code,
        item.name,
        item.department_code,
        item.department,
        "|" + "|".join(item.audiences) + "|",
        "|" + "|".join(item.themes) + "|",
        initials,
        pinyin,
        json.dumps(item_to_json(item), ensure_ascii=False),
        item.version,
    )


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
