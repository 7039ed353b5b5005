"""Alipay face-to-face payment (当面付, merchant-presented QR) through the maintained SDK.

The kiosk drives ``python-alipay-sdk`` (``import alipay``, locked at 3.4.0): the SDK builds
and RSA2-signs every request and verifies the RSA2 signature of every answer with Alipay's
public key, so the code that runs against the simulator is the code that would run against
``openapi.alipay.com``. The calls, in the order of a payment (reference §5):

* ``alipay.trade.precreate`` (``out_trade_no``, ``total_amount`` in yuan, ``subject``,
  ``timeout_express``) → ``qr_code``. Re-sent with the same number and amount after a lost
  answer, it returns the same trade.
* ``alipay.trade.query`` → ``trade_status``: ``WAIT_BUYER_PAY``, ``TRADE_SUCCESS``,
  ``TRADE_CLOSED``, ``TRADE_FINISHED``; ``40004``/``ACQ.TRADE_NOT_EXIST`` when none.
* ``alipay.trade.close`` closes an unpaid trade (switching the way to pay: close never
  refunds); ``alipay.trade.cancel`` reverses one (``action`` ``close`` or ``refund``),
  for a kiosk that gave up.
* ``alipay.data.dataservice.bill.downloadurl.query`` (``bill_type=trade``) → a URL of the
  day's statement, a zip holding a GBK CSV.

Response codes: ``10000`` success, ``20000`` service unavailable (result unknown: query),
``40004`` business failure with a ``sub_code``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import socket
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from typing import Any

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig

from core.errors import (
    PaymentBadResponse,
    PaymentChannelUnreachable,
    PaymentRefused,
    PaymentTimeout,
)
from payments.channel import OrderState, OrderStatus, QrOrder, StatementLine, fen, yuan

BEIJING = dt.timezone(dt.timedelta(hours=8))

#: How long a citizen has to pay a precreated trade before Alipay closes it.
TIMEOUT_EXPRESS = "5m"

_STATES = {
    "WAIT_BUYER_PAY": OrderState.WAITING,
    "TRADE_SUCCESS": OrderState.PAID,
    "TRADE_FINISHED": OrderState.PAID,
    "TRADE_CLOSED": OrderState.CLOSED,
}
#: Columns of the statement's detail CSV (业务明细) the kiosk reads.
COL_TRADE_NO, COL_OUT_TRADE_NO, COL_KIND = "支付宝交易号", "商户订单号", "业务类型"
COL_AMOUNT, COL_FINISHED = "订单金额（元）", "完成时间"


class AlipayChannel:
    """Alipay as a :class:`payments.channel.PaymentChannel`.

    Args:
        gateway: the gateway URL (``https://openapi.alipay.com/gateway.do``; the simulator's
            ``http://127.0.0.1:PORT/gateway.do``).
        app_id: the merchant application's id.
        app_private_key: the application's RSA private key (PEM) that signs requests.
        alipay_public_key: Alipay's RSA public key (PEM) that answers must verify with.
        store_id: the hall's store id, carried on every trade (``store_id``).
        timeout_s: the socket timeout of one call.
    """

    id = "alipay"
    name = "支付宝"

    def __init__(
        self,
        gateway: str,
        app_id: str,
        app_private_key: str,
        alipay_public_key: str,
        *,
        store_id: str = "",
        timeout_s: float = 6.0,
    ) -> None:
        self.store_id = store_id
        self.client = _BeijingTimeAliPay(
            appid=app_id,
            app_notify_url=None,
            app_private_key_string=app_private_key,
            alipay_public_key_string=alipay_public_key,
            sign_type="RSA2",
            config=AliPayConfig(timeout=timeout_s),
        )
        # The SDK has no gateway argument (only debug=True for the sandbox); its own tests set
        # this attribute, and so does a kiosk pointed at the simulator.
        self.client._gateway = gateway
        self.timeout_s = timeout_s

    # --- PaymentChannel ----------------------------------------------------------------

    def precreate(self, out_trade_no: str, amount_fen: int, subject: str) -> QrOrder:
        extra: dict[str, Any] = {"timeout_express": TIMEOUT_EXPRESS}
        if self.store_id:
            extra["store_id"] = self.store_id
        answer = self._call(
            "alipay.trade.precreate",
            lambda: self.client.api_alipay_trade_precreate(
                subject=subject, out_trade_no=out_trade_no, total_amount=yuan(amount_fen),
                **extra,
            ),
        )  # fmt: skip
        self._refuse_unless_success(answer, out_trade_no)
        return QrOrder(out_trade_no, str(answer["qr_code"]))

    def query(self, out_trade_no: str) -> OrderStatus:
        answer = self._call(
            "alipay.trade.query",
            lambda: self.client.api_alipay_trade_query(out_trade_no=out_trade_no),
        )
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return OrderStatus(out_trade_no, OrderState.NOT_FOUND, channel_state="TRADE_NOT_EXIST")
        self._refuse_unless_success(answer, out_trade_no)
        status = str(answer.get("trade_status", ""))
        if status not in _STATES:
            raise PaymentBadResponse(
                f"alipay: unknown trade_status {status!r}", channel=self.id, ref=out_trade_no
            )
        state = _STATES[status]
        if state is OrderState.CLOSED and answer.get("send_pay_date"):
            # A paid trade that was then fully refunded also reads TRADE_CLOSED.
            state = OrderState.REFUNDED
        return OrderStatus(
            out_trade_no,
            state,
            amount_fen=self._fen(answer, "total_amount", out_trade_no),
            trade_no=answer.get("trade_no"),
            channel_state=status,
        )

    def close(self, out_trade_no: str) -> OrderStatus:
        answer = self._call(
            "alipay.trade.close",
            lambda: self.client.api_alipay_trade_close(out_trade_no=out_trade_no),
        )
        if answer.get("code") == "10000":
            return OrderStatus(
                out_trade_no, OrderState.CLOSED, trade_no=answer.get("trade_no"),
                channel_state="TRADE_CLOSED",
            )  # fmt: skip
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return OrderStatus(out_trade_no, OrderState.NOT_FOUND, channel_state="TRADE_NOT_EXIST")
        if answer.get("sub_code") == "ACQ.TRADE_STATUS_ERROR":
            # Paid (or closed) meanwhile: the query says which.
            return self.query(out_trade_no)
        self._refuse_unless_success(answer, out_trade_no)
        raise AssertionError("unreachable")

    def cancel(self, out_trade_no: str) -> OrderStatus:
        answer = self._call(
            "alipay.trade.cancel",
            lambda: self.client.api_alipay_trade_cancel(out_trade_no=out_trade_no),
        )
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return OrderStatus(out_trade_no, OrderState.NOT_FOUND, channel_state="TRADE_NOT_EXIST")
        if answer.get("code") == "10000" and answer.get("retry_flag", "N") == "N":
            refunded = answer.get("action") == "refund"
            return OrderStatus(
                out_trade_no, OrderState.REFUNDED if refunded else OrderState.CLOSED,
                trade_no=answer.get("trade_no"), channel_state="TRADE_CLOSED",
            )  # fmt: skip
        if answer.get("code") == "10000":
            # retry_flag=Y: Alipay could not finish the reversal yet; the outcome is unknown.
            raise PaymentTimeout("alipay: cancel asks for a retry", channel=self.id,
                                 ref=out_trade_no, upstream_code="retry_flag=Y")  # fmt: skip
        self._refuse_unless_success(answer, out_trade_no)
        raise AssertionError("unreachable")

    def statement(self, day: dt.date) -> list[StatementLine]:
        answer = self._call(
            "alipay.data.dataservice.bill.downloadurl.query",
            lambda: self.client.server_api(
                "alipay.data.dataservice.bill.downloadurl.query",
                {"bill_type": "trade", "bill_date": day.isoformat()},
            ),
        )
        self._refuse_unless_success(answer, "")
        url = str(answer.get("bill_download_url", ""))
        data = self._call("bill download", lambda: _download(url, self.timeout_s))
        try:
            return list(_statement_lines(data))
        except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError) as err:
            raise PaymentBadResponse(f"alipay: unreadable statement: {err}", channel=self.id) from err

    # --- internals ---------------------------------------------------------------------

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        """One SDK call, its failures as the kiosk's payment errors (851–854)."""
        try:
            return call()
        except AliPayValidationError as err:
            raise PaymentBadResponse(f"alipay {what}: the answer's signature does not verify",
                                     channel=self.id) from err  # fmt: skip
        except AliPayException as err:
            # An unsigned answer: the gateway refused the request itself (a bad signature
            # of ours, an unknown app_id), before any trade was looked at.
            code = getattr(err, "_AliPayException__code", "")  # the SDK keeps it private
            raise PaymentRefused(f"alipay {what}: refused unsigned: {err}",
                                 channel=self.id, upstream_code=str(code)) from err  # fmt: skip
        except urllib.error.HTTPError as err:
            raise PaymentBadResponse(f"alipay {what}: HTTP {err.code}", channel=self.id) from err
        except urllib.error.URLError as err:
            if isinstance(err.reason, (TimeoutError, socket.timeout)):
                raise PaymentTimeout(f"alipay {what}: no answer", channel=self.id) from err
            raise PaymentChannelUnreachable(f"alipay {what}: {err.reason}",
                                            channel=self.id) from err  # fmt: skip
        except (TimeoutError, socket.timeout) as err:
            raise PaymentTimeout(f"alipay {what}: no answer in time", channel=self.id) from err
        except (ConnectionError, OSError) as err:
            raise PaymentChannelUnreachable(f"alipay {what}: {err}", channel=self.id) from err
        except ValueError as err:  # not JSON
            raise PaymentBadResponse(f"alipay {what}: unreadable answer", channel=self.id) from err

    def _refuse_unless_success(self, answer: dict[str, Any], out_trade_no: str) -> None:
        code = str(answer.get("code", ""))
        if code == "10000":
            return
        if code == "20000":
            raise PaymentTimeout(f"alipay: service unavailable ({answer.get('sub_code')})",
                                 channel=self.id, ref=out_trade_no,
                                 upstream_code=str(answer.get("sub_code") or code))  # fmt: skip
        raise PaymentRefused(
            f"alipay: {code} {answer.get('sub_code')} {answer.get('sub_msg', '')}",
            channel=self.id, ref=out_trade_no,
            upstream_code=str(answer.get("sub_code") or code),
        )  # fmt: skip

    def _fen(self, answer: dict[str, Any], field: str, out_trade_no: str) -> int:
        try:
            return fen(str(answer[field]))
        except (KeyError, ValueError) as err:
            raise PaymentBadResponse(f"alipay: {field} missing or not yuan", channel=self.id,
                                     ref=out_trade_no) from err  # fmt: skip



class _BeijingTimeAliPay(AliPay):
    """The SDK stamps requests with ``datetime.now()``, the machine's local time; Alipay reads
    ``timestamp`` as Beijing time and refuses one more than minutes off. A kiosk whose clock
    runs in UTC would be refused, so the stamp is made in Beijing time whatever the zone."""

    def build_body(self, method: str, biz_content: Any = None, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().build_body(method, biz_content, **kwargs)
        data["timestamp"] = dt.datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        return data


def _download(url: str, timeout_s: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout_s) as answer:  # noqa: S310 - https in prod
        data: bytes = answer.read()
    return data


def _statement_lines(data: bytes) -> list[StatementLine]:
    """The lines of Alipay's statement zip: the detail CSV (业务明细), GBK, with ``#`` comment
    lines above and below the table."""
    lines: list[StatementLine] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        detail = next(n for n in archive.namelist() if n.endswith("业务明细.csv"))
        text = archive.read(detail).decode("gbk")
    table = [line for line in text.splitlines() if line and not line.startswith("#")]
    for row in csv.DictReader(table):
        kind = "refund" if row[COL_KIND].strip() == "退款" else "pay"
        lines.append(
            StatementLine(
                out_trade_no=row[COL_OUT_TRADE_NO].strip(),
                trade_no=row[COL_TRADE_NO].strip(),
                kind=kind,
                amount_fen=abs(fen(row[COL_AMOUNT].strip().lstrip("-"))),
                at=row[COL_FINISHED].strip(),
            )
        )
    return lines
