"""``python -m tests.kiosk_extras <driver options> -- kiosk …``: the UI driver
(:mod:`tests.ui.driver`) with 服务评价 and 键盘测试 registered in the app's process."""

from __future__ import annotations

import sys

from flows.kiosk_functions import register
from tests.kiosk_extras import EXTRAS
from tests.ui import driver


def main(argv: list[str]) -> int:
    for function in EXTRAS:
        register(function)
    return driver.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
