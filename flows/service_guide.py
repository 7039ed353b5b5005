"""办事指南 (service guide): find a service item, read its guide, narrow its materials to one's
own situation (办理情形), print it or scan its QR code.

A UI-free step machine (a :class:`flows.kiosk_functions.KioskFlow`), drawn by
:mod:`kiosk.functions.service_guide`. Two screens:

* ``search``: filter chips (个人/法人, a theme, a department) and text, Chinese or pinyin
  initials (``sfz`` finds 居民身份证换领), over the kiosk's local copy of the platform's item
  catalog (:mod:`flows.item_catalog`), so it works with the uplink down; the copy's age shows
  once it is older than :data:`STALE_AFTER_S`.
* ``guide``: the item's name, department, time limits, phone, conditions, materials, legal
  basis and address; its situations, one of which narrows the materials; 打印 and a QR code
  of the guide on the platform's public site.

A printed guide is journaled as ``document.printed`` (function id and item code, nothing about
the citizen). A printer fault is a Chinese line on the guide screen; the guide stays shown.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import qrcode

from core.clock import Clock, business_day
from core.errors import DeviceError, HallEdgeError, ItemCatalogEmpty
from core.events import Kind
from devices.document_printer import DocumentPrinter
from flows.catalog_sync import CatalogSync
from flows.guide_document import write_guide_pdf
from flows.item_catalog import ItemCatalog, SyncState
from flows.kiosk_functions import KioskContext
from flows.queue_port import HealthRecorder, health_journal_for
from flows.screens import Screen
from flows.transactions import TransactionJournal
from govplatform.catalog import CatalogClient, ServiceItem

log = logging.getLogger(__name__)

FUNCTION_ID = "service_guide"
#: The copy's age after which the screens say how old it is (目录更新于X天前).
STALE_AFTER_S = 24 * 3600.0
#: Results shown at a time; 更多 shows the next ones.
PAGE = 20
AUDIENCES = ("个人", "法人")
#: QR symbols kept (one per guide URL): a kiosk's catalog has a few hundred items.
QR_CACHE = 512
_CITY_PREFIX = re.compile(r"^.{0,10}?市(?=.)")


@dataclass(frozen=True)
class Query:
    """What the citizen searches for; each filter None when not chosen."""

    audience: str | None = None
    theme: str | None = None
    department: str | None = None
    text: str = ""


class ServiceGuideFlow:
    """One kiosk's service guide.

    Args:
        catalog: the local copy of the item catalog.
        sync: what keeps the copy current (started by :meth:`for_kiosk`).
        clock: the hall clock.
        journal: where a printed guide is journaled; None prints without journaling (tools).
        printer: the A4 printer, or None (no 打印 button).
        health: where the printer's health changes go, or None.
        work_dir: where a guide's PDF is written while it prints.
        hall_name: printed in the guide's footer.
        guide_base_url: the public site the QR code leads to, ``{base}/guide/{code}``; None
            takes each item's own ``guide_url`` from the platform.
        stale_after_s: see :data:`STALE_AFTER_S`.
    """

    def __init__(
        self,
        catalog: ItemCatalog,
        sync: CatalogSync,
        clock: Clock,
        *,
        journal: TransactionJournal | None = None,
        printer: DocumentPrinter | None = None,
        health: HealthRecorder | None = None,
        work_dir: Path | None = None,
        hall_name: str = "",
        guide_base_url: str | None = None,
        stale_after_s: float = STALE_AFTER_S,
    ) -> None:
        self.catalog = catalog
        self.sync = sync
        self.clock = clock
        self.journal = journal
        self.printer = printer
        self.health = health
        self.work_dir = work_dir
        self.hall_name = hall_name
        self.guide_base_url = guide_base_url.rstrip("/") if guide_base_url else None
        self.stale_after_s = stale_after_s
        self._lock = threading.Lock()
        self.query = Query()
        self.shown = PAGE
        self.item: ServiceItem | None = None
        self.situation: str | None = None

    @classmethod
    def for_kiosk(cls, context: KioskContext) -> ServiceGuideFlow:
        """The flow of the kiosk's ``service_guide`` function (its registry factory): the
        copy in the kiosk's data directory, synced now and every 15 minutes when the kiosk
        has an uplink.

        """
        if context.data_dir is None:
            # A kiosk with no disk of its own keeps no copy: the guide says the catalog is not
            # there (251) rather than stopping the kiosk.
            catalog = ItemCatalog(":memory:")
            client = None
        else:
            catalog = ItemCatalog.in_dir(context.data_dir)
            client = CatalogClient(context.platform) if context.platform is not None else None
        sync = CatalogSync(catalog, client, context.clock)
        flow = cls(
            catalog,
            sync,
            context.clock,
            journal=context.transactions,
            printer=context.document_printer,
            health=health_journal_for(context.queue, context.clock),
            work_dir=Path(context.data_dir or tempfile.gettempdir()) / "guides",
            hall_name=context.hall.name,
        )
        sync.start()
        return flow

    # --- the kiosk's steps --------------------------------------------------------------

    def start(self) -> Screen:
        """The tile tapped: every item, no filter."""
        with self._lock:
            self._reset()
            return self._search()

    def leave(self) -> None:
        """Forget the search: the next citizen starts from the whole catalog."""
        with self._lock:
            self._reset()

    def close(self) -> None:
        """Stop syncing and close the copy (the kiosk's exit, a test's end)."""
        self.sync.stop()
        self.catalog.close()

    # --- search -------------------------------------------------------------------------

    def choose(self, facet: str, value: str | None) -> Screen:
        """A filter chip tapped: ``audience``, ``theme`` or ``department``. Tapping the chip
        already chosen (or None) clears that filter."""
        if facet not in ("audience", "theme", "department"):
            raise ValueError(f"no search facet {facet!r}")
        with self._lock:
            current = getattr(self.query, facet)
            self.query = replace(self.query, **{facet: None if value == current else value})
            self.shown = PAGE
            return self._search()

    def set_text(self, text: str) -> Screen:
        """The search text as typed: Chinese, or pinyin letters (full or initials)."""
        with self._lock:
            self.query = replace(self.query, text=text.strip()[:30])
            self.shown = PAGE
            return self._search()

    def clear(self) -> Screen:
        """清空: every filter and the text off."""
        with self._lock:
            self.query = Query()
            self.shown = PAGE
            return self._search()

    def more(self) -> Screen:
        """更多: the next results."""
        with self._lock:
            self.shown += PAGE
            return self._search()

    def back(self) -> Screen:
        """返回列表: from a guide to the search as it was."""
        with self._lock:
            self.item, self.situation = None, None
            return self._search()

    # --- guide --------------------------------------------------------------------------

    def open_item(self, code: str) -> Screen:
        """A result tapped: its guide. An item withdrawn meanwhile is a line on the search."""
        with self._lock:
            try:
                self.item = self.catalog.item(code)
            except HallEdgeError as err:
                self.item = None
                return self._search(err.key)
            self.situation = None
            return self._guide()

    def choose_situation(self, code: str | None) -> Screen:
        """A situation (办理情形) tapped: the materials narrow to it; None shows the
        materials common to every situation again."""
        with self._lock:
            if self.item is None:
                return self._search()
            if code is not None and self.item.situation(code) is None:
                raise ValueError(f"{self.item.code} has no situation {code!r}")
            self.situation = code
            return self._guide()

    def print_guide(self) -> Screen:
        """打印: the guide as shown (situation included) on the A4 printer, journaled once
        printed. A printer fault is the guide screen with the fault's Chinese line."""
        with self._lock:
            if self.item is None:
                return self._search()
            if self.printer is None:
                return self._guide("device_not_found")
            item = self.item
            pdf = self._render(item)
            try:
                self.printer.print_file(pdf.path, title=f"办事指南-{item.name}")
            except DeviceError as err:
                log.info("guide %s not printed: %s (%d)", item.code, err, err.code)
                self._journal(item, pdf.pages, "failed")
                return self._guide(err.key)
            finally:
                pdf.remove()
                if self.health is not None:
                    self.health.record(self.printer.health())
            self._journal(item, pdf.pages, "done")
            return self._guide(printed=True)

    # --- internals ----------------------------------------------------------------------

    def _reset(self) -> None:
        self.query = Query()
        self.shown = PAGE
        self.item, self.situation = None, None

    def _render(self, item: ServiceItem) -> _GuidePdf:
        if self.work_dir is not None:
            self.work_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.work_dir))
        path = tmp / "guide.pdf"
        pages = write_guide_pdf(
            item, self.situation, self._qr_url(item), path,
            business_day(self.clock.now()), self.hall_name,
        )  # fmt: skip
        return _GuidePdf(path, pages)

    def _journal(self, item: ServiceItem, pages: int, outcome: str) -> None:
        """``document.printed`` (``docs/topics.md``): counted per function by the collector
        when done; a failed print is journaled too, so staff see guides that did not come
        out. Nothing about the citizen."""
        if self.journal is not None:
            self.journal.record(
                Kind.DOCUMENT_PRINTED,
                {"function": FUNCTION_ID, "item": item.code, "pages": pages, "copies": 1,
                 "outcome": outcome},
            )  # fmt: skip

    def _qr_url(self, item: ServiceItem) -> str:
        if self.guide_base_url:
            return f"{self.guide_base_url}/guide/{item.code}"
        return item.guide_url

    def _catalog(self) -> tuple[SyncState, dict[str, Any]]:
        state = self.catalog.state()
        age_s = None if state.synced_at is None else max(0.0, self.clock.now() - state.synced_at)
        return state, {
            "version": state.version,
            "items": state.items,
            "synced_at": state.synced_at,
            "stale": age_s is not None and age_s > self.stale_after_s,
            # Whole days, at least 1 once stale: "目录更新于1天前" after 25 hours.
            "age_days": None if age_s is None else max(1, math.floor(age_s / 86400)),
        }

    def _search(self, error_key: str | None = None) -> Screen:
        state, catalog = self._catalog()
        if state.items == 0:
            error_key = error_key or ItemCatalogEmpty.key
        q = self.query
        total, rows = self.catalog.search(
            audience=q.audience, theme=q.theme, department=q.department, text=q.text,
            limit=self.shown,
        )  # fmt: skip
        data = {
            "query": {"audience": q.audience, "theme": q.theme, "department": q.department,
                      "text": q.text},
            "audiences": list(AUDIENCES),
            "themes": [{"value": f.value, "label": f.label, "count": f.count}
                       for f in self.catalog.themes()],
            "departments": [{"value": f.value, "label": _short(f.label), "count": f.count}
                            for f in self.catalog.departments()],
            "results": [{"code": r.code, "name": r.name, "department": r.department,
                         "audiences": list(r.audiences)} for r in rows],
            "total": total,
            "catalog": catalog,
        }  # fmt: skip
        return Screen("search", "form", data, error_key)

    def _guide(self, error_key: str | None = None, printed: bool = False) -> Screen:
        item = self.item
        assert item is not None
        _, catalog = self._catalog()
        materials = item.materials_for(self.situation)
        data = {
            "item": {
                "code": item.code,
                "name": item.name,
                "item_type": item.item_type,
                "department": item.department,
                "audiences": list(item.audiences),
                "themes": list(item.themes),
                "promised_time_limit": item.promised_time_limit,
                "legal_time_limit": item.legal_time_limit,
                "phone": item.phone,
                "complaint_phone": item.complaint_phone,
                "address": item.address,
                "office_hours": item.office_hours,
                "fee": item.fee,
                "conditions": list(item.conditions),
                "legal_basis": list(item.legal_basis),
                "updated_at": item.updated_at,
            },
            "situations": [{"code": s.code, "name": s.name, "chosen": s.code == self.situation}
                           for s in item.situations],
            "situation": self.situation,
            "materials": [{"id": m.id, "name": m.name, "form": m.form, "copies": m.copies,
                           "required": m.required, "note": m.note} for m in materials],
            "materials_total": len(item.materials),
            "qr_url": self._qr_url(item),
            # The symbol's modules, made here on the worker: the screen only paints them.
            "qr_rows": list(qr_rows(self._qr_url(item))),
            "can_print": self.printer is not None,
            "printed": printed,
            "catalog": catalog,
        }  # fmt: skip
        return Screen("guide", "result", data, error_key)


@dataclass(frozen=True)
class _GuidePdf:
    """A guide's PDF while it prints."""

    path: Path
    pages: int

    def remove(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


@lru_cache(maxsize=QR_CACHE)
def qr_rows(url: str) -> tuple[str, ...]:
    """The QR code of ``url`` as rows of modules, top to bottom, ``"1"`` dark, quiet zone
    included; the symbol the printed guide carries (:func:`flows.guide_document.qr_image`).
    Cached: making a symbol tries every mask pattern, tens of milliseconds in pure Python."""
    symbol = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    symbol.add_data(url)
    symbol.make(fit=True)
    return tuple("".join("1" if dark else "0" for dark in row) for row in symbol.get_matrix())


def _short(department: str) -> str:
    """A department's name for a chip: without the city (格尔木市公安局 → 公安局)."""
    return _CITY_PREFIX.sub("", department, count=1)
