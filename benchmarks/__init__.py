"""Benchmarks. Each figure comes with a baseline measured in the same run, because the machines
are shared and noisy: the ratio is the result, absolute times are context only.

A suite is a module here with ``run(options: dict) -> dict``; register it in :data:`SUITES`
with the distributions its figures depend on. Every suite's JSON carries a ``versions`` object
naming them, so a figure that moves between two runs can be traced to a library that moved.
"""

from __future__ import annotations

import importlib
import platform
import sqlite3
from dataclasses import dataclass
from importlib import metadata
from typing import Any


@dataclass(frozen=True)
class Suite:
    """A benchmark module and the installed distributions its figures depend on."""

    module: str
    libraries: tuple[str, ...] = ()


#: suite name → its module under ``benchmarks`` and what its figures depend on. SQLite and
#: Python are always recorded; list here what else moves a suite's numbers.
SUITES: dict[str, Suite] = {
    "queue": Suite("benchmarks.queue_bench"),
    "devices": Suite("benchmarks.devices_bench", ("pyserial", "pyusb", "python-escpos")),
    "outbox": Suite("benchmarks.outbox_bench", ("paho-mqtt",)),
    "docscan": Suite("benchmarks.docscan_bench", ("opencv-python-headless", "numpy")),
    "camera": Suite("benchmarks.camera_bench", ("opencv-python-headless", "numpy")),
    "hall": Suite("benchmarks.hall_bench", ("requests",)),
    "kiosk": Suite("benchmarks.kiosk_bench", ("Kivy", "requests")),
    "wait": Suite("benchmarks.wait_bench"),
    "collector": Suite("benchmarks.collector_bench", ("paho-mqtt",)),
}


def versions(libraries: tuple[str, ...]) -> dict[str, str]:
    """The versions a suite's figures depend on, as installed in the running interpreter."""
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in libraries:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def run_bench(suite: str = "all", options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one suite, or all of them, and return their JSON-ready results by suite name."""
    names = list(SUITES) if suite == "all" else [suite]
    results: dict[str, Any] = {}
    for name in names:
        module = importlib.import_module(SUITES[name].module)
        result = module.run(dict(options or {}))
        # A suite may add versions no distribution has (a broker binary's).
        result["versions"] = versions(SUITES[name].libraries) | result.get("versions", {})
        results[name] = result
    return results
