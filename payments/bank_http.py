"""The one HTTP path from the kiosk to a bank channel (ICBC, CCB): a form POST, a JSON answer,
and the transport's failures as the kiosk's payment errors (851–854).

No call is retried here: a payment call that changes state is settled by the flow with a
query, never by sending it blind a second time.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from core.errors import PaymentBadResponse, PaymentChannelUnreachable, PaymentTimeout

CONNECT_TIMEOUT_S = 2.0


class BankHttp:
    """Form POSTs to one bank gateway.

    Args:
        base_url: the gateway (``https://gw.open.icbc.com.cn``; the simulator's URL).
        channel: the channel's id, carried in errors.
        timeout_s: the read timeout of one call.
    """

    def __init__(self, base_url: str, channel: str, timeout_s: float = 6.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.channel = channel
        self.timeout = (CONNECT_TIMEOUT_S, timeout_s)
        self.session = requests.Session()

    def post(self, path: str, form: dict[str, str]) -> tuple[str, dict[str, Any]]:
        """POST ``form`` to ``path``: the answer's text (what its signature covers) and JSON.

        Raises:
            PaymentChannelUnreachable (851), PaymentTimeout (852): no answer; the outcome of
                a call that changes state is unknown.
            PaymentBadResponse (854): an HTTP error or an answer that is not a JSON object.
        """
        try:
            resp = self.session.post(self.base_url + path, data=form, timeout=self.timeout)
        except requests.Timeout as err:
            raise PaymentTimeout(f"{self.channel} {path}: no answer in time",
                                 channel=self.channel) from err  # fmt: skip
        except requests.RequestException as err:
            raise PaymentChannelUnreachable(f"{self.channel} {path}: {err}",
                                            channel=self.channel) from err  # fmt: skip
        if resp.status_code != 200:
            raise PaymentBadResponse(f"{self.channel} {path}: HTTP {resp.status_code}",
                                     channel=self.channel)  # fmt: skip
        text = resp.content.decode("utf-8", errors="replace")
        try:
            data = json.loads(text)
        except ValueError as err:
            raise PaymentBadResponse(f"{self.channel} {path}: not JSON",
                                     channel=self.channel) from err  # fmt: skip
        if not isinstance(data, dict):
            raise PaymentBadResponse(f"{self.channel} {path}: not an object", channel=self.channel)
        return text, data

    def close(self) -> None:
        self.session.close()


def object_text(raw: str, key: str) -> str:
    """The exact text of the JSON object under ``key`` in ``raw``: what a gateway signed (the
    same extraction python-alipay-sdk makes of Alipay's answers).

    Raises:
        ValueError: ``key`` holds no object.
    """
    start = raw.find("{", raw.find(f'"{key}"') + len(key) + 2)
    if raw.find(f'"{key}"') < 0 or start < 0:
        raise ValueError(f"no object under {key!r}")
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(raw)):
        c = raw[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return raw[start : i + 1]
    raise ValueError(f"unterminated object under {key!r}")
