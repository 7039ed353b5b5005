"""便民查询: the convenience queries, one generic mechanism over :mod:`flows.query_specs`, and
the social security card's loss report (社会保障卡挂失/解挂) as a confirmed transaction.

A query: choose it → identify (ID card, or the number typed; :mod:`flows.identify`) → any
further fields, one screen each (:mod:`flows.form_fields`) → the platform's answer laid out by
the spec → 打印 when the spec is printable (the platform issues the document, the kiosk prints
it, :mod:`flows.document_printing`). Each answered query is journaled as a
``kiosk.transaction`` (item: the query's id) so the hall's statistics count it.

The card's loss report changes state upstream, so it is a transaction: the card's state is
shown, the citizen confirms, the change is sent with an ``Idempotency-Key`` chosen *before*
the call and kept, and it is journaled before the citizen is told. A confirmation tapped twice
sends the same key and changes the card once; an answer that never came (platform down, slow)
is journaled ``unknown`` and settled by asking again with the same key (查询结果).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from core.clock import hall_time
from core.errors import (
    CardAlreadyLost,
    CardNotLost,
    PlatformError,
    PlatformNotFound,
    PlatformRefused,
)
from core.events import Kind
from flows import form_fields
from flows.document_printing import DocumentPrinting
from flows.identify import Citizen, IdentifyCitizen, forget_citizen
from flows.kiosk_functions import KioskContext
from flows.query_specs import QUERIES, QuerySpec, Shown, query
from flows.screens import Screen
from flows.transactions import transaction_event
from govplatform.queries import QueriesClient

FUNCTION = "convenience_queries"
#: The card transaction's id among the queries' (its tile, its journal ``item``).
CARD = "social_security_card"
CARD_TITLE = "社会保障卡挂失/解挂"
#: The card's state → the change the citizen may ask for.
CARD_ACTION_FOR = {"normal": "report", "lost": "release"}


def display(shown: Shown, value: Any) -> str:
    """A value of an answer as the citizen reads it."""
    if value is None or value == "":
        return "—"
    if shown.format == "fen" and isinstance(value, int):
        return f"{value / 100:,.2f}元"
    if shown.format == "date" and isinstance(value, str) and len(value) == 10:
        return f"{value[:4]}年{int(value[5:7])}月{int(value[8:10])}日"
    if shown.format == "month" and isinstance(value, str) and len(value) == 7:
        return f"{value[:4]}年{int(value[5:7])}月"
    if shown.format == "number":
        return f"{value}{shown.unit}"
    return str(value)


def layout(spec: QuerySpec, answer: dict[str, Any]) -> dict[str, Any]:
    """An answer as the result screen shows it: labelled values, then the table."""
    data: dict[str, Any] = {
        "fields": [{"label": s.label, "value": display(s, answer.get(s.key))} for s in spec.fields],
        "table": None,
    }
    if spec.table is not None:
        rows = answer.get(spec.table.key) or []
        data["table"] = {
            "title": spec.table.title,
            "columns": [c.label for c in spec.table.columns],
            "rows": [[display(c, row.get(c.key)) for c in spec.table.columns] for row in rows],
        }
    return data


class ConvenienceQueriesFlow:
    """The 便民查询 function's flow (a :class:`flows.kiosk_functions.KioskFlow`).

    Args:
        context: the kiosk: ``platform``, ``id_reader``, ``document_printer``, the journal.
    """

    def __init__(self, context: KioskContext) -> None:
        self.context = context
        self.platform = QueriesClient(context.platform) if context.platform else None
        self.identify = IdentifyCitizen(context.id_reader)
        self.printing = DocumentPrinting(context, FUNCTION)
        self._lock = threading.RLock()
        self._forget()

    # --- the kiosk's two steps ----------------------------------------------------------

    def start(self) -> Screen:
        """The tile tapped: every query, and the card's loss report."""
        with self._lock:
            self._forget()
            return self._menu()

    def leave(self) -> None:
        """Forget the citizen, their entries, the answer. A loss report left at its
        confirmation is journaled ``cancelled``; one sent stays as journaled."""
        with self._lock:
            if self.card_action is not None and self.card_key is None:
                self._journal_card("cancelled", reason="left")
            self._forget()

    # --- a query ------------------------------------------------------------------------

    def choose(self, query_id: str) -> Screen:
        """A query (or the card's loss report) tapped."""
        with self._lock:
            self._forget()
            if query_id == CARD:
                self.card_wanted = True
                return self.identify.start()
            try:
                self.spec = query(query_id)
            except KeyError:
                return self._menu("platform_not_found")
            if self.spec.citizen:
                return self.identify.start()
            return self._inputs()

    def identified(self, outcome: Screen | Citizen) -> Screen:
        """The identify step's outcome: its next screen, or the citizen."""
        with self._lock:
            if isinstance(outcome, Screen):
                return outcome
            self.citizen = outcome
            if self.card_wanted:
                return self._card_status()
            if self.spec is not None and self.spec.inputs:
                return self._inputs()
            return self._ask()

    def edit(self, key: str) -> Screen:
        """A further field tapped on the inputs screen: its own screen."""
        with self._lock:
            field = self._field(key)
            return form_fields.field_screen(field, self.values.get(key, ""))

    def set_field(self, key: str, text: str) -> Screen:
        """A further field entered: checked, kept, back to the inputs."""
        with self._lock:
            field = self._field(key)
            try:
                self.values[key] = form_fields.clean(field, text)
            except form_fields.ENTRY_ERRORS as err:
                return form_fields.field_screen(field, text, err.key)
            return self._inputs()

    def show_form(self) -> Screen:
        """返回 from a field's screen: the inputs as they were."""
        with self._lock:
            return self._inputs() if self.spec is not None else self._menu()

    def ask(self) -> Screen:
        """查询 tapped on the inputs screen."""
        with self._lock:
            if self.spec is None:
                return self._menu()
            if not all(self.values.get(f.key) for f in self.spec.inputs):
                return self._inputs("form_invalid")
            return self._ask()

    def retry(self) -> Screen:
        """重试 after the platform could not answer."""
        with self._lock:
            if self.card_wanted and self.citizen is not None:
                return self._card_status()
            return self._ask() if self.spec is not None else self._menu()

    def print_answer(self) -> Screen:
        """打印 tapped on a printable answer: the platform issues the document, the kiosk
        prints it. Printed already: the answer again, not a second copy."""
        with self._lock:
            spec, answer = self.spec, self.answer
            if spec is None or answer is None or not spec.printable or self.printed:
                return self._result()
            assert self.platform is not None
            try:
                ref = self.platform.document(spec.path, self._params())
                document = self.platform.fetch(ref)
            except PlatformError as err:
                return self._result(err.key)
            outcome = self.printing.print_pdf(document.pdf, ref.title, spec.id, ref.pages)
            self.printed = outcome.printed
            return self._result(outcome.error_key)

    def back(self) -> Screen:
        """返回: the list of queries, forgetting this one."""
        return self.start()

    # --- the card's loss report ---------------------------------------------------------

    def card_change(self) -> Screen:
        """挂失 (or 解挂) tapped on the card's state: the confirmation."""
        with self._lock:
            if self.card is None:
                return self._menu()
            self.card_action = CARD_ACTION_FOR[self.card.state]
            return self._card_confirm()

    def card_confirm(self) -> Screen:
        """确认 tapped: send the change, once.

        The key is chosen and kept before the call, so a second tap, a retry of the HTTP layer
        or 查询结果 after a lost answer all carry it, and the platform changes the card once.
        """
        with self._lock:
            if self.card_done is not None or self.card_refusal is not None:
                return self._card_result(None)
            if self.citizen is None or self.card_action is None:
                return self._menu()
            assert self.platform is not None
            if self.card_key is None:
                self.card_key = uuid.uuid4().hex
            try:
                change = self.platform.change_card(
                    self.citizen.id_number, self.card_action, self.card_key
                )
            except (CardAlreadyLost, CardNotLost) as err:
                self._journal_card("failed", error_code=err.code)
                self.card_refusal = err.key
                return self._card_result(err.key)
            except PlatformRefused as err:
                self._journal_card("failed", error_code=err.code)
                self.card_refusal = err.key
                return self._card_result(err.key)
            except PlatformError as err:
                # Sent, but no answer: it may be done. Journaled once as unknown; 查询结果
                # asks again with the same key.
                if not self.card_unknown:
                    self._journal_card("unknown", ref=self.card_key, error_code=err.code)
                    self.card_unknown = True
                return Screen("card_unknown", "result", self._card_data(), "outcome_unknown")
            self._journal_card("done", ref=change.ref)
            self.card_done = change
            return self._card_result(None)

    def card_settle(self) -> Screen:
        """查询结果 after an unknown outcome: the same change, with the same key."""
        return self.card_confirm()

    def card_cancel(self) -> Screen:
        """取消 at the confirmation: nothing is sent."""
        with self._lock:
            if self.card_action is not None and self.card_key is None:
                self._journal_card("cancelled", reason="citizen")
            return self.start()

    # --- internals ----------------------------------------------------------------------

    def _forget(self) -> None:
        # Overwritten, not only dropped: a dropped str stays in freed memory (docs/privacy.md).
        forget_citizen(getattr(self, "citizen", None))
        self.spec: QuerySpec | None = None
        self.citizen: Citizen | None = None
        self.values: dict[str, str] = {}
        self.answer: dict[str, Any] | None = None
        self.printed = False
        self.card_wanted = False
        self.card: Any = None
        self.card_action: str | None = None
        self.card_key: str | None = None
        self.card_done: Any = None
        self.card_unknown = False
        self.card_refusal: str | None = None

    def _menu(self, error_key: str | None = None) -> Screen:
        queries = [{"id": s.id, "title": s.title, "department": s.department} for s in QUERIES]
        card = {"id": CARD, "title": CARD_TITLE, "department": "人社厅"}
        return Screen("choose_query", "menu", {"queries": queries, "card": card}, error_key)

    def _field(self, key: str) -> form_fields.TextField:
        for field in self.spec.inputs if self.spec else ():
            if field.key == key:
                return field
        raise KeyError(key)

    def _inputs(self, error_key: str | None = None) -> Screen:
        assert self.spec is not None
        return form_fields.overview(
            "inputs", self.spec.inputs, self.values, {"title": self.spec.title}, error_key
        )

    def _params(self) -> dict[str, str]:
        assert self.spec is not None
        params = dict(self.values)
        if self.spec.citizen and self.citizen is not None:
            params["id_number"] = self.citizen.id_number
        return params

    def _ask(self) -> Screen:
        spec = self.spec
        if spec is None:
            return self._menu()
        if self.platform is None:
            return self._unavailable("platform_error")
        try:
            self.answer = self.platform.ask(spec.path, self._params())
        except PlatformNotFound as err:
            self._journal_query("done", found=False)
            return Screen("no_record", "result", {"title": spec.title}, err.key)
        except PlatformError as err:
            self._journal_query("failed", error_code=err.code)
            return self._unavailable(err.key)
        self.printed = False
        self._journal_query("done", found=True)
        return self._result()

    def _unavailable(self, error_key: str) -> Screen:
        title = self.spec.title if self.spec else CARD_TITLE
        return Screen("unavailable", "result", {"title": title}, error_key)

    def _result(self, error_key: str | None = None) -> Screen:
        assert self.spec is not None and self.answer is not None
        data = {
            "query_id": self.spec.id,
            "title": self.spec.title,
            "department": self.spec.department,
            "citizen": self.citizen.masked() if self.citizen else None,
            "printable": self.spec.printable and self.context.document_printer is not None,
            "printed": self.printed,
            "asked_at": hall_time(self.context.clock.now()).strftime("%Y-%m-%d %H:%M"),
            **layout(self.spec, self.answer),
        }
        return Screen("result", "result", data, error_key)

    def _card_status(self) -> Screen:
        assert self.citizen is not None
        if self.platform is None:
            return self._unavailable("platform_error")
        try:
            self.card = self.platform.card(self.citizen.id_number)
        except PlatformError as err:
            screen = "no_record" if isinstance(err, PlatformNotFound) else "unavailable"
            return Screen(screen, "result", {"title": CARD_TITLE}, err.key)
        return Screen("card_status", "menu", self._card_data())

    def _card_data(self) -> dict[str, Any]:
        card = self.card
        return {
            "title": CARD_TITLE,
            "citizen": self.citizen.masked() if self.citizen else None,
            "card_no": card.card_no if card else "",
            "bank": card.bank if card else "",
            "state": card.state if card else "",
            "action": self.card_action or (CARD_ACTION_FOR[card.state] if card else ""),
        }

    def _card_confirm(self) -> Screen:
        return Screen("card_confirm", "form", self._card_data())

    def _card_result(self, error_key: str | None) -> Screen:
        data = self._card_data()
        if self.card_done is not None:
            data.update(done=True, new_state=self.card_done.state, ref=self.card_done.ref)
        else:
            data.update(done=False, new_state=data["state"], ref="")
        return Screen("card_done", "result", data, error_key or self.card_refusal)

    def _journal_query(self, outcome: str, **extra: Any) -> None:
        assert self.spec is not None
        self.context.transactions.record(
            Kind.KIOSK_TRANSACTION, transaction_event(FUNCTION, outcome, item=self.spec.id, **extra)
        )

    def _journal_card(self, outcome: str, ref: str = "", **extra: Any) -> None:
        self.context.transactions.record(
            Kind.KIOSK_TRANSACTION,
            transaction_event(
                FUNCTION, outcome, item=CARD, ref=ref, action=self.card_action or "",
                request=self.card_key or "", **extra,
            ),
        )
