"""``python main.py upstream-sim``: the simulated government platform, for a technician or a demo.

Serves every domain of :mod:`upstream_sim.platform` on loopback until Ctrl-C, and says where
its OpenAPI description is. Point a kiosk's platform address at it; inject faults with
``POST /_sim/faults`` (``docs/gov-platform.md``, "Faults"). Examples::

    python main.py upstream-sim                       # http://127.0.0.1:8700
    python main.py upstream-sim --port 8800 --domains catalog,bookings
    curl -s http://127.0.0.1:8700/openapi.json
    curl -s -X POST http://127.0.0.1:8700/_sim/faults -H 'Content-Type: application/json' \\
         -d '{"mode": "slow", "delay_s": 4, "count": 3}'
"""

from __future__ import annotations

import argparse
import threading
from datetime import date

from core.cli import Command

DEFAULT_PORT = 8700


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"loopback port (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--seed", type=int, default=20261207,
                        help="the simulated citizens' seed: the same seed, the same people")
    parser.add_argument("--count", type=int, default=300, help="how many simulated citizens")
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="the day ages and dates are judged on, YYYY-MM-DD (default: today)")
    parser.add_argument("--domains", default=None,
                        help="serve only these domains, comma-separated (catalog,bookings …); "
                             "default every one")  # fmt: skip


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until Ctrl-C (or ``stop`` is set, for a test).

    Raises:
        ConfigError (100): ``--domains`` names a domain the platform does not have.
    """
    from core.errors import ConfigError
    from upstream_sim.people import People, make_people
    from upstream_sim.platform import DOMAINS, TITLE, platform_routes, platform_server
    from upstream_sim.server import UpstreamServer

    if args.domains:
        wanted = tuple(f"upstream_sim.{d.strip()}" for d in args.domains.split(",") if d.strip())
        unknown = [d for d in wanted if d not in DOMAINS]
        if unknown or not wanted:
            names = ", ".join(d.rsplit(".", 1)[1] for d in DOMAINS)
            raise ConfigError(f"--domains: no such domain {unknown}; known: {names}")
        people = People(make_people(args.count, args.seed, args.today))
        server = UpstreamServer(TITLE, platform_routes(people, wanted), port=args.port)
    else:
        server = platform_server(args.port, seed=args.seed, today=args.today, count=args.count)
    stop = stop or threading.Event()
    with server:
        print(f"{server.title}: {server.url}  ({len(server.routes)} routes)", flush=True)
        print(f"OpenAPI: {server.url}/openapi.json   faults: POST {server.url}/_sim/faults",
              flush=True)  # fmt: skip
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("stopped", flush=True)
    return 0


COMMANDS = (
    Command("upstream-sim", "the simulated government platform (政务服务平台) on loopback",
            add_arguments, "upstream_sim.cli:run"),
)  # fmt: skip
