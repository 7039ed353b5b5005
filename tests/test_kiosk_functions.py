"""The kiosk's functions without a window: the registry, the configuration that picks from it,
and the home screen that hosts them (:mod:`flows.kiosk_functions`)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import DEFAULT_CONFIG, load_hall_config
from core.errors import ConfigError
from flows.kiosk_functions import (
    BUILT_IN,
    KioskContext,
    KioskFunction,
    KioskHome,
    enabled,
    register,
    registered,
    unregister,
)
from flows.ticketing import TicketFlow
from tests.conftest import HallDb
from tests.kiosk_probe import PROBE
from tests.kiosk_probe.flow import ProbeFlow
from tests.ui.fixtures import ROOT


@pytest.fixture
def probe() -> Iterator[KioskFunction]:
    """测试功能 in the registry for one test."""
    register(PROBE)
    try:
        yield PROBE
    finally:
        unregister(PROBE.id)


def context(hall_db: HallDb, **kwargs: object) -> KioskContext:
    """A kiosk without a printer (tickets on screen only) on the demo hall's clock."""
    return KioskContext(hall_db.queue, "kiosk-1", hall_db.clock, **kwargs)  # type: ignore[arg-type]


def hall_config(tmp_path: Path, functions: str) -> Path:
    """The demo hall with ``functions = <functions>`` in its ``[kiosk]`` table."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    assert "\n[kiosk]\n" in text
    path = tmp_path / "hall.toml"
    text = text.replace("\n[kiosk]\n", f"\n[kiosk]\nfunctions = {functions}\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_registry_lists_take_a_ticket_first() -> None:
    first = registered()[0]
    assert (first.id, first.title) == ("ticket", "取号")
    assert [f.id for f in enabled()] == [f.id for f in registered()]


def test_every_built_in_function_names_a_flow_factory_and_a_screens_module_that_exist() -> None:
    """Each row's dotted paths resolve (the screens module is found, not imported: it needs
    Kivy; the UI tests draw it)."""
    for function in BUILT_IN:
        assert callable(function.flow_factory()), function.id
        assert importlib.util.find_spec(function.screens) is not None, function.screens


def test_an_unknown_function_id_in_the_hall_config_is_a_config_error_naming_it(
    tmp_path: Path, hall_db: HallDb
) -> None:
    hall = load_hall_config(hall_config(tmp_path, '["ticket", "tikcet"]'))
    assert hall.kiosk_functions == ("ticket", "tikcet")
    with pytest.raises(ConfigError) as raised:
        enabled(hall.kiosk_functions)
    err = raised.value
    assert err.code == 100 and err.key == "config_invalid"
    assert "'tikcet'" in str(err) and "did you mean 'tikcet' → 'ticket'" in str(err)
    assert err.details["functions"] == ["tikcet"] and "ticket" in err.details["known"]
    hall_db.queue.hall = hall  # a kiosk of that hall does not start
    with pytest.raises(ConfigError, match="tikcet"):
        KioskHome.for_context(context(hall_db))


def test_a_hall_config_without_a_kiosk_table_offers_every_registered_function(
    probe: KioskFunction, hall_db: HallDb
) -> None:
    assert load_hall_config().kiosk_functions is None
    home = KioskHome.for_context(context(hall_db))
    tiles = [t["id"] for t in home.screen.data["functions"]]
    assert tiles == [f.id for f in registered()]
    assert tiles[0] == "ticket" and tiles[-1] == "probe"


@pytest.mark.parametrize(
    "functions",
    ['"ticket"', "[]", '["ticket", "ticket"]'],
    ids=["not-a-list", "empty", "twice"],
)
def test_a_malformed_functions_list_is_refused_when_the_config_is_read(
    tmp_path: Path, functions: str
) -> None:
    with pytest.raises(ConfigError, match=r"\[kiosk\] functions"):
        load_hall_config(hall_config(tmp_path, functions))


def test_the_configured_list_picks_functions_and_the_registry_orders_them(
    probe: KioskFunction, hall_db: HallDb
) -> None:
    assert [f.id for f in enabled(["probe", "ticket"])] == ["ticket", "probe"]
    village = KioskHome.for_context(context(hall_db, functions=["probe"]))
    assert [t["id"] for t in village.screen.data["functions"]] == ["probe"]
    assert village.screen.data["functions"][0] == {
        "id": "probe", "title": "测试功能", "subtitle": "仅供自动测试", "colour": "green"
    }
    with pytest.raises(ConfigError):
        village.open("ticket")


def test_a_second_function_under_the_same_id_is_refused(probe: KioskFunction) -> None:
    with pytest.raises(ValueError, match="registered already"):
        register(PROBE)
    flow = "tests.kiosk_probe.flow:ProbeFlow"
    with pytest.raises(ValueError, match="colour"):
        KioskFunction("odd", "怪", "", 50, flow, "tests.kiosk_probe.screens", colour="pink")
    with pytest.raises(ValueError, match="fit its tile"):
        KioskFunction("wordy", "自助办理各类业务", "", 50, flow, "tests.kiosk_probe.screens")


def test_the_home_opens_take_a_ticket_and_its_steps_issue_the_ticket(hall_db: HallDb) -> None:
    home = KioskHome.for_context(context(hall_db))
    assert (home.screen.name, home.screen.function) == ("home", None)
    assert home.screen.data["hall_name"] == "示范区政务服务中心"
    services = home.open("ticket")
    assert (services.name, services.function) == ("choose_service", "ticket")
    assert [s["code"] for s in services.data["services"]] == ["social", "household", "business"]
    ticket = home.step("ticket", lambda flow: flow.take("social"))
    assert (ticket.name, ticket.function, ticket.data["ticket_no"]) == ("ticket", "ticket", "A001")
    assert ticket.error_key == "device_not_found"  # this kiosk has no printer
    assert isinstance(home.flows["ticket"], TicketFlow)
    assert home.home().name == "home" and home.active is None


def test_an_idle_kiosk_goes_home_and_the_function_forgets_the_citizen(
    probe: KioskFunction, hall_db: HallDb
) -> None:
    home = KioskHome.for_context(context(hall_db, idle_timeout_s=60))
    flow = home.flows["probe"]
    assert isinstance(flow, ProbeFlow)
    home.open("probe")
    assert home.step("probe", lambda f: f.press()).data["taps"] == 1
    hall_db.clock.advance(30)
    assert home.tick().name == "probe"
    assert home.step("probe", lambda f: f.press()).data["taps"] == 2  # a tap restarts the wait
    hall_db.clock.advance(59)
    assert home.tick().name == "probe"
    hall_db.clock.advance(1)
    assert home.tick().name == "home"
    assert (flow.taps, flow.left) == (0, 1)
    hall_db.clock.advance(3600)
    assert home.tick().name == "home" and flow.left == 1  # home stays home


def test_typing_on_the_keyboard_keeps_the_citizen_from_being_sent_home(
    probe: KioskFunction, hall_db: HallDb
) -> None:
    """Keys of the on-screen keyboard are no step of the flow; the window reports them with
    the next tick, and the wait starts again."""
    home = KioskHome.for_context(context(hall_db, idle_timeout_s=60))
    home.open("probe")
    hall_db.clock.advance(50)
    assert home.tick(touched=True).name == "probe"
    hall_db.clock.advance(50)
    assert home.tick().name == "probe"  # 100 s in, but only 50 s since the last key
    hall_db.clock.advance(10)
    assert home.tick().name == "home"


def test_a_tap_that_arrives_after_the_kiosk_went_home_does_nothing(hall_db: HallDb) -> None:
    home = KioskHome.for_context(context(hall_db, idle_timeout_s=60))
    home.open("ticket")
    hall_db.clock.advance(61)
    home.tick()
    screen = home.step("ticket", lambda flow: flow.take("social"))
    assert screen.name == "home"
    assert hall_db.queue.waiting_count("social") == 0


def test_the_registry_and_the_flows_import_without_kivy() -> None:
    """A registry row, a flow and the kiosk.functions package never pull in the UI toolkit:
    tests, the simulation and the hall box's tools use them headless."""
    code = (
        "import sys, flows.kiosk_functions as k, kiosk.functions\n"
        "[f.flow_factory() for f in k.registered()]\n"
        "assert 'kivy' not in sys.modules, sorted(m for m in sys.modules if 'kivy' in m)[:5]\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
