"""``python main.py demo`` and ``python main.py simulate``: a whole hall on simulated hardware."""

from __future__ import annotations

import argparse
import json

from core.cli import Command


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", help="where the demo keeps its databases (default: var/demo)")
    parser.add_argument("--headless", action="store_true", help="no windows: hall + collector only")
    parser.add_argument("--dashboard-port", type=int, default=8780)
    parser.add_argument("--display-port", type=int, default=7601, help="call display window")
    parser.add_argument("--rating-port", type=int, default=7602, help="rating pad window")
    parser.add_argument("--no-browser", action="store_true", help="do not open the dashboard")
    parser.add_argument("--citizens", type=float, default=20.0,
                        help="simulated walk-in citizens per hour besides your own taps (0: none)")


def _simulate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", default="morning-peak")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", type=float, default=2000.0, help="hall seconds per wall second")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--broker", choices=("auto", "mosquitto", "embedded"), default="auto")


def run_simulate(args: argparse.Namespace) -> int:
    from simulation.run import run_scenario

    report = run_scenario(args.scenario, seed=args.seed, speed=args.speed, broker=args.broker)
    print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 2))
    return 0


COMMANDS = (
    Command("demo", "run a whole hall on simulated hardware, with windows", _demo_arguments,
            "simulation.demo:run_demo"),
    Command("simulate", "run a scenario headless on an accelerated clock", _simulate_arguments,
            "simulation.cli:run_simulate"),
)
