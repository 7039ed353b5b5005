"""自助申报 (self-submission): a citizen files a case online from the kiosk, with their
materials photographed on the 高拍仪.

choose the item → its situation (办理情形), which fixes the required materials (seed 004:
二级材料, 办理情形) → the list of materials → the citizen's ID card (:mod:`flows.identify`) →
the application form, on screen or on the phone by QR code (:mod:`flows.form_entry`); the form
stands in for its own material, which is not photographed → each required material under the
高拍仪 by continuous capture (:mod:`flows.material_capture`): the corrected, cropped page is
shown, 重拍 retakes it, 添加一页 adds a page, 下一份 goes on → review → submit, once →
receipt printed with the case number.

**Submitted once.** The submission id (the case's ``Idempotency-Key``) is chosen when the
citizen first taps 确认提交 and written to the kiosk's ledger (:mod:`flows.submission_ledger`)
before anything is sent; pages are uploaded under keys derived from it, and the case body is
kept, so a second tap, the HTTP layer's retries and 查询结果 after a lost answer all repeat the
same request, which the platform answers with its first result.

**Journaled** (``kiosk.transaction``, function ``self_submission``, item = the item code):
``done`` with the case number as ``ref``; ``failed`` with the refusal's code; ``unknown``
(``ref`` = the submission id) when no answer came; ``cancelled`` when the citizen left at the
review. The receipt's print is a ``document.printed`` (:mod:`flows.document_printing`).

**Privacy.** The scans live only in the session's directory under the kiosk's data directory
(:mod:`flows.scan_store`) and are deleted in :meth:`SelfSubmissionFlow.leave`, with the form
and the citizen; the phone form is closed on the platform too.

Faults: the camera unplugged mid-capture (the capture screen says so, the pages taken stay,
重试 goes on once it is back); the phone form never submitted (it expires; the citizen fills
on screen); the platform refusing the case (the review again, with the reason); a disk too
full for the scans (refused before the camera starts); the citizen walking away (``leave``).
"""

from __future__ import annotations

import logging
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.clock import business_day
from core.errors import (
    DeviceError,
    HallEdgeError,
    PlatformError,
    ScanStorageFull,
    SubmissionRefused,
)
from core.events import Kind
from core.privacy import mask_name
from flows.document_printing import DocumentPrinting
from flows.form_entry import FormEntry, FormSteps
from flows.identify import Citizen, IdentifyCitizen
from flows.kiosk_functions import KioskContext
from flows.material_capture import PageWatcher, document_camera_of, fit_for_upload
from flows.scan_store import RESERVE_BYTES, ScanStore, purge_stale
from flows.screens import Screen
from flows.submission_documents import Row, receipt_pdf
from flows.submission_ledger import SubmissionLedger
from flows.transactions import transaction_event
from govplatform.catalog import CatalogClient, Material, ServiceItem
from govplatform.submissions import CaseReceipt, CaseSubmission, SubmissionsClient

if TYPE_CHECKING:
    from devices.document_camera import DocumentCamera

log = logging.getLogger(__name__)

FUNCTION = "self_submission"
#: Pages a material may have (a household register's pages, a contract).
MAX_PAGES = 10
#: Pages the disk check allows for per material before capture starts.
PAGES_PER_MATERIAL = 3


@dataclass
class MaterialPages:
    """A material to photograph and the pages shot so far (files in the session's dir)."""

    material: Material
    pages: list[Path] = field(default_factory=list)


