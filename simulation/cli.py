"""``python main.py demo`` and ``python main.py simulate``: a whole hall on simulated hardware."""

from __future__ import annotations

import argparse
import json
from typing import Any

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
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (seconds, epoch times) instead of the text")
    parser.add_argument("--broker", choices=("auto", "mosquitto", "embedded"), default="auto")


def run_simulate(args: argparse.Namespace) -> int:
    from simulation.run import run_scenario

    report = run_scenario(args.scenario, seed=args.seed, speed=args.speed, broker=args.broker)
    print(json.dumps(report, ensure_ascii=False) if args.json else report_text(report))
    return 0


LEVEL_TEXT = {"red": "红色预警", "yellow": "黄色预警", "valley": "低谷提示"}
METRIC_TEXT = {"wait_s": "等候时长", "time_in_hall_s": "办事耗时", "waiting_count": "等候人数"}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} 分钟"


def report_text(r: dict[str, Any]) -> str:
    """The run as a hall manager reads it: hall times as 08:30, durations in 分钟."""
    start, end = r["hall_start"][11:16], r["hall_end"][11:16]
    lines = [
        f"场景 {r['scenario']}：{r['hall_start'][:10]} {start}–{end}（实际用时 {r['wall_s']:.1f} 秒）",
        f"取号 {r['tickets_issued']} 张（打印 {r['tickets_printed']}），办结 {r['tickets_served']} 件，"
        f"过号 {r['tickets_skipped']} 件，评价 {r['ratings']} 次",
        f"平均等候 {_minutes(r['mean_wait_s'])}，最长等候 {_minutes(r['max_wait_s'])}",
        f"事件：发布 {r['events_published']}，入库 {r['events_ingested']}，重复丢弃 "
        f"{r['duplicates_dropped']}，拒收 {r['rejected_messages']}，积压 {r['journal_backlog']}"
        f"（消息代理 {r['broker']}）",
    ]
    warnings = r["warnings"]
    lines.append(f"预警 {len(warnings)} 条，解除 {r['cleared']} 条：" if warnings else "无预警")
    for w in warnings:
        value = (f"{w['value']:.0f} 人" if w["metric"] == "waiting_count"
                 else _minutes(w["value"]))  # fmt: skip
        advice = (w.get("recommendation") or {}).get("text", "")
        lines.append(f"  {w['at_hall_time']} {LEVEL_TEXT.get(w['level'], w['level'])} "
                     f"{w['service']} {METRIC_TEXT.get(w['metric'], w['metric'])} {value}"
                     f"{'，' + advice if advice else ''}")  # fmt: skip
    return "\n".join(lines)


COMMANDS = (
    Command("demo", "run a whole hall on simulated hardware, with windows", _demo_arguments,
            "simulation.demo:run_demo"),
    Command("simulate", "run a scenario headless on an accelerated clock", _simulate_arguments,
            "simulation.cli:run_simulate"),
)
