"""A loopback TCP proxy the test controls, to cut or stall the agent's link to the broker.

Two faults a hall's WAN really has:

* :meth:`TcpProxy.cut` — the link drops: every open connection is closed and new ones are
  refused until :meth:`TcpProxy.restore`. The agent notices at once.
* :meth:`TcpProxy.stall` — the link goes silent: connections stay open but no byte moves
  either way (held back, not thrown away, as TCP would). Only the MQTT keepalive notices.
  :meth:`TcpProxy.restore` lets the held bytes through again.
"""

from __future__ import annotations

import socket
import threading

from agent.broker import LOOPBACK


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to a target, with faults on command.

    Args:
        target_host: where connections are forwarded.
        target_port: the target's port.

    Attributes:
        port: the proxy's own listening port (chosen by the OS).
        accepted: connections accepted so far (refused ones included).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((LOOPBACK, 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self.accepted = 0
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._refusing = False
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Close every open connection and refuse new ones."""
        with self._lock:
            self._refusing = True
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close_pair(pair)

    def stall(self) -> None:
        """Stop moving bytes on every connection, old and new, without closing any."""
        self._flowing.clear()

    def restore(self) -> None:
        """Undo :meth:`cut` or :meth:`stall`."""
        with self._lock:
            self._refusing = False
        self._flowing.set()

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._closed.set()
        self._flowing.set()
        self.cut()
        self._thread.join(5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            with self._lock:
                refusing = self._refusing
            if refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.append(pair)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair: tuple) -> None:
        try:
            while True:
                self._flowing.wait()
                data = src.recv(65536)
                if not data:
                    break
                # A stall that began while this recv waited holds the bytes here.
                self._flowing.wait()
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)
        _close_pair(pair)


def _close_pair(pair: tuple[socket.socket, socket.socket]) -> None:
    for s in pair:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
