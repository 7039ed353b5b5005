"""A driver for devices that speak LF-terminated UTF-8 lines over TCP.

The driver only moves lines: what ``CALL`` or ``RESULT`` mean lives in ``devices/``. Every
failure closes the connection, and the next use opens a new one; a reply that arrives after
its request timed out therefore dies with the old connection instead of being taken as the
answer to the next request.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from core.errors import BadResponse, DeviceTimeout, DeviceUnplugged, HallEdgeError
from protocols.hall_line import MAX_LINE_BYTES

log = logging.getLogger(__name__)

LineHandler = Callable[[str], None]
ErrorHandler = Callable[[HallEdgeError], None]


class LineDriver(Protocol):
    """What ``devices.call_display`` and ``devices.rating_pad`` need from a transport.

    A later serial codec (reference §5.2 frames) plugs in by offering the same three methods.
    """

    def request(self, line: str) -> str:
        """Send one command line and return the device's one reply line."""
        ...

    def send_line(self, line: str) -> None:
        """Send one line that has no reply (an acknowledgement)."""
        ...

    def listen(
        self, words: Iterable[str], on_line: LineHandler, on_error: ErrorHandler | None = None
    ) -> None:
        """Deliver unsolicited lines starting with one of ``words`` to ``on_line``."""
        ...

    def close(self) -> None:
        """Release the transport."""
        ...


