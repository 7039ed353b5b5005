"""A strict local Alipay OpenAPI gateway for the face-to-face (当面付) calls the kiosk makes.

``GET`` or ``POST /gateway.do`` with the public parameters (``app_id``, ``method``,
``charset=utf-8``, ``sign_type=RSA2``, ``sign``, ``timestamp`` ``yyyy-MM-dd HH:mm:ss``,
``version=1.0``, ``biz_content``), as python-alipay-sdk sends them. Checked as the real gateway
does (reference §5): the RSA2 signature over the sorted parameters (``sign`` left out) with
the application's public key, the app id, the parameters' values, a timestamp within 15 minutes;
a request failing these is answered unsigned with ``40002`` (``isv.invalid-signature`` …).
Every business answer is signed with the gateway's own key over the exact text of the
``<method>_response`` object, so the SDK verifies it.

Methods: ``alipay.trade.precreate``, ``alipay.trade.query``, ``alipay.trade.close``,
``alipay.trade.cancel``, ``alipay.data.dataservice.bill.downloadurl.query`` (the statement of
a past day: a zip holding a GBK CSV, served at ``/_bills/{token}``). Trades live in a
:class:`upstream_sim.trade_ledger.TradeLedger`; ``ledger.pay_after`` is the citizen scanning.

Faults beyond the server's (``slow``, ``timeout``, ``error500`` …): :meth:`AlipayGateway.
unknown_result` answers ``20000`` (service unavailable) for a method, after or before doing
the work, so a kiosk meets a result it cannot know. Asynchronous notifications are not sent:
the kiosk polls with query (a kiosk behind a hall's NAT has no reachable ``notify_url``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import secrets
import threading
import zipfile
from dataclasses import dataclass
from typing import Any

from payments import rsa_sign
from upstream_sim.server import Request, Response, Route, UpstreamServer
from upstream_sim.trade_ledger import (
    BEIJING,
    TRADE_CLOSED,
    TradeLedger,
    TradeRefused,
    beijing,
)

_OUT_TRADE_NO = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_YUAN = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
_TIMESTAMP = "%Y-%m-%d %H:%M:%S"
MAX_SKEW_S = 15 * 60
_TTL = re.compile(r"^(\d+)([mhd])$")
_TTL_S = {"m": 60, "h": 3600, "d": 86400}

_REFUSALS = {
    "exists_differently": ("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"),
    "has_success": ("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"),
    "has_closed": ("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"),
    "not_exist": ("ACQ.TRADE_NOT_EXIST", "交易不存在"),
    "status_error": ("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"),
}


@dataclass
class _Unknown:
    method: str
    count: int
    after_work: bool


class AlipayGateway(UpstreamServer):
    """The simulated gateway.

    Args:
        app_id: the one merchant application it knows.
        app_public_key: that application's public key (PEM): requests must verify with it.
        port: 0 picks a free port.

    Attributes:
        private_key, public_key: the gateway's own key pair (PEM), made at start; the kiosk's
            channel is given ``public_key``.
        ledger: the trades.
    """

    def __init__(self, app_id: str, app_public_key: str, port: int = 0) -> None:
        super().__init__("Alipay OpenAPI (simulated)", self._routes(), port=port)
        self.app_id = app_id
        self.app_public_key = app_public_key
        self.private_key, self.public_key = rsa_sign.new_key_pair()
        self.ledger = TradeLedger(prefix="2200", qr_base="https://qr.alipay.com/bax")
        self._unknown: list[_Unknown] = []
        self._bills: dict[str, bytes] = {}
        self._faults_lock = threading.Lock()

    @property
    def gateway_url(self) -> str:
        return f"{self.url}/gateway.do"

    def unknown_result(self, method: str, *, count: int = 1, after_work: bool = True) -> None:
        """Answer ``20000`` to the next ``count`` calls of ``method``; with ``after_work`` the
        call's effect happens first (a precreate creates the trade), as when Alipay's answer
        is lost on its way back."""
        with self._faults_lock:
            self._unknown.append(_Unknown(method, count, after_work))

    # --- routes --------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        doc = {
            "summary": "Alipay OpenAPI gateway: precreate, query, close, cancel, bill download",
            "parameters": [{"name": n, "in": "query", "required": True,
                            "schema": {"type": "string"}}
                           for n in ("app_id", "method", "charset", "sign_type", "sign",
                                     "timestamp", "version", "biz_content")],
            "responses": {"200": {"description": "{<method>_response: {...}, sign}"}},
        }  # fmt: skip
        return [
            Route("GET", "/gateway.do", self._gateway, doc),
            Route("POST", "/gateway.do", self._gateway, doc),
            Route("GET", "/_bills/{token}", self._bill_file,
                  {"summary": "A statement zip", "responses": {"200": {"description": "zip"}}}),
        ]  # fmt: skip

    def _gateway(self, request: Request) -> Response:
        params = dict(request.query)
        if request.method == "POST" and request.raw_body:
            from urllib.parse import parse_qs

            params.update({k: v[-1] for k, v in parse_qs(request.raw_body.decode()).items()})
        method = params.get("method", "")
        response_key = method.replace(".", "_") + "_response" if method else "error_response"
        refusal = self._check_public(params)
        if refusal is not None:
            sub_code, sub_msg = refusal
            body = {response_key: {"code": "40002", "msg": "Invalid Arguments",
                                   "sub_code": sub_code, "sub_msg": sub_msg}}  # fmt: skip
            return Response(200, body)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            return self._signed(response_key, _fail("ACQ.INVALID_PARAMETER", "biz_content 非法"))
        if not isinstance(biz, dict):
            return self._signed(response_key, _fail("ACQ.INVALID_PARAMETER", "biz_content 非法"))
        unknown = self._take_unknown(method)
        if unknown is not None and not unknown.after_work:
            return self._signed(response_key, _unavailable())
        answer = self._handle(method, biz)
        if unknown is not None:
            return self._signed(response_key, _unavailable())
        return self._signed(response_key, answer)

    def _handle(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        handlers = {
            "alipay.trade.precreate": self._precreate,
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
            "alipay.trade.cancel": self._cancel,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }
        try:
            return handlers[method](biz)
        except TradeRefused as refused:
            return _fail(*_REFUSALS[refused.reason])

    def _precreate(self, biz: dict[str, Any]) -> dict[str, Any]:
        out_trade_no = str(biz.get("out_trade_no", ""))
        amount = str(biz.get("total_amount", ""))
        subject = str(biz.get("subject", ""))
        if not _OUT_TRADE_NO.match(out_trade_no):
            return _fail("ACQ.INVALID_PARAMETER", "out_trade_no 非法")
        if not _YUAN.match(amount) or _fen(amount) <= 0 or _fen(amount) > 100_000_000_00:
            return _fail("ACQ.INVALID_PARAMETER", "total_amount 非法")
        if not 0 < len(subject) <= 256:
            return _fail("ACQ.INVALID_PARAMETER", "subject 非法")
        ttl = _TTL.match(str(biz.get("timeout_express", "90m")))
        if ttl is None:
            return _fail("ACQ.INVALID_PARAMETER", "timeout_express 非法")
        ttl_s = int(ttl.group(1)) * _TTL_S[ttl.group(2)]
        trade = self.ledger.create(out_trade_no, _fen(amount), subject, ttl_s)
        return {**_success(), "out_trade_no": out_trade_no, "qr_code": trade.qr_code}

    def _query(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.ledger.get(self._out_trade_no(biz))
        answer = {
            **_success(),
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.state,
            "total_amount": _yuan(trade.amount_fen),
        }
        if trade.paid_at is not None:
            answer["send_pay_date"] = beijing(trade.paid_at)
            answer["buyer_logon_id"] = "138******21"
            answer["receipt_amount"] = _yuan(trade.amount_fen)
        return answer

    def _close(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.ledger.close(self._out_trade_no(biz))
        return {**_success(), "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}

    def _cancel(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade, action = self.ledger.cancel(self._out_trade_no(biz))
        assert trade.state == TRADE_CLOSED
        return {**_success(), "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
                "retry_flag": "N", "action": action}  # fmt: skip

    def _out_trade_no(self, biz: dict[str, Any]) -> str:
        """The order a call names: by ``trade_no`` when given (it wins), else ``out_trade_no``."""
        if biz.get("trade_no"):
            for trade in list(self.ledger.trades.values()):
                if trade.trade_no == biz["trade_no"]:
                    return trade.out_trade_no
            raise TradeRefused("not_exist")
        if not biz.get("out_trade_no"):
            raise TradeRefused("not_exist")
        return str(biz["out_trade_no"])

    def _bill_url(self, biz: dict[str, Any]) -> dict[str, Any]:
        if biz.get("bill_type") != "trade":
            return _fail("isp.bill_type_invalid", "账单类型不支持")
        try:
            day = dt.date.fromisoformat(str(biz.get("bill_date", "")))
        except ValueError:
            return _fail("isp.bill_date_invalid", "账单日期格式错误")
        today = dt.datetime.fromtimestamp(self.ledger.now(), BEIJING).date()
        if day >= today:
            # Alipay publishes a day's statement the next day, never the same day.
            return _fail("isp.bill_not_exist", "账单不存在")
        token = secrets.token_hex(8)
        self._bills[token] = self._statement_zip(day)
        return {**_success(), "bill_download_url": f"{self.url}/_bills/{token}"}

    def _bill_file(self, request: Request) -> Response:
        data = self._bills.get(request.params["token"])
        if data is None:
            return Response(404, raw=b"not found", content_type="text/plain")
        return Response(200, raw=data, content_type="application/zip")

    def _statement_zip(self, day: dt.date) -> bytes:
        out = io.StringIO()
        out.write("#支付宝业务明细查询\n")
        out.write(f"#账号：[{self.app_id}]\n")
        out.write(f"#起始日期：[{day} 00:00:00]   终止日期：[{day + dt.timedelta(days=1)} 00:00:00]\n")
        out.write("#-----------------------------------------业务明细列表----------------------------------------\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间",
                         "完成时间", "订单金额（元）", "商家实收（元）"])  # fmt: skip
        for trade, kind, at in self.ledger.statement(day):
            sign = "-" if kind == "refund" else ""
            writer.writerow([trade.trade_no, trade.out_trade_no,
                             "退款" if kind == "refund" else "交易", trade.subject,
                             beijing(trade.created_at), beijing(at),
                             sign + _yuan(trade.amount_fen), sign + _yuan(trade.amount_fen)])  # fmt: skip
        out.write("#-----------------------------------------业务明细列表结束------------------------------------\n")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{self.app_id}_{day:%Y%m%d}_业务明细.csv", out.getvalue().encode("gbk"))
        return buffer.getvalue()

    # --- checks and signing ----------------------------------------------------------------

    def _check_public(self, params: dict[str, str]) -> tuple[str, str] | None:
        for name in ("app_id", "method", "charset", "sign_type", "sign", "timestamp", "version"):
            if not params.get(name):
                return f"isv.missing-{name.replace('_', '-')}", f"缺少参数 {name}"
        if params["app_id"] != self.app_id:
            return "isv.invalid-app-id", "无效的AppID参数"
        if params["sign_type"] != "RSA2":
            return "isv.invalid-signature-type", "签名类型不支持"
        if params["charset"].lower() != "utf-8" or params["version"] != "1.0":
            return "isv.invalid-parameter", "参数无效"
        if params["method"] not in _METHODS:
            return "isv.invalid-method", "不存在的方法名"
        try:
            sent = dt.datetime.strptime(params["timestamp"], _TIMESTAMP).replace(tzinfo=BEIJING)
        except ValueError:
            return "isv.invalid-timestamp", "非法的时间戳参数"
        if abs(sent.timestamp() - self.ledger.now()) > MAX_SKEW_S and not self._skew_free:
            return "isv.invalid-timestamp", "非法的时间戳参数"
        text = rsa_sign.signing_text({k: v for k, v in params.items() if k != "sign"})
        if not rsa_sign.verify(self.app_public_key, text, params["sign"]):
            return "isv.invalid-signature", "验签出错"
        return None

    #: A test that moves the ledger's clock to another day turns the timestamp check off.
    _skew_free = False

    def _take_unknown(self, method: str) -> _Unknown | None:
        with self._faults_lock:
            for fault in self._unknown:
                if fault.method == method:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._unknown.remove(fault)
                    return fault
        return None

    def _signed(self, response_key: str, answer: dict[str, Any]) -> Response:
        text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        sign = rsa_sign.sign(self.private_key, text)
        raw = f'{{"{response_key}":{text},"sign":"{sign}"}}'
        return Response(200, raw=raw.encode(), content_type="application/json; charset=utf-8")


_METHODS = frozenset({
    "alipay.trade.precreate", "alipay.trade.query", "alipay.trade.close", "alipay.trade.cancel",
    "alipay.data.dataservice.bill.downloadurl.query",
})  # fmt: skip


def _success() -> dict[str, Any]:
    return {"code": "10000", "msg": "Success"}


def _fail(sub_code: str, sub_msg: str) -> dict[str, Any]:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


def _unavailable() -> dict[str, Any]:
    return {"code": "20000", "msg": "Service Currently Unavailable",
            "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"}  # fmt: skip


def _fen(amount: str) -> int:
    whole, _, cents = amount.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def _yuan(amount_fen: int) -> str:
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"
