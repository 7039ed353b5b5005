"""The hall managers' dashboard: one Chinese page and one JSON endpoint, standard library only.

``/`` serves ``collector/web/index.html``, which polls ``/api/state`` and renders the queue of
every service and the active tidal-window warnings. ``POST /api/ratings/<id>/follow-up`` moves a
bad rating's follow-up on (``docs/tidal.md``): a JSON body ``{"state", "by", "note"}``, and
only with ``Content-Type: application/json``, which a cross-site form cannot send without a
CORS preflight this server never grants. The server binds to loopback unless told
otherwise: the page is for the managers' intranet, behind whatever proxy the hall uses.

``/wall`` is the wall screen (大屏, ``docs/wall-screen.md``): it polls ``/api/state`` and
``/api/kpis`` (the day's KPIs, the floor plan with each window's state, the trends against
the baseline). ``PUT /api/platform-totals/<hall>/<day>`` keeps the platform's daily totals,
the denominator of 自助机办件率 (``collector/platform_totals.py``), under the same JSON-only rule.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.errors import BadRatingNotFound, ConfigError, FollowUpInvalid

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"
LOOPBACK = "127.0.0.1"

#: The only files the server hands out, with their content types.
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/wall": ("wall.html", "text/html; charset=utf-8"),
    "/wall.js": ("wall.js", "text/javascript; charset=utf-8"),
    "/wall.css": ("wall.css", "text/css; charset=utf-8"),
}

StateSource = Callable[[], dict[str, Any]]
#: The KPIs of the halls asked for (``/api/kpis?hall=A&hall=B``), or of the default halls.
KpiSource = Callable[[list[str] | None], dict[str, Any]]
#: ``follow_up(rating_id, state, by, note)`` → the rating as JSON
#: (:meth:`collector.service.CollectorService.follow_up`).
FollowUp = Callable[[int, str, str, str], dict[str, Any]]
_FOLLOW_UP_PATH = re.compile(r"^/api/ratings/(\d{1,12})/follow-up$")
_TOTALS_PATH = re.compile(r"^/api/platform-totals/([A-Za-z0-9_.-]{1,64})/(\d{4}-\d{2}-\d{2})$")
#: ``save(hall, day, body)`` → a summary (:meth:`CollectorService.save_platform_totals`);
#: raises ValueError for a body it refuses.
SaveTotals = Callable[[str, str, dict[str, Any]], dict[str, Any]]
MAX_POST_BYTES = 16 * 1024
#: A day's totals list every item of the hall: larger than a follow-up step.
MAX_TOTALS_BYTES = 1024 * 1024


class Dashboard:
    """An HTTP server for the manager page, on its own thread.

    Args:
        state: returns what ``/api/state`` answers, e.g.
            :meth:`collector.service.CollectorService.dashboard_state`. Called on an HTTP
            thread for every poll, so it must be thread-safe.
        host: address to bind; loopback by default.
        port: port to bind; 0 picks a free one (see :attr:`url`).
        follow_up: moves a bad rating's follow-up on; None answers the POST with 404.
        kpis: returns what ``/api/kpis`` answers (:meth:`CollectorService.kpi_state`),
            given the halls the request asks for (``?hall=A&hall=B``; None when it names
            none); None answers 404 and the wall screen says so.
        platform_totals: keeps the platform's daily totals; None answers the PUT with 404.
    """

    def __init__(
        self,
        state: StateSource,
        host: str = LOOPBACK,
        port: int = 0,
        follow_up: FollowUp | None = None,
        kpis: KpiSource | None = None,
        platform_totals: SaveTotals | None = None,
    ) -> None:
        self._state = state
        self._follow_up = follow_up
        self._kpis = kpis
        self._totals = platform_totals
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:38517/``. Valid after :meth:`start`."""
        if self._server is None:
            raise RuntimeError("dashboard is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> str:
        """Bind and serve in the background.

        Returns:
            The page's URL.

        Raises:
            ConfigError (100): the address cannot be bound (port taken, bad host).
        """
        try:
            handler = _handler_for(self._state, self._follow_up, self._kpis, self._totals)
            server = ThreadingHTTPServer((self._host, self._port), handler)
        except OSError as err:
            raise ConfigError(
                f"cannot serve the dashboard on {self._host}:{self._port}: {err}",
                host=self._host,
                port=self._port,
            ) from err
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._server = None
        self._thread = None

    def __enter__(self) -> Dashboard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(
    state: StateSource,
    follow_up: FollowUp | None,
    kpis: KpiSource | None = None,
    totals: SaveTotals | None = None,
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "HallEdgeDashboard/1"

        def do_PUT(self) -> None:  # noqa: N802 (the stdlib's name)
            found = _TOTALS_PATH.match(self.path.split("?", 1)[0])
            if found is None or totals is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not_found", "message": "未找到页面"})
                return
            body = self._json_body()
            if body is None:
                return
            try:
                self._json(HTTPStatus.OK, totals(found.group(1), found.group(2), body))
            except (ValueError, KeyError, TypeError) as err:
                self._json(HTTPStatus.BAD_REQUEST, {"error": "bad_request",
                                                    "message": f"平台总量格式有误：{err}"})  # fmt: skip

        def _json_body(self) -> dict[str, Any] | None:
            """The request's JSON object, or None after answering 415/413/400."""
            length = int(self.headers.get("Content-Length") or 0)
            if "application/json" not in self.headers.get("Content-Type", ""):
                self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                           {"error": "json_required", "message": "请求须为 JSON"})  # fmt: skip
                return None
            if length > MAX_TOTALS_BYTES:
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                           {"error": "too_large", "message": "请求过大"})  # fmt: skip
                return None
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError as err:
                self._json(HTTPStatus.BAD_REQUEST, {"error": "bad_request",
                                                    "message": f"请求格式有误：{err}"})  # fmt: skip
                return None
            if not isinstance(body, dict):
                self._json(HTTPStatus.BAD_REQUEST,
                           {"error": "bad_request", "message": "请求须为 JSON 对象"})  # fmt: skip
                return None
            return body

        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            found = _FOLLOW_UP_PATH.match(self.path.split("?", 1)[0])
            if found is None or follow_up is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not_found", "message": "未找到页面"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if "application/json" not in self.headers.get("Content-Type", ""):
                self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                           {"error": "json_required", "message": "请求须为 JSON"})  # fmt: skip
                return
            if length > MAX_POST_BYTES:
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                           {"error": "too_large", "message": "请求过大"})  # fmt: skip
                return
            try:
                body = json.loads(self.rfile.read(length) or b"null")
                if not isinstance(body, dict):
                    raise ValueError("not an object")
                step = (str(body["state"]), str(body.get("by", "")), str(body.get("note", "")))
            except (ValueError, KeyError) as err:
                self._json(HTTPStatus.BAD_REQUEST, {"error": "bad_request",
                                                    "message": f"请求格式有误：{err}"})  # fmt: skip
                return
            try:
                rating = follow_up(int(found.group(1)), *step)
            except (BadRatingNotFound, FollowUpInvalid) as err:
                missing = isinstance(err, BadRatingNotFound)
                status = HTTPStatus.NOT_FOUND if missing else HTTPStatus.CONFLICT
                self._json(status, {"error": err.key, "code": err.code, "message": _zh(err)})
                return
            self._json(HTTPStatus.OK, rating)

        def _json(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self._send(status, data, "application/json; charset=utf-8")

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            path = self.path.split("?", 1)[0]
            if path == "/api/state":
                self._send_state(state)
            elif path == "/api/kpis" and kpis is not None:
                asked = _asked_halls(self.path)
                self._send_state(lambda: kpis(asked))
            elif path in STATIC:
                name, content_type = STATIC[path]
                self._send(HTTPStatus.OK, (WEB_DIR / name).read_bytes(), content_type)
            else:
                self._send(HTTPStatus.NOT_FOUND, "未找到页面".encode(), "text/plain; charset=utf-8")

        def _send_state(self, source: StateSource) -> None:
            try:
                body = json.dumps(source(), ensure_ascii=False).encode("utf-8")
            except Exception:
                # A failing poll must show on the page as "数据暂不可用", not kill the server.
                log.exception("dashboard state failed")
                self._send(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    b'{"error": "state_unavailable"}',
                    "application/json",
                )
                return
            self._send(HTTPStatus.OK, body, "application/json; charset=utf-8")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("dashboard: " + format, *args)

    return Handler


def _asked_halls(path: str) -> list[str] | None:
    """The halls a request asks for: ``?hall=A&hall=B`` or ``?hall=A,B``; None for none."""
    query = parse_qs(urlsplit(path).query)
    halls = [h for value in query.get("hall", []) for h in value.split(",") if h]
    return list(dict.fromkeys(halls)) or None


def _zh(err: Exception) -> str:
    from core.strings_zh import ERROR_TEXT

    return ERROR_TEXT.get(getattr(err, "key", ""), str(err))
