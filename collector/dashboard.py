"""The hall managers' dashboard: one Chinese page and one JSON endpoint, standard library only.

``/`` serves ``collector/web/index.html``, which polls ``/api/state`` and renders the queue of
every service and the active tidal-window warnings. The server binds to loopback unless told
otherwise: the page is for the managers' intranet, behind whatever proxy the hall uses.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from core.errors import ConfigError

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"
LOOPBACK = "127.0.0.1"

#: The only files the server hands out, with their content types.
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}

StateSource = Callable[[], dict[str, Any]]


class Dashboard:
    """An HTTP server for the manager page, on its own thread.

    Args:
        state: returns what ``/api/state`` answers, e.g.
            :meth:`collector.service.CollectorService.dashboard_state`. Called on an HTTP
            thread for every poll, so it must be thread-safe.
        host: address to bind; loopback by default.
        port: port to bind; 0 picks a free one (see :attr:`url`).
    """

    def __init__(self, state: StateSource, host: str = LOOPBACK, port: int = 0) -> None:
        self._state = state
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
            server = ThreadingHTTPServer((self._host, self._port), _handler_for(self._state))
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


def _handler_for(state: StateSource) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "HallEdgeDashboard/1"

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            path = self.path.split("?", 1)[0]
            if path == "/api/state":
                self._send_state()
            elif path in STATIC:
                name, content_type = STATIC[path]
                self._send(HTTPStatus.OK, (WEB_DIR / name).read_bytes(), content_type)
            else:
                self._send(HTTPStatus.NOT_FOUND, "未找到页面".encode(), "text/plain; charset=utf-8")

        def _send_state(self) -> None:
            try:
                body = json.dumps(state(), ensure_ascii=False).encode("utf-8")
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
