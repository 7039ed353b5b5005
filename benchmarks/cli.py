"""``python main.py bench [SUITE] --json``: each figure beside a same-run baseline."""

from __future__ import annotations

import argparse
import json

from benchmarks import SUITES, run_bench
from core.cli import Command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", nargs="?", default="all", choices=("all", *SUITES))
    parser.add_argument("--json", action="store_true", help="JSON only (the default output)")
    parser.add_argument("--data", help="a data folder for suites that read one (docscan)")
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke check")
    parser.add_argument("--halls", type=int, help="halls of the simulated province (collector)")


def run(args: argparse.Namespace) -> int:
    options = {"data": args.data, "quick": args.quick, "halls": args.halls}
    print(json.dumps(run_bench(args.suite, options), ensure_ascii=False, indent=2))
    return 0


COMMANDS = (
    Command("bench", "benchmarks with same-run baselines (JSON)", _arguments, "benchmarks.cli:run"),
)