class SelfSubmissionFlow(FormSteps):
    """The 自助申报 function's flow (a :class:`flows.kiosk_functions.KioskFlow`); the form's
    own steps (on screen, by phone, a field) are :class:`flows.form_entry.FormSteps`.

    Args:
        context: the kiosk.
        camera: the 高拍仪; None takes the kiosk's (:func:`document_camera_of`).
        reserve_bytes: free disk that must remain after the scans
            (:data:`flows.scan_store.RESERVE_BYTES`).
        phone_wait_s: how long one phone poll waits for the phone (a long poll).
        watch_s: how long one capture step watches the desk.
    """

    FORM_NOTES_PHONE = True

    def __init__(
        self,
        context: KioskContext,
        camera: DocumentCamera | None = None,
        *,
        reserve_bytes: int = RESERVE_BYTES,
        phone_wait_s: float = 2.0,
        watch_s: float = 2.5,
    ) -> None:
        self.context = context
        self.camera = document_camera_of(context, camera)
        self.submissions = SubmissionsClient(context.platform) if context.platform else None
        self.catalog = CatalogClient(context.platform) if context.platform else None
        self.identify = IdentifyCitizen(context.id_reader)
        self.printing = DocumentPrinting(context, FUNCTION)
        data_dir = context.data_dir or Path(tempfile.gettempdir()) / f"hall-edge-{context.device_id}"
        purge_stale(data_dir)  # scans a crashed session left behind
        self.store = ScanStore(data_dir, reserve_bytes)
        self.ledger = SubmissionLedger(data_dir)
        self.form = FormEntry(self.submissions)
        self.phone_wait_s = phone_wait_s
        self.watch_s = watch_s
        self.watcher: PageWatcher | None = None
        self._lock = threading.RLock()
        self._forget()

    # --- the kiosk's two steps (start() is FormSteps') -----------------------------------

    def leave(self) -> None:
        """The citizen is done or walked away: scans, form and citizen are gone, from memory
        and from disk. A case left at its review is journaled ``cancelled``."""
        with self._lock:
            if self.reviewed and self.key is None and self.receipt is None:
                self._journal("cancelled", reason="left")
            self._forget()

    # --- item, situation, materials -----------------------------------------------------

    def choose_item(self, code: str) -> Screen:
        """An item tapped: its situations, or straight to its materials."""
        with self._lock:
            self._forget()
            if self.catalog is None or self.submissions is None:
                return self._items()
            try:
                self.item = self.catalog.item(code)
                self.form.load(self.submissions.form(code))
            except PlatformError as err:
                self.item = None
                return self._items(err.key)
            if self.item.situations:
                return self._situations()
            return self._materials()

    def choose_situation(self, code: str) -> Screen:
        """A situation tapped: the materials it needs."""
        with self._lock:
            if self.item is None:
                return self.start()
            if self.item.situation(code) is None:
                return self._situations("form_invalid")
            self.situation = code
            return self._materials()

    def confirm_materials(self) -> Screen:
        """开始申报 under the list of materials: who applies."""
        with self._lock:
            if self.item is None:
                return self.start()
            return self.identify.start()

    def identified(self, outcome: Screen | Citizen) -> Screen:
        """The identify step's outcome: its next screen, or the applicant."""
        with self._lock:
            if isinstance(outcome, Screen):
                return outcome
            if self.item is None:
                return self.start()
            self.citizen = outcome
            return self._form_mode()

    # --- the form (the rest is FormSteps') ------------------------------------------------

    def show_form(self) -> Screen:
        """返回 from a field's screen (or 修改申请表 at the review)."""
        with self._lock:
            if self.citizen is None:
                return self.start()
            if self.key is not None:
                return self._pending()
            self.reviewed = False
            return self._form()

    def form_done(self) -> Screen:
        """下一步 under the form: every required field filled → the camera."""
        with self._lock:
            if self.citizen is None:
                return self.start()
            if self.form.missing():
                return self._form(error_key="form_invalid")
            if self.key is not None:
                return self._pending()
            if self.captured and all(m.pages for m in self.captured):
                return self._review()
            return self._begin_capture()

    # --- capture ------------------------------------------------------------------------

    def watch(self) -> Screen:
        """The capture screen's poll: watch the desk; the page when one was shot."""
        with self._lock:
            if self.citizen is None or not self.captured:
                return self.start()
            if self.key is not None:
                return self._pending()
            if self.watcher is None:
                return self._begin_capture()
            try:
                seen = self.watcher.watch(self.watch_s)
            except DeviceError as err:
                # Unplugged, no frames, black frames: nothing captured; the pages kept stay.
                return self._capture(err.key, camera_fault=True)
            if seen.page is None:
                return self._capture(seen.error_key)
            current = self.captured[self.current]
            number = len(current.pages) + 1
            path = self.store.save(f"{current.material.id}-{number}.jpg", seen.page)
            current.pages.append(path)
            return self._page()

    def retake(self) -> Screen:
        """重拍: the last page shot is dropped and shot again."""
        with self._lock:
            if self.citizen is None or not self.captured:
                return self.start()
            current = self.captured[self.current]
            if current.pages:
                current.pages.pop().unlink(missing_ok=True)
            if self.watcher is not None:
                self.watcher.rearm()  # the page may still lie there: shoot it again
            return self._capture()

    def add_page(self) -> Screen:
        """添加一页: another page of the same material."""
        with self._lock:
            if self.citizen is None or not self.captured:
                return self.start()
            if len(self.captured[self.current].pages) >= MAX_PAGES:
                return self._page("form_invalid")
            return self._capture()

    def next_material(self) -> Screen:
        """下一份 (or 完成拍摄 on the last): the next material without pages, else the review."""
        with self._lock:
            if self.citizen is None or not self.captured:
                return self.start()
            if not self.captured[self.current].pages:
                return self._capture()
            waiting = [n for n, m in enumerate(self.captured) if not m.pages]
            if not waiting:
                return self._review()
            self.current = waiting[0]
            return self._capture()

    def recapture(self, material_id: str) -> Screen:
        """重新拍摄 of one material at the review: its pages are dropped and shot again."""
        with self._lock:
            if self.citizen is None or not self.captured or self.key is not None:
                return self._pending() if self.key is not None else self.start()
            for n, m in enumerate(self.captured):
                if m.material.id == material_id:
                    for page in m.pages:
                        page.unlink(missing_ok=True)
                    m.pages.clear()
                    self.current = n
                    self.reviewed = False
                    if self.watcher is not None:
                        self.watcher.rearm()
                    return self._capture()
            return self._review()

    # --- review, submit, receipt --------------------------------------------------------

    def review(self) -> Screen:
        """The review again (from a refusal)."""
        with self._lock:
            if self.citizen is None or not self.captured:
                return self.start()
            return self._review()

    def submit(self) -> Screen:
        """确认提交: upload the pages and file the case, once."""
        with self._lock:
            if self.receipt is not None:
                return self._done()
            if self.citizen is None or not self.reviewed or self.item is None:
                return self.start()
            assert self.submissions is not None
            if self.key is None:
                # Chosen and on disk before anything is sent: every repeat carries it.
                self.key = uuid.uuid4().hex
                self.ledger.record(self.key, self.item.code, "sending")
            try:
                self.case = self.case or self._build_case()
            except SubmissionRefused as err:
                return self._refused(err)
            except PlatformError as err:
                # A page did not upload: no case was sent, so nothing is unknown. The pages
                # already up keep their ids; 确认提交 again goes on from there.
                return self._review(err.key)
            try:
                receipt = self.submissions.submit(self.case, self.key)
            except SubmissionRefused as err:
                return self._refused(err)
            except PlatformError as err:
                # No answer we can trust: the case may be filed. Journaled once as unknown;
                # 查询结果 sends the same case with the same key.
                if not self.unknown:
                    self._journal("unknown", ref=self.key, error_code=err.code)
                    self.unknown = True
                return self._pending(err.key)
            self.ledger.record(self.key, self.item.code, "done", receipt.case_no)
            self._journal("done", ref=receipt.case_no, pages=receipt.pages)
            self.receipt = receipt
            return self._print_receipt()

    def settle(self) -> Screen:
        """查询结果 after an unknown outcome: the same case with the same key."""
        return self.submit()

    def reprint(self) -> Screen:
        """重新打印 the receipt after a printer fault."""
        with self._lock:
            if self.receipt is None:
                return self.start()
            if self.printed:
                return self._done()
            return self._print_receipt()

    # --- internals ----------------------------------------------------------------------

    def _forget(self) -> None:
        self.form.forget()
        self.store.purge()
        self.item: ServiceItem | None = None
        self.situation = ""
        self.citizen: Citizen | None = None
        self.captured: list[MaterialPages] = []
        self.current = 0
        self.reviewed = False
        self.key: str | None = None
        self.case: CaseSubmission | None = None
        self.uploaded: dict[str, str] = {}
        self.unknown = False
        self.receipt: CaseReceipt | None = None
        self.printed = False
        if getattr(self, "watcher", None) is not None:
            self.watcher.rearm()

    def _to_capture(self) -> list[Material]:
        """The situation's required materials, but the form's own (filled online)."""
        assert self.item is not None and self.form.schema is not None
        return [m for m in self.item.materials_for(self.situation or None)
                if m.required and m.id != self.form.schema.form_material]  # fmt: skip

    def _begin_capture(self) -> Screen:
        if not self.captured:
            self.captured = [MaterialPages(m) for m in self._to_capture()]
            self.current = 0
        if not self.captured:
            return self._review()
        try:
            self.store.check_room(len(self.captured) * PAGES_PER_MATERIAL)
        except ScanStorageFull as err:
            return Screen("storage_full", "result", {}, err.key)
        if self.camera is None:
            return self._capture("device_not_found", camera_fault=True)
        if self.watcher is None:
            self.watcher = PageWatcher(self.camera)
        return self._capture()

    def _build_case(self) -> CaseSubmission:
        """Upload each page under a key of its own (derived from the submission id, so a
        repeat uploads nothing new) and put the case together."""
        assert self.submissions and self.citizen and self.item and self.key
        materials = []
        for m in self.captured:
            ids = []
            for n, page in enumerate(m.pages, start=1):
                key = f"{self.key}-{m.material.id}-{n}"
                if key not in self.uploaded:
                    data = fit_for_upload(page.read_bytes())
                    self.uploaded[key] = self.submissions.upload(
                        data, "image/jpeg", f"{m.material.id}-{n}.jpg", key
                    )
                ids.append(self.uploaded[key])
            materials.append((m.material.id, tuple(ids)))
        return CaseSubmission(self.item.code, self.situation, self.citizen.id_number,
                              self.citizen.name, dict(self.form.values), tuple(materials))  # fmt: skip

    def _print_receipt(self) -> Screen:
        assert self.receipt is not None and self.item is not None and self.citizen is not None
        r = self.receipt
        rows = [
            Row("事项名称", self.item.name),
            Row("办理情形", self._situation_name() or "—"),
            Row("申请人", mask_name(self.citizen.name) if self.citizen.name else "—"),
            Row("身份证号", self.citizen.masked()["id_number"]),
            Row("提交材料", "；".join(f"{m.material.name}{len(m.pages)}页" for m in self.captured)
                or "—"),
            Row("申请表", f"{self.form.schema.form_name if self.form.schema else ''}（网上填写）"),
            Row("提交日期", r.received_at),
            Row("办理状态", r.status),
            Row("受理部门", self.item.department),
        ]
        footer = f"{self.context.hall.name}  {business_day(self.context.clock.now())}打印"
        pdf, pages = receipt_pdf(r.case_no, rows, footer)
        outcome = self.printing.print_pdf(pdf, "网上申报回执", self.item.code, pages)
        self.printed = outcome.printed
        # The scans are on the platform now: nothing of them need stay on this disk.
        self.store.purge()
        return self._done(outcome.error_key)

    def _situation_name(self) -> str:
        s = self.item.situation(self.situation) if self.item and self.situation else None
        return s.name if s else ""

    def _journal(self, outcome: str, ref: str = "", **extra: Any) -> None:
        item = self.item.code if self.item else ""
        self.context.transactions.record(
            Kind.KIOSK_TRANSACTION, transaction_event(FUNCTION, outcome, item=item, ref=ref, **extra)
        )

    # --- screens ------------------------------------------------------------------------

    def _item_data(self) -> dict[str, Any]:
        assert self.item is not None
        return {"code": self.item.code, "name": self.item.name, "department": self.item.department}

    def _situations(self, error_key: str | None = None) -> Screen:
        assert self.item is not None
        situations = [{"code": s.code, "name": s.name} for s in self.item.situations]
        return Screen("choose_situation", "menu",
                      {"item": self._item_data(), "situations": situations}, error_key)  # fmt: skip

    def _materials(self) -> Screen:
        assert self.item is not None and self.form.schema is not None
        form_material = self.form.schema.form_material
        rows = [{"id": m.id, "name": m.name, "form": m.form, "copies": m.copies,
                 "by_form": m.id == form_material}
                for m in self.item.materials_for(self.situation or None) if m.required]  # fmt: skip
        data = {"item": self._item_data(), "situation": self._situation_name(),
                "materials": rows, "to_capture": sum(not r["by_form"] for r in rows),
                "form_name": self.form.schema.form_name}  # fmt: skip
        return Screen("materials", "result", data)

    def _capture(self, error_key: str | None = None, camera_fault: bool = False) -> Screen:
        current = self.captured[self.current]
        data = {
            "material": {"id": current.material.id, "name": current.material.name,
                         "form": current.material.form},
            "index": self.current + 1,
            "total": len(self.captured),
            "pages": len(current.pages),
            "camera_fault": camera_fault,
        }  # fmt: skip
        return Screen("capture", "form", data, error_key)

    def _page(self, error_key: str | None = None) -> Screen:
        current = self.captured[self.current]
        last = self.current == len(self.captured) - 1 and all(
            m.pages for n, m in enumerate(self.captured) if n != self.current
        )
        data = {
            "material": {"id": current.material.id, "name": current.material.name},
            "index": self.current + 1,
            "total": len(self.captured),
            "page_no": len(current.pages),
            "image": str(current.pages[-1]),
            "last": last,
        }
        return Screen("page", "result", data, error_key)

    def _review(self, error_key: str | None = None) -> Screen:
        assert self.item is not None and self.citizen is not None
        self.reviewed = True
        data = {
            "item": self._item_data(),
            "situation": self._situation_name(),
            "applicant": self.citizen.masked(),
            "form_name": self.form.schema.form_name if self.form.schema else "",
            "form": [{"label": r["label"], "value": r["value"]} for r in self.form.rows()],
            "materials": [{"id": m.material.id, "name": m.material.name, "pages": len(m.pages),
                           "images": [str(p) for p in m.pages]} for m in self.captured],
        }  # fmt: skip
        return Screen("review", "form", data, error_key)

    def _pending(self, error_key: str | None = None) -> Screen:
        return Screen("unknown", "result", {"reason": error_key}, "outcome_unknown")

    def _refused(self, err: HallEdgeError) -> Screen:
        """Refused on its merits: nothing was filed. The key is dropped (a corrected case is a
        new submission); the review shows why."""
        upstream = str(err.details.get("upstream_code", ""))
        assert self.key is not None and self.item is not None
        self.ledger.record(self.key, self.item.code, "failed")
        self._journal("failed", error_code=err.code, upstream=upstream)
        self.key, self.case, self.uploaded, self.unknown = None, None, {}, False
        screen = self._review(err.key)
        screen.data["upstream_code"] = upstream
        return screen

    def _done(self, error_key: str | None = None) -> Screen:
        assert self.receipt is not None
        r = self.receipt
        data = {"case_no": r.case_no, "status": r.status, "received_at": r.received_at,
                "pages": r.pages, "printed": self.printed}  # fmt: skip
        return Screen("done", "result", data, error_key)
