"""测试功能, a kiosk function that exists only for tests: a counter a citizen taps up.

It has the three pieces every kiosk function has (``docs/kiosk-functions.md``): a UI-free flow
(:mod:`tests.kiosk_probe.flow`), its screens (:mod:`tests.kiosk_probe.screens`) and one
registry row, :data:`PROBE`, which a test registers with
:func:`flows.kiosk_functions.register`. ``python -m tests.kiosk_probe`` is the UI driver
(:mod:`tests.ui.driver`) with the row registered in the app's own process.
"""

from __future__ import annotations

from dataclasses import replace

from flows.kiosk_functions import KioskFunction

PROBE = KioskFunction(
    id="probe",
    title="测试功能",
    subtitle="仅供自动测试",
    order=1000,  # after every built-in function
    flow="tests.kiosk_probe.flow:ProbeFlow",
    screens="tests.kiosk_probe.screens",
    colour="green",
)


def probes(count: int) -> list[KioskFunction]:
    """:data:`PROBE` and ``count - 1`` more like it (``probe_2`` …), for a crowded home screen."""
    more = [
        replace(PROBE, id=f"probe_{i}", title=f"测试{i}", order=PROBE.order + i)
        for i in range(2, count + 1)
    ]
    return [PROBE, *more]
