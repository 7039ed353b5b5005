"""The session purge: when a citizen's visit ends (返回首页, or the idle timeout), the kiosk
forgets them: in its flows, in its window, on its disk (``docs/privacy.md``, "After the
citizen leaves").

Two halves, because they run on two threads:

* :class:`WorkerPurge`, on the kiosk's worker, after every flow's ``leave()``
  (:attr:`flows.kiosk_functions.KioskHome.on_session_end`): the kiosk's SQLite files scrubbed
  (``secure_delete`` on from the start, the WAL checkpointed and truncated), the session's
  files (print spool, rendered guides) overwritten and deleted, the ID card reader's memory
  of the last card dropped. urllib's cache of split URLs is left alone: no URL the kiosk
  sends holds personal data (``tests/test_platform_urls.py`` searches that cache too).
* :func:`purge_window`, on the Kivy thread, once the home screen has replaced the citizen's:
  Kivy's caches that can hold what a screen showed (textures, images, text input renderings)
  emptied, and the widgets dropped with the old screen collected now rather than whenever the
  cyclic collector next runs. The keyboard's buffers are wiped before the old screen is taken
  down (:func:`wipe_keyboards`), and 朗读's files on the speech thread
  (:meth:`kiosk.speech.Speaker.forget`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from flows.kiosk_functions import KioskHome
from kiosk.speech import overwrite_and_delete

log = logging.getLogger(__name__)

#: Directories under the kiosk's ``data_dir`` that hold only files of the visit in progress:
#: PDFs waiting for the A4 printer (certificates, query documents), rendered guides.
SESSION_DIRS = ("print-spool", "guides")

#: Kivy cache categories a citizen's screen can fill: textures and images decoded from memory
#: (a certificate's page, a payment QR code), the text input's rendered lines and widths. The
#: others (``kv.atlas``, ``kv.lang``, ``kv.shader``, ``kv.resourcefind``) hold the kiosk's own
#: assets and code, never what a citizen typed or was shown.
KIVY_CACHES = ("kv.texture", "kv.image", "kv.loader", "textinput.label", "textinput.width",
               "textinput.line")  # fmt: skip


@runtime_checkable
class Scrubbable(Protocol):
    """A store of the kiosk's own that can scrub its SQLite file (``scrub()``)."""

    def scrub(self) -> None: ...


class WorkerPurge:
    """The worker's half of the purge, for one kiosk.

    Args:
        home: the kiosk's home; :meth:`install` hooks the purge into it.
    """

    def __init__(self, home: KioskHome) -> None:
        self.home = home

    def install(self) -> None:
        """Hook into the home and turn ``secure_delete`` on where the kiosk did not open the
        file itself (the hall database, for a kiosk on the hall box). Runs on the worker."""
        for conn in self._shared_connections():
            conn.execute("PRAGMA secure_delete=ON")
        self.home.on_session_end.append(self)

    def __call__(self) -> None:
        for store in self._stores():
            try:
                store.scrub()
            except sqlite3.Error as err:  # a busy file is scrubbed at the next visit's end
                log.warning("scrub of %s failed: %s", type(store).__name__, err)
        for conn in self._shared_connections():
            # PASSIVE: the hall database is shared with the hall box's other processes, and a
            # citizen must never wait for them. The kiosk journals nothing personal there.
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self._remove_session_files()
        self._forget_reader()

    # --- internals ----------------------------------------------------------------------

    def _stores(self) -> Iterator[Scrubbable]:
        """The kiosk's own SQLite stores: the payment order book, the item catalog's copy, and
        the local store under the transaction journal of a kiosk on its own machine."""
        seen: set[int] = set()
        candidates: list[Any] = [getattr(self.home.context.journal, "store", None)]
        for flow in self.home.flows.values():
            candidates += [getattr(flow, "book", None), getattr(flow, "catalog", None)]
        for store in candidates:
            if isinstance(store, Scrubbable) and id(store) not in seen:
                seen.add(id(store))
                yield store

    def _shared_connections(self) -> list[sqlite3.Connection]:
        conn = getattr(self.home.context.queue, "conn", None)
        return [conn] if isinstance(conn, sqlite3.Connection) else []

    def _remove_session_files(self) -> None:
        data_dir = self.home.context.data_dir
        if data_dir is None:
            return
        for name in SESSION_DIRS:
            folder = Path(data_dir) / name
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
                if path.is_dir():
                    path.rmdir()
                else:
                    overwrite_and_delete(path)

    def _forget_reader(self) -> None:
        """The reader remembers the last number it read so a card left lying is not read
        twice; the next citizen's card is new by definition. (The reader has no public way to
        forget yet: its debounce field is reset here, see docs/privacy.md.)"""
        reader = self.home.context.id_reader
        if reader is not None and hasattr(reader, "_last_number"):
            reader._last_number = None


def wipe_keyboards(root: Any) -> None:
    """Wipe every on-screen keyboard field under ``root`` before its screen is taken down."""
    from kiosk.keyboard import KeyboardField

    for widget in root.walk(restrict=True):
        if isinstance(widget, KeyboardField):
            widget.wipe()


def freeze_startup_objects() -> None:
    """Once, when the kiosk first shows its home screen, before any citizen: move everything
    alive into the collector's permanent generation, so that each visit's collection
    (:func:`purge_window`) scans what visits made (tens of ms), not the whole Kivy app (a
    full collection here took 150 ms and landed on the next citizen's first tap). Nothing a
    citizen typed exists yet; what a frozen object later refers to is still found by a search
    that unfreezes first (``tests/privacy_probe.py``)."""
    gc.collect()
    gc.freeze()


def purge_window() -> None:
    """Empty Kivy's caches a citizen's screens filled, then collect the widgets dropped with
    those screens (Kivy widgets hold reference cycles, so they wait for the cyclic collector).
    Runs on the Kivy thread, a frame after the home screen was drawn. Then hands the freed
    memory back to the system off the Kivy thread (:func:`release_free_memory`)."""
    from kivy.cache import Cache

    for category in KIVY_CACHES:
        Cache.remove(category)  # a category not registered yet is simply empty
    gc.collect()
    threading.Thread(target=release_free_memory, name="malloc-trim", daemon=True).start()


def release_free_memory() -> None:
    """glibc keeps freed memory in its arenas for reuse: over a day of visits the kiosk's
    resident size creeps up by what the allocator holds, not by live objects (measured in
    ``bench kiosk``). ``malloc_trim`` returns it; ctypes drops the GIL for the call, so the
    window keeps drawing meanwhile. Not glibc: nothing to do."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)
