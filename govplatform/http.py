"""The one HTTP path from a kiosk to the government platform (政务服务平台).

Every domain client of :mod:`govplatform` (the item catalog, bookings, cases, queries,
certificates, forms) calls the platform through :class:`PlatformHttp`, so timeouts, retries and
errors behave the same everywhere:

* **Timeouts.** A connect timeout of 2 s and a read timeout of 6 s by default: a village
  terminal's uplink is slow, but a citizen will not wait longer than that for one screen.
* **No personal data in a URL.** A lookup by a citizen's ID number (or name) is a POST with
  its parameters in the JSON body (:meth:`PlatformHttp.lookup`): a URL is written to access
  logs, proxies' logs and urllib3's debug lines, a body is not. :meth:`PlatformHttp.get` is
  for what is not personal (the catalog, slots, a case by its number).
* **Retries only where the call is idempotent** (the rule is in :meth:`PlatformHttp._send`).
  A GET and a POST lookup are retried after a connection error, a timeout or a
  500/502/503/504 (three attempts, 0.3 s then 0.6 s apart). Any other POST is retried only
  when it carries an ``Idempotency-Key``, which the platform uses to answer a repeat with its
  first result; without one it is sent once and a lost answer is a
  :class:`~core.errors.PlatformTimeout` whose outcome the caller must settle by asking again.
* **Typed errors with codes** (800–849, ``docs/error-codes.md``): unreachable 801, timeout 802,
  server error 803, unreadable answer 804, refused on its merits 805, not found 806.

The platform's envelope (``docs/gov-platform.md``): every answer is JSON
``{"code": "0", "message": "...", "data": ...}``; a refusal is an HTTP 4xx whose ``code`` is
the platform's own reason (``BOOKING_LIMIT``), passed on in ``details['upstream_code']``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from core.errors import (
    PlatformBadResponse,
    PlatformNotFound,
    PlatformRefused,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnreachable,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 6.0
ATTEMPTS = 3
BACKOFF_S = 0.3
#: Answers after which an idempotent call is sent again.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: The largest answer read; a platform page is far smaller.
MAX_ANSWER_BYTES = 8 * 1024 * 1024


class PlatformHttp:
    """JSON over HTTP to the platform, with the rules above.

    Args:
        base_url: the platform's address (``http://127.0.0.1:8700``), without a trailing
            slash; the paths of ``docs/gov-platform.md`` are appended.
        kiosk_id: this terminal, sent as ``X-Terminal-Id`` so the platform can tell terminals
            apart in its own logs.
        connect_timeout_s, read_timeout_s: see above.
        attempts: how many times an idempotent call is tried.
    """

    def __init__(
        self,
        base_url: str,
        kiosk_id: str,
        *,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
        attempts: int = ATTEMPTS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.attempts = max(1, attempts)
        self.session = requests.Session()
        # Retries are ours (only for idempotent calls); urllib3's would retry POSTs too.
        self.session.mount("http://", HTTPAdapter(max_retries=0))
        self.session.mount("https://", HTTPAdapter(max_retries=0))
        self.session.headers.update({"X-Terminal-Id": kiosk_id, "Accept": "application/json"})

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path``; the ``data`` of the answer. Retried (it changes nothing).

        ``params`` go into the URL: nothing personal (an ID number, a name) belongs there;
        such a lookup is :meth:`lookup`.

        Raises:
            PlatformError: one of 801–806.
        """
        return self._call("GET", path, params=params, body=None, key=None, idempotent=True)

    def lookup(self, path: str, body: dict[str, Any]) -> Any:
        """POST a lookup whose parameters are personal (a citizen's ID number) in its JSON
        body, so that no URL carries them; the ``data`` of the answer. Retried like a GET:
        a lookup reads and changes nothing, whatever the method that carries it.

        Raises:
            PlatformError: one of 801–806.
        """
        return self._call("POST", path, params=None, body=body, key=None, idempotent=True)

    def post(self, path: str, body: dict[str, Any], *, idempotency_key: str | None = None) -> Any:
        """POST ``body`` to ``path``; the ``data`` of the answer.

        Args:
            idempotency_key: a key unique to this one change (a booking's order number);
                with it the call is retried and the platform answers a repeat with its first
                result; without it the call is sent once.

        Raises:
            PlatformError: one of 801–806. A :class:`PlatformTimeout` or
                :class:`PlatformUnreachable` after the request may have reached the platform
                leaves the change's outcome unknown.
        """
        return self._call(
            "POST", path, params=None, body=body, key=idempotency_key,
            idempotent=bool(idempotency_key),
        )  # fmt: skip

    def get_bytes(self, path: str, params: dict[str, Any] | None = None) -> tuple[bytes, str]:
        """GET a document (a certificate's PDF): its bytes and content type. Retried.

        Raises:
            PlatformError: one of 801–806.
        """
        resp = self._send("GET", path, params=params, body=None, key=None, idempotent=True)
        if resp.status_code != 200:
            self._raise_for(resp, path)
        return resp.content, resp.headers.get("Content-Type", "application/octet-stream")

    def close(self) -> None:
        self.session.close()

    # --- internals ------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        body: dict[str, Any] | None,
        key: str | None,
        idempotent: bool,
    ) -> Any:
        resp = self._send(method, path, params=params, body=body, key=key, idempotent=idempotent)
        if resp.status_code >= 300:
            self._raise_for(resp, path)
        envelope = _json_of(resp, path)
        if not isinstance(envelope, dict) or "data" not in envelope:
            raise PlatformBadResponse(f"{path}: answer has no 'data'", path=path)
        return envelope["data"]

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        body: dict[str, Any] | None,
        key: str | None,
        idempotent: bool,
    ) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        url = self.base_url + path
        # The retry rule. Only an idempotent call is sent again, as a repeat changes nothing:
        # a GET; a POST lookup (it only reads: POST carries the ID number in the body, out of
        # the URL, and makes it no less safe to repeat); a POST with an Idempotency-Key (the
        # platform answers a repeat with its first result). Any other POST is sent once.
        tries = self.attempts if idempotent else 1
        for attempt in range(1, tries + 1):
            try:
                resp = self.session.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self.timeout,
                    stream=True,
                )
                _read_capped(resp, path)
            except requests.Timeout as err:
                failure: Exception = PlatformTimeout(
                    f"{method} {path}: {_scrubbed(err)}", path=path
                )
            except (requests.ConnectionError, OSError) as err:
                # requests reports a read timeout inside the body as a ConnectionError.
                kind = PlatformTimeout if "timed out" in str(err) else PlatformUnreachable
                failure = kind(f"{method} {path}: {_scrubbed(err)}", path=path)
            else:
                if resp.status_code not in RETRY_STATUSES or attempt == tries:
                    return resp
                failure = PlatformServerError(
                    f"{method} {path}: HTTP {resp.status_code}", path=path, status=resp.status_code
                )
            if attempt == tries:
                raise failure
            log.info("platform %s %s: %s, attempt %d of %d", method, path, failure, attempt, tries)
            time.sleep(BACKOFF_S * attempt)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _raise_for(self, resp: requests.Response, path: str) -> None:
        status = resp.status_code
        if status >= 500:
            raise PlatformServerError(f"{path}: HTTP {status}", path=path, status=status)
        try:
            envelope = json.loads(resp.content)
        except ValueError:
            envelope = None
        upstream = envelope.get("code") if isinstance(envelope, dict) else None
        message = envelope.get("message") if isinstance(envelope, dict) else None
        details = {"path": path, "status": status, "upstream_code": str(upstream or status)}
        if status == 404:
            raise PlatformNotFound(f"{path}: {message or 'not found'}", **details)
        raise PlatformRefused(f"{path}: {message or f'HTTP {status}'}", **details)


def _scrubbed(err: BaseException) -> str:
    """An error's text without any URL query: requests puts the whole URL in it, and an
    error may be journaled and leave the kiosk. No query carries personal data (ID and
    account numbers go in a body, :meth:`PlatformHttp.lookup`), but one may still carry what
    a citizen typed (a search's words)."""
    return re.sub(r"\?[^\s)'\"]*", "?…", str(err))


def _read_capped(resp: requests.Response, path: str) -> None:
    """Read the body, refusing one larger than :data:`MAX_ANSWER_BYTES` (a hostile or broken
    platform cannot fill the kiosk's memory)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            resp.close()
            raise PlatformBadResponse(
                f"{path}: answer larger than {MAX_ANSWER_BYTES} bytes", path=path
            )
        chunks.append(chunk)
    resp._content = b"".join(chunks)  # requests' own cache of the body: .content reads it


def _json_of(resp: requests.Response, path: str) -> Any:
    try:
        return json.loads(resp.content)
    except ValueError as err:
        raise PlatformBadResponse(f"{path}: answer is not JSON ({err})", path=path) from err
