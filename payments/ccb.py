"""CCB (建设银行) merchant-presented QR payment (龙支付 aggregated code), behind
:class:`payments.channel.PaymentChannel`.

CCB ships no Python SDK (reference §5). Its merchant interface is a form POST to one address,
the operation chosen by ``TXCODE``, with the merchant's ``MERCHANTID``, ``POSID`` and
``BRANCHID``, the order's ``ORDERID`` and ``PAYMENT`` in yuan, and a ``MAC``: the MD5 of the
parameters with the last 30 characters of the merchant's public key (``PUB``) appended, so the
bank knows the request is the merchant's. Answers are JSON with ``SUCCESS`` ``true``/``false``
and ``ERRCODE``/``ERRMSG``; the bank signs them (``SIGN``, RSA2 over the other fields sorted).
What is CCB's and what is modelled is listed in ``docs/payments.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from core.errors import PaymentBadResponse, PaymentRefused
from payments import rsa_sign
from payments.bank_http import BankHttp
from payments.channel import OrderState, OrderStatus, QrOrder, StatementLine, fen, yuan

BEIJING = dt.timezone(dt.timedelta(hours=8))
PATH = "/CCBIS/ccbMain"

TX_QR = "530550"  # create the order and its QR code
TX_QUERY = "5W1002"  # order query
TX_CLOSE = "5W1024"  # close an unpaid order (modelled)
TX_REVERSE = "5W1025"  # reverse: close unpaid, refund paid (modelled)
TX_STATEMENT = "5W1005"  # the day's statement (modelled)

#: ``ORDERSTATUS``: 0 失败/已关闭, 1 成功, 2 待支付, 4 已全额退款.
_STATES = {"0": OrderState.CLOSED, "1": OrderState.PAID, "2": OrderState.WAITING,
           "4": OrderState.REFUNDED}  # fmt: skip
#: ``ERRCODE`` for an order the bank does not know, and for a state that forbids the call.
NOT_FOUND, STATE_FORBIDS = "YBLA10404", "YBLA10409"
#: Minutes a citizen has to pay.
PAY_MINUTES = 5


def mac(params: dict[str, str], public_key_tail: str) -> str:
    """CCB's request MAC: MD5 (hex) of the sorted ``k=v`` with ``PUB=<key tail>`` appended."""
    text = rsa_sign.signing_text({k: v for k, v in params.items() if k != "MAC"})
    return hashlib.md5(f"{text}&PUB={public_key_tail}".encode()).hexdigest()  # noqa: S324


