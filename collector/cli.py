"""`python main.py collector`: the central collector and its dashboard, until interrupted;
`python main.py collector command ...`: send one command to one edge device and print its
acknowledgement; `python main.py collector dead-letters [--replay]`: list what the collector
kept instead of storing, and run it through today's checks again;
`python main.py collector ratings` / `follow-up`: the bad ratings and their follow-up;
`python main.py collector notifications`: the audit of every message sent (docs/tidal.md);
`python main.py report --hall H --day D`: the day's KPIs as a PDF and a CSV for managers."""

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
from core.events import TIME_WINDOW, TimeWindow
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


def add_dead_letters_parser(collector_actions: Any) -> None:
    """``collector dead-letters``, as a sub-command of ``collector``."""
    cmd = collector_actions.add_parser(
        "dead-letters",
        help="list the messages and events the collector dead-lettered; --replay re-ingests them",
    )
    # SUPPRESS: given here it wins, not given the collector-level --store stays.
    cmd.add_argument("--store", default=argparse.SUPPRESS,
                     help="the collector's event database (default var/collector/events.db)")
    cmd.add_argument("--hall", help="only this hall's dead letters")
    cmd.add_argument("--limit", type=int, default=200, help="list at most this many")
    cmd.add_argument("--json", action="store_true", help="one JSON object per line")
    cmd.add_argument(
        "--replay",
        action="store_true",
        help="run every dead letter through today's checks; those that pass are stored and "
        "removed (run it with the collector stopped, or restart it afterwards)",
    )
    cmd.add_argument(
        "--max-age-days",
        type=float,
        help="with --replay: believe event times this many days old (default "
        f"{TIME_WINDOW.past_s / 86400:.0f})",
    )


def add_follow_up_parsers(collector_actions: Any) -> None:
    """``collector ratings``, ``collector follow-up`` and ``collector notifications``."""
    ratings = collector_actions.add_parser("ratings", help="list bad ratings and their follow-up")
    ratings.add_argument("--store", default=argparse.SUPPRESS, help="the collector's database")
    ratings.add_argument("--hall", help="only this hall")
    ratings.add_argument("--state", choices=["open", "verified", "rectified", "closed", "unclosed"],
                         help="only ratings in this state")  # fmt: skip
    ratings.add_argument("--json", action="store_true", help="one JSON object per line")
    step = collector_actions.add_parser(
        "follow-up", help="move a bad rating on: verified, rectified or closed"
    )
    step.add_argument("--store", default=argparse.SUPPRESS, help="the collector's database")
    step.add_argument("rating_id", type=int, help="the 差评编号 the duty manager's SMS gives")
    step.add_argument("state", choices=["verified", "rectified", "closed"])
    step.add_argument("--by", required=True, help="who took the step (name)")
    step.add_argument("--note", default="", help="the finding, what was done, the answer given")
    sent = collector_actions.add_parser("notifications", help="the audit of every message sent")
    sent.add_argument("--store", default=argparse.SUPPRESS, help="the collector's database")
    sent.add_argument("--hall", help="only this hall")
    sent.add_argument("--limit", type=int, default=50)
    sent.add_argument("--json", action="store_true", help="one JSON object per line")


def run_follow_up(args: argparse.Namespace) -> int:
    """``ratings``, ``follow-up`` and ``notifications``, straight on the database (WAL lets
    them run beside a running collector, whose dashboard shows the change at its next poll)."""
    import time

    from collector.notify import Notifier
    from collector.rating_followup import BadRatingDesk
    from core.clock import hall_time

    path = Path(args.store)
    if not path.exists():
        raise ConfigError(f"no collector database at {path}", path=str(path))
    if args.collector_action == "notifications":
        notifier = Notifier(path, {})
        try:
            for m in notifier.audit(args.hall, args.limit):
                if args.json:
                    print(json.dumps(m, ensure_ascii=False), flush=True)
                    continue
                when = hall_time(m["created_at"]).strftime("%m-%d %H:%M:%S")
                print(f"{when} {m['hall']} {m['subject']:<10} {m['level']:<6} {m['name']}"
                      f"({m['role']}) {m['status']} ×{m['attempts']} {m['text']}")  # fmt: skip
        finally:
            notifier.stop()
        return 0
    desk = BadRatingDesk(path)
    try:
        if args.collector_action == "follow-up":
            rating = desk.step(args.rating_id, args.state, args.by, args.note, time.time())
            print(f"差评 {rating.id}：{rating.to_dict()['state_text']}", flush=True)
            return 0
        for r in desk.listing(args.hall, args.state, limit=500):
            body = r.to_dict()
            if args.json:
                print(json.dumps(body, ensure_ascii=False), flush=True)
                continue
            where = f"{r.window}号窗口 {r.ticket_no}" if r.source == "window" else (
                f"自助终端 {r.device_id} {r.function}")  # fmt: skip
            when = hall_time(r.rated_at).strftime("%m-%d %H:%M")
            print(f"{r.id:>5} {r.hall} {when} {where} {r.label} "
                  f"{body['state_text']} {r.reason or ''}")  # fmt: skip
    finally:
        desk.close()
    return 0


