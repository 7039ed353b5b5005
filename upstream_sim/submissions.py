"""The platform's online submission desk (网上申报): form schemas per item, the mobile form a
citizen fills on their phone (扫码填表), attachments, and filing a case with its materials.

``GET /submissions/forms``
    the items that may be submitted online: ``{"forms": [{"item_code", "item_name",
    "form_name"}]}``.
``GET /submissions/forms/{item_code}``
    the item's application form (申请表): ``{"item_code", "item_name", "form_name",
    "form_material", "fields": [{"key", "label", "kind", "required", "options",
    "max_length", "hint"}]}``. ``form_material`` is the catalog material (``M03``) the form
    stands in for: filled online, it is not photographed. 404 ``FORM_NOT_FOUND``.
``POST /submissions/phone-sessions`` (``Idempotency-Key``)
    ``{"item_code"}`` → ``{"session_id", "url", "expires_in_s"}``: ``url`` is the mobile form
    page the kiosk shows as a QR code; ``session_id`` is what the kiosk polls with (the phone
    never sees it).
``GET /submissions/phone-sessions/{session_id}?wait=S``
    long poll (``wait`` ≤ 5 s): ``{"status": "waiting" | "submitted" | "expired" | "closed",
    "values": {...} | null}``; the values only while ``submitted``.
``POST /submissions/phone-sessions/{session_id}/close``
    the kiosk is done with it (the citizen went on, or walked away): the values are dropped
    and the page stops accepting. Repeating it changes nothing.
``GET /m/f/{token}`` and ``POST /m/f/{token}``
    the mobile page (plain HTML and JavaScript, nothing from a CDN) and its submission
    ``{"values": {...}}``: checked field by field (422 ``FIELD_INVALID`` with ``data.field``);
    accepted once (a repeat with the same values answers the same; other values 409
    ``ALREADY_SUBMITTED``); 410 ``SESSION_EXPIRED`` once expired or closed.
``POST /submissions/attachments`` (``Idempotency-Key``)
    ``{"name", "content_type", "data"}`` (base64, at most :data:`MAX_ATTACHMENT_BYTES`, JPEG,
    PNG or PDF) → ``{"attachment_id", "bytes", "sha256"}``.
``POST /submissions/cases`` (``Idempotency-Key``)
    ``{"item_code", "situation", "applicant": {"id_number", "name"}, "form": {...},
    "materials": [{"material_id", "attachments": [id…]}]}`` → ``{"case_no", "status",
    "received_at", "pages"}``. Every required material of the situation but the form's must
    have a page (422 ``MATERIAL_MISSING``); ``SITUATION_INVALID``, ``APPLICANT_INVALID``,
    ``NAME_MISMATCH``, ``FIELD_INVALID``, ``ATTACHMENT_UNKNOWN`` likewise.
``POST /_sim/submissions/refuse``
    simulator only: ``{"code", "message", "count"}`` refuses the next cases (422) with that
    code, as a platform whose reviewer rejects them.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from upstream_sim.catalog import build_items
from upstream_sim.citizen_records import beijing_today, valid_id_number
from upstream_sim.idempotent import IdempotentReplies
from upstream_sim.people import People
from upstream_sim.server import Request, Response, Route, ok, refused

PREFIX = "/submissions"
MOBILE = "/m/f"
#: A phone form is open this long after the kiosk asks for it.
SESSION_TTL_S = 900.0
#: The longest long poll; below the kiosk's 6 s read timeout.
MAX_WAIT_S = 5.0
#: One page's largest file: its base64 JSON body stays under the server's 1 MiB.
MAX_ATTACHMENT_BYTES = 720_000
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,20}$")
_MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG", "application/pdf": b"%PDF"}
_BANKS = ("中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "中国邮政储蓄银行", "青海银行")


def _f(key: str, label: str, kind: str = "text", *, options: tuple[str, ...] = (),
       max_length: int = 40, hint: str = "", required: bool = True) -> dict[str, Any]:
    return {"key": key, "label": label, "kind": kind, "required": required,
            "options": list(options), "max_length": max_length, "hint": hint}  # fmt: skip


_PHONE_FIELD = _f("phone", "联系电话", "phone", max_length=11, hint="11位手机号码")
_ADDRESS = _f("address", "居住地址", max_length=60, hint="如：昆仑路12号3单元201")

#: The items open to online submission, by name (the city department's item), and the form
#: each one's application is: its name (a material of the item) and its fields.
FORMS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "最低生活保障审核确认": ("最低生活保障申请书", [
        _PHONE_FIELD, _ADDRESS,
        _f("household_size", "共同生活家庭人口", "digits", max_length=2, hint="人数"),
        _f("monthly_income", "家庭月收入（元）", "digits", max_length=7),
        _f("reason", "申请理由", max_length=100, hint="如：因病致贫"),
    ]),
    "城乡居民养老保险待遇申领": ("城乡居民基本养老保险待遇申领表", [
        _PHONE_FIELD, _ADDRESS,
        _f("bank_name", "待遇发放银行", "choice", options=_BANKS),
    ]),
    "城乡居民养老保险参保登记": ("城乡居民基本养老保险参保登记表", [
        _PHONE_FIELD, _ADDRESS,
        _f("contribution", "缴费档次", "choice",
           options=("200元", "300元", "500元", "1000元", "2000元")),
    ]),
    "个体工商户设立登记": ("个体工商户登记（备案）申请书", [
        _f("business_name", "个体工商户名称", max_length=30, hint="如：格尔木市某某便利店"),
        _f("scope", "经营范围", max_length=60, hint="如：日用百货零售"),
        _f("premises", "经营场所", max_length=60),
        _PHONE_FIELD,
    ]),
}


def field_problem(spec: dict[str, Any], value: str) -> str | None:
    """Why a phone's or kiosk's value for a field is refused (a Chinese sentence), or None."""
    if not value:
        return f"请填写{spec['label']}" if spec["required"] else None
    if len(value) > spec["max_length"]:
        return f"{spec['label']}过长"
    kind = spec["kind"]
    if kind == "phone" and not _PHONE.match(value):
        return "联系电话须为11位手机号码"
    if kind == "digits" and not value.isdigit():
        return f"{spec['label']}只能填写数字"
    if kind == "name" and not _NAME.match(value):
        return f"{spec['label']}须为中文姓名"
    if kind == "id_number" and not valid_id_number(value):
        return "身份证号码有误"
    if kind == "choice" and value not in spec["options"]:
        return f"请选择{spec['label']}"
    return None


@dataclass
class PhoneSession:
    """One mobile form, from the kiosk's request until it is closed or expires."""

    session_id: str
    token: str
    item_code: str
    expires_at: float
    status: str = "waiting"
    values: dict[str, str] | None = None


