"""Benchmarks. Each figure comes with a baseline measured in the same run, because the machines
are shared and noisy: the ratio is the result, absolute times are context only.

A suite is a module here with ``run(options: dict) -> dict``; register it in :data:`SUITES`.
"""

from __future__ import annotations

import importlib
from typing import Any

#: suite name → module under ``benchmarks``.
SUITES: dict[str, str] = {
    "queue": "benchmarks.queue_bench",
    "devices": "benchmarks.devices_bench",
    "outbox": "benchmarks.outbox_bench",
    "docscan": "benchmarks.docscan_bench",
    "camera": "benchmarks.camera_bench",
}


def run_bench(suite: str = "all", options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one suite, or all of them, and return their JSON-ready results by suite name."""
    names = list(SUITES) if suite == "all" else [suite]
    results: dict[str, Any] = {}
    for name in names:
        module = importlib.import_module(SUITES[name])
        results[name] = module.run(dict(options or {}))
    return results
