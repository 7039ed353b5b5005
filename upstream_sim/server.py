"""The base of every upstream simulator: an HTTP server on loopback with a route table, an
OpenAPI description built from the routes, and faults injected on command.

An upstream (the government platform, a payment gateway, a bank) is a set of
:class:`Route` objects from its domain modules; :class:`UpstreamServer` serves them and merges
each route's OpenAPI fragment into ``GET /openapi.json``. No product package imports this (an
import-linter contract); tests and the demo start it.

Faults, for tests and for a technician trying a kiosk (``docs/gov-platform.md``, "Faults"):

=============  =================================================================
``slow``       answer after ``delay_s`` (default 3 s)
``error500``   HTTP 500 with a JSON error body
``malformed``  HTTP 200 whose body is not JSON
``timeout``    hold the request without answering for ``delay_s`` (default 30 s)
``refuse``     close the listening socket: connections are refused until cleared
=============  =================================================================

Each fault applies to paths starting with ``path_prefix`` (default every path) for the next
``count`` requests (default until cleared). Set them in process with :meth:`UpstreamServer.fault`
or over HTTP with ``POST /_sim/faults`` (``DELETE /_sim/faults`` clears); the ``/_sim`` paths
themselves are never faulted.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

FAULT_MODES = ("slow", "error500", "malformed", "timeout", "refuse")
MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Request:
    """What a route handler gets.

    Attributes:
        method: ``GET`` or ``POST`` ….
        path: the path without the query.
        params: path parameters by name (``{case_no}`` in the route's pattern).
        query: query parameters, each its last value.
        body: the parsed JSON body (None for none); a body that is not JSON is answered 400
            before any handler runs.
        headers: the request headers, names lower case.
        raw_body: the body's bytes (a form-encoded gateway call reads these).
    """

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    raw_body: bytes = b""

    def fields(self) -> dict[str, str]:
        """The JSON body's values as text (none when the body is not an object): a lookup's
        parameters, which the platform takes in the body so that no URL carries a citizen's
        ID number (``docs/gov-platform.md``, "Personal data")."""
        if not isinstance(self.body, dict):
            return {}
        return {k: "" if v is None else str(v) for k, v in self.body.items()}


@dataclass
class Response:
    """What a route handler returns: a status and a JSON value, or raw bytes with a type."""

    status: int = 200
    json: Any = None
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def ok(data: Any) -> Response:
    """The platform envelope for success: ``{"code": "0", "message": "成功", "data": data}``."""
    return Response(200, {"code": "0", "message": "成功", "data": data})


def refused(status: int, code: str, message: str) -> Response:
    """The platform envelope for a refusal on the merits (``code`` is the platform's own)."""
    return Response(status, {"code": code, "message": message, "data": None})


Handler = Callable[[Request], Response]


def lookup_body(required: Iterable[str], optional: Iterable[str] = ()) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a lookup by POST: a JSON object of text fields."""
    required = list(required)
    schema: dict[str, Any] = {"type": "object", "properties": {
        name: {"type": "string"} for name in [*required, *optional]}}  # fmt: skip
    if required:  # OpenAPI 3.0 (JSON Schema draft 5) wants at least one name in the list
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


@dataclass(frozen=True)
class Route:
    """One endpoint: ``GET /catalog/items/{item_code}`` and its handler.

    Attributes:
        method: the HTTP method.
        pattern: the path with ``{name}`` parameters.
        handler: called with the :class:`Request`.
        openapi: this operation's OpenAPI 3 object (summary, parameters, requestBody,
            responses), merged under ``paths[pattern][method]``.
    """

    method: str
    pattern: str
    handler: Handler
    openapi: dict[str, Any] = field(default_factory=dict)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = _compiled(self.pattern).fullmatch(path)
        return found.groupdict() if found else None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern not in _PATTERNS:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern))
        _PATTERNS[pattern] = re.compile(regex)
    return _PATTERNS[pattern]


@dataclass
class Fault:
    mode: str
    path_prefix: str = "/"
    count: int | None = None
    delay_s: float | None = None


class UpstreamServer:
    """An upstream simulator on ``127.0.0.1``.

    Args:
        title: the API's title in its OpenAPI description.
        routes: the endpoints served.
        port: 0 picks a free port (:attr:`port` says which).
        version: the API's version in its OpenAPI description.
    """

    def __init__(
        self, title: str, routes: Iterable[Route], port: int = 0, version: str = "1.0"
    ) -> None:
        self.title = title
        self.version = version
        self.routes = list(routes)
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._requested_port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: Open client connections and the threads serving them (guarded by ``_lock``).
        self._connections: dict[socket.socket, threading.Thread] = {}
        self.port = 0
        #: Every request served, oldest first: (method, path, status); tests read it. A
        #: request held by a ``timeout`` fault is logged with status 0 when it arrives.
        self.log: list[tuple[str, str, int]] = []

    # --- life -------------------------------------------------------------------------

    def start(self) -> UpstreamServer:
        self._listen(self._requested_port)
        return self

    def stop(self) -> None:
        self._stop_listening()

    def __enter__(self) -> UpstreamServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- faults -----------------------------------------------------------------------

    def fault(
        self,
        mode: str,
        *,
        path_prefix: str = "/",
        count: int | None = None,
        delay_s: float | None = None,
    ) -> None:
        """Inject a fault (see the module's table).

        Raises:
            ValueError: an unknown mode.
        """
        if mode not in FAULT_MODES:
            raise ValueError(f"fault mode {mode!r} not one of {FAULT_MODES}")
        with self._lock:
            self._faults.append(Fault(mode, path_prefix, count, delay_s))
        if mode == "refuse":
            self._stop_listening()

    def clear_faults(self) -> None:
        with self._lock:
            refusing = any(f.mode == "refuse" for f in self._faults)
            self._faults.clear()
        # Listen again only after a refuse fault: a server stopped (or not yet started) stays so.
        if refusing and self._httpd is None:
            self._listen(self.port)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.mode != "refuse" and path.startswith(fault.path_prefix):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # --- openapi ----------------------------------------------------------------------

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.0 description of every route."""
        paths: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            paths.setdefault(route.pattern, {})[route.method.lower()] = route.openapi or {
                "responses": {"200": {"description": "OK"}}
            }
        # The server's own endpoints are part of the API a tester reads.
        paths.setdefault("/openapi.json", {})["get"] = _OPENAPI_DOC
        paths.setdefault("/_sim/faults", {}).update(_FAULTS_DOC)
        return {
            "openapi": "3.0.3",
            "info": {"title": self.title, "version": self.version},
            "servers": [{"url": self.url if self.port else "http://127.0.0.1"}],
            "paths": dict(sorted(paths.items())),
        }

    # --- serving ----------------------------------------------------------------------

    def _listen(self, port: int) -> None:
        server = self

        class _Handler(_RequestHandler):
            upstream = server

        httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, name=f"upstream-{self.title}", daemon=True
        )
        self._thread.start()

    def _stop_listening(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        # Kept-alive connections outlive the listening socket: a stopped or refusing server
        # still answered on them (a client's pooled connection saw no outage). Reset them, as
        # a server that went away does; the thread asking (POST /_sim/faults) answers first.
        current = threading.current_thread()
        with self._lock:
            others = [c for c, t in self._connections.items() if t is not current]
        for connection in others:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def dispatch(self, request: Request) -> Response:
        """Answer one request (the HTTP handler calls this; tests may too)."""
        if request.path == "/openapi.json" and request.method == "GET":
            return Response(200, self.openapi())
        if request.path == "/_sim/faults":
            return self._faults_endpoint(request)
        for route in self.routes:
            params = route.match(request.method, request.path)
            if params is not None:
                request.params = params
                return route.handler(request)
        if any(_compiled(r.pattern).fullmatch(request.path) for r in self.routes):
            return refused(405, "METHOD_NOT_ALLOWED", "不支持的请求方法")
        return refused(404, "NOT_FOUND", "接口不存在")

    def _faults_endpoint(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.clear_faults()
            return ok({"faults": []})
        if request.method != "POST" or not isinstance(request.body, dict):
            return refused(400, "BAD_REQUEST", "需要 JSON 对象")
        try:
            self.fault(
                str(request.body.get("mode")),
                path_prefix=str(request.body.get("path_prefix", "/")),
                count=request.body.get("count"),
                delay_s=request.body.get("delay_s"),
            )
        except (ValueError, TypeError) as err:
            return refused(400, "BAD_REQUEST", str(err))
        return ok({"faults": len(self._faults)})


class _RequestHandler(BaseHTTPRequestHandler):
    upstream: UpstreamServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.upstream.title, *args)

    def setup(self) -> None:
        super().setup()
        with self.upstream._lock:
            self.upstream._connections[self.connection] = threading.current_thread()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.upstream._lock:
                self.upstream._connections.pop(self.connection, None)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._write(refused(413, "TOO_LARGE", "请求过大"))
            return
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        ctype = self.headers.get("Content-Type", "")
        if raw and "json" in ctype:
            try:
                body = json.loads(raw)
            except ValueError:
                self._write(refused(400, "BAD_JSON", "请求不是合法的 JSON"))
                return
        request = Request(
            method=method,
            path=split.path,
            params={},
            query={k: v[-1] for k, v in parse_qs(split.query).items()},
            body=body,
            headers={k.lower(): v for k, v in self.headers.items()},
            raw_body=raw,
        )
        fault = None if split.path.startswith("/_sim") else self.upstream._take_fault(split.path)
        if fault is not None and fault.mode == "timeout":
            # Logged with status 0 (no answer), so a test can count the attempts it held.
            self.upstream.log.append((method, split.path, 0))
            time.sleep(fault.delay_s if fault.delay_s is not None else 30.0)
            self.close_connection = True
            return
        if fault is not None and fault.mode == "slow":
            time.sleep(fault.delay_s if fault.delay_s is not None else 3.0)
        if fault is not None and fault.mode == "error500":
            response = refused(500, "INTERNAL_ERROR", "服务器内部错误")
        elif fault is not None and fault.mode == "malformed":
            response = Response(200, raw=b'{"code": "0", "data": {"trunc', content_type=ctype_json)
        else:
            try:
                response = self.upstream.dispatch(request)
            except Exception:  # a simulator bug answers 500, as a real server would
                log.exception("%s %s %s", self.upstream.title, method, split.path)
                response = refused(500, "INTERNAL_ERROR", "服务器内部错误")
        self.upstream.log.append((method, split.path, response.status))
        if self.upstream._httpd is None:
            # Stopped or refusing meanwhile: this answer is the connection's last.
            self.close_connection = True
        self._write(response)

    def _write(self, response: Response) -> None:
        payload = (
            response.raw
            if response.raw is not None
            else json.dumps(response.json, ensure_ascii=False).encode()
        )
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True


ctype_json = "application/json; charset=utf-8"


_OPENAPI_DOC: dict[str, Any] = {
    "operationId": "openapi",
    "tags": ["模拟器"],
    "summary": "This description (OpenAPI 3.0)",
    "responses": {"200": {"description": "the OpenAPI document"}},
}
_FAULTS_DOC: dict[str, Any] = {
    "post": {
        "operationId": "simFaultsSet",
        "tags": ["模拟器"],
        "summary": "Simulator only: inject a fault (slow, error500, malformed, timeout, refuse)",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["mode"],
                "properties": {
                    "mode": {"type": "string", "enum": list(FAULT_MODES)},
                    "path_prefix": {"type": "string", "default": "/"},
                    "count": {"type": "integer", "minimum": 1, "nullable": True,
                              "description": "the next N requests; absent: until cleared"},
                    "delay_s": {"type": "number", "nullable": True,
                                "description": "slow: default 3 s; timeout: default 30 s"},
                },
            }}},
        },
        "responses": {
            "200": {"description": "the fault is in force"},
            "400": {"description": "BAD_REQUEST: an unknown mode"},
        },
    },
    "delete": {
        "operationId": "simFaultsClear",
        "tags": ["模拟器"],
        "summary": "Simulator only: clear every fault (and listen again after refuse)",
        "responses": {"200": {"description": "no fault left"}},
    },
}  # fmt: skip