@dataclass
class _Refusal:
    code: str
    message: str
    count: int


@dataclass
class SubmissionDesk:
    """The submission domain of one simulated platform.

    Args:
        people: the platform's citizens (an applicant on file must match their name).
        today: the platform's date (case numbers).
        now: seconds, for the phone forms' expiry.
        ttl_s: how long a phone form stays open.
        public_url: the base of the mobile page's address; None takes the address the kiosk
            called (its ``Host`` header), which a phone on the same network reaches.

    Attributes:
        cases: every case filed, oldest first: ``(case_no, item_code, situation, materials)``
            with ``materials`` ``{material_id: pages}``; tests count them.
        attachments: every page received, by id: ``(content_type, bytes)``.
    """

    people: People
    today: Callable[[], date] = beijing_today
    now: Callable[[], float] = time.time
    ttl_s: float = SESSION_TTL_S
    public_url: str | None = None
    cases: list[tuple[str, str, str, dict[str, int]]] = field(default_factory=list)
    attachments: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        items = [i for i in build_items() if i["item_code"].endswith("000")]
        self.items = {i["item_code"]: i for i in items if i["name"] in FORMS}
        self._sessions: dict[str, PhoneSession] = {}
        self._refusals: list[_Refusal] = []
        self._cond = threading.Condition()
        self._case_replies = IdempotentReplies()
        self._session_replies = IdempotentReplies()
        self._attachment_replies = IdempotentReplies()

    # --- what tests and the simulator's controls do -------------------------------------

    def refuse_next(self, code: str = "MATERIAL_UNREADABLE", message: str = "材料图像无法辨认",
                    count: int = 1) -> None:  # fmt: skip
        """Refuse the next ``count`` cases with ``code`` (422), as a reviewer would."""
        with self._cond:
            self._refusals.append(_Refusal(code, message, count))

    def expire(self, session_id: str) -> None:
        """A phone form runs out of time now."""
        with self._cond:
            session = self._sessions[session_id]
            session.expires_at = self.now() - 1
            self._cond.notify_all()

    def sessions(self) -> list[PhoneSession]:
        with self._cond:
            return list(self._sessions.values())

    def form_of(self, item_code: str) -> dict[str, Any] | None:
        """The form schema of an item open to online submission."""
        item = self.items.get(item_code)
        if item is None:
            return None
        form_name, fields = FORMS[item["name"]]
        material = next((m["id"] for m in item["materials"] if m["name"] == form_name), "")
        return {"item_code": item_code, "item_name": item["name"], "form_name": form_name,
                "form_material": material, "fields": fields}  # fmt: skip

    # --- routes -------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        sid = "/phone-sessions/{session_id}"
        return [
            Route("GET", f"{PREFIX}/forms", self._forms, _doc("网上申报事项列表")),
            Route("GET", f"{PREFIX}/forms/{{item_code}}", self._form,
                  _doc("事项申请表字段", path=("item_code",), refusals="404 FORM_NOT_FOUND")),
            Route("POST", f"{PREFIX}/phone-sessions", self._open_session,
                  _doc("创建扫码填表会话", keyed=True, refusals="404 FORM_NOT_FOUND")),
            Route("GET", f"{PREFIX}{sid}", self._poll_session,
                  _doc("查询扫码填表结果（长轮询）", path=("session_id",), query=("wait",))),
            Route("POST", f"{PREFIX}{sid}/close", self._close_session,
                  _doc("结束扫码填表会话", path=("session_id",))),
            Route("GET", f"{MOBILE}/{{token}}", self._page,
                  _doc("手机填表页面（HTML）", path=("token",), refusals="410 SESSION_EXPIRED")),
            Route("POST", f"{MOBILE}/{{token}}", self._phone_submit,
                  _doc("手机提交表单", path=("token",),
                       refusals="422 FIELD_INVALID, 409 ALREADY_SUBMITTED, 410 SESSION_EXPIRED")),
            Route("POST", f"{PREFIX}/attachments", self._attachment,
                  _doc("上传材料页面", keyed=True, refusals="413 ATTACHMENT_TOO_LARGE, "
                       "422 ATTACHMENT_INVALID")),
            Route("POST", f"{PREFIX}/cases", self._case,
                  _doc("提交申报", keyed=True, refusals="404 FORM_NOT_FOUND, 422 "
                       "SITUATION_INVALID, APPLICANT_INVALID, NAME_MISMATCH, FIELD_INVALID, "
                       "MATERIAL_MISSING, ATTACHMENT_UNKNOWN")),
            Route("POST", "/_sim/submissions/refuse", self._refuse_endpoint,
                  _doc("Simulator only: refuse the next cases")),
        ]

    # --- forms --------------------------------------------------------------------------

    def _forms(self, request: Request) -> Response:
        return ok({"forms": [
            {"item_code": code, "item_name": item["name"], "form_name": FORMS[item["name"]][0]}
            for code, item in sorted(self.items.items())
        ]})  # fmt: skip

    def _form(self, request: Request) -> Response:
        form = self.form_of(request.params["item_code"])
        if form is None:
            return refused(404, "FORM_NOT_FOUND", "该事项暂不支持网上申报")
        return ok(form)

    # --- phone sessions -----------------------------------------------------------------

    def _open_session(self, request: Request) -> Response:
        base = self.public_url or f"http://{request.headers.get('host', '127.0.0.1')}"

        def carry_out(body: Any) -> Response:
            code = str(body.get("item_code", "")) if isinstance(body, dict) else ""
            if self.form_of(code) is None:
                return refused(404, "FORM_NOT_FOUND", "该事项暂不支持网上申报")
            session = PhoneSession(secrets.token_hex(16), secrets.token_urlsafe(18), code,
                                   self.now() + self.ttl_s)  # fmt: skip
            with self._cond:
                self._sessions[session.session_id] = session
            return ok({"session_id": session.session_id,
                       "url": f"{base.rstrip('/')}{MOBILE}/{session.token}",
                       "expires_in_s": self.ttl_s})  # fmt: skip

        return self._session_replies.answer(request, carry_out)

    def _poll_session(self, request: Request) -> Response:
        try:
            wait = min(MAX_WAIT_S, max(0.0, float(request.query.get("wait", "0"))))
        except ValueError:
            return refused(400, "BAD_PARAM", "wait 须为数字")
        deadline = time.monotonic() + wait
        with self._cond:
            session = self._sessions.get(request.params["session_id"])
            if session is None:
                return refused(404, "SESSION_NOT_FOUND", "会话不存在")
            while self._state(session) == "waiting" and time.monotonic() < deadline:
                left = min(deadline - time.monotonic(), max(0.01, session.expires_at - self.now()))
                self._cond.wait(max(0.01, left))
            status = self._state(session)
            values = dict(session.values or {}) if status == "submitted" else None
        return ok({"status": status, "values": values})

    def _close_session(self, request: Request) -> Response:
        with self._cond:
            session = self._sessions.get(request.params["session_id"])
            if session is None:
                return refused(404, "SESSION_NOT_FOUND", "会话不存在")
            # Personal data leaves the platform's session store once the kiosk has it.
            session.status, session.values = "closed", None
            self._cond.notify_all()
        return ok({"status": "closed"})

    def _state(self, session: PhoneSession) -> str:
        if session.status == "waiting" and self.now() >= session.expires_at:
            session.status = "expired"
        if session.status == "expired":
            session.values = None
        return session.status

    def _by_token(self, token: str) -> PhoneSession | None:
        return next((s for s in self._sessions.values() if secrets.compare_digest(s.token, token)),
                    None)  # fmt: skip

    def _page(self, request: Request) -> Response:
        with self._cond:
            session = self._by_token(request.params["token"])
            state = self._state(session) if session is not None else "closed"
        if session is None or state in ("expired", "closed"):
            return Response(410, raw=_gone_page().encode(), content_type=_HTML)
        form = self.form_of(session.item_code)
        assert form is not None
        return Response(200, raw=mobile_page(form, state == "submitted").encode(),
                        content_type=_HTML, headers={"Cache-Control": "no-store"})  # fmt: skip

    def _phone_submit(self, request: Request) -> Response:
        body = request.body
        values = body.get("values") if isinstance(body, dict) else None
        if not isinstance(values, dict):
            return refused(400, "BAD_REQUEST", "需要 JSON 对象")
        with self._cond:
            session = self._by_token(request.params["token"])
            state = self._state(session) if session is not None else "closed"
            if session is None or state in ("expired", "closed"):
                return refused(410, "SESSION_EXPIRED", "填表已超时，请在自助终端上重新扫码")
            form = self.form_of(session.item_code)
            assert form is not None
            cleaned = {f["key"]: str(values.get(f["key"], "")).strip() for f in form["fields"]}
            for spec in form["fields"]:
                problem = field_problem(spec, cleaned[spec["key"]])
                if problem:
                    return Response(422, {"code": "FIELD_INVALID", "message": problem,
                                          "data": {"field": spec["key"]}})  # fmt: skip
            if state == "submitted":
                if cleaned != session.values:
                    return refused(409, "ALREADY_SUBMITTED", "该表单已提交，请在自助终端上查看")
                return ok({"status": "submitted"})
            session.status, session.values = "submitted", cleaned
            self._cond.notify_all()
        return ok({"status": "submitted"})

    # --- attachments and cases ----------------------------------------------------------

    def _attachment(self, request: Request) -> Response:
        return self._attachment_replies.answer(request, self._store_attachment)

    def _store_attachment(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return refused(400, "BAD_REQUEST", "需要 JSON 对象")
        kind = str(body.get("content_type", ""))
        try:
            data = base64.b64decode(str(body.get("data", "")), validate=True)
        except ValueError:
            return refused(422, "ATTACHMENT_INVALID", "附件编码有误")
        if len(data) > MAX_ATTACHMENT_BYTES:
            return refused(413, "ATTACHMENT_TOO_LARGE", "附件过大")
        if kind not in _MAGIC or not data.startswith(_MAGIC[kind]):
            return refused(422, "ATTACHMENT_INVALID", "附件须为 JPEG、PNG 或 PDF")
        attachment_id = "FJ" + secrets.token_hex(10).upper()
        with self._cond:
            self.attachments[attachment_id] = (kind, data)
        return ok({"attachment_id": attachment_id, "bytes": len(data),
                   "sha256": hashlib.sha256(data).hexdigest()})  # fmt: skip

    def _case(self, request: Request) -> Response:
        return self._case_replies.answer(request, self._file_case)

    def _file_case(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return refused(400, "BAD_REQUEST", "需要 JSON 对象")
        form = self.form_of(str(body.get("item_code", "")))
        if form is None:
            return refused(404, "FORM_NOT_FOUND", "该事项暂不支持网上申报")
        item = self.items[form["item_code"]]
        situation = str(body.get("situation") or "")
        codes = [s["code"] for s in item["situations"]]
        if (codes or situation) and situation not in codes:
            return refused(422, "SITUATION_INVALID", "办理情形有误")
        applicant = body.get("applicant") if isinstance(body.get("applicant"), dict) else {}
        number = str(applicant.get("id_number", "")).upper()
        if not valid_id_number(number):
            return refused(422, "APPLICANT_INVALID", "申请人身份证号码有误")
        person = self.people.find(number)
        name = str(applicant.get("name", ""))
        if person is not None and name and name != person.name:
            return refused(422, "NAME_MISMATCH", "申请人姓名与身份证号码不符")
        values = body.get("form") if isinstance(body.get("form"), dict) else {}
        for spec in form["fields"]:
            if field_problem(spec, str(values.get(spec["key"], "")).strip()):
                return refused(422, "FIELD_INVALID", f"申请表“{spec['label']}”填写有误")
        given = {str(m.get("material_id")): m.get("attachments") or []
                 for m in body.get("materials") or [] if isinstance(m, dict)}  # fmt: skip
        with self._cond:
            for ids in given.values():
                if not all(isinstance(a, str) and a in self.attachments for a in ids):
                    return refused(422, "ATTACHMENT_UNKNOWN", "材料附件未上传或已失效")
            for m in item["materials"]:
                wanted = m["required"] and (not m["situations"] or situation in m["situations"])
                if wanted and m["id"] != form["form_material"] and not given.get(m["id"]):
                    return refused(422, "MATERIAL_MISSING", f"缺少材料：{m['name']}")
            if self._refusals:
                refusal = self._refusals[0]
                refusal.count -= 1
                if refusal.count <= 0:
                    self._refusals.pop(0)
                return refused(422, refusal.code, refusal.message)
            today = self.today()
            case_no = f"SB{today:%Y%m%d}{len(self.cases) + 1:05d}"
            pages = {k: len(v) for k, v in given.items()}
            self.cases.append((case_no, item["item_code"], situation, pages))
        return ok({"case_no": case_no, "status": "已提交，待受理",
                   "received_at": f"{today:%Y-%m-%d}", "pages": sum(pages.values())})  # fmt: skip

    def _refuse_endpoint(self, request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        self.refuse_next(str(body.get("code", "MATERIAL_UNREADABLE")),
                         str(body.get("message", "材料图像无法辨认")), int(body.get("count", 1)))
        return ok({"refusing": len(self._refusals)})


def routes(people: People) -> list[Route]:
    """The submission domain's routes (see :data:`upstream_sim.platform.DOMAINS`)."""
    return SubmissionDesk(people).routes()


# --- the mobile page ----------------------------------------------------------------------

_HTML = "text/html; charset=utf-8"

_STYLE = """
body{font-family:"Noto Sans CJK SC",sans-serif;margin:0;background:#f3f5f8;color:#1a2330}
header{background:#1f5fa8;color:#fff;padding:16px}h1{font-size:20px;margin:0}
form{padding:12px 16px}label{display:block;margin:14px 0 6px;font-size:16px}
input,select{width:100%;box-sizing:border-box;font-size:18px;padding:10px;border:1px solid #b8c2cf;
border-radius:6px}input.bad,select.bad{border-color:#c0392b}
button{width:100%;margin-top:22px;font-size:20px;padding:14px;background:#1f5fa8;color:#fff;
border:0;border-radius:8px}#status{margin:14px 16px;font-size:16px}.err{color:#c0392b}
"""

_SCRIPT = """
const form = JSON.parse(document.getElementById('schema').textContent);
const box = document.getElementById('form');
const status = document.getElementById('status');
for (const f of form.fields) {
  const label = document.createElement('label');
  label.htmlFor = 'field-' + f.key;
  label.textContent = f.label + (f.required ? ' *' : '');
  let input;
  if (f.kind === 'choice') {
    input = document.createElement('select');
    input.appendChild(new Option('请选择', ''));
    for (const o of f.options) input.appendChild(new Option(o, o));
  } else {
    input = document.createElement('input');
    input.type = f.kind === 'phone' ? 'tel' : 'text';
    if (f.kind === 'phone' || f.kind === 'digits') input.inputMode = 'numeric';
    input.maxLength = f.max_length;
    input.placeholder = f.hint || '';
  }
  input.id = 'field-' + f.key;
  input.name = f.key;
  box.insertBefore(label, box.lastElementChild);
  box.insertBefore(input, box.lastElementChild);
}
function say(text, bad) { status.textContent = text; status.className = bad ? 'err' : ''; }
box.addEventListener('submit', async (event) => {
  event.preventDefault();
  const values = {};
  for (const f of form.fields) {
    const el = document.getElementById('field-' + f.key);
    el.classList.remove('bad');
    values[f.key] = el.value.trim();
  }
  const button = document.getElementById('submit');
  button.disabled = true;
  document.body.dataset.state = 'sending';
  say('正在提交…', false);
  try {
    const answer = await fetch(location.pathname, {method: 'POST',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({values})});
    const reply = await answer.json();
    if (answer.ok) {
      document.body.dataset.state = 'submitted';
      box.hidden = true;
      say('提交成功，请回到自助终端继续办理', false);
      return;
    }
    document.body.dataset.state = answer.status === 410 ? 'expired' : 'invalid';
    if (reply.data && reply.data.field) {
      document.getElementById('field-' + reply.data.field).classList.add('bad');
    }
    say(reply.message || '提交失败，请重试', true);
  } catch (err) {
    document.body.dataset.state = 'invalid';
    say('网络异常，请重试', true);
  }
  button.disabled = false;
});
"""


def mobile_page(form: dict[str, Any], submitted: bool) -> str:
    """The phone's form page: the schema in the page, the fields built by its script."""
    schema = json.dumps(form, ensure_ascii=False).replace("</", "<\\/")
    title = html.escape(form["form_name"])
    state = "submitted" if submitted else "ready"
    note = "已提交，请回到自助终端继续办理" if submitted else ""
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{_STYLE}</style></head>
<body data-state="{state}"><header><h1>{title}</h1>
<div>{html.escape(form["item_name"])}</div></header>
<form id="form" {"hidden" if submitted else ""}><button id="submit" type="submit">提交</button></form>
<div id="status">{note}</div>
<script type="application/json" id="schema">{schema}</script>
<script>{_SCRIPT}</script></body></html>"""


def _gone_page() -> str:
    return """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>填表已结束</title></head>
<body data-state="expired"><p id="status">填表已超时或已结束，请在自助终端上重新扫码。</p></body></html>"""


# --- OpenAPI fragments --------------------------------------------------------------------


def _doc(summary: str, *, path: tuple[str, ...] = (), query: tuple[str, ...] = (),
         keyed: bool = False, refusals: str = "") -> dict[str, Any]:  # fmt: skip
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in path
    ] + [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in query]
    if keyed:
        params.append({"name": "Idempotency-Key", "in": "header", "required": True,
                       "schema": {"type": "string", "maxLength": 128}})  # fmt: skip
    responses: dict[str, Any] = {"200": {"description": "成功"}}
    if refusals:
        responses["4XX"] = {"description": refusals}
    doc: dict[str, Any] = {"summary": summary, "tags": ["网上申报"], "responses": responses}
    if params:
        doc["parameters"] = params
    return doc
