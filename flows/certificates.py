"""证明打印: the pension-payment certificate (养老保险缴费凭证) and the no-house certificate
(无房证明), fetched from the platform, shown page by page, printed on the A4 printer.

choose the certificate → identify (:mod:`flows.identify`) → the platform issues it; the kiosk
fetches the PDF (for the printer) and a PNG of each page (for the screen: the kiosk has no PDF
renderer) → 打印 → printed, journaled as ``document.printed`` (:mod:`flows.document_printing`).

Faults: the platform down or slow is a screen with 重试 (the citizen stays identified); the
printer failing mid-job cancels the job and says why, and 重新打印 tries again once staff have
fixed it; a document printed is not printed again by a second tap. The citizen's document is
dropped in :meth:`CertificatesFlow.leave`.
"""

from __future__ import annotations

import threading
from typing import Any

from core.errors import HasRegisteredProperty, PlatformError, PlatformNotFound
from flows.document_printing import DocumentPrinting
from flows.identify import Citizen, IdentifyCitizen, forget_citizen
from flows.kiosk_functions import KioskContext
from flows.screens import Screen
from govplatform.certificates import CertificatesClient, Document

FUNCTION = "certificates"
#: The certificates offered, in menu order: type → what the citizen reads.
CERTIFICATES = {
    "pension_payment": {"title": "养老保险缴费凭证", "note": "企业职工基本养老保险历年缴费情况"},
    "no_house": {"title": "无房证明", "note": "本市不动产登记无记录的证明"},
}


class CertificatesFlow:
    """The 证明打印 function's flow (a :class:`flows.kiosk_functions.KioskFlow`)."""

    def __init__(self, context: KioskContext) -> None:
        self.context = context
        self.platform = CertificatesClient(context.platform) if context.platform else None
        self.identify = IdentifyCitizen(context.id_reader)
        self.printing = DocumentPrinting(context, FUNCTION)
        self._lock = threading.RLock()
        self._forget()

    def start(self) -> Screen:
        """The tile tapped: the certificates."""
        with self._lock:
            self._forget()
            return self._menu()

    def leave(self) -> None:
        """Forget the citizen and their document."""
        with self._lock:
            self._forget()

    def choose(self, certificate: str) -> Screen:
        """A certificate tapped: who is it for?"""
        with self._lock:
            self._forget()
            if certificate not in CERTIFICATES:
                return self._menu("platform_not_found")
            self.certificate = certificate
            return self.identify.start()

    def identified(self, outcome: Screen | Citizen) -> Screen:
        """The identify step's outcome: its next screen, or the citizen: fetch the document."""
        with self._lock:
            if isinstance(outcome, Screen):
                return outcome
            self.citizen = outcome
            return self._fetch()

    def retry(self) -> Screen:
        """重试 after the platform could not answer."""
        with self._lock:
            if self.citizen is None or self.certificate is None:
                return self._menu()
            return self._fetch()

    def page(self, number: int) -> Screen:
        """上一页 / 下一页."""
        with self._lock:
            if self.document is None:
                return self._menu()
            self.shown_page = min(max(1, number), self.document.ref.pages)
            return self._preview()

    def print_document(self) -> Screen:
        """打印 (or 重新打印 after a printer fault). A printed document is not printed twice."""
        with self._lock:
            if self.document is None or self.certificate is None:
                return self._menu()
            if self.printed:
                return self._preview()
            ref = self.document.ref
            outcome = self.printing.print_pdf(
                self.document.pdf, ref.title, self.certificate, ref.pages
            )
            self.printed = outcome.printed
            return self._preview(outcome.error_key)

    def back(self) -> Screen:
        """返回: the certificates again."""
        return self.start()

    # --- internals ----------------------------------------------------------------------

    def _forget(self) -> None:
        # Overwritten, not only dropped: a dropped str stays in freed memory (docs/privacy.md).
        forget_citizen(getattr(self, "citizen", None))
        self.certificate: str | None = None
        self.citizen: Citizen | None = None
        self.document: Document | None = None
        self.shown_page = 1
        self.printed = False

    def _menu(self, error_key: str | None = None) -> Screen:
        items = [{"id": k, **v} for k, v in CERTIFICATES.items()]
        return Screen("choose_certificate", "menu", {"certificates": items}, error_key)

    def _fetch(self) -> Screen:
        assert self.certificate is not None and self.citizen is not None
        title = CERTIFICATES[self.certificate]["title"]
        if self.platform is None:
            return Screen("unavailable", "result", {"title": title}, "platform_error")
        try:
            ref = self.platform.issue(self.certificate, self.citizen.id_number)
            self.document = self.platform.fetch(ref)
        except (HasRegisteredProperty, PlatformNotFound) as err:
            # On the merits: nothing to retry.
            return Screen("refused", "result", {"title": title}, err.key)
        except PlatformError as err:
            return Screen("unavailable", "result", {"title": title, "retry": True}, err.key)
        self.shown_page = 1
        self.printed = False
        return self._preview()

    def _preview(self, error_key: str | None = None) -> Screen:
        assert self.document is not None
        ref = self.document.ref
        data: dict[str, Any] = {
            "certificate": self.certificate,
            "title": ref.title,
            "pages": ref.pages,
            "page": self.shown_page,
            # The page as PNG bytes: the screen draws it without touching a file, so no copy
            # of the citizen's document is left on disk.
            "page_png": self.document.previews[self.shown_page - 1],
            "citizen": self.citizen.masked() if self.citizen else None,
            "can_print": self.context.document_printer is not None,
            "printed": self.printed,
        }
        return Screen("preview", "result", data, error_key)
