"""``python main.py print-audit``: a kiosk's print and copy audit over a period, as CSV and PDF.

    python main.py print-audit --from 2026-12-01 --to 2026-12-07 --csv audit.csv --pdf audit.pdf

Reads ``print-audit.db`` in the kiosk's data directory (``--data-dir``; by default the one
``python main.py kiosk`` uses, ``var/<hall>/<device>``). Without ``--csv`` or ``--pdf`` it
prints the totals. See ``docs/print-audit.md``.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from core.cli import Command
from core.config import DEFAULT_CONFIG
from core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="first", metavar="YYYY-MM-DD", required=True,
                        help="first business day")
    parser.add_argument("--to", dest="last", metavar="YYYY-MM-DD",
                        help="last business day (default: the first)")
    parser.add_argument("--csv", type=Path, help="write every record as CSV here")
    parser.add_argument("--pdf", type=Path, help="write the report as PDF here")
    parser.add_argument("--data-dir", type=Path, help="the kiosk's data directory")
    parser.add_argument("--device-id", default="kiosk-1",
                        help="the kiosk, when --data-dir is not given")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="hall config TOML")


def run(args: argparse.Namespace) -> int:
    from flows.audit_report import write_csv, write_pdf
    from flows.print_audit import FILE_NAME, PrintAudit, totals

    first, last = _day(args.first), _day(args.last or args.first)
    if last < first:
        raise ConfigError(f"--to {last} is before --from {first}")
    data_dir = args.data_dir or _default_data_dir(args)
    if not (data_dir / FILE_NAME).is_file():
        raise ConfigError(f"no print audit at {data_dir / FILE_NAME}", path=str(data_dir))
    audit = PrintAudit.in_dir(data_dir)
    try:
        records = audit.records(first, last)
    finally:
        audit.close()
    if args.csv:
        print(f"CSV: {write_csv(records, args.csv)}")
    if args.pdf:
        print(f"PDF: {write_pdf(records, first, last, time.time(), args.pdf)}")
    for t in totals(records):
        print(f"{t.function}\t{t.item}\t{t.prints} prints\t{t.done} done\t{t.failed} failed\t"
              f"{t.cancelled} cancelled\t{t.sheets} sheets")
    print(f"{len(records)} records, {first} to {last}")
    return 0


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as err:
        raise ConfigError(f"not a day (YYYY-MM-DD): {text!r}") from err


def _default_data_dir(args: argparse.Namespace) -> Path:
    from core.config import load_hall_config

    hall = load_hall_config(args.config)
    return ROOT / "var" / hall.hall_id / args.device_id


COMMANDS = (
    Command("print-audit", "a kiosk's print and copy audit over a period (CSV, PDF)",
            _arguments, "flows.audit_cli:run"),
)
