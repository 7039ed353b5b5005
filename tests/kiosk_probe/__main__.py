"""``python -m tests.kiosk_probe [--probes N] <driver options> -- kiosk …``: the UI driver
(:mod:`tests.ui.driver`), with 测试功能 (and N - 1 more like it) registered in the app's process
before the app is built."""

from __future__ import annotations

import sys

from flows.kiosk_functions import register
from tests.kiosk_probe import probes
from tests.ui import driver


def main(argv: list[str]) -> int:
    count = 1
    if argv[:1] == ["--probes"]:
        count, argv = int(argv[1]), argv[2:]
    for function in probes(count):
        register(function)
    return driver.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
