"""高龄补贴认证: the yearly certification of citizens aged 70 or more for the elderly subsidy.

intro → the elder's ID card (:mod:`flows.identify`) → age on the hall clock's date: under 70
is refused here, before anything is sent → the platform's own check (its date, and whether
this year's certification is done) → the registration form (青海省高龄补贴登记表), one field per
screen (:mod:`flows.form_fields`): who applies (本人 or a proxy, with the proxy's name and
ID number), contact phone, address, bank and bank card number (Luhn-checked) → confirm →
submit → journaled → done, with the registration number.

Submitting is a transaction: the ``Idempotency-Key`` is chosen when the citizen confirms and
kept until the outcome is known, so a second tap, the HTTP layer's retries and 查询结果 after
a lost answer all carry the same key and the platform registers the elder once. Every outcome
is journaled before the citizen is told (``kiosk.transaction``, item ``elderly_subsidy``):
``done`` with the registration number, ``failed`` with the refusal's code, ``unknown`` when no
answer came (settled by a later ``done`` or ``failed``), ``cancelled`` when the citizen left
at the confirmation.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from core.clock import hall_time
from core.errors import (
    FormInvalid,
    HallEdgeError,
    PlatformError,
    PlatformRefused,
    SubsidyAlreadyCertified,
    SubsidyUnderAge,
)
from core.events import Kind
from core.privacy import mask_name
from flows import form_fields
from flows.form_fields import ChoiceField, Field, TextField
from flows.identify import TYPED, Citizen, IdentifyCitizen, forget_citizen
from flows.kiosk_functions import KioskContext
from flows.screens import Screen
from flows.transactions import transaction_event
from govplatform.subsidy import Registration, SubsidyClient, SubsidyForm

FUNCTION = "elderly_subsidy"
MIN_AGE = 70
SELF = "本人"
RELATIONS = (SELF, "配偶", "子女", "其他亲属", "村(居)委会工作人员")
BANKS = (
    "中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "中国邮政储蓄银行", "青海银行",
    "青海省农村信用社",
)  # fmt: skip

RELATION = ChoiceField("relation", "申请人", RELATIONS)
ELDER_NAME = TextField("name", "老人姓名", ("pinyin",), form_fields.chinese_name,
                       hint="请输入老人姓名", max_length=20)  # fmt: skip
AGENT_NAME = TextField("agent_name", "代办人姓名", ("pinyin",), form_fields.chinese_name,
                       hint="请输入代办人姓名", max_length=20)  # fmt: skip
AGENT_ID = TextField("agent_id_number", "代办人身份证号", ("id_number",), form_fields.id_number,
                     hint="请输入代办人18位身份证号", max_length=18, secret=True)  # fmt: skip
PHONE = TextField("phone", "联系电话", ("digits",), form_fields.phone,
                  hint="请输入11位手机号码", max_length=11)  # fmt: skip
ADDRESS = TextField("address", "居住地址", ("pinyin", "digits"), hint="如：昆仑路12号3单元201",
                    max_length=60)  # fmt: skip
BANK = ChoiceField("bank_name", "开户银行", BANKS)
BANK_CARD = TextField("bank_card_no", "补贴发放银行卡号", ("digits",), form_fields.bank_card,
                      hint="请输入银行卡号（16至19位）", max_length=19, secret=True)  # fmt: skip


def age_on(birth: Any, day: Any) -> int:
    """Whole years of age on ``day`` (a birthday counts from its own day)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class ElderlySubsidyFlow:
    """The 高龄认证 function's flow (a :class:`flows.kiosk_functions.KioskFlow`)."""

    def __init__(self, context: KioskContext) -> None:
        self.context = context
        self.platform = SubsidyClient(context.platform) if context.platform else None
        self.identify = IdentifyCitizen(context.id_reader)
        self._lock = threading.RLock()
        self._forget()

    # --- the kiosk's two steps ----------------------------------------------------------

    def start(self) -> Screen:
        """The tile tapped: who may apply, and what to bring."""
        with self._lock:
            self._forget()
            return Screen("intro", "menu", {"min_age": MIN_AGE})

    def leave(self) -> None:
        """Forget the elder, the form, the bank card. A form left at its confirmation is
        journaled ``cancelled``; one sent stays as journaled (``unknown`` until settled)."""
        with self._lock:
            if self.confirmed_shown and self.key is None and self.registration is None:
                self._journal("cancelled", reason="left")
            self._forget()

    # --- steps --------------------------------------------------------------------------

    def begin(self) -> Screen:
        """开始认证: the elder's ID card."""
        with self._lock:
            self._forget()
            return self.identify.start()

    def identified(self, outcome: Screen | Citizen) -> Screen:
        """The identify step's outcome: its next screen, or the elder: judge the age."""
        with self._lock:
            if isinstance(outcome, Screen):
                return outcome
            today = hall_time(self.context.clock.now()).date()
            age = age_on(outcome.birth, today)
            if age < MIN_AGE:
                # Refused at the kiosk: nothing about this citizen is sent anywhere.
                outcome.wipe()
                self._journal("failed", error_code=SubsidyUnderAge.code)
                return Screen("refused", "result", {"age": age, "min_age": MIN_AGE},
                              SubsidyUnderAge.key)  # fmt: skip
            self.citizen = outcome
            self.age = age
            if outcome.card_kind != TYPED and outcome.name:
                self.values["name"] = outcome.name
            return self._check_upstream()

    def retry(self) -> Screen:
        """重试 after the platform could not answer the eligibility check."""
        with self._lock:
            if self.citizen is None:
                return self.start()
            return self._check_upstream()

    def edit(self, key: str) -> Screen:
        """A field tapped on the form: its own screen."""
        with self._lock:
            if self.key is not None:
                return self._pending()
            field = self._field(key)
            return form_fields.field_screen(field, self.values.get(key, ""))

    def set_field(self, key: str, text: str) -> Screen:
        """A field entered: checked, kept, back to the form."""
        with self._lock:
            if self.key is not None:
                return self._pending()
            field = self._field(key)
            try:
                self.values[key] = form_fields.clean(field, text)
            except form_fields.ENTRY_ERRORS as err:
                return form_fields.field_screen(field, text, err.key)
            if key == RELATION.key and self.values[key] == SELF:
                self.values.pop(AGENT_NAME.key, None)
                self.values.pop(AGENT_ID.key, None)
            return self._form()

    def show_form(self) -> Screen:
        """返回 from a field's screen: the form as it was."""
        with self._lock:
            if self.citizen is None:
                return self.start()
            return self._pending() if self.key is not None else self._form()

    def review(self) -> Screen:
        """下一步 on the form: every field filled → the confirmation."""
        with self._lock:
            if self.citizen is None:
                return self.start()
            missing = [f for f in self._fields() if not self.values.get(f.key)]
            if missing:
                return self._form("form_invalid", missing=[f.key for f in missing])
            self.confirmed_shown = True
            return self._confirm()

    def submit(self) -> Screen:
        """确认提交: send the certification, once."""
        with self._lock:
            if self.registration is not None:
                return self._done()
            if self.citizen is None or not self.confirmed_shown:
                return self.start()
            assert self.platform is not None
            form = self.form if self.form is not None else self._build_form()
            if self.key is None:
                # Chosen and kept before the call: every repeat of this change carries it.
                self.key, self.form = uuid.uuid4().hex, form
            try:
                registration = self.platform.register(form, self.key)
            except (FormInvalid, SubsidyUnderAge, SubsidyAlreadyCertified, PlatformRefused) as err:
                return self._refused_upstream(err)
            except PlatformError as err:
                # Sent, and no answer we can trust (timeout, connection lost, 5xx, garbled):
                # it may be registered. Journaled once as unknown; 查询结果 asks again.
                if not self.unknown:
                    self._journal("unknown", ref=self.key, error_code=err.code)
                    self.unknown = True
                return self._pending()
            self._journal("done", ref=registration.registration_no, request=self.key)
            self.registration = registration
            return self._done()

    def settle(self) -> Screen:
        """查询结果 after an unknown outcome: the same form with the same key."""
        return self.submit()

    def change(self) -> Screen:
        """返回修改 at the confirmation."""
        with self._lock:
            if self.key is not None:
                return self._pending()
            self.confirmed_shown = False
            return self._form()

    # --- internals ----------------------------------------------------------------------

    def _forget(self) -> None:
        # Overwritten, not only dropped: a dropped str stays in freed memory (docs/privacy.md).
        forget_citizen(getattr(self, "citizen", None))
        self.citizen: Citizen | None = None
        self.age = 0
        self.values: dict[str, str] = {RELATION.key: SELF}
        self.confirmed_shown = False
        self.key: str | None = None
        self.form: SubsidyForm | None = None
        self.unknown = False
        self.registration: Registration | None = None

    def _check_upstream(self) -> Screen:
        assert self.citizen is not None
        if self.platform is None:
            return Screen("unavailable", "result", {"retry": False}, "platform_error")
        try:
            found = self.platform.eligibility(self.citizen.id_number)
        except PlatformError as err:
            return Screen("unavailable", "result", {"retry": True}, err.key)
        if found.certified_this_year:
            self._journal("failed", error_code=SubsidyAlreadyCertified.code)
            return Screen("refused", "result", {"age": found.age, "min_age": MIN_AGE},
                          SubsidyAlreadyCertified.key)  # fmt: skip
        if not found.eligible:
            self._journal("failed", error_code=SubsidyUnderAge.code)
            return Screen("refused", "result", {"age": found.age, "min_age": MIN_AGE},
                          SubsidyUnderAge.key)  # fmt: skip
        return self._form()

    def _fields(self) -> list[Field]:
        fields: list[Field] = [RELATION]
        if self.values.get(RELATION.key, SELF) != SELF:
            fields += [AGENT_NAME, AGENT_ID]
        if self.citizen is not None and (self.citizen.card_kind == TYPED or not self.citizen.name):
            fields.append(ELDER_NAME)
        return fields + [PHONE, ADDRESS, BANK, BANK_CARD]

    def _field(self, key: str) -> Field:
        for field in self._fields():
            if field.key == key:
                return field
        raise KeyError(key)

    def _form(self, error_key: str | None = None, **extra: Any) -> Screen:
        assert self.citizen is not None
        header = {"elder": self.citizen.masked(), "age": self.age, **extra}
        return form_fields.overview("form", self._fields(), self.values, header, error_key)

    def _build_form(self) -> SubsidyForm:
        assert self.citizen is not None
        v = self.values
        return SubsidyForm(
            id_number=self.citizen.id_number,
            name=v.get("name", self.citizen.name),
            phone=v[PHONE.key],
            address=v[ADDRESS.key],
            bank_name=v[BANK.key],
            bank_card_no=v[BANK_CARD.key],
            relation=v[RELATION.key],
            agent_name=v.get(AGENT_NAME.key, ""),
            agent_id_number=v.get(AGENT_ID.key, ""),
        )

    def _confirm(self) -> Screen:
        assert self.citizen is not None
        rows = [
            {"label": "老人姓名", "value": mask_name(self.values.get("name", self.citizen.name))},
            {"label": "身份证号", "value": self.citizen.masked()["id_number"]},
            {"label": "年龄", "value": f"{self.age}周岁"},
        ] + [
            {"label": f.label, "value": _confirm_value(f, self.values.get(f.key, ""))}
            for f in self._fields()
            if f.key != "name"
        ]
        return Screen("confirm", "form", {"rows": rows})

    def _pending(self) -> Screen:
        return Screen("unknown", "result", {}, "outcome_unknown")

    def _done(self) -> Screen:
        assert self.registration is not None
        r = self.registration
        data = {"registration_no": r.registration_no, "status": r.status, "year": r.year,
                "monthly": f"{r.monthly_fen / 100:.2f}元"}  # fmt: skip
        return Screen("done", "result", data)

    def _refused_upstream(self, err: HallEdgeError) -> Screen:
        """The platform refused on the merits: nothing was registered. The key is dropped (a
        corrected form is a new request); a field it named goes back to the form."""
        self._journal("failed", error_code=err.code, upstream=str(err.details.get("upstream_code", "")))
        self.key, self.form, self.unknown, self.confirmed_shown = None, None, False, False
        if isinstance(err, FormInvalid):
            return self._form(err.key)
        return Screen("refused", "result", {"age": self.age, "min_age": MIN_AGE}, err.key)

    def _journal(self, outcome: str, ref: str = "", **extra: Any) -> None:
        self.context.transactions.record(
            Kind.KIOSK_TRANSACTION,
            transaction_event(FUNCTION, outcome, item=FUNCTION, ref=ref, **extra),
        )


def _confirm_value(field: Field, value: str) -> str:
    """The confirmation shows enough to check, not enough to copy: card numbers masked,
    the phone's middle four hidden."""
    if field.key == PHONE.key and len(value) == 11:
        return value[:3] + "****" + value[7:]
    if field.key == AGENT_NAME.key:
        return mask_name(value)
    return form_fields.shown(field, value)
