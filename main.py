"""Hall Edge: the single entry point.

    python main.py demo                      a whole hall on simulated hardware, in windows
    python main.py simulate --scenario morning-peak --json
    python main.py bench [queue] --json      benchmarks, each with a same-run baseline
    python main.py kiosk|pad|display|rating-pad ...   one hall app (see kiosk/launch.py)
    python main.py collector ...             the central collector with its dashboard
    python main.py collector command NAME --hall H [--args JSON]   one command to a device
    python main.py agent ...                 the hall's journal publisher
    python main.py errors [--write]          the error-code table for technicians
    python main.py devices [--json]          configured devices' health; what is attached
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

APP_COMMANDS = ("kiosk", "pad", "display", "rating-pad")


def main(argv: Sequence[str] | None = None) -> int:
    from core.errors import HallEdgeError

    try:
        return _dispatch(argv)
    except HallEdgeError as err:
        # A technician reads the code and key; no traceback for an expected failure.
        print(f"hall-edge: error {err.code} ({err.key}): {err}", file=sys.stderr)
        return 2


def _dispatch(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in APP_COMMANDS:
        from kiosk.launch import main as launch

        return int(launch(argv) or 0)

    parser = argparse.ArgumentParser(prog="main.py", description="Hall Edge runtime")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a whole hall on simulated hardware, with windows")
    demo.add_argument("--workdir", help="where the demo keeps its databases (default: var/demo)")
    demo.add_argument("--headless", action="store_true", help="no windows: hall + collector only")
    demo.add_argument("--dashboard-port", type=int, default=8780)
    demo.add_argument("--display-port", type=int, default=7601, help="call display window")
    demo.add_argument("--rating-port", type=int, default=7602, help="rating pad window")
    demo.add_argument("--no-browser", action="store_true", help="do not open the dashboard")
    demo.add_argument("--citizens", type=float, default=20.0,
                      help="simulated walk-in citizens per hour besides your own taps (0: none)")

    sim = sub.add_parser("simulate", help="run a scenario headless on an accelerated clock")
    sim.add_argument("--scenario", default="morning-peak")
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--speed", type=float, default=2000.0, help="hall seconds per wall second")
    sim.add_argument("--json", action="store_true", help="print one JSON object")
    sim.add_argument("--broker", choices=("auto", "mosquitto", "embedded"), default="auto")

    from benchmarks import SUITES
    from core.mqtt import add_mqtt_auth_arguments

    bench = sub.add_parser("bench", help="benchmarks with same-run baselines (JSON)")
    bench.add_argument("suite", nargs="?", default="all", choices=("all", *SUITES))
    bench.add_argument("--json", action="store_true", help="JSON only (the default output)")
    bench.add_argument("--data", help="a data folder for suites that read one (docscan)")
    bench.add_argument("--quick", action="store_true", help="smaller runs, for a smoke check")

    col = sub.add_parser("collector", help="run the central collector and its dashboard")
    col.add_argument("--mqtt", default="127.0.0.1:1883", help="broker host:port")
    col.add_argument("--store", default="var/collector/events.db")
    col.add_argument("--config", action="append", help="hall config TOML (repeatable)")
    col.add_argument("--dashboard-port", type=int, default=8780)
    add_mqtt_auth_arguments(col)
    from collector.cli import add_command_parser

    add_command_parser(col.add_subparsers(dest="collector_action", metavar="{command}"))

    agent = sub.add_parser("agent", help="publish a hall's journal to the collector")
    agent.add_argument("--mqtt", default="127.0.0.1:1883", help="broker host:port")
    agent.add_argument("--hall-db", required=True)
    agent.add_argument("--config", help="hall config TOML")
    add_mqtt_auth_arguments(agent)

    errs = sub.add_parser("errors", help="print the error-code table (Markdown)")
    errs.add_argument("--write", action="store_true", help="update docs/error-codes.md")

    devs = sub.add_parser("devices", help="configured devices with their health; what is attached")
    devs.add_argument("--json", action="store_true", help="print one JSON object")
    devs.add_argument("--config", help="hall config TOML (default: the demo hall)")

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "demo":
        from simulation.demo import run_demo

        return run_demo(args)
    if args.command == "simulate":
        from simulation.run import run_scenario

        report = run_scenario(args.scenario, seed=args.seed, speed=args.speed, broker=args.broker)
        if args.json:
            print(json.dumps(report, ensure_ascii=False))
        else:
            print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    if args.command == "bench":
        from benchmarks import run_bench

        options = {"data": args.data, "quick": args.quick}
        print(json.dumps(run_bench(args.suite, options), ensure_ascii=False, indent=2))
        return 0
    if args.command == "collector":
        from collector.cli import run_collector

        return run_collector(args)
    if args.command == "agent":
        from agent.cli import run_agent

        return run_agent(args)
    if args.command == "devices":
        from provisioning.cli import run_devices

        return run_devices(args)
    if args.command == "errors":
        from core import error_table

        if args.write:
            error_table.write_doc()
        print(error_table.markdown_table())
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
