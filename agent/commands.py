"""The standard remote commands of an edge device, as handlers for :class:`RemoteControl`.

Each factory takes what the command needs from the device (a callback, the store) so the
command logic stays here and the device wiring stays in the composition root.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from agent.remote import Handler
from agent.remote_store import RemoteStore
from core.errors import CommandRejected

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
#: A process's exit status after ``restart_app`` (the hall box's agent, a kiosk, a PAD):
#: EX_TEMPFAIL from sysexits.h, "try again". Its supervisor starts it again (systemd:
#: ``Restart=on-failure``); see docs/remote-control.md.
RESTART_EXIT_CODE = 75
#: Seconds between acknowledging a restart and restarting, so the ack leaves first.
RESTART_DELAY_S = 1.0


def power_schedule(store: RemoteStore) -> Handler:
    """``set_power_schedule``: ``{"on": "08:00", "off": "18:30"}``, hall time, on before off.

    Guide machines power on and off on a schedule (seed 002); the device's power manager reads
    the stored schedule.
    """

    def handle(args: dict[str, Any]) -> dict[str, Any]:
        on, off = args.get("on"), args.get("off")
        if not (isinstance(on, str) and isinstance(off, str) and _HHMM.match(on) and _HHMM.match(off)):
            raise CommandRejected("power schedule needs on/off as HH:MM", reason="bad_args")
        if on >= off:
            raise CommandRejected("power-on must come before power-off", reason="bad_args")
        store.set_setting("power_schedule", {"on": on, "off": off})
        return {"power_schedule": {"on": on, "off": off}}

    return handle


def restart_app(request_restart: Callable[[], None]) -> Handler:
    """``restart_app``: acknowledged first, then the app restarts (its supervisor starts it)."""

    def handle(args: dict[str, Any]) -> dict[str, Any]:
        timer = threading.Timer(RESTART_DELAY_S, request_restart)
        timer.daemon = True
        timer.start()
        return {"restart_in_s": RESTART_DELAY_S}

    return handle


def refresh_catalog(reload: Callable[[], dict[str, Any]]) -> Handler:
    """``refresh_catalog``: reload the service catalog; the result says what changed."""

    def handle(args: dict[str, Any]) -> dict[str, Any]:
        return reload()

    return handle


def upload_diagnostics(collect: Callable[[], dict[str, Any]]) -> Handler:
    """``upload_diagnostics``: the device's diagnostics dump travels back in the ack."""

    def handle(args: dict[str, Any]) -> dict[str, Any]:
        return {"diagnostics": collect()}

    return handle
