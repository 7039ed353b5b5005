"""Ports for a child process to listen on, picked by a test before the child starts.

A port the kernel hands out for ``bind(("127.0.0.1", 0))`` comes from the ephemeral range,
the same range every outgoing connection and every other ``bind(0)`` of the machine draws
from. Between the pick and the child's bind, another socket of the test (a simulator, an MQTT
client) may take it, and the child then either fails to listen or, worse, its clients reach
whatever took the port. Ports below the ephemeral range are never handed out that way.
"""

from __future__ import annotations

import random
import socket

_BELOW_EPHEMERAL = (20000, 32000)


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback TCP port free now and outside the ephemeral range."""
    low, high = _BELOW_EPHEMERAL
    high = min(high, _ephemeral_low() - 1)
    for _ in range(200):
        port = random.randint(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")