class _Connection:
    """One TCP connection: its socket, receive buffer and (in reader mode) reply queue."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.replies: queue.Queue[str | HallEdgeError] = queue.Queue()
        self.dead = threading.Event()

    def kill(self) -> None:
        self.dead.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class LineSocket:
    """Line transport over TCP with timeouts, a line-length limit and an optional reader.

    Args:
        host: device address; tests and simulators use loopback only.
        port: TCP port.
        timeout: seconds to wait for a connection or a reply line.
        max_line: longest accepted line in bytes, LF excluded.
        device_id: named in every error's details.

    Without :meth:`listen`, replies are read on the caller's thread. After :meth:`listen`, a
    background thread reads every line; lines whose first word was named go to the handler
    (on that thread), all others are replies to :meth:`request`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = 2.0,
        *,
        max_line: int = MAX_LINE_BYTES,
        device_id: str = "",
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.max_line = max_line
        self.device_id = device_id
        self._conn: _Connection | None = None
        self._state_lock = threading.Lock()
        #: One request at a time, so replies pair with their requests.
        self._request_lock = threading.Lock()
        self._event_words: frozenset[str] = frozenset()
        self._on_line: LineHandler | None = None
        self._on_error: ErrorHandler | None = None

    # --- public -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a connection is open and has not failed."""
        conn = self._conn
        return conn is not None and not conn.dead.is_set()

    def connect(self) -> None:
        """Open the connection now rather than on first use.

        Raises:
            DeviceUnplugged (302): nothing listens on the address, or the connection broke.
            DeviceTimeout (303): the connection was not accepted within the timeout.
        """
        self._ensure()

    def listen(
        self, words: Iterable[str], on_line: LineHandler, on_error: ErrorHandler | None = None
    ) -> None:
        """Switch to reader mode: unsolicited lines starting with ``words`` go to ``on_line``.

        Args:
            words: first words of unsolicited lines, e.g. ``["RESULT"]``.
            on_line: called on the reader thread for each such line. A HallEdgeError it
                raises goes to ``on_error``; the reader keeps reading either way.
            on_error: told about rejected lines and a lost connection.
        """
        with self._state_lock:
            self._event_words = frozenset(words)
            self._on_line = on_line
            self._on_error = on_error
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.kill()

    def send_line(self, line: str) -> None:
        """Send one line; the LF is added here.

        Raises:
            BadResponse (304): the line holds an LF or is longer than the limit (a host bug;
                the device would reject it anyway).
            DeviceUnplugged (302), DeviceTimeout (303): as for :meth:`connect`.
        """
        data = self._encode(line)
        self._send(self._ensure(), data)

    def read_line(self, timeout: float | None = None) -> str:
        """Wait for the next reply line.

        Args:
            timeout: seconds; the driver's timeout if None.

        Raises:
            DeviceTimeout (303): no complete line in time.
            DeviceUnplugged (302): the device closed or reset the connection.
            BadResponse (304): a line over the length limit or not UTF-8.
        """
        return self._read(self._ensure(), self.timeout if timeout is None else timeout)

    def request(self, line: str) -> str:
        """Send a command line and return its reply line.

        Raises:
            DeviceUnplugged (302), DeviceTimeout (303), BadResponse (304): as for
                :meth:`send_line` and :meth:`read_line`.
        """
        data = self._encode(line)
        with self._request_lock:
            self._discard_stray_replies()
            # The reply must come on the connection the command went out on, even if the
            # reader has meanwhile dropped it: a fresh connection would never answer.
            conn = self._ensure()
            self._send(conn, data)
            return self._read(conn, self.timeout)

    def close(self) -> None:
        """Close the connection; the next use opens a new one."""
        with self._state_lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.kill()

    # --- internals --------------------------------------------------------------------

    def _encode(self, line: str) -> bytes:
        data = line.encode("utf-8")
        if b"\n" in data or len(data) > self.max_line:
            raise BadResponse("line not sendable: LF inside or too long", **self._facts(line=line))
        return data + b"\n"

    def _send(self, conn: _Connection, data: bytes) -> None:
        try:
            conn.sock.sendall(data)
        except OSError as err:
            self._drop(conn)
            raise self._mapped(err, "send") from err

    def _read(self, conn: _Connection, wait: float) -> str:
        if self._on_line is None:
            try:
                return self._recv_line(conn, wait)
            except HallEdgeError:
                self._drop(conn)
                raise
        try:
            item = conn.replies.get(timeout=wait)
        except queue.Empty:
            self._drop(conn)
            raise DeviceTimeout(f"no reply within {wait}s", **self._facts()) from None
        if isinstance(item, HallEdgeError):
            self._drop(conn)
            raise item
        return item

    def _ensure(self) -> _Connection:
        with self._state_lock:
            if self._conn is not None and not self._conn.dead.is_set():
                return self._conn
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            except OSError as err:
                raise self._mapped(err, "connect") from err
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(sock)
            self._conn = conn
            if self._on_line is not None:
                sock.settimeout(None)
                threading.Thread(
                    target=self._read_forever,
                    args=(conn,),
                    name=f"line-reader-{self.device_id or self.port}",
                    daemon=True,
                ).start()
            return conn

    def _discard_stray_replies(self) -> None:
        """Drop reply lines that arrived while no request waited: they answer nothing."""
        conn = self._conn
        if conn is None or self._on_line is None:
            return
        while True:
            try:
                item = conn.replies.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, str):
                self._report(BadResponse(f"unexpected line {item!r}", **self._facts(line=item)))

    def _drop(self, conn: _Connection) -> None:
        with self._state_lock:
            if self._conn is conn:
                self._conn = None
        conn.kill()

    def _recv_line(self, conn: _Connection, timeout: float | None) -> str:
        """Read one line from the socket; a timeout of None blocks (reader thread)."""
        while True:
            end = conn.buf.find(b"\n")
            if end >= 0:
                raw = bytes(conn.buf[:end])
                del conn.buf[: end + 1]
                return self._decode(raw)
            if len(conn.buf) > self.max_line:
                raise BadResponse(
                    f"line longer than {self.max_line} bytes", **self._facts(length=len(conn.buf))
                )
            try:
                conn.sock.settimeout(timeout)
                chunk = conn.sock.recv(4096)
            except OSError as err:
                raise self._mapped(err, "read") from err
            if not chunk:
                raise DeviceUnplugged("device closed the connection", **self._facts())
            conn.buf += chunk

    def _decode(self, raw: bytes) -> str:
        if len(raw) > self.max_line:
            raise BadResponse(
                f"line longer than {self.max_line} bytes", **self._facts(length=len(raw))
            )
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise BadResponse("line is not UTF-8", **self._facts(line=raw.hex())) from err

    def _read_forever(self, conn: _Connection) -> None:
        while not conn.dead.is_set():
            try:
                line = self._recv_line(conn, None)
            except HallEdgeError as err:
                # A damaged stream cannot be resynchronised with certainty: drop the
                # connection, fail the waiting request now rather than at its timeout.
                if not conn.dead.is_set():
                    conn.replies.put(err)
                    self._drop(conn)
                    self._report(err)
                return
            if line.split(" ", 1)[0] in self._event_words:
                self._deliver(line)
            else:
                conn.replies.put(line)

    def _deliver(self, line: str) -> None:
        handler = self._on_line
        if handler is None:
            return
        try:
            handler(line)
        except HallEdgeError as err:
            self._report(err)
        except Exception:  # a handler bug must not stop the delivery of later lines
            log.exception("line handler failed on %r", line)

    def _report(self, err: HallEdgeError) -> None:
        if self._on_error is not None:
            try:
                self._on_error(err)
            except Exception:
                log.exception("error handler failed")
        else:
            log.warning("%s: %s", self.device_id or self.port, err)

    def _mapped(self, err: OSError, during: str) -> HallEdgeError:
        facts = self._facts(during=during, errno=err.errno)
        if isinstance(err, TimeoutError):
            return DeviceTimeout(f"timed out during {during}", **facts)
        return DeviceUnplugged(f"connection failed during {during}: {err}", **facts)

    def _facts(self, **more: object) -> dict[str, object]:
        return {"device": self.device_id, "host": self.host, "port": self.port, **more}
