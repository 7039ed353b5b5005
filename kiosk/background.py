"""Blocking work (SQLite, USB, sockets, MQTT) off the Kivy thread, results back on it.

A frozen window is what a citizen notices first: a printer that takes two seconds to answer
must not stop the screen from drawing. Each app owns one :class:`Background`; its single
thread runs the calls one after the other, in the order the taps came, as a real kiosk
would, and every answer is handed back to the Kivy clock before a widget is touched.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from core.errors import HallEdgeError

log = logging.getLogger(__name__)

T = TypeVar("T")
#: How long :meth:`Background.call` waits for its turn and its answer; a ceiling, not a
#: budget: a printer status check behind a citizen's print takes seconds at worst.
CALL_TIMEOUT_S = 60.0

Job = tuple[Callable[[], Any], Callable[[Any], None] | None, Callable[[HallEdgeError], None] | None]


class Background:
    """One worker thread for an app's blocking calls.

    Args:
        name: the thread's name, for logs and stack dumps.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(
        self,
        call: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[HallEdgeError], None] | None = None,
    ) -> None:
        """Run ``call`` on the worker; hand its result to ``on_done`` on the Kivy thread.

        Args:
            call: the blocking work; must not touch widgets.
            on_done: receives the result, on the Kivy thread.
            on_error: receives a :class:`HallEdgeError` raised by ``call``, on the Kivy
                thread. Any other exception is logged and reported as an internal error
                (``internal_error``), so the screen still says something.
        """
        self._jobs.put((call, on_done, on_error))

    def call(self, fn: Callable[[], T], timeout: float = CALL_TIMEOUT_S) -> T:
        """Run ``fn`` on the worker, in turn with the taps, and wait for its result.

        For other threads that must touch the app's flow (a remote command swapping the
        service catalog): the flow then never sees two callers at once. Never call it from
        the worker itself (it would wait for itself) or from the Kivy thread (the window
        would freeze).

        Raises:
            Whatever ``fn`` raised; ``TimeoutError`` when the answer did not come in time.
        """
        done: Future[T] = Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as err:  # noqa: BLE001 - handed to the caller as it is
                done.set_exception(err)

        self._jobs.put((run, None, None))
        return done.result(timeout)

    def idle(self) -> bool:
        """True when no call is waiting (a call may still be running)."""
        return self._jobs.empty()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the calls already submitted, then end the thread."""
        self._jobs.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            call, on_done, on_error = job
            try:
                result = call()
            except HallEdgeError as err:
                log.warning("error %d (%s): %s", err.code, err.key, err)
                self._later(on_error, err)
                continue
            except Exception as err:  # a bug must not kill the only worker of the screen
                log.exception("background call failed")
                wrapped = HallEdgeError(f"unexpected {type(err).__name__}: {err}")
                self._later(on_error, wrapped)
                continue
            self._later(on_done, result)

    @staticmethod
    def _later(callback: Callable[[Any], None] | None, value: Any) -> None:
        if callback is None:
            return
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: callback(value), 0)
