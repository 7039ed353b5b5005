"""A function called every few seconds on a background thread, until stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Call ``tick`` every ``interval`` seconds on a daemon thread.

    Args:
        name: the thread's name, as logs and ``py-spy`` show it.
        interval: seconds between calls.
        tick: what to call; an exception it raises ends the thread, so it must catch what
            it can outlive.
        at_start: call once right away instead of after the first interval.
    """

    def __init__(
        self, name: str, interval: float, tick: Callable[[], object], at_start: bool = False
    ) -> None:
        self.name = name
        self.interval = interval
        self.tick = tick
        self.at_start = at_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for a call in progress to end."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def _run(self) -> None:
        if self.at_start:
            self.tick()
        while not self._stop.wait(self.interval):
            self.tick()
