"""``python -m tests.kiosk_tour <driver options> -- kiosk …``: the UI driver
(:mod:`tests.ui.driver`) with four more ops, played in the kiosk's own process:

    {"op": "place_card", "card": {...}}        an ID card laid on the kiosk's simulated reader
                                               (fields as :func:`tests.kiosk_tour.card_step`)
    {"op": "lift_card"}                        the citizen takes the card away
    {"op": "tap_first", "prefix": "appointments_slot_", "exclude": "2026-12-07", "as": "slot"}
                                               tap the top-left enabled widget on screen whose
                                               ui_id starts with prefix (and does not contain
                                               exclude); its ui_id is kept in the result's
                                               ``tapped[as]``
    {"op": "inputs", "name": "bill_account"}   what could bring up a keyboard other than the
                                               kiosk's own: the ui_ids of text inputs in the
                                               window, whether the system keyboard is claimed
                                               (SDL's text input, the OS on-screen keyboard on
                                               a touch screen) and Kivy's VKeyboards shown;
                                               kept in the result's ``inputs[name]``

A test process cannot reach the reader simulator of another process, and the slots a
platform on the real clock offers are not known when the script is written; these ops do both
the way a citizen would (a card on the reader, a finger on the first free slot).
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from tests.ui import driver


def _reader(runner: driver.ScriptRunner) -> Any:
    model = getattr(runner.app, "model", None)
    if model is None:
        return None  # the kiosk is still starting
    reader = model.context.id_reader
    if reader is None:
        raise driver.StepFailed("the kiosk has no ID card reader (--id-reader)")
    return reader


def place_card(runner: driver.ScriptRunner, step: dict[str, Any]) -> bool:
    from hardware_sim import simulator_of
    from protocols.id_card import CardKind, IdCard

    reader = _reader(runner)
    if reader is None:
        return False
    c = step["card"]
    card = IdCard(
        CardKind.RESIDENT,
        name=c["name"],
        sex_code=c["sex_code"],
        birth=date.fromisoformat(c["birth"]),
        id_number=c["id_number"],
        valid_from=date(2020, 1, 1),
        valid_to=None,
        address=c["address"],
        issuer="示范市公安局",
        nation_code="01",
    )
    simulator_of(reader).place(card)
    return True


def lift_card(runner: driver.ScriptRunner, step: dict[str, Any]) -> bool:
    from hardware_sim import simulator_of

    reader = _reader(runner)
    if reader is None:
        return False
    simulator_of(reader).lift()
    return True


def tap_first(runner: driver.ScriptRunner, step: dict[str, Any]) -> bool:
    from kivy.core.window import Window

    chosen = step.get("_chosen")
    if chosen is None:
        found = []
        for top in Window.children:
            for w in top.walk(restrict=True):
                ui_id = getattr(w, "ui_id", "") or ""
                if (
                    ui_id.startswith(step["prefix"])
                    and not (step.get("exclude") and step["exclude"] in ui_id)
                    and not getattr(w, "disabled", False)
                    and w.get_root_window() is not None
                    and runner._on_screen(w)
                ):
                    x, top_y = w.to_window(w.x, w.top)
                    found.append((-top_y, x, ui_id))
        if not found:
            return False
        chosen = step["_chosen"] = min(found)[2]
    if not runner._tap(chosen):
        return False
    runner.result.setdefault("tapped", {})[step.get("as", step["prefix"])] = chosen
    return True


def inputs(runner: driver.ScriptRunner, step: dict[str, Any]) -> bool:
    from kivy.core.window import Window
    from kivy.uix.textinput import TextInput
    from kivy.uix.vkeyboard import VKeyboard

    widgets = [w for top in Window.children for w in top.walk(restrict=True)]
    runner.result.setdefault("inputs", {})[step["name"]] = {
        "text_inputs": [getattr(w, "ui_id", "") or type(w).__name__
                        for w in widgets if isinstance(w, TextInput)],
        # Kivy has no public accessor: a focused TextInput becomes this keyboard's target.
        "system_keyboard": Window._system_keyboard.target is not None,
        "vkeyboards": sum(isinstance(w, VKeyboard) for w in Window.children),
    }  # fmt: skip
    return True


def main(argv: list[str]) -> int:
    driver.EXTRA_OPS.update(place_card=place_card, lift_card=lift_card, tap_first=tap_first,
                            inputs=inputs)  # fmt: skip
    return driver.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
