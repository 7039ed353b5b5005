"""Hall Edge: the single entry point, ``python main.py COMMAND`` (``--help`` lists them).

Each package registers its own commands (``COMMANDS`` in the module named below); this file
is only the table and the composition root: it decides that ``sim://`` device URLs may open
simulators, sets up logging, and turns a technician-facing error into its code.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

#: Modules whose ``COMMANDS`` make up ``python main.py``, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "simulation.cli",  # demo, simulate
    "kiosk.launch",  # kiosk, pad
    "simulation.launch",  # display, rating-pad (simulated devices in windows)
    "agent.cli",  # agent
    "hallnet.cli",  # hall-devices
    "collector.cli",  # collector
    "provisioning.cli",  # devices
    "benchmarks.cli",  # bench
    "upstream_sim.cli",  # upstream-sim (the simulated government platform)
    "flows.audit_cli",  # print-audit
    "core.error_table",  # errors
)


def main(argv: Sequence[str] | None = None) -> int:
    from core.cli import build_parser, commands_of
    from core.errors import HallEdgeError
    from hardware_sim import register_simulators

    # The composition root decides that sim:// device URLs may open simulators.
    register_simulators()
    commands = {c.name: c for c in commands_of(COMMAND_MODULES)}
    args = build_parser(list(commands.values()), "Hall Edge runtime").parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(commands[args.command].runner()(args) or 0)
    except HallEdgeError as err:
        # A technician reads the code and key; no traceback for an expected failure.
        print(f"hall-edge: error {err.code} ({err.key}): {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
