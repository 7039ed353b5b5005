"""`python main.py collector`: the central collector and its dashboard, until interrupted;
`python main.py collector command ...`: send one command to one edge device and print its
acknowledgement."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from collector.commands import CommandSender
from core.cli import Command
from core.clock import SystemClock
from core.config import DEFAULT_CONFIG, load_hall_config
from core.errors import ConfigError
from core.mqtt import add_mqtt_auth_arguments, mqtt_auth
from core.netaddr import parse_host_port
from core.topics import hall_box_id

log = logging.getLogger(__name__)


#: Exit status of ``collector command``: the device answered ``ok``; answered anything else;
#: did not answer in time.
EXIT_OK, EXIT_NOT_OK, EXIT_NO_ACK = 0, 1, 3


def add_command_parser(collector_actions: Any) -> None:
    """``collector command``, as a sub-command of ``collector``."""
    cmd = collector_actions.add_parser(
        "command", help="send one command to an edge device and print its acknowledgement"
    )
    cmd.add_argument(
        "name",
        help="set_config, set_power_schedule, restart_app, refresh_catalog, upload_diagnostics …",
    )
    cmd.add_argument("--hall", required=True, help="the device's hall id")
    cmd.add_argument("--device", help="the device id (default: the hall box, hallbox-<hall>)")
    given = cmd.add_mutually_exclusive_group()
    given.add_argument("--args", help="the command's arguments as a JSON object")
    given.add_argument("--args-file", help="a file holding the arguments as a JSON object")
    cmd.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the ack")
    cmd.add_argument("--mqtt", default="127.0.0.1:1883", help="broker host:port")
    add_mqtt_auth_arguments(cmd)


def command_args(args: argparse.Namespace) -> dict[str, Any]:
    """The command's arguments from ``--args`` or ``--args-file``.

    Raises:
        ConfigError (100): not a JSON object.
    """
    text = args.args
    if args.args_file is not None:
        text = Path(args.args_file).read_text(encoding="utf-8")
    if text is None:
        return {}
    try:
        body = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"command arguments are not JSON: {err}") from err
    if not isinstance(body, dict):
        raise ConfigError("command arguments must be a JSON object")
    return body


def run_command(args: argparse.Namespace) -> int:
    """Send the command, wait for the acknowledgement and print it as one JSON line."""
    host, port = parse_host_port(args.mqtt)
    device = args.device or hall_box_id(args.hall)
    body = command_args(args)
    sender = CommandSender(host, port, auth=mqtt_auth(args))
    sender.start()
    try:
        # An ack published before the subscription took would be lost; wait for it first.
        if not sender.subscribed.wait(args.timeout):
            print(
                f"hall-edge: broker {host}:{port} not reachable: {sender.last_error}",
                file=sys.stderr,
            )
            return EXIT_NO_ACK
        ack = sender.wait_ack(sender.send(args.hall, device, args.name, body), args.timeout)
    finally:
        sender.stop()
    if ack is None:
        print(
            f"hall-edge: no acknowledgement from {device} within {args.timeout:g} s",
            file=sys.stderr,
        )
        return EXIT_NO_ACK
    print(json.dumps(ack, ensure_ascii=False), flush=True)
    return EXIT_OK if ack.get("outcome") == "ok" else EXIT_NOT_OK


def run_collector(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    if getattr(args, "collector_action", None) == "command":
        return run_command(args)
    # Imported here: `collector command` and every other main.py command parse without them.
    from collector.dashboard import Dashboard
    from collector.service import CollectorService

    host, port = parse_host_port(args.mqtt)
    halls = {c.hall_id: c for c in map(load_hall_config, args.config or [DEFAULT_CONFIG])}
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    service = CollectorService(
        args.store, host, port, halls, clock=SystemClock(), auth=mqtt_auth(args)
    )
    service.start()
    dashboard = Dashboard(service.dashboard_state, port=args.dashboard_port)
    print(f"管理看板 dashboard: {dashboard.start()}", flush=True)
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.stop()
        service.stop()
    return 0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mqtt", default="127.0.0.1:1883", help="broker host:port")
    parser.add_argument("--store", default="var/collector/events.db")
    parser.add_argument("--config", action="append", help="hall config TOML (repeatable)")
    parser.add_argument("--dashboard-port", type=int, default=8780)
    add_mqtt_auth_arguments(parser)
    add_command_parser(parser.add_subparsers(dest="collector_action", metavar="{command}"))


COMMANDS = (
    Command("collector", "run the central collector and its dashboard", _arguments,
            "collector.cli:run_collector"),
)
