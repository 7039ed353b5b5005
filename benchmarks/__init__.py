"""Benchmarks. Each figure comes with a baseline measured in the same run, because the machines
are shared and noisy: the ratio is the result, absolute times are context only."""

from __future__ import annotations

from typing import Any


def run_bench(suite: str = "all") -> dict[str, Any]:
    from benchmarks import queue_bench

    suites = {"queue": queue_bench.run}
    chosen = suites if suite == "all" else {suite: suites[suite]}
    return {name: fn() for name, fn in chosen.items()}
