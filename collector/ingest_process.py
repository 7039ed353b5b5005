"""The ingest in a process of its own, so the collector uses a second core.

Python runs one thread at a time per process. At province scale the collector's MQTT
receive, checks, store, acknowledgements and watermarks already fill one core, and metrics,
warnings, KPIs and 差评 (the fold) then take their turns on the same core. With
:class:`IngestProcess` the :class:`collector.ingest.Ingestor` runs, unchanged and with every
check, in a child process, and the collector's own process folds.

The store is the only channel for events: the parent reads what the child committed, in the
order it was stored (``events.rowid``; :meth:`EventStore.stored_after`), and hands it to the
fold. So the fold sees exactly the stored events, each once, only after their commit, as the
in-process hook does; nothing is copied between the processes but the rows SQLite already
shares. Everything else (counters, watermarks, halls) the parent asks the child for over a
pipe, one request at a time.

What it costs: each event is parsed a second time, in the parent (``read_stored``), and the
fold learns of a commit up to :data:`TAIL_INTERVAL_S` later. The child logs to the parent's
stderr with the parent's log level.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

from collector.ingest import IngestOptions, Ingestor
from collector.store import EventStore
from core.clock import Clock, SystemClock
from core.errors import IngestError
from core.events import Event

log = logging.getLogger(__name__)

#: How often the parent looks for newly stored events, in seconds (when it found none).
TAIL_INTERVAL_S = 0.02
#: Most stored events the parent reads in one go.
TAIL_BATCH = 20_000
#: Seconds the parent waits for the child to answer, to start, and to stop.
CALL_TIMEOUT_S = 60.0

#: What the parent may ask the child for: the reading side of :class:`Ingestor`.
_METHODS = frozenset({
    "counters", "hall_counters", "known_halls", "watermarks", "wait_subscribed", "stats",
})  # fmt: skip


class IngestProcess:
    """An :class:`collector.ingest.Ingestor` in a child process, read like one.

    Args:
        store: the parent's :class:`EventStore` on the same file (the parent reads new events
            from it; the child opens its own connection and writes).
        host: broker address.
        port: broker port.
        on_events: called on the parent's tail thread with each run of newly stored events,
            in store order.
        clock: the receiver's clock in the parent (the restart replay's time window); the
            child uses the wall clock.
        options: the rest of :class:`collector.ingest.IngestOptions`, handed to the child's
            :class:`collector.ingest.Ingestor`.
    """

    def __init__(
        self,
        store: EventStore,
        host: str,
        port: int,
        on_events: Callable[[list[Event]], None] | None = None,
        clock: Clock | None = None,
        **options: Any,
    ) -> None:
        self.options = IngestOptions(host, port, **options)
        self.store = store
        self.on_events = on_events
        self.clock = clock or SystemClock()
        self.window = self.options.window
        self.telemetry = _NoTelemetry()  # the child keeps and closes its own
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._pipe: Any = None
        self._call_lock = threading.Lock()
        self._tail: threading.Thread | None = None
        self._stopping = threading.Event()
        self._after = 0

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Start the child (it connects and subscribes on its own) and the tail thread. Only
        events stored from now on are handed on: what the store held before is the
        service's replay."""
        self._after = self.store.last_rowid()
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(
            target=_serve,
            args=(child, self.store.path, self.options, logging.getLogger().getEffectiveLevel()),
            name="collector-ingest",
            daemon=True,
        )
        self._proc.start()
        child.close()
        self._pipe = parent
        if not self._pipe.poll(CALL_TIMEOUT_S) or self._pipe.recv() != "ready":
            raise IngestError("the ingest process did not start")
        self._stopping.clear()
        self._tail = threading.Thread(target=self._follow, name="ingest-tail", daemon=True)
        self._tail.start()

    def stop(self) -> None:
        """Stop the child (it publishes its last watermarks and disconnects), then hand on
        what it stored last."""
        if self._proc is None:
            return
        try:
            self._call("stop")
        except Exception:  # noqa: BLE001 - a dead child: nothing to stop
            log.exception("code=%d the ingest process did not stop cleanly", IngestError.code)
        self._proc.join(CALL_TIMEOUT_S)
        if self._proc.is_alive():
            self._proc.kill()
        self._proc = None
        self._stopping.set()
        if self._tail is not None:
            self._tail.join(CALL_TIMEOUT_S)
            self._tail = None
        self._hand_on()  # whatever the child committed after the tail's last look

    def wait_handed_on(self, timeout: float) -> bool:
        """Block until every event stored so far has been handed to ``on_events``."""
        target = self.store.last_rowid()
        deadline = time.monotonic() + timeout
        while self._after < target:
            if time.monotonic() >= deadline:
                return False
            time.sleep(TAIL_INTERVAL_S / 2)
        return True

    # --- reading (from the child) -----------------------------------------------------

    def counters(self) -> dict[str, Any]:
        return self._call("counters")

    def hall_counters(self, hall: str) -> dict[str, Any]:
        return self._call("hall_counters", hall)

    def known_halls(self) -> list[str]:
        return self._call("known_halls")

    def watermarks(self, hall: str) -> dict[str, int]:
        return self._call("watermarks", hall)

    def wait_subscribed(self, timeout: float) -> bool:
        return self._call("wait_subscribed", timeout)

    @property
    def events_ingested(self) -> int:
        return self._call("stats")["events_ingested"]

    @property
    def duplicates(self) -> int:
        return self._call("stats")["duplicates"]

    @property
    def seq_conflicts(self) -> int:
        return self._call("stats")["seq_conflicts"]

    @property
    def last_error(self) -> Any:
        return self._call("stats")["last_error"]

    def _call(self, name: str, *args: Any) -> Any:
        with self._call_lock:
            if self._pipe is None:
                raise IngestError("the ingest process is not running")
            self._pipe.send((name, args))
            if not self._pipe.poll(CALL_TIMEOUT_S):
                raise IngestError(f"the ingest process did not answer {name}")
            ok, value = self._pipe.recv()
        if not ok:
            raise IngestError(f"the ingest process failed {name}: {value}")
        return value

    # --- the tail -----------------------------------------------------------------------

    def _follow(self) -> None:
        while not self._stopping.is_set():
            try:
                found = self._hand_on()
            except Exception:
                # The events are stored; the next look reads them again from the same row.
                log.exception("code=%d stored events not read", IngestError.code)
                found = 0
            if found < TAIL_BATCH:
                self._stopping.wait(TAIL_INTERVAL_S)

    def _hand_on(self) -> int:
        rows, events = self.store.stored_after(self._after, TAIL_BATCH)
        if rows:
            self._after = rows[-1]
        if events and self.on_events is not None:
            try:
                self.on_events(events)
            except Exception:
                log.exception("on_events hook failed")
        return len(rows)


