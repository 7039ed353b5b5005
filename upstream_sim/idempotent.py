"""Idempotency-Key handling for the simulated platform's state-changing calls.

As on the real platform (and Stripe, whose rules it follows): the first request with a key is
carried out and its answer kept; a repeat with the same key and the same body gets the kept
answer and changes nothing; a repeat with the same key and another body is refused
(``IDEMPOTENCY_KEY_REUSED``, 422). Concurrent repeats wait for the first: a kiosk that retries
while the first attempt is still being processed must not change state twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

from upstream_sim.server import Request, Response, refused


class IdempotentReplies:
    """The kept answers of one endpoint, by key."""

    def __init__(self) -> None:
        self._answers: dict[str, tuple[str, Response]] = {}
        self._lock = threading.Lock()

    def answer(self, request: Request, carry_out: Callable[[Any], Response]) -> Response:
        """Answer ``request`` once per key.

        A request without an ``Idempotency-Key`` is refused (``IDEMPOTENCY_KEY_REQUIRED``,
        400): a change a kiosk cannot safely repeat is not accepted from it.
        """
        key = request.headers.get("idempotency-key", "").strip()
        if not key or len(key) > 128:
            return refused(400, "IDEMPOTENCY_KEY_REQUIRED", "缺少请求幂等键")
        digest = hashlib.sha256(
            json.dumps(request.body, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        # One lock for the whole endpoint: a second attempt waits for the first to finish.
        with self._lock:
            kept = self._answers.get(key)
            if kept is not None:
                if kept[0] != digest:
                    return refused(422, "IDEMPOTENCY_KEY_REUSED", "幂等键已用于其他请求")
                return kept[1]
            response = carry_out(request.body)
            if response.status < 500:
                self._answers[key] = (digest, response)
            return response
