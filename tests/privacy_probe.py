"""``python -m tests.privacy_probe --secrets FILE <driver options> -- kiosk …``: the UI driver
(:mod:`tests.ui.driver`) with three more steps, for ``tests/test_privacy_purge.py``:

    {"op": "place_card"}             the test citizen's card on the kiosk's simulated reader
    {"op": "lift_card"}              the citizen takes it back
    {"op": "probe", "name": "idle"}  search the app's process for the citizen: every object
                                     reachable from the garbage collector's roots and the
                                     threads' frames, and Kivy's caches; the hits go to
                                     ``result["probes"][name]``

The secrets file gives the citizen's card and the texts to look for, hex-encoded UTF-8, so no
copy of them exists in this process until a step decodes one, and the probe skips its own
copies by identity. A hit is reported with the secret replaced by ``<secret>``: the result is
printed to the log, which the test searches too.
"""

from __future__ import annotations

import gc
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from tests.ui import driver

#: Encodings a text may sit in: Python's own, Qt/Windows/SDL's UTF-16, and the GBK of older
#: Chinese software and some ID reader SDKs.
ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "gbk")
#: How many referrer types a hit reports (enough to see who holds it).
REFERRERS = 6


def needles(secret: str) -> list[bytes]:
    """The byte forms of a secret to search raw memory and files for."""
    return [secret.encode(encoding) for encoding in ENCODINGS]


def _unhex(text: str) -> str:
    return bytes.fromhex(text).decode("utf-8")


class ProbeRunner(driver.ScriptRunner):
    """The UI driver's runner with the privacy steps.

    Args:
        secrets_file: ``{"card": {field: hex}, "secrets": {label: hex}}``.
    """

    def __init__(self, app: Any, steps: list[dict[str, Any]], artifacts: Path,
                 secrets_file: Path) -> None:  # fmt: skip
        super().__init__(app, steps, artifacts)
        self.secrets_file = secrets_file
        self.result["probes"] = {}

    def _do(self, step: dict[str, Any]) -> bool:
        op = step["op"]
        if op == "place_card":
            return self._place_card()
        if op == "lift_card":
            return self._reader_sim(lambda sim: sim.lift())
        if op == "probe":
            self.result["probes"][step["name"]] = self._probe()
            return True
        return super()._do(step)

    # --- the card ---------------------------------------------------------------------

    def _reader_sim(self, act: Any) -> bool:
        from hardware_sim import simulator_of

        model = self.app.model
        if model is None or model.context.id_reader is None:
            return False
        act(simulator_of(model.context.id_reader))
        return True

    def _place_card(self) -> bool:
        from protocols.id_card import CardKind, IdCard

        fields = json.loads(self.secrets_file.read_text(encoding="utf-8"))["card"]
        card = IdCard(
            CardKind.RESIDENT,
            name=_unhex(fields["name"]),
            sex_code="1",
            birth=date.fromisoformat(fields["birth"]),
            id_number=_unhex(fields["id_number"]),
            valid_from=date(2020, 1, 1),
            valid_to=None,
            address=_unhex(fields["address"]),
            issuer="格尔木市公安局",
            nation_code="01",
        )
        return self._reader_sim(lambda sim: sim.place(card))

    # --- the search -------------------------------------------------------------------

    def _probe(self) -> dict[str, list[dict[str, Any]]]:
        labels = json.loads(self.secrets_file.read_text(encoding="utf-8"))["secrets"]
        secrets = {label: _unhex(text) for label, text in labels.items()}
        forms = {label: needles(text) for label, text in secrets.items()}
        own = {id(secrets), id(forms), *map(id, secrets.values()), *map(id, forms.values())}
        own |= {id(b) for found in forms.values() for b in found}
        # The driver's own memory of the widgets it tapped is the test's, not the kiosk's.
        self._settled.clear()
        # The kiosk froze its start-up objects (kiosk.session_purge.freeze_startup_objects):
        # the collector does not list them, and one of them could hold a citizen's data.
        gc.unfreeze()
        gc.collect()
        return {
            "objects": _search_objects(secrets, forms, own),
            "kivy_caches": _search_caches(secrets, forms, own),
        }


def _holds(obj: Any, secret: str, forms: list[bytes]) -> bool:
    if isinstance(obj, str):
        return secret in obj
    if isinstance(obj, bytes | bytearray):
        return any(form in obj for form in forms)
    return False


def _report(obj: Any, label: str, secret: str) -> dict[str, Any]:
    text = obj if isinstance(obj, str) else bytes(obj).decode("utf-8", "replace")
    at = max(0, text.find(secret) - 40)
    held_by = [type(r).__name__ for r in gc.get_referrers(obj)[:REFERRERS]]
    return {
        "secret": label,
        "type": type(obj).__name__,
        "excerpt": text[at : at + 120].replace(secret, "<secret>"),
        "held_by": held_by,
    }


def _roots() -> list[Any]:
    """Every object the collector tracks, plus each thread's frames and their locals (a
    blocked worker's locals are reachable but not listed by the collector)."""
    roots: list[Any] = list(gc.get_objects())
    for frame in sys._current_frames().values():
        while frame is not None:
            roots += [frame, frame.f_locals]
            frame = frame.f_back
    return roots


def _search_objects(
    secrets: dict[str, str], forms: dict[str, list[bytes]], own: set[int]
) -> list[dict[str, Any]]:
    """Walk everything reachable (untracked dicts and tuples included: the collector does
    not list containers of atoms, but they are referents of what it lists)."""
    hits: list[dict[str, Any]] = []
    seen: set[int] = set(own)
    stack = _roots()
    seen.add(id(stack))
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, str | bytes | bytearray):
            for label, secret in secrets.items():
                if _holds(obj, secret, forms[label]):
                    hits.append(_report(obj, label, secret))
            continue
        stack.extend(r for r in gc.get_referents(obj) if id(r) not in seen)
    return hits


def _search_caches(
    secrets: dict[str, str], forms: dict[str, list[bytes]], own: set[int]
) -> list[dict[str, Any]]:
    """Kivy's caches: each entry's key and what its object refers to."""
    from kivy.cache import Cache

    hits: list[dict[str, Any]] = []
    for category, entries in Cache._objects.items():
        for key, entry in list(entries.items()):
            values = [key, entry.get("object")]
            values += gc.get_referents(entry.get("object"))
            for value in values:
                for label, secret in secrets.items():
                    if id(value) not in own and _holds(value, secret, forms[label]):
                        hits.append({"category": category, **_report(value, label, secret)})
    return hits


def main(argv: list[str]) -> int:
    """As :func:`tests.ui.driver.main`, with ``--secrets FILE`` first."""
    if argv[:1] != ["--secrets"]:
        raise SystemExit("usage: python -m tests.privacy_probe --secrets FILE <driver options>")
    secrets_file, argv = Path(argv[1]), argv[2:]
    original = driver.ScriptRunner
    driver.ScriptRunner = lambda app, steps, artifacts: ProbeRunner(  # type: ignore[misc]
        app, steps, artifacts, secrets_file
    )
    try:
        return driver.main(argv)
    finally:
        driver.ScriptRunner = original  # type: ignore[misc]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
