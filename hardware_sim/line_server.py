"""TCP server half shared by the hall display and rating pad simulators.

It frames and vets lines exactly as ``docs/devices/hall-display-protocol.md`` says a device
must: over-long lines, bytes that are not UTF-8, control characters and stray spaces are
answered with ``ERR`` before a subclass sees a command. It also carries the faults a technician
meets in a hall: the cable pulled (unplug), a device that answers late, one that answers noise.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from core.errors import ConfigError
from protocols.hall_line import MAX_LINE_BYTES, PROTOCOL_VERSION, ErrCode, err_line

log = logging.getLogger(__name__)

T = TypeVar("T")

HOST = "127.0.0.1"

#: What a sim in "garbage" mode sends instead of its reply: not UTF-8, then LF.
GARBAGE_REPLY = b"\xff\xfe\x00\x9bgarbage\n"


class SimClient:
    """One host connection to a simulator."""

    def __init__(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        self.sock = sock
        self.peer = peer
        self._send_lock = threading.Lock()
        self.closed = threading.Event()

    def send_line(self, line: str) -> bool:
        """Send a line (LF added); False if the connection is gone."""
        return self.send_raw(line.encode("utf-8") + b"\n")

    def send_raw(self, data: bytes) -> bool:
        """Send bytes as they are; False if the connection is gone."""
        if self.closed.is_set():
            return False
        try:
            with self._send_lock:
                self.sock.sendall(data)
            return True
        except OSError:
            self.close()
            return False

    def close(self) -> None:
        self.closed.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class LineServer:
    """A loopback TCP server that answers protocol lines; subclasses add the commands.

    Args:
        port: TCP port on 127.0.0.1; 0 picks a free one (see :attr:`port` after start).
        kind: device kind reported in ``PONG``.

    Attributes:
        reply_delay_s: fault: wait this long before each reply (a slow device).
        garbage: fault: answer every command with bytes that are not UTF-8.
        errors_sent: every ERR line sent, in order.
        internal_errors: exceptions the simulator raised on a line; always empty unless the
            simulator has a bug (the robustness tests check it).
    """

    def __init__(self, port: int = 0, *, kind: str) -> None:
        self.kind = kind
        self.port = port
        self.max_line = MAX_LINE_BYTES
        self.reply_delay_s = 0.0
        self.garbage = False
        self.errors_sent: list[str] = []
        self.internal_errors: list[BaseException] = []
        self._listener: socket.socket | None = None
        self._clients: set[SimClient] = set()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> LineServer:
        """Start listening. Returns self, so ``sim = CallDisplaySim().start()`` reads well.

        Raises:
            ConfigError (100): the port cannot be listened on (busy, or not allowed).
        """
        self._stopping.clear()
        try:
            self._listen()
        except OSError as err:
            raise ConfigError(
                f"{self.kind} simulator cannot listen on port {self.port}: {err}", port=self.port
            ) from err
        return self

    def stop(self) -> None:
        """Stop listening, drop every connection and end the threads."""
        self._stopping.set()
        self._close_listener()
        self._drop_clients()
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> LineServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The address a host configures to reach this simulator, ``tcp://127.0.0.1:<port>``."""
        return f"tcp://{HOST}:{self.port}"

    # --- faults -----------------------------------------------------------------------

    def unplug(self) -> None:
        """Fault: the cable is pulled. Connections drop and new ones are refused."""
        self._close_listener()
        self._drop_clients()

    def plug(self) -> None:
        """Undo :meth:`unplug`: listen again on the same port."""
        if self._listener is None:
            self._listen()

    @property
    def plugged(self) -> bool:
        return self._listener is not None

    # --- for subclasses ---------------------------------------------------------------

    def handle(self, client: SimClient, words: list[str]) -> str | None:
        """Answer one vetted command line split on single spaces (None: no reply). Override;
        call super for commands the subclass does not know."""
        if words[0] == "PING":
            if len(words) != 1:
                return err_line(ErrCode.BAD_ARGUMENT, "bad_arguments")
            return f"PONG {self.kind} {PROTOCOL_VERSION}"
        return err_line(ErrCode.UNKNOWN_COMMAND, "unknown_command")

    def on_connect(self, client: SimClient) -> None:
        """Called when a host connects. Override to send held lines."""

    def notify(self, callback: Callable[[T], None] | None, arg: T) -> None:
        """Call a UI callback; its failure is logged and never breaks the device."""
        if callback is None:
            return
        try:
            callback(arg)
        except Exception:
            log.exception("%s simulator callback failed", self.kind)

    def clients(self) -> list[SimClient]:
        """Open host connections, oldest first."""
        with self._lock:
            return [c for c in self._clients if not c.closed.is_set()]

    def sleep(self, seconds: float) -> bool:
        """Wait, unless the simulator stops first. True if it is stopping."""
        return self._stopping.wait(seconds)

    # --- internals --------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        self._spawn(self._accept_forever, listener, name=f"{self.kind}-accept")

    def _close_listener(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()

    def _drop_clients(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients), set()
        for client in clients:
            client.close()

    def _spawn(self, target, *args, name: str) -> None:  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_forever(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, peer = listener.accept()
            except OSError:
                return  # listener closed: unplugged or stopped
            client = SimClient(sock, peer)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    return
                self._clients.add(client)
            self.on_connect(client)
            self._spawn(self._serve, client, name=f"{self.kind}-client")

    def _serve(self, client: SimClient) -> None:
        buf = bytearray()
        discarding = False
        while not client.closed.is_set():
            try:
                chunk = client.sock.recv(4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while True:
                end = buf.find(b"\n")
                if discarding:
                    if end < 0:
                        buf.clear()
                        break
                    del buf[: end + 1]
                    discarding = False
                    continue
                if end < 0:
                    if len(buf) > self.max_line:
                        # Answer at once rather than at the LF, which may never come.
                        self._reply(client, err_line(ErrCode.LINE_TOO_LONG, "line_too_long"))
                        buf.clear()
                        discarding = True
                    break
                raw = bytes(buf[:end])
                del buf[: end + 1]
                self._line(client, raw)
        client.close()
        with self._lock:
            self._clients.discard(client)

    def _line(self, client: SimClient, raw: bytes) -> None:
        try:
            reply = self._answer(client, raw)
        except Exception as err:  # a simulator bug: record it for the tests, drop the link
            log.exception("%s simulator failed on %r", self.kind, raw)
            self.internal_errors.append(err)
            client.close()
            return
        if reply is not None:
            self._reply(client, reply)

    def _answer(self, client: SimClient, raw: bytes) -> str | None:
        if not raw:
            return None  # an empty line is a keep-alive
        if len(raw) > self.max_line:
            return err_line(ErrCode.LINE_TOO_LONG, "line_too_long")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return err_line(ErrCode.BAD_LINE, "not_utf8")
        if any(ch < " " or ch == "\x7f" for ch in text):
            return err_line(ErrCode.BAD_LINE, "control_character")
        words = text.split(" ")
        if "" in words:
            return err_line(ErrCode.BAD_LINE, "bad_spacing")
        return self.handle(client, words)

    def _reply(self, client: SimClient, line: str) -> None:
        if self.reply_delay_s and self.sleep(self.reply_delay_s):
            return
        if line.startswith("ERR "):
            self.errors_sent.append(line)
        if self.garbage:
            client.send_raw(GARBAGE_REPLY)
        else:
            client.send_line(line)
