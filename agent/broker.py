"""An MQTT broker on loopback for a hall box without one (the demo, a laptop, CI).

The Debian ``mosquitto`` binary is preferred: it is the broker production halls run. Without
it, an amqtt broker runs in-process on its own asyncio loop in a background thread, so the
demo still works on a machine where nothing can be installed.

Mosquitto runs with persistence on: a batch the agent handed over (PUBACK) and that waits in
the collector's persistent session must survive a broker restart. Mosquitto writes its store
on a clean shutdown and every ``autosave_interval`` seconds, so only a broker *crash* can lose
the last few seconds of queued messages.

Both brokers are anonymous and listen on loopback only: no accounts, no TLS, and client ids
are *not* owned, so any local process could connect under another client's id and take over
its connection or session. That is acceptable for a demo on one machine and nothing else; a
broker other machines reach is set up as ``docs/deployment.md`` describes (an account per
connection, ``use_username_as_clientid``, an ACL, TLS).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from core.errors import BrokerUnavailable

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
#: Seconds between mosquitto's writes of its persistence file while running.
AUTOSAVE_INTERVAL_S = 5


class Broker(Protocol):
    """A running broker."""

    host: str
    port: int
    #: ``"mosquitto"`` or ``"amqtt"``.
    kind: str

    def stop(self) -> None:
        """Stop the broker and free its port."""
        ...


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_listening(host: str, port: int, timeout: float) -> bool:
    """Poll until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def mosquitto_binary() -> str | None:
    """Path of the mosquitto executable, or None. Debian puts it in /usr/sbin, off a user's PATH."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


class MosquittoBroker:
    """A ``mosquitto`` child process listening on loopback only.

    Args:
        port: TCP port; 0 picks a free one. The port stays the same across
            :meth:`stop`/:meth:`start`, so clients reconnect to the same address.
        data_dir: where the config, log and persistence file live; a temporary directory
            (removed by :meth:`close`) when None.
        binary: path of the mosquitto executable.
    """

    kind = "mosquitto"

    def __init__(
        self, port: int = 0, data_dir: Path | str | None = None, binary: str | None = None
    ) -> None:
        self.host = LOOPBACK
        self.port = port or free_port()
        self.binary = binary or mosquitto_binary() or "mosquitto"
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="halledge-mosquitto-")
            data_dir = self._tmp.name
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def config_text(self) -> str:
        """The generated mosquitto.conf."""
        return "\n".join(
            [
                f"listener {self.port} {self.host}",
                "allow_anonymous true",
                # Started as root, mosquitto would switch to the "mosquitto" user and then
                # silently fail to write its persistence file into our directory.
                f"user {pwd.getpwuid(os.getuid()).pw_name}",
                "persistence true",
                f"persistence_location {self.data_dir}/",
                f"autosave_interval {AUTOSAVE_INTERVAL_S}",
                # The agent keeps up to max_inflight batches in flight; never let the broker
                # drop a queued QoS 1 batch for a slow or absent collector.
                "max_queued_messages 0",
                f"log_dest file {self.log_path}",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "",
            ]
        )

    def start(self, timeout: float = 15.0) -> None:
        """Start (or restart) the process on this broker's port.

        Raises:
            BrokerUnavailable (410): mosquitto exited or did not listen within ``timeout``.
        """
        if self._proc is not None and self._proc.poll() is None:
            return
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(self.config_text(), encoding="utf-8")
        try:
            self._proc = subprocess.Popen(
                [self.binary, "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                # Its own session: a Ctrl-C in the demo's terminal must not kill the broker
                # before the agent has flushed and the collector has stored the tail.
                start_new_session=True,
            )
        except OSError as err:
            raise BrokerUnavailable(f"cannot run {self.binary}: {err}", port=self.port) from err
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            if wait_listening(self.host, self.port, 0.2):
                return
        stderr = self._stop_process()
        raise BrokerUnavailable(
            f"mosquitto did not start on {self.host}:{self.port}: {stderr}", port=self.port
        )

    def stop(self) -> None:
        """Stop the process gracefully (it saves its persistence file). Idempotent."""
        self._stop_process()

    def close(self) -> None:
        """Stop and remove the temporary directory, if one was made."""
        self._stop_process()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def kill(self) -> None:
        """Kill the process without letting it save anything, as a crash or power cut would."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait(timeout=15)
        if proc.stderr:
            proc.stderr.close()

    @property
    def pid(self) -> int | None:
        """The process id while running, else None."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def _stop_process(self) -> str:
        proc, self._proc = self._proc, None
        if proc is None:
            return ""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        return err.strip()


class AmqttBroker:
    """An amqtt broker in this process, on its own event loop in a daemon thread.

    Args:
        port: TCP port; 0 picks a free one.
    """

    kind = "amqtt"

    def __init__(self, port: int = 0) -> None:
        self.host = LOOPBACK
        self.port = port or free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None

    def config(self) -> dict[str, Any]:
        """The amqtt configuration: loopback listener, anonymous clients, no $SYS chatter."""
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }

    def start(self, timeout: float = 15.0) -> None:
        """Start the broker thread and wait until it listens.

        Raises:
            BrokerUnavailable (410): amqtt is missing or did not start within ``timeout``.
        """
        try:
            from amqtt.broker import Broker as AmqttCore
        except ImportError as err:
            raise BrokerUnavailable("neither mosquitto nor amqtt is available") from err
        started = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._broker = AmqttCore(self.config(), loop=loop)
                loop.run_until_complete(self._broker.start())
            except BaseException as err:  # reported to the starting thread below
                failure.append(err)
                loop.close()
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="amqtt-broker", daemon=True)
        self._thread.start()
        # Broker.start() returns once its listener is bound: no connect probe needed (amqtt
        # would log a probe that sends no CONNECT as an error).
        if not started.wait(timeout) or failure:
            cause = failure[0] if failure else None
            self.stop()
            raise BrokerUnavailable(f"amqtt did not start: {cause!r}", port=self.port) from cause

    def stop(self) -> None:
        """Shut the broker down and end its thread. Idempotent."""
        loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        if self._broker is not None and loop.is_running():
            done = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), loop)
            try:
                done.result(timeout=15)
            except Exception:
                log.exception("amqtt shutdown failed")
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=15)

    def close(self) -> None:
        """Same as :meth:`stop`; for symmetry with :class:`MosquittoBroker`."""
        self.stop()


def start_embedded_broker(
    prefer: str = "mosquitto", port: int = 0, data_dir: Path | str | None = None
) -> MosquittoBroker | AmqttBroker:
    """Start a loopback MQTT broker: mosquitto if installed (and preferred), else amqtt.

    Args:
        prefer: ``"mosquitto"`` or ``"amqtt"``.
        port: TCP port; 0 picks a free one.
        data_dir: mosquitto's config and persistence directory (temporary when None).

    Returns:
        The running broker; call ``stop()`` (or ``close()`` to also remove temp files).

    Raises:
        BrokerUnavailable (410): no broker could be started.
    """
    binary = mosquitto_binary()
    if prefer == "mosquitto" and binary is not None:
        broker: MosquittoBroker | AmqttBroker = MosquittoBroker(port, data_dir, binary)
    else:
        broker = AmqttBroker(port=port)
    broker.start()
    log.info("embedded %s broker on %s:%d", broker.kind, broker.host, broker.port)
    return broker
