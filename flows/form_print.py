"""自助填表 (fill and print a form): a citizen fills an item's application form on the kiosk's
screen or on their phone (扫码填表), and takes it away printed on A4 to hand to the window.

choose the item → the citizen's ID card (:mod:`flows.identify`: the form carries the
applicant's name and number, as a paper form does) → on screen or by phone
(:mod:`flows.form_entry`) → check the filled form → 打印: a clean A4 PDF
(:func:`flows.submission_documents.form_pdf`) on the document printer, journaled as
``document.printed`` (function ``form_fill``, item = the item code; nothing about the
citizen) → printed. A printer fault says why; 重新打印 tries again. Nothing is sent to the
platform but the phone form itself; :meth:`FormPrintFlow.leave` forgets the form.
"""

from __future__ import annotations

import threading

from core.clock import business_day
from core.errors import PlatformError
from flows.document_printing import DocumentPrinting
from flows.form_entry import FormEntry, FormSteps
from flows.identify import Citizen, IdentifyCitizen
from flows.kiosk_functions import KioskContext
from flows.screens import Screen
from flows.submission_documents import Row, form_pdf
from govplatform.submissions import SubmissionsClient

FUNCTION = "form_fill"


class FormPrintFlow(FormSteps):
    """The 自助填表 function's flow (a :class:`flows.kiosk_functions.KioskFlow`); the form's
    own steps (on screen, by phone, a field) are :class:`flows.form_entry.FormSteps`.

    Args:
        context: the kiosk.
        phone_wait_s: how long one phone poll waits for the phone (a long poll).
    """

    def __init__(self, context: KioskContext, *, phone_wait_s: float = 2.0) -> None:
        self.context = context
        self.client = SubmissionsClient(context.platform) if context.platform else None
        self.identify = IdentifyCitizen(context.id_reader)
        self.printing = DocumentPrinting(context, FUNCTION)
        self.form = FormEntry(self.client)
        self.phone_wait_s = phone_wait_s
        self._lock = threading.RLock()
        self._forget()

    def leave(self) -> None:
        """Forget the citizen and the form (and close the phone form)."""
        with self._lock:
            self._forget()

    def choose_item(self, code: str) -> Screen:
        """A form tapped: who fills it."""
        with self._lock:
            self._forget()
            if self.client is None:
                return self.start()
            try:
                self.form.load(self.client.form(code))
            except PlatformError as err:
                return self._items(err.key)
            return self.identify.start()

    def identified(self, outcome: Screen | Citizen) -> Screen:
        with self._lock:
            if isinstance(outcome, Screen):
                return outcome
            if self.form.schema is None:
                return self.start()
            self.citizen = outcome
            return self._form_mode()

    def show_form(self) -> Screen:
        with self._lock:
            return self._form() if self.citizen is not None else self.start()

    def form_done(self) -> Screen:
        """下一步: every required field filled → the form as it will print."""
        with self._lock:
            if self.citizen is None:
                return self.start()
            if self.form.missing():
                return self._form("form_invalid")
            return self._preview()

    def print_form(self) -> Screen:
        """打印 (or 重新打印): the form on A4, journaled; a second tap once printed does not
        print it again."""
        with self._lock:
            if self.citizen is None or self.form.schema is None or self.form.missing():
                return self.start()
            if self.printed:
                return self._printed(None)
            schema = self.form.schema
            footer = (f"{self.context.hall.name}  {business_day(self.context.clock.now())}"
                      "自助终端填写打印")  # fmt: skip
            pdf, pages = form_pdf(schema.form_name, schema.item_name, self._rows(), footer)
            outcome = self.printing.print_pdf(pdf, schema.form_name, schema.item_code, pages)
            self.printed = outcome.printed
            self.pages = pages
            return self._printed(outcome.error_key)

    # --- internals ----------------------------------------------------------------------

    def _forget(self) -> None:
        self.form.forget()
        self.citizen: Citizen | None = None
        self.printed = False
        self.pages = 0

    def _rows(self) -> list[Row]:
        assert self.citizen is not None
        head = [Row("申请人姓名", self.citizen.name), Row("身份证号码", self.citizen.id_number)]
        return head + [Row(r["label"], r["value"]) for r in self.form.rows()]

    def _preview(self) -> Screen:
        assert self.form.schema is not None and self.citizen is not None
        rows = [{"label": r.label, "value": r.value} for r in self._rows()]
        masked = self.citizen.masked()  # the screen shows them masked; the paper does not
        rows[0]["value"], rows[1]["value"] = masked["name"], masked["id_number"]
        data = {"form_name": self.form.schema.form_name, "item_name": self.form.schema.item_name,
                "rows": rows, "can_print": self.printing.printer is not None}  # fmt: skip
        return Screen("preview", "form", data)

    def _printed(self, error_key: str | None) -> Screen:
        assert self.form.schema is not None
        data = {"form_name": self.form.schema.form_name, "printed": self.printed,
                "pages": self.pages}  # fmt: skip
        return Screen("printed", "result", data, error_key)
