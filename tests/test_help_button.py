"""远程帮办 without a window: the request is journaled with where the citizen is stuck, the
kiosk shows 请稍候 until the citizen cancels, and it waits longer than an idle timeout."""

from __future__ import annotations

from core.events import Kind
from flows.kiosk_functions import HELP_WAIT_S, KioskContext, KioskHome
from hallstore import journal
from tests.conftest import HallDb


def _help_events(hall_db: HallDb) -> list:
    return [p.event for p in journal.pending(hall_db.conn, 1000)
            if p.event.kind == Kind.KIOSK_HELP_REQUESTED]


def test_help_journals_the_function_and_screen_and_cancel_returns_to_the_screen(
    hall_db: HallDb,
) -> None:
    home = KioskHome.for_context(KioskContext(hall_db.queue, "kiosk-1", hall_db.clock))
    services = home.open("ticket")
    waiting = home.request_help()
    assert waiting.name == "help"
    assert home.request_help() is waiting  # a second tap while waiting: one request
    [event] = _help_events(hall_db)
    assert event.device_id == "kiosk-1"
    assert event.data == {"function": "ticket", "screen": "choose_service"}
    # A tap that was on its way to the screen under 请稍候 does nothing.
    assert home.step("ticket", lambda f: f.take("social")) is waiting
    back = home.cancel_help()
    assert back is services and home.active == "ticket"


def test_help_from_the_home_screen_names_no_function(hall_db: HallDb) -> None:
    home = KioskHome.for_context(KioskContext(hall_db.queue, "kiosk-1", hall_db.clock))
    home.request_help()
    assert _help_events(hall_db)[0].data == {"function": "", "screen": "home"}


def test_a_citizen_waiting_for_help_is_not_sent_home_by_the_idle_timeout(
    hall_db: HallDb,
) -> None:
    home = KioskHome.for_context(
        KioskContext(hall_db.queue, "kiosk-1", hall_db.clock, idle_timeout_s=60)
    )
    home.open("ticket")
    home.request_help()
    hall_db.clock.advance(120)
    assert home.tick().name == "help"
    hall_db.clock.advance(HELP_WAIT_S)
    assert home.tick().name == "home" and home.active is None
