"""A notification gateway (短信/即时消息网关) on loopback, for the collector's tests and the demo.

It answers like the SMS webhooks halls buy (an HTTP POST per message, JSON answer, an
``Idempotency-Key`` honoured as the big SMS platforms honour an out-id): a repeated key with
the same body gets the first answer and is not delivered again. Faults come from
:class:`upstream_sim.server.UpstreamServer` (``slow``, ``error500``, ``timeout`` …).

``GET /api/v1/messages`` lists what was delivered (the phones' inbox), for a test or a
technician watching the demo.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from typing import Any

from upstream_sim.idempotent import IdempotentReplies
from upstream_sim.server import Request, Response, Route, UpstreamServer, ok, refused

TITLE = "通知网关（模拟）"
MAX_TEXT = 500
_MOBILE = re.compile(r"^1\d{10}$")


@dataclass(frozen=True)
class Delivered:
    message_id: str
    channel: str
    to: str
    text: str
    tag: str


class NotifyGateway:
    """The gateway's state: what it delivered, in order."""

    def __init__(self) -> None:
        self.delivered: list[Delivered] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._replies = IdempotentReplies()

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/api/v1/messages", self._post, _POST_DOC),
            Route("GET", "/api/v1/messages", self._list, _LIST_DOC),
        ]

    def _post(self, request: Request) -> Response:
        return self._replies.answer(request, self._deliver)

    def _deliver(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return refused(400, "BAD_REQUEST", "需要 JSON 对象")
        channel, to, text = body.get("channel"), str(body.get("to", "")), body.get("text")
        if channel not in ("sms", "im"):
            return refused(400, "BAD_CHANNEL", "不支持的消息通道")
        if not _MOBILE.match(to):
            return refused(400, "INVALID_RECIPIENT", "手机号码无效")
        if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
            return refused(400, "BAD_TEXT", f"消息内容为空或超过{MAX_TEXT}字")
        with self._lock:
            message_id = f"msg-{next(self._ids):06d}"
            tag = str(body.get("tag", ""))
            self.delivered.append(Delivered(message_id, channel, to, text, tag))
        return ok({"message_id": message_id})

    def _list(self, request: Request) -> Response:
        with self._lock:
            return ok({"messages": [d.__dict__ for d in self.delivered]})


def notify_gateway_server(port: int = 0) -> tuple[UpstreamServer, NotifyGateway]:
    """The simulator, not yet started: ``server.start()``; ``gateway.delivered`` in tests."""
    gateway = NotifyGateway()
    return UpstreamServer(TITLE, gateway.routes(), port=port), gateway


_POST_DOC: dict[str, Any] = {
    "operationId": "sendMessage",
    "tags": ["通知"],
    "summary": "Deliver one SMS or IM message; a repeated Idempotency-Key is delivered once",
    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True,
                    "schema": {"type": "string", "maxLength": 128}}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["channel", "to", "text"],
        "properties": {
            "channel": {"type": "string", "enum": ["sms", "im"]},
            "to": {"type": "string", "description": "11-digit mobile number"},
            "text": {"type": "string", "maxLength": MAX_TEXT},
            "tag": {"type": "string", "description": "warning or bad_rating"},
        },
    }}}},
    "responses": {
        "200": {"description": "delivered: data.message_id"},
        "400": {"description":
                "INVALID_RECIPIENT, BAD_CHANNEL, BAD_TEXT, IDEMPOTENCY_KEY_REQUIRED"},
        "422": {"description": "IDEMPOTENCY_KEY_REUSED with another body"},
    },
}
_LIST_DOC: dict[str, Any] = {
    "operationId": "listMessages",
    "tags": ["通知"],
    "summary": "Simulator only: every message delivered, oldest first",
    "responses": {"200": {"description": "data.messages"}},
}  # fmt: skip
