"""A TCP proxy on loopback that a test controls: the LAN between a device and the hall box.

It forwards every connection to its target until the test cuts it:

* :meth:`TcpProxy.cut` closes every open connection and, until :meth:`TcpProxy.restore`,
  refuses new ones (accepts and closes them at once: ``refuse``) or holds them open without
  forwarding a byte (``blackhole``: the client sees a timeout, as with a dead switch port);
* :meth:`TcpProxy.cut_after_request` arms a cut for the moment a request is in flight: once a
  client sends bytes containing a pattern (``b"POST /v1/windows/3/call"``), they are forwarded
  to the server, but nothing more goes back to any client; when the server's answer to that
  request arrives, the proxy cuts. The server has acted; the client never hears of it.

Every client→server chunk is kept in :attr:`TcpProxy.sent` (for a test to read headers such
as ``Idempotency-Key``). The proxy is bounded: it stops by itself after ``lifetime`` seconds,
and :meth:`close` stops it at once (also as a context manager).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from types import TracebackType

REFUSE = "refuse"
BLACKHOLE = "blackhole"


class _Pair:
    """One proxied connection: the client's socket and the server's."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        #: This connection carried the armed request: its answer triggers the cut.
        self.trigger = False

    def close(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``target`` until told otherwise.

    Args:
        target: ``(host, port)`` of the server.
        lifetime: seconds after which the proxy stops by itself.
    """

    def __init__(self, target: tuple[str, int], lifetime: float = 120.0) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.address: tuple[str, int] = ("127.0.0.1", int(self._listener.getsockname()[1]))
        self._deadline = time.monotonic() + lifetime
        self._lock = threading.Lock()
        self._pairs: set[_Pair] = set()
        self._held: list[socket.socket] = []
        self._mode: str | None = None  # None: forwarding; else REFUSE or BLACKHOLE
        self._hold_replies = False
        self._armed: tuple[bytes, str] | None = None
        self._stop = threading.Event()
        #: Set when an armed cut happened.
        self.tripped = threading.Event()
        #: Every chunk a client sent, in order.
        self.sent: list[bytes] = []
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    @property
    def hall_box(self) -> str:
        """``host:port`` to give a device instead of the hall box's."""
        return "{}:{}".format(*self.address)

    # --- control -------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def cut(self, mode: str = REFUSE) -> None:
        """Close every connection; refuse or black-hole new ones until :meth:`restore`."""
        if mode not in (REFUSE, BLACKHOLE):
            raise ValueError(f"mode must be {REFUSE!r} or {BLACKHOLE!r}")
        with self._lock:
            self._mode = mode
            self._armed = None
            pairs, self._pairs = list(self._pairs), set()
        for pair in pairs:
            pair.close()

    def cut_after_request(self, pattern: bytes, mode: str = REFUSE) -> None:
        """Cut (with ``mode``) when the server answers the request containing ``pattern``;
        from the moment that request goes through, no byte reaches any client."""
        with self._lock:
            self._armed = (pattern, mode)

    def restore(self) -> None:
        """Forward again (held black-holed connections are closed: their clients retry)."""
        with self._lock:
            self._mode = None
            self._armed = None
            self._hold_replies = False
            held, self._held = self._held, []
        for sock in held:
            with contextlib.suppress(OSError):
                sock.close()

    @property
    def is_cut(self) -> bool:
        with self._lock:
            return self._mode is not None

    def close(self) -> None:
        """Stop: close the listener and every connection."""
        self._stop.set()
        self.cut()
        self.restore()
        with contextlib.suppress(OSError):
            self._listener.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------

    def _accept(self) -> None:
        try:
            while not self._stop.is_set():
                if time.monotonic() > self._deadline:
                    break
                try:
                    client, _ = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    break
                with self._lock:
                    mode = self._mode
                if mode == REFUSE:
                    client.close()
                    continue
                if mode == BLACKHOLE:
                    with self._lock:
                        self._held.append(client)
                    continue
                try:
                    server = socket.create_connection(self.target, timeout=2.0)
                except OSError:
                    client.close()
                    continue
                server.settimeout(None)
                pair = _Pair(client, server)
                with self._lock:
                    self._pairs.add(pair)
                threading.Thread(target=self._pump, args=(pair,), daemon=True).start()
        finally:
            if not self._stop.is_set():
                self.close()

    def _pump(self, pair: _Pair) -> None:
        """Both directions of one connection, until either side closes or the proxy cuts."""
        socks = [pair.client, pair.server]
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select(socks, [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is pair.client:
                        self._upstream(pair, data)
                    elif not self._downstream(pair, data):
                        return
        except (OSError, ValueError):
            return  # cut, or closed by either side
        finally:
            with self._lock:
                self._pairs.discard(pair)
            pair.close()

    def _upstream(self, pair: _Pair, data: bytes) -> None:
        with self._lock:
            self.sent.append(data)
            armed = self._armed
            if armed is not None and armed[0] in data:
                pair.trigger = True
                self._hold_replies = True
        pair.server.sendall(data)

    def _downstream(self, pair: _Pair, data: bytes) -> bool:
        """Forward a server's bytes unless replies are held; False when this cut the line."""
        with self._lock:
            hold, armed = self._hold_replies, self._armed
        if not hold:
            pair.client.sendall(data)
            return True
        if pair.trigger and armed is not None:
            self.cut(armed[1])  # the server answered the armed request: the line goes now
            self.tripped.set()
            return False
        return True  # swallowed: the line is about to go