def run_dead_letters(args: argparse.Namespace) -> int:
    """List the dead letters, or replay them; prints one line per letter, then a summary."""
    # Imported here: the other collector commands parse without the store.
    from collector.ingest import Ingestor

    path = Path(args.store)
    if not path.exists():
        raise ConfigError(f"no collector database at {path}", path=str(path))
    window = TIME_WINDOW
    if args.max_age_days is not None:
        window = TimeWindow(args.max_age_days * 86400.0, TIME_WINDOW.future_s)
    ingestor = Ingestor(path, "127.0.0.1", 0, window=window)
    try:
        if args.replay:
            done = ingestor.replay_dead_letters(args.hall)
            summary = {"resolved": done.resolved, "kept": done.kept,
                       "events_stored": done.events_stored}
            if args.json:
                print(json.dumps(summary), flush=True)
            else:
                print(f"死信重放 replay: 已入库 {done.resolved} 条"
                      f"（事件 {done.events_stored} 个），仍为死信 {done.kept} 条", flush=True)
            return 0
        _print_dead_letters(ingestor, args)
    finally:
        ingestor.store.close()
        ingestor.telemetry.close()
    return 0


def _print_dead_letters(ingestor: Any, args: argparse.Namespace) -> None:
    from collector.dead_letters import listing_row

    rows = [listing_row(d) for d in ingestor.store.dead_letters(args.hall, args.limit)]
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False), flush=True)
        return
    print(f"{'大厅 hall':<20} {'设备 device':<16} {'序号 seq':>9}  {'原因 reason':<16} "
          f"{'接收时间 received':<20} {'大小 size':>9}")
    for r in rows:
        seq = "-" if r["seq"] is None else str(r["seq"])
        print(f"{r['hall']:<20} {r['device'] or '-':<16} {seq:>9}  {r['reason']:<16} "
              f"{r['received']:<20} {r['size']:>9}{' (截断)' if r['truncated'] else ''}")
    total = sum(sum(n.values()) for n in ingestor.store.dead_letter_counts().values())
    shown = f"，显示 {len(rows)} 条" if len(rows) < total else ""
    print(f"共 {total} 条死信 dead letters{shown}", flush=True)


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
    if getattr(args, "collector_action", None) == "dead-letters":
        return run_dead_letters(args)
    if getattr(args, "collector_action", None) in ("ratings", "follow-up", "notifications"):
        return run_follow_up(args)
    # Imported here: `collector command` and every other main.py command parse without them.
    from collector.dashboard import Dashboard
    from collector.service import CollectorService
    from collector.tidal_config import load_collector_settings

    host, port = parse_host_port(args.mqtt)
    paths = args.config or [DEFAULT_CONFIG]
    halls = {c.hall_id: c for c in map(load_hall_config, paths)}
    settings = {load_hall_config(p).hall_id: load_collector_settings(p) for p in paths}
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    service = CollectorService(
        args.store, host, port, halls, clock=SystemClock(), auth=mqtt_auth(args),
        settings=settings, ingest_process=args.ingest_process,
    )
    service.start()
    dashboard = Dashboard(service.dashboard_state, port=args.dashboard_port,
                          follow_up=service.follow_up, kpis=service.kpi_state,
                          platform_totals=service.save_platform_totals)  # fmt: skip
    url = dashboard.start()
    print(f"管理看板 dashboard: {url}", flush=True)
    print(f"大厅大屏 wall screen: {url}wall", flush=True)
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
    parser.add_argument(
        "--ingest-process", action="store_true",
        help="run the ingest in a process of its own (a second core; for a province's collector)",
    )
    add_mqtt_auth_arguments(parser)
    actions = parser.add_subparsers(
        dest="collector_action",
        metavar="{command,dead-letters,ratings,follow-up,notifications}",
    )
    add_command_parser(actions)
    add_dead_letters_parser(actions)
    add_follow_up_parsers(actions)


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hall", required=True, help="the hall id")
    parser.add_argument("--day", required=True, help="the business day, YYYY-MM-DD")
    parser.add_argument("--store", default="var/collector/events.db",
                        help="the collector's database")  # fmt: skip
    parser.add_argument("--config", help="the hall's config TOML (default: the demo hall)")
    parser.add_argument("--out", default="var/reports", help="where the PDF and CSV go")


