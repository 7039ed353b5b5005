"""Strict local simulators of the two bank channels: ICBC's open platform QR payment and CCB's
merchant interface (``payments/icbc.py``, ``payments/ccb.py``, ``docs/payments.md``).

Both keep their orders in a :class:`upstream_sim.trade_ledger.TradeLedger` (``ledger``), so a
test makes the simulated citizen pay with ``ledger.pay_after`` exactly as with Alipay. Both
refuse a request whose signature (ICBC: RSA2 over ``path?sorted k=v``; CCB: the MD5 ``MAC``
with the merchant key's tail) does not check, and sign every answer with the bank's own key,
made when the simulator is built.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs

from payments import rsa_sign
from payments import ccb, icbc
from payments.ccb import TX_CLOSE, TX_QR, TX_QUERY, TX_REVERSE, TX_STATEMENT, mac
from payments.icbc import PATH_CLOSE, PATH_GENERATE, PATH_QUERY, PATH_REVERSE, PATH_STATEMENT
from upstream_sim.server import Request, Response, Route, UpstreamServer
from upstream_sim.trade_ledger import (
    TRADE_CLOSED,
    TRADE_FINISHED,
    TRADE_SUCCESS,
    WAIT_BUYER_PAY,
    Trade,
    TradeLedger,
    TradeRefused,
    beijing,
)

_ICBC_STATUS = {WAIT_BUYER_PAY: "0", TRADE_SUCCESS: "1", TRADE_FINISHED: "1"}
_CCB_STATUS = {WAIT_BUYER_PAY: "2", TRADE_SUCCESS: "1", TRADE_FINISHED: "1"}


def _form(request: Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.raw_body.decode("utf-8", "replace")).items()}


def _icbc_status(trade: Trade) -> str:
    if trade.state == TRADE_CLOSED:
        return "3" if trade.refunded_at is not None else "4"
    return _ICBC_STATUS[trade.state]


def _ccb_status(trade: Trade) -> str:
    if trade.state == TRADE_CLOSED:
        return "4" if trade.refunded_at is not None else "0"
    return _CCB_STATUS[trade.state]


class IcbcGateway(UpstreamServer):
    """ICBC's open platform, the QR payment APIs only.

    Args:
        app_id, mer_id: the merchant it knows.
        merchant_public_key: the merchant's key (PEM) requests must verify with.

    Attributes:
        private_key, public_key: the bank's key pair (the kiosk gets ``public_key``).
    """

    def __init__(self, app_id: str, mer_id: str, merchant_public_key: str, port: int = 0) -> None:
        paths = (PATH_GENERATE, PATH_QUERY, PATH_CLOSE, PATH_REVERSE, PATH_STATEMENT)
        routes = [
            Route("POST", p, self._serve, {"summary": f"ICBC {p}",
                                            "responses": {"200": {"description": "signed"}}})
            for p in paths
        ]  # fmt: skip
        super().__init__("ICBC open platform (simulated)", routes, port=port)
        self.app_id, self.mer_id = app_id, mer_id
        self.merchant_public_key = merchant_public_key
        self.private_key, self.public_key = rsa_sign.new_key_pair()
        self.ledger = TradeLedger(prefix="0102", qr_base="https://m.icbc.com.cn/qr")

    def _serve(self, request: Request) -> Response:
        form = _form(request)
        text = f"{request.path}?{rsa_sign.signing_text(form)}"
        if form.get("app_id") != self.app_id or form.get("sign_type") != "RSA2":
            return self._answer({"return_code": 400011, "return_msg": "app_id 或 sign_type 无效"})
        if not rsa_sign.verify(self.merchant_public_key, text, form.get("sign", "")):
            return self._answer({"return_code": 400017, "return_msg": "签名验证失败"})
        try:
            biz = json.loads(form.get("biz_content", ""))
        except ValueError:
            return self._answer({"return_code": 400010, "return_msg": "biz_content 非法"})
        if biz.get("mer_id") != self.mer_id:
            return self._answer({"return_code": 400012, "return_msg": "商户号无效"})
        try:
            return self._answer({"return_code": 0, "return_msg": "success",
                                 "msg_id": form.get("msg_id", ""),
                                 **self._handle(request.path, biz)})  # fmt: skip
        except TradeRefused as refused:
            code = icbc.NOT_FOUND if refused.reason == "not_exist" else icbc.STATE_FORBIDS
            return self._answer({"return_code": code, "return_msg": refused.reason})

    def _handle(self, path: str, biz: dict[str, Any]) -> dict[str, Any]:
        if path == PATH_STATEMENT:
            day = dt.datetime.strptime(str(biz["stmt_date"]), "%Y%m%d").date()
            records = [
                {"out_trade_no": t.out_trade_no, "order_id": t.trade_no, "trx_type": kind,
                 "amt": t.amount_fen, "trx_time": beijing(at)}
                for t, kind, at in self.ledger.statement(day)
            ]  # fmt: skip
            return {"records": records}
        out_trade_no = str(biz.get("out_trade_no", ""))
        if path == PATH_GENERATE:
            amount = int(str(biz.get("order_amt", "0")))
            if amount <= 0 or len(out_trade_no) > 32:
                raise TradeRefused("status_error")
            trade = self.ledger.create(out_trade_no, amount, str(biz.get("attach", "")),
                                       float(biz.get("pay_expire", 300)))  # fmt: skip
            return {"qrcode": trade.qr_code, "out_trade_no": out_trade_no}
        if path == PATH_QUERY:
            trade = self.ledger.get(out_trade_no)
        elif path == PATH_CLOSE:
            trade = self.ledger.close(out_trade_no)
        else:
            trade, _action = self.ledger.cancel(out_trade_no)
        answer = {"out_trade_no": out_trade_no, "order_id": trade.trade_no,
                  "pay_status": _icbc_status(trade), "total_amt": str(trade.amount_fen)}  # fmt: skip
        if trade.paid_at is not None:
            answer["pay_time"] = beijing(trade.paid_at)
        return answer

    def _answer(self, biz: dict[str, Any]) -> Response:
        text = json.dumps(biz, ensure_ascii=False, separators=(",", ":"))
        sign = rsa_sign.sign(self.private_key, text)
        raw = f'{{"response_biz_content":{text},"sign":"{sign}"}}'
        return Response(200, raw=raw.encode(), content_type="application/json; charset=utf-8")


class CcbGateway(UpstreamServer):
    """CCB's merchant interface, the QR payment transactions only.

    Args:
        merchant_id, pos_id, branch_id: the merchant it knows.
        public_key_tail: the last 30 characters of the merchant's key, that MACs are made with.

    Attributes:
        private_key, public_key: the bank's key pair (the kiosk gets ``public_key``).
    """

    def __init__(
        self, merchant_id: str, pos_id: str, branch_id: str, public_key_tail: str, port: int = 0
    ) -> None:
        route = Route("POST", ccb.PATH, self._serve, {
            "summary": "CCB merchant interface (TXCODE 530550, 5W1002 …)",
            "responses": {"200": {"description": "JSON with SUCCESS and SIGN"}},
        })  # fmt: skip
        super().__init__("CCB merchant interface (simulated)", [route], port=port)
        self.ids = {"MERCHANTID": merchant_id, "POSID": pos_id, "BRANCHID": branch_id}
        self.public_key_tail = public_key_tail
        self.private_key, self.public_key = rsa_sign.new_key_pair()
        self.ledger = TradeLedger(prefix="105", qr_base="https://qr.ccb.com/pay")

    def _serve(self, request: Request) -> Response:
        form = _form(request)
        if any(form.get(k) != v for k, v in self.ids.items()):
            return self._answer({"SUCCESS": "false", "ERRCODE": "0130Z1101001",
                                 "ERRMSG": "商户信息有误"})  # fmt: skip
        if form.get("MAC") != mac(form, self.public_key_tail):
            return self._answer({"SUCCESS": "false", "ERRCODE": "0130Z1101002",
                                 "ERRMSG": "验签失败"})  # fmt: skip
        try:
            return self._answer({"SUCCESS": "true", **self._handle(form)})
        except TradeRefused as refused:
            code = ccb.NOT_FOUND if refused.reason == "not_exist" else ccb.STATE_FORBIDS
            return self._answer({"SUCCESS": "false", "ERRCODE": code, "ERRMSG": refused.reason})

    def _handle(self, form: dict[str, str]) -> dict[str, str]:
        txcode, order = form.get("TXCODE"), form.get("ORDERID", "")
        if txcode == TX_STATEMENT:
            day = dt.datetime.strptime(form["DATE"], "%Y%m%d").date()
            rows = [f"{t.out_trade_no}|{t.trade_no}|{'R' if kind == 'refund' else 'P'}|"
                    f"{t.amount_fen // 100}.{t.amount_fen % 100:02d}|{beijing(at)}"
                    for t, kind, at in self.ledger.statement(day)]  # fmt: skip
            return {"DETAIL": "\n".join(rows)}
        if txcode == TX_QR:
            whole, _, cents = form.get("PAYMENT", "0").partition(".")
            amount = int(whole) * 100 + int((cents + "00")[:2])
            if amount <= 0 or form.get("CURCODE") != "01" or not 0 < len(order) <= 30:
                raise TradeRefused("status_error")
            deadline = dt.datetime.strptime(form["TIMEOUT"], "%Y%m%d%H%M%S")
            ttl = (deadline - dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(
                tzinfo=None)).total_seconds()
            trade = self.ledger.create(order, amount, form.get("REMARK1", ""), max(ttl, 1.0))
            return {"QRURL": trade.qr_code, "ORDERID": order}
        if txcode == TX_QUERY:
            trade = self.ledger.get(order)
        elif txcode == TX_CLOSE:
            trade = self.ledger.close(order)
        elif txcode == TX_REVERSE:
            trade, _action = self.ledger.cancel(order)
        else:
            raise TradeRefused("status_error")
        return {"ORDERID": order, "SERIALNO": trade.trade_no, "ORDERSTATUS": _ccb_status(trade),
                "AMOUNT": f"{trade.amount_fen // 100}.{trade.amount_fen % 100:02d}"}  # fmt: skip

    def _answer(self, data: dict[str, str]) -> Response:
        signed = dict(data)
        signed["SIGN"] = rsa_sign.sign(self.private_key, rsa_sign.signing_text(data))
        return Response(200, signed)
