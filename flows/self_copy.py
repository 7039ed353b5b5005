"""自助复印 (self-copy): an ID card or an A4 document, copied at true size with the purpose
watermark seed 004 asks for (材料扫描、标签化水印和集成打印).

choose what to copy (身份证 / 材料) → choose the purpose (仅供办理XX业务使用) → place the card's
front, then its back, or each page, under the 高拍仪 and tap 拍摄 (the page is found and cropped
by :mod:`docscan`) → choose how many copies → 打印 → printed; journaled as ``document.printed``
with function ``self_copy``, item = the purpose code, pages, copies and the outcome.

Faults: the camera unplugged (or silent, or dark) mid-capture is a screen saying so, the scans
taken so far kept, and 拍摄 works again once it is back; a page not found is a screen asking to
place it again. The printer out of paper or its cover open mid-job pauses on a screen with
继续打印 (after staff fixed it) and 取消 (:mod:`flows.copy_print`); the event says which.

What is kept of the citizen: their scans, in memory only, as byte arrays overwritten with
zeros when the citizen leaves (返回首页, or idle) or starts again; the composed PDF touches the
disk only in the session's private directory while CUPS takes it, and the directory goes with
the session. A job still waiting for 继续打印 when the citizen walks away is cancelled.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from core.clock import hall_time
from core.errors import CaptureError, DeviceError, DeviceNotFound
from devices.health import Health
from flows.copy_layout import CopyDocument, Label, document_copy, id_card_copy
from flows.copy_print import CANCELLED, DONE, PAUSED, CopyPrintJob, JobState
from flows.kiosk_functions import KioskContext
from flows.queue_port import JournalsHealth
from flows.screens import Screen

FUNCTION = "self_copy"
ID_CARD, DOCUMENT = "id_card", "document"
#: What can be copied: id → what the citizen reads.
KINDS = {
    ID_CARD: {"title": "身份证复印", "note": "正反面复印在同一张A4纸上，原大尺寸"},
    DOCUMENT: {"title": "材料复印", "note": "A4材料逐页原大复印"},
}
#: The purposes a copy may carry (仅供办理XX业务使用): code → the XX. Short names, so the
#: watermark label keeps its size (:data:`flows.copy_layout.LABEL_MAX_MM`).
PURPOSES = {
    "social_security": "社保",
    "medical_insurance": "医保",
    "housing_fund": "公积金",
    "household": "户籍",
    "real_estate": "不动产登记",
    "marriage": "婚姻登记",
    "business": "企业开办",
    "veterans": "退役军人",
}
#: A document copy's most pages, and the most copies of anything, per citizen.
MAX_PAGES = 10
MAX_COPIES = 10


class SelfCopyFlow:
    """The 自助复印 function's flow (a :class:`flows.kiosk_functions.KioskFlow`).

    Args:
        context: the kiosk (its 高拍仪 ``document_camera``, A4 printer, journal, clock,
            ``data_dir``, device id).
    """

    def __init__(self, context: KioskContext) -> None:
        self.context = context
        self.camera = context.document_camera
        self._lock = threading.RLock()
        self.scans: list[bytearray] = []
        self._session: Path | None = None
        self._forget()

    # --- the kiosk's steps ----------------------------------------------------------------

    def start(self) -> Screen:
        """The tile tapped: ID card or document?"""
        with self._lock:
            self._forget()
            return self._choose_kind()

    def leave(self) -> None:
        """The citizen went home or away: cancel a paused job, purge the scans."""
        with self._lock:
            self._forget()

    # --- the function's steps -------------------------------------------------------------

    def choose_kind(self, kind: str) -> Screen:
        """身份证复印 or 材料复印 tapped: the purpose list."""
        with self._lock:
            self._forget()
            if kind not in KINDS:
                return self._choose_kind()
            self.kind = kind
            return self._choose_purpose()

    def choose_purpose(self, purpose: str) -> Screen:
        """A purpose tapped: place the card (front first) or the first page."""
        with self._lock:
            if self.kind is None:
                return self._choose_kind()
            if purpose not in PURPOSES:
                return self._choose_purpose()
            self.purpose = purpose
            return self._place()

    def capture(self) -> Screen:
        """拍摄: the camera's still, the card or page found and cropped by docscan."""
        with self._lock:
            if self.kind is None or self.purpose is None:
                return self._choose_kind()
            if self._full():
                return self._next()
            try:
                data = self._capture()
            except (DeviceError, CaptureError) as err:
                return self._place(err.key)
            self.scans.append(bytearray(data))
            return self._next()

    def retake(self) -> Screen:
        """重拍: the last scan is dropped and the camera waits for it again."""
        with self._lock:
            if self.scans:
                _wipe(self.scans.pop())
            self.done_capturing = False
            return self._place() if self.kind else self._choose_kind()

    def finish_pages(self) -> Screen:
        """拍摄完成 (a document): on to the copies and 打印."""
        with self._lock:
            if self.kind is None or not self.scans:
                return self._place() if self.kind else self._choose_kind()
            self.done_capturing = True
            return self._confirm()

    def set_copies(self, copies: int) -> Screen:
        """份数 − / +: how many copies, 1 to :data:`MAX_COPIES`."""
        with self._lock:
            self.copies = min(max(1, int(copies)), MAX_COPIES)
            return self._confirm() if self._ready() else self._place()

    def print_copy(self) -> Screen:
        """打印: compose the watermarked copy and print it."""
        with self._lock:
            if not self._ready() or self.kind is None or self.purpose is None:
                return self.start()
            if self.job is not None and self.job.state is not None:
                if self.job.state.status == DONE:
                    return self._printed()  # printed already: a second tap prints nothing
                if self.job.paused:
                    return self._paused()
            document = self._compose()
            self.job = CopyPrintJob(
                self.context, FUNCTION, self.purpose, document.pages, document.copies
            )
            title = f"{FUNCTION}-{self.context.device_id}-{uuid.uuid4().hex[:8]}"
            return self._after(self.job.submit(document.pdf, title, self._spool()))

    def resume(self) -> Screen:
        """继续打印, once staff fixed the printer."""
        with self._lock:
            if self.job is None or not self.job.paused:
                return self._confirm() if self._ready() else self.start()
            return self._after(self.job.resume())

    def cancel_print(self) -> Screen:
        """取消 on the paused screen: the job is cancelled; nothing more comes out."""
        with self._lock:
            if self.job is None or not self.job.paused:
                return self._confirm() if self._ready() else self.start()
            return self._after(self.job.cancel())

    def back(self) -> Screen:
        """返回: start again (the scans are purged)."""
        return self.start()

    # --- internals ----------------------------------------------------------------------

    def _forget(self) -> None:
        job = getattr(self, "job", None)
        if job is not None and job.paused:
            job.cancel()  # a personal copy must not come out for the next citizen
        for scan in self.scans:
            _wipe(scan)
        self.scans = []
        if self._session is not None:
            shutil.rmtree(self._session, ignore_errors=True)
            self._session = None
        self.kind: str | None = None
        self.purpose: str | None = None
        self.copies = 1
        self.done_capturing = False
        self.job: CopyPrintJob | None = None

    def _capture(self) -> bytes:
        if self.camera is None:
            raise DeviceNotFound("this kiosk has no document camera")
        try:
            still = self.camera.capture()
        finally:
            # The camera's own judgement (unplugged is offline, silence a timeout), journaled
            # when it changed, so staff see a camera pulled out before the next citizen does.
            self._health(self.camera.health())
        # docscan (numpy, OpenCV) is loaded by the first capture, not by the kiosk's start.
        from docscan.pipeline import capture as crop

        aspect = "id_card" if self.kind == ID_CARD else "a4"
        # A card keeps its colours; a page gets the photocopy look (white paper, even light).
        page = crop(still.image, aspect=aspect, clean=self.kind == DOCUMENT, fmt=".jpg")
        return page.data

    def _full(self) -> bool:
        wanted = 2 if self.kind == ID_CARD else MAX_PAGES
        return len(self.scans) >= wanted

    def _ready(self) -> bool:
        if self.kind == ID_CARD:
            return len(self.scans) == 2
        return self.done_capturing and bool(self.scans)

    def _next(self) -> Screen:
        if self.kind == ID_CARD and len(self.scans) == 2:
            return self._confirm()
        return self._place()

    def _label(self) -> Label:
        assert self.purpose is not None
        day = hall_time(self.context.clock.now()).strftime("%Y-%m-%d")
        return Label(PURPOSES[self.purpose], day, self.context.device_id)

    def _compose(self) -> CopyDocument:
        scans = [bytes(s) for s in self.scans]
        if self.kind == ID_CARD:
            return id_card_copy(scans[0], scans[1], self._label(), self.copies)
        return document_copy(scans, self._label(), self.copies)

    def _spool(self) -> Path:
        if self._session is None:
            base = self.context.data_dir / "self-copy" if self.context.data_dir else None
            if base is not None:
                base.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._session = Path(tempfile.mkdtemp(prefix="session-", dir=base))
        return self._session

    def _health(self, health: Health) -> None:
        queue = self.context.queue
        if isinstance(queue, JournalsHealth):
            queue.health_journal(self.context.clock).record(health)

    def _after(self, state: JobState) -> Screen:
        if state.status == DONE:
            return self._printed()
        if state.status == PAUSED:
            return self._paused()
        if state.status == CANCELLED:
            return Screen("cancelled", "result", self._facts())
        return self._confirm(state.error_key)

    # --- screens --------------------------------------------------------------------------

    def _facts(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "kind_title": KINDS[self.kind]["title"] if self.kind else "",
            "purpose": self.purpose,
            "purpose_name": PURPOSES.get(self.purpose or "", ""),
            "copies": self.copies,
        }

    def _choose_kind(self) -> Screen:
        kinds = [{"id": k, **v} for k, v in KINDS.items()]
        return Screen("choose_kind", "menu", {"kinds": kinds})

    def _choose_purpose(self) -> Screen:
        purposes = [{"id": k, "name": v} for k, v in PURPOSES.items()]
        return Screen("choose_purpose", "menu", {"purposes": purposes, **self._facts()})

    def _place(self, error_key: str | None = None) -> Screen:
        if self.kind == ID_CARD:
            side = "front" if not self.scans else "back"
        else:
            side = "page"
        data = {
            **self._facts(),
            "side": side,
            "page": len(self.scans) + 1,
            "captured": len(self.scans),
            "max_pages": MAX_PAGES if self.kind == DOCUMENT else 2,
            "can_finish": self.kind == DOCUMENT and bool(self.scans),
            "can_capture": self.camera is not None and not self._full(),
            # The last scan, for the citizen to check before going on.
            "last_jpeg": bytes(self.scans[-1]) if self.scans else None,
        }
        return Screen("place", "form", data, error_key)

    def _confirm(self, error_key: str | None = None) -> Screen:
        data = {
            **self._facts(),
            "pages": len(self.scans),
            "max_copies": MAX_COPIES,
            "previews": [bytes(s) for s in self.scans],
            "can_print": self.context.document_printer is not None,
        }
        return Screen("confirm", "form", data, error_key)

    def _paused(self) -> Screen:
        assert self.job is not None and self.job.state is not None
        return Screen("paused", "result", self._facts(), self.job.state.error_key)

    def _printed(self) -> Screen:
        return Screen("printed", "result", {**self._facts(), "pages": len(self.scans)})


def _wipe(buffer: bytearray) -> None:
    """Overwrite a scan before letting it go, so no copy of the card lingers in freed memory."""
    buffer[:] = bytes(len(buffer))