def run_report(args: argparse.Namespace) -> int:
    """The day's KPIs from the collector's database, as ``<hall>-<day>.pdf`` and ``.csv``."""
    import time
    from datetime import date

    from collector.baseline import compute_baseline
    from collector.baseline_store import BaselineStore
    from collector.holidays import HolidayCalendar
    from collector.kpis import KpiInputs, availability, day_kpis
    from collector.platform_totals import PlatformTotals
    from collector.rating_followup import BadRatingDesk
    from collector.report import write_report
    from collector.store import EventStore
    from collector.tidal_config import load_collector_settings

    try:
        day = date.fromisoformat(args.day).isoformat()
    except ValueError as err:
        raise ConfigError(f"--day wants YYYY-MM-DD, got {args.day!r}") from err
    path = Path(args.store)
    if not path.exists():
        raise ConfigError(f"no collector database at {path}", path=str(path))
    config_path = args.config or DEFAULT_CONFIG
    config = load_hall_config(config_path)
    if config.hall_id != args.hall:
        raise ConfigError(f"{config_path} is hall {config.hall_id!r}, not {args.hall!r}; "
                          "pass its --config")  # fmt: skip
    tidal = load_collector_settings(config_path).tidal
    store, saved, desk = EventStore(path), BaselineStore(path), BadRatingDesk(path)
    try:
        events = store.all_events(args.hall)
        # The baseline the collector warned with that day, else one computed as of that day.
        baseline = saved.load(args.hall)
        if baseline is None or baseline.business_day != day:
            calendar = HolidayCalendar(extra=tidal.holidays)
            baseline = compute_baseline(config, events, day, tidal, calendar, time.time())
        inputs = KpiInputs(
            config=config,
            baseline=baseline,
            bad_ratings=[r.to_dict() for r in desk.listing(args.hall, limit=1_000_000)],
            platform=PlatformTotals.beside(path).load(args.hall, day),
        )
        kpis = day_kpis(args.hall, day, events, inputs)
    finally:
        store.close()
        saved.close()
        desk.close()
    kpis["availability"] = availability(kpis["devices"])
    if not kpis["totals"]["issued"] and not kpis["devices"]:
        print(f"{config.name} {day}：当日无数据", file=sys.stderr)
    pdf, csv_path = write_report(kpis, args.out)
    t, kiosk = kpis["totals"], kpis["kiosk"]
    rate = _share(kiosk["rate"]) if kiosk["rate"] is not None else kiosk["platform_text"]
    print(f"{config.name} {day} 运行日报：取号 {t['issued']} 张，办结 {t['served']} 件，"
          f"好评率 {_share(kpis['ratings']['satisfied_share'])}，自助机办件率 {rate}",
          flush=True)  # fmt: skip
    print(f"PDF: {pdf}\nCSV: {csv_path}", flush=True)
    return 0


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


COMMANDS = (
    Command("collector", "run the central collector and its dashboard", _arguments,
            "collector.cli:run_collector"),
    Command("report", "write a hall day's KPIs as a PDF and a CSV for managers",
            _report_arguments, "collector.cli:run_report"),
)
