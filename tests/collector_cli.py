"""``python main.py collector command`` run as a technician runs it, for the remote tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.brokers import MosquittoUnderTest

ROOT = Path(__file__).resolve().parent.parent


def collector_command(
    broker: MosquittoUnderTest,
    hall: str,
    name: str,
    device: str | None = None,
    args: dict[str, Any] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Send one command; returns the CLI's exit status and the ack it printed."""
    argv = [sys.executable, "main.py", "collector", "command", name, "--hall", hall]
    if device is not None:
        argv += ["--device", device]
    if args is not None:
        argv += ["--args", json.dumps(args)]
    argv += ["--mqtt", f"{broker.host}:{broker.port}"]
    done = subprocess.run(  # noqa: PLW1510 - the exit status is what the tests read
        argv, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)