class CcbChannel:
    """CCB as a :class:`payments.channel.PaymentChannel`.

    Args:
        gateway: the bank's address (the simulator's URL in tests).
        merchant_id, pos_id, branch_id: the merchant's numbers at CCB.
        public_key_tail: the last 30 characters of the merchant public key CCB issued.
        bank_public_key: CCB's RSA public key (PEM) that answers verify with.
        timeout_s: the read timeout of one call.
    """

    id = "ccb"
    name = "建设银行"

    def __init__(
        self,
        gateway: str,
        merchant_id: str,
        pos_id: str,
        branch_id: str,
        public_key_tail: str,
        bank_public_key: str,
        *,
        timeout_s: float = 6.0,
    ) -> None:
        self.http = BankHttp(gateway, self.id, timeout_s)
        self.ids = {"MERCHANTID": merchant_id, "POSID": pos_id, "BRANCHID": branch_id}
        self.public_key_tail = public_key_tail
        self.bank_public_key = bank_public_key

    def precreate(self, out_trade_no: str, amount_fen: int, subject: str) -> QrOrder:
        timeout = dt.datetime.now(BEIJING) + dt.timedelta(minutes=PAY_MINUTES)
        answer = self._call(TX_QR, {
            "ORDERID": out_trade_no, "PAYMENT": yuan(amount_fen), "CURCODE": "01",
            "REMARK1": subject, "RETURNTYPE": "3", "TIMEOUT": timeout.strftime("%Y%m%d%H%M%S"),
        })  # fmt: skip
        self._refuse_unless_success(answer, out_trade_no)
        return QrOrder(out_trade_no, str(answer["QRURL"]))

    def query(self, out_trade_no: str) -> OrderStatus:
        answer = self._call(TX_QUERY, {"ORDERID": out_trade_no})
        if answer.get("ERRCODE") == NOT_FOUND:
            return OrderStatus(out_trade_no, OrderState.NOT_FOUND, channel_state=NOT_FOUND)
        self._refuse_unless_success(answer, out_trade_no)
        return self._status(answer, out_trade_no)

    def close(self, out_trade_no: str) -> OrderStatus:
        return self._end(TX_CLOSE, out_trade_no)

    def cancel(self, out_trade_no: str) -> OrderStatus:
        return self._end(TX_REVERSE, out_trade_no)

    def statement(self, day: dt.date) -> list[StatementLine]:
        answer = self._call(TX_STATEMENT, {"DATE": day.strftime("%Y%m%d")})
        self._refuse_unless_success(answer, "")
        lines = []
        try:
            for row in str(answer.get("DETAIL", "")).splitlines():
                orderid, serial, kind, amount, at = row.split("|")
                lines.append(StatementLine(orderid, serial, "refund" if kind == "R" else "pay",
                                           fen(amount), at))  # fmt: skip
        except ValueError as err:
            raise PaymentBadResponse(f"ccb: unreadable statement: {err}", channel=self.id) from err
        return lines

    # --- internals ---------------------------------------------------------------------

    def _end(self, txcode: str, out_trade_no: str) -> OrderStatus:
        answer = self._call(txcode, {"ORDERID": out_trade_no})
        if answer.get("ERRCODE") == NOT_FOUND:
            return OrderStatus(out_trade_no, OrderState.NOT_FOUND, channel_state=NOT_FOUND)
        if answer.get("ERRCODE") == STATE_FORBIDS:
            return self.query(out_trade_no)
        self._refuse_unless_success(answer, out_trade_no)
        return self._status(answer, out_trade_no)

    def _status(self, answer: dict[str, Any], out_trade_no: str) -> OrderStatus:
        status = str(answer.get("ORDERSTATUS", ""))
        if status not in _STATES:
            raise PaymentBadResponse(f"ccb: unknown ORDERSTATUS {status!r}", channel=self.id,
                                     ref=out_trade_no)  # fmt: skip
        try:
            amount = fen(str(answer["AMOUNT"])) if answer.get("AMOUNT") else None
        except ValueError as err:
            raise PaymentBadResponse("ccb: AMOUNT not yuan", channel=self.id) from err
        return OrderStatus(out_trade_no, _STATES[status], amount_fen=amount,
                           trade_no=answer.get("SERIALNO"), channel_state=status)  # fmt: skip

    def _call(self, txcode: str, params: dict[str, str]) -> dict[str, Any]:
        form = {**self.ids, "TXCODE": txcode, **params}
        form["MAC"] = mac(form, self.public_key_tail)
        _raw, data = self.http.post(PATH, form)
        fields = {k: str(v) for k, v in data.items() if k != "SIGN"}
        if not rsa_sign.verify(self.bank_public_key, rsa_sign.signing_text(fields),
                               str(data.get("SIGN", ""))):  # fmt: skip
            raise PaymentBadResponse(f"ccb {txcode}: the answer's signature does not verify",
                                     channel=self.id)  # fmt: skip
        return data

    def _refuse_unless_success(self, answer: dict[str, Any], out_trade_no: str) -> None:
        if str(answer.get("SUCCESS")) == "true":
            return
        raise PaymentRefused(
            f"ccb: {answer.get('ERRCODE')} {answer.get('ERRMSG', '')}",
            channel=self.id, ref=out_trade_no, upstream_code=str(answer.get("ERRCODE")),
        )  # fmt: skip
