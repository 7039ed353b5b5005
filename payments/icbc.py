"""ICBC (工商银行) merchant-presented QR payment through its open platform, behind
:class:`payments.channel.PaymentChannel`.

ICBC ships no Python SDK (reference §5); this speaks its open-platform envelope directly
(``docs/payments.md`` gives the sources and what is modelled). Every request is a form POST of
the public parameters ``app_id``, ``msg_id`` (unique per request), ``format=json``,
``charset=UTF-8``, ``sign_type=RSA2``, ``timestamp`` and ``biz_content`` (JSON), signed with
the merchant's key over ``<path>?<sorted k=v>``. Every answer is
``{"response_biz_content": {...}, "sign": "..."}``, signed by ICBC over the object's text;
``return_code`` 0 is success. Amounts are fen (``order_amt``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from core.errors import PaymentBadResponse, PaymentRefused
from payments import rsa_sign
from payments.bank_http import BankHttp, object_text
from payments.channel import OrderState, OrderStatus, QrOrder, StatementLine

BEIJING = dt.timezone(dt.timedelta(hours=8))

PATH_GENERATE = "/api/cardbusiness/qrcode/qrgenerate/V3"
PATH_QUERY = "/api/qrcode/V2/query"
PATH_CLOSE = "/api/qrcode/V2/close"
PATH_REVERSE = "/api/qrcode/V2/reverse"
PATH_STATEMENT = "/api/qrcode/V2/statement"

#: ``pay_status`` of a query: 0 支付中, 1 支付成功, 2 支付失败 (ICBC's); 3 已冲正退款 and
#: 4 已关闭 are modelled (``docs/payments.md``).
_STATES = {
    "0": OrderState.WAITING,
    "1": OrderState.PAID,
    "2": OrderState.CLOSED,
    "3": OrderState.REFUNDED,
    "4": OrderState.CLOSED,
}
#: ``return_code`` for an order the bank does not know (modelled).
NOT_FOUND = 9404
#: ``return_code`` for an operation the order's state forbids (closing a paid order).
STATE_FORBIDS = 9409
#: Seconds a citizen has to pay a generated code.
PAY_EXPIRE_S = 300


class IcbcChannel:
    """ICBC as a :class:`payments.channel.PaymentChannel`.

    Args:
        gateway: the open platform (``https://gw.open.icbc.com.cn``; the simulator's URL).
        app_id, mer_id: the merchant application and merchant number.
        private_key: the merchant's RSA private key (PEM).
        bank_public_key: ICBC's gateway public key (PEM).
        timeout_s: the read timeout of one call.
    """

    id = "icbc"
    name = "工商银行"

    def __init__(
        self,
        gateway: str,
        app_id: str,
        mer_id: str,
        private_key: str,
        bank_public_key: str,
        *,
        timeout_s: float = 6.0,
    ) -> None:
        self.http = BankHttp(gateway, self.id, timeout_s)
        self.app_id = app_id
        self.mer_id = mer_id
        self.private_key = private_key
        self.bank_public_key = bank_public_key

    def precreate(self, out_trade_no: str, amount_fen: int, subject: str) -> QrOrder:
        now = dt.datetime.now(BEIJING)
        answer = self._call(PATH_GENERATE, {
            "mer_id": self.mer_id, "out_trade_no": out_trade_no, "order_amt": str(amount_fen),
            "trade_date": now.strftime("%Y%m%d"), "trade_time": now.strftime("%H%M%S"),
            "pay_expire": str(PAY_EXPIRE_S), "attach": subject,
        })  # fmt: skip
        self._refuse_unless_success(answer, out_trade_no)
        return QrOrder(out_trade_no, str(answer["qrcode"]))

    def query(self, out_trade_no: str) -> OrderStatus:
        answer = self._call(PATH_QUERY, {"mer_id": self.mer_id, "out_trade_no": out_trade_no})
        if answer.get("return_code") == NOT_FOUND:
            return OrderStatus(out_trade_no, OrderState.NOT_FOUND, channel_state=str(NOT_FOUND))
        self._refuse_unless_success(answer, out_trade_no)
        return self._status(answer, out_trade_no)

    def close(self, out_trade_no: str) -> OrderStatus:
        return self._end(PATH_CLOSE, out_trade_no)

    def cancel(self, out_trade_no: str) -> OrderStatus:
        return self._end(PATH_REVERSE, out_trade_no)

    def statement(self, day: dt.date) -> list[StatementLine]:
        answer = self._call(
            PATH_STATEMENT, {"mer_id": self.mer_id, "stmt_date": day.strftime("%Y%m%d")}
        )
        self._refuse_unless_success(answer, "")
        try:
            return [
                StatementLine(
                    out_trade_no=str(r["out_trade_no"]), trade_no=str(r["order_id"]),
                    kind="refund" if r["trx_type"] == "refund" else "pay",
                    amount_fen=int(r["amt"]), at=str(r["trx_time"]),
                )  # fmt: skip
                for r in answer["records"]
            ]
        except (KeyError, TypeError, ValueError) as err:
            raise PaymentBadResponse(f"icbc: unreadable statement: {err}", channel=self.id) from err

    # --- internals ---------------------------------------------------------------------

    def _end(self, path: str, out_trade_no: str) -> OrderStatus:
        answer = self._call(path, {"mer_id": self.mer_id, "out_trade_no": out_trade_no})
        if answer.get("return_code") == NOT_FOUND:
            return OrderStatus(out_trade_no, OrderState.NOT_FOUND, channel_state=str(NOT_FOUND))
        if answer.get("return_code") == STATE_FORBIDS:
            return self.query(out_trade_no)
        self._refuse_unless_success(answer, out_trade_no)
        return self._status(answer, out_trade_no)

    def _status(self, answer: dict[str, Any], out_trade_no: str) -> OrderStatus:
        status = str(answer.get("pay_status", ""))
        if status not in _STATES:
            raise PaymentBadResponse(f"icbc: unknown pay_status {status!r}", channel=self.id,
                                     ref=out_trade_no)  # fmt: skip
        try:
            amount = int(answer["total_amt"]) if "total_amt" in answer else None
        except (TypeError, ValueError) as err:
            raise PaymentBadResponse("icbc: total_amt not fen", channel=self.id) from err
        return OrderStatus(out_trade_no, _STATES[status], amount_fen=amount,
                           trade_no=answer.get("order_id"), channel_state=status)  # fmt: skip

    def _call(self, path: str, biz: dict[str, str]) -> dict[str, Any]:
        form = {
            "app_id": self.app_id,
            "msg_id": uuid.uuid4().hex,
            "format": "json",
            "charset": "UTF-8",
            "sign_type": "RSA2",
            "timestamp": dt.datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        form["sign"] = rsa_sign.sign(self.private_key, f"{path}?{rsa_sign.signing_text(form)}")
        raw, data = self.http.post(path, form)
        try:
            signed = object_text(raw, "response_biz_content")
        except ValueError as err:
            raise PaymentBadResponse(f"icbc {path}: no response_biz_content",
                                     channel=self.id) from err  # fmt: skip
        if not rsa_sign.verify(self.bank_public_key, signed, str(data.get("sign", ""))):
            raise PaymentBadResponse(f"icbc {path}: the answer's signature does not verify",
                                     channel=self.id)  # fmt: skip
        biz_answer: dict[str, Any] = data["response_biz_content"]
        return biz_answer

    def _refuse_unless_success(self, answer: dict[str, Any], out_trade_no: str) -> None:
        if answer.get("return_code") == 0:
            return
        raise PaymentRefused(
            f"icbc: {answer.get('return_code')} {answer.get('return_msg', '')}",
            channel=self.id, ref=out_trade_no, upstream_code=str(answer.get("return_code")),
        )  # fmt: skip
