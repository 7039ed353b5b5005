"""A kiosk process for the double-charge test (``tests/test_payment_crash.py``), run as
``python -m tests.payment_crash_driver CONFIG DATA_DIR HALL_DB CUPS_SERVER PHASE [KILL_AT]``.

``pay``: one citizen pays an electricity bill with Alipay; at the step named ``KILL_AT`` the
process sends itself SIGKILL (a real kill -9: no handler, no flush, no clean-up). The steps
are the boundaries around every call that leaves the process: the channel, the biller, the
printer. ``restart``: a new kiosk process on the same disk builds the flow, which settles what
the killed one left, and prints a JSON line of what its book holds.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from core.clock import SystemClock
from core.config import load_hall_config
from devices.open import open_document_printer
from flows.bill_payment import BillPaymentFlow
from flows.kiosk_functions import KioskContext
from flows.queue import HallQueue
from hallstore import journal
from hardware_sim import register_simulators
from tests.payment_rig import channels_from, platform_from

#: Where the kill can fall, in the order a payment passes them.
STEPS = (
    "precreate:before", "precreate:after", "query:waiting", "query:paid", "writeoff:before",
    "writeoff:after", "submit:before", "submit:after", "follow:after",
)  # fmt: skip


def _kill_here(step: str, kill_at: str) -> None:
    if step == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


def _around(obj: Any, name: str, step: str, kill_at: str, when: Any = None) -> None:
    """Kill just before ``obj.name`` runs (``step:before``) or just after it returned
    (``step:after``, or ``step`` when ``when(result)`` holds)."""
    real = getattr(obj, name)

    def call(*args: Any, **kwargs: Any) -> Any:
        _kill_here(f"{step}:before", kill_at)
        result = real(*args, **kwargs)
        if when is None:
            _kill_here(f"{step}:after", kill_at)
        else:
            _kill_here(when(result), kill_at)
        return result

    setattr(obj, name, call)


def main(argv: list[str]) -> int:
    config_path, data_dir, hall_db, cups_server, phase = argv[:5]
    kill_at = argv[5] if len(argv) > 5 else ""
    register_simulators()
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    conn = journal.connect(Path(hall_db))
    clock = SystemClock()
    printer = open_document_printer(f"cups://cups-pdf?server={cups_server}", "a4-1")
    channels = channels_from(config)
    platform = platform_from(config)
    if phase == "pay":
        alipay = channels["alipay"]
        _around(alipay, "precreate", "precreate", kill_at)
        _around(alipay, "query", "query", kill_at, when=lambda s: f"query:{s.state.value}")
        _around(platform, "post", "writeoff", kill_at)
        _around(printer.driver, "submit", "submit", kill_at)
        _around(printer, "follow", "follow", kill_at)
    context = KioskContext(
        queue=HallQueue(conn, load_hall_config(), clock), device_id="kiosk-1", clock=clock,
        data_dir=Path(data_dir), platform=platform, payment_channels=channels,
        document_printer=printer,
    )  # fmt: skip
    flow = BillPaymentFlow(context)
    if phase == "pay":
        flow.start()
        flow.choose_type("electricity")
        flow.lookup("0630118828")
        screen = flow.pay("alipay")
        deadline = time.monotonic() + 30
        while screen.name == "scan_qr" and time.monotonic() < deadline:
            time.sleep(0.1)
            screen = flow.check()
        print(json.dumps({"screen": screen.name, "error": screen.error_key}))
        return 0
    orders = flow.book.unsettled() if flow.book else []
    print(json.dumps({"unsettled": [o.out_trade_no for o in orders]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