class _NoTelemetry:
    def close(self) -> None:
        """The child's telemetry store closes with the child."""


def _serve(pipe: Any, path: str, options: IngestOptions, level: int) -> None:
    """The child: run the ingest until asked to stop, answering the parent's questions."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ingestor = Ingestor(path, options.host, options.port, **options.settings())
    ingestor.start()
    pipe.send("ready")
    try:
        while True:
            try:
                name, args = pipe.recv()
            except EOFError:
                return  # the parent is gone
            if name == "stop":
                ingestor.stop()
                pipe.send((True, None))
                return
            try:
                pipe.send((True, _answer(ingestor, name, args)))
            except Exception as err:  # noqa: BLE001 - told to the parent, which raises
                pipe.send((False, repr(err)))
    finally:
        ingestor.store.close()
        ingestor.telemetry.close()


def _answer(ingestor: Any, name: str, args: tuple[Any, ...]) -> Any:
    if name == "stats":
        error = ingestor.last_error
        return {"events_ingested": ingestor.events_ingested, "duplicates": ingestor.duplicates,
                "seq_conflicts": ingestor.seq_conflicts,
                "last_error": None if error is None else str(error)}  # fmt: skip
    if name not in _METHODS:
        raise ValueError(f"not a question for the ingest: {name}")
    return getattr(ingestor, name)(*args)
