"""Test-only driver: run one hall window and play a script of touches against it.

    python -m tests.ui.driver --steps steps.json --artifacts DIR --out result.json -- \\
        kiosk --hall-db /tmp/hall.db --printer "sim://usb-printer?record=/tmp/t.jsonl"

The app is built by :func:`kiosk.launch.build_app` (for ``display`` and ``rating-pad``:
:func:`simulation.launch.build_app`) exactly as ``main.py`` builds it, and runs
in a real window (the test session's Xvfb). The script runs on the Kivy clock, one step at a
time. Taps are touch events posted into the window's input pipeline at the widget's window
coordinates (``UnitTestTouch``), so they reach the widget the way a finger would: through the
window, hit-testing and the button's press/release handling. Widgets are found by ``ui_id``.

Steps (JSON objects, ``op`` first)::

    {"op": "wait", "id": "take_button"}               the widget is on screen
    {"op": "tap", "id": "take_button"}                touch down + up at its centre
    {"op": "type", "id": "staff_input", "text": "A7"} tap its on-screen keys (<id>_key_a, _7)
    {"op": "wait_text", "id": "ticket_no", "match": "^A\\\\d{3}$"}   text matches (re.search)
    {"op": "wait_on_screen", "id": "service_tax"}     all of it inside the window and any scroll view
    {"op": "wait_gone", "id": "ticket_no"}            the widget left the screen
    {"op": "wait_file", "path": "/tmp/go"}            the test process says go
    {"op": "snapshot", "name": "after_call"}          every ui_id's text, saved under name
    {"op": "screenshot", "name": "ticket"}            <artifacts>/<name>.png
    {"op": "touch_file", "path": "/tmp/ready"}        tell the test process something
    {"op": "pause", "seconds": 0.3}                   let frames pass (before a screenshot)
    {"op": "scroll_to", "id": "function_rating"}      scroll its list until it is on screen
    {"op": "colours", "name": "home"}                 every visible text: its colour, the
                                                      colour behind it, its font size

Each waiting step fails after ``timeout`` seconds (default 45: the machine is shared). The
result (JSON) goes to ``--out`` and, prefixed with ``UI-RESULT``, to stdout::

    {"ok": true, "snapshots": {...}, "screenshots": {...}, "error": null, "step": 7}
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Ceiling for one waiting step; generous because other test runs share the two cores.
STEP_TIMEOUT_S = 45.0
POLL_S = 0.05
#: Ops a wrapper module adds before calling :func:`main` (e.g. ``tests.kiosk_tour`` places an
#: ID card on the app's simulated reader): op name → ``(runner, step) -> done``, called on each
#: poll until it returns True, like the built-in waiting ops.
EXTRA_OPS: dict[str, Callable[[ScriptRunner, dict[str, Any]], bool]] = {}


class StepFailed(Exception):
    """A step cannot succeed (e.g. the widget to type into cannot take focus)."""


class ScriptRunner:
    """Plays the steps on the Kivy clock and stops the app at the end.

    Args:
        app: the built (not yet running) app.
        steps: the script.
        artifacts: where screenshots go.
    """

    def __init__(self, app: Any, steps: list[dict[str, Any]], artifacts: Path) -> None:
        self.app = app
        self.steps = steps
        self.artifacts = artifacts
        self.index = 0
        self.deadline = 0.0
        self.result: dict[str, Any] = {
            "ok": False,
            "snapshots": {},
            "screenshots": {},
            "error": None,
            "step": 0,
        }
        self._typed = 0
        self._pause_until: float | None = None
        self._settled: dict[str, Any] = {}

    def start(self, *_: Any) -> None:
        from kivy.clock import Clock

        self.deadline = time.monotonic() + self._timeout()
        self._event = Clock.schedule_interval(self._poll, POLL_S)

    # --- the loop ---------------------------------------------------------------------

    def _poll(self, _dt: float) -> None:
        try:
            while self.index < len(self.steps):
                if not self._do(self.steps[self.index]):
                    if time.monotonic() > self.deadline:
                        raise StepFailed(
                            f"timed out: {json.dumps(self.steps[self.index], ensure_ascii=False)}"
                        )
                    return
                self.index += 1
                self._typed = 0
                self.deadline = time.monotonic() + self._timeout()
            self.result["ok"] = True
        except Exception as err:  # noqa: BLE001  (any failure ends the run with evidence)
            self.result["error"] = f"step {self.index}: {err}"
            self.result["traceback"] = traceback.format_exc()
            self.result["snapshots"]["at_failure"] = self._texts()
            self._screenshot(f"failure-step{self.index}")
        self.result["step"] = self.index
        self._event.cancel()
        self.app.stop()

    def _timeout(self) -> float:
        if self.index < len(self.steps):
            return float(self.steps[self.index].get("timeout", STEP_TIMEOUT_S))
        return STEP_TIMEOUT_S

    def _do(self, step: dict[str, Any]) -> bool:
        op = step["op"]
        if op == "wait":
            return self._find(step["id"]) is not None
        if op == "tap":
            return self._tap(step["id"])
        if op == "type":
            return self._type(step["id"], step["text"])
        if op == "wait_text":
            w = self._find(step["id"])
            return w is not None and re.search(step["match"], str(w.text)) is not None
        if op == "wait_on_screen":
            w = self._find(step["id"])
            return w is not None and self._on_screen(w)
        if op == "wait_gone":
            return self._find(step["id"]) is None
        if op == "wait_file":
            return Path(step["path"]).exists()
        if op == "touch_file":
            Path(step["path"]).touch()
            return True
        if op == "snapshot":
            self.result["snapshots"][step["name"]] = self._texts()
            return True
        if op == "screenshot":
            self._screenshot(step["name"])
            return True
        if op == "scroll_to":
            return self._scroll_to(step["id"])
        if op == "pause":
            if self._pause_until is None:
                self._pause_until = time.monotonic() + float(step["seconds"])
            if time.monotonic() < self._pause_until:
                return False
            self._pause_until = None
            return True
        if op == "colours":
            self.result.setdefault("colours", {})[step["name"]] = self._colours()
            return True
        if op in EXTRA_OPS:
            return EXTRA_OPS[op](self, step)
        raise StepFailed(f"unknown op {op!r}")

    # --- what a finger and an eye do --------------------------------------------------

    def _tap(self, ui_id: str) -> bool:
        from kivy.tests.common import UnitTestTouch

        w = self._find(ui_id)
        if w is None or getattr(w, "disabled", False):
            return False
        if self._settled.get(ui_id) is not w:
            # A widget drawn in this very frame has no layout yet; a finger is never that fast.
            self._settled[ui_id] = w
            return False
        x, y = w.to_window(*w.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
        return True

    def _type(self, ui_id: str, text: str) -> bool:
        """Tap the field's on-screen keys (``kiosk.keyboard``), a key per poll."""
        if self._typed < len(text) and self._tap(f"{ui_id}_key_{text[self._typed].lower()}"):
            self._typed += 1
        return self._typed == len(text)

    def _scroll_to(self, ui_id: str) -> bool:
        """Bring a widget inside its scrolling list into view (what a swipe would do)."""
        from kivy.uix.scrollview import ScrollView

        w = self._find(ui_id)
        if w is None:
            return False
        parent = w.parent
        while parent is not None and not isinstance(parent, ScrollView):
            parent = parent.parent if parent.parent is not parent else None
        if parent is None or self._on_screen(w):
            return self._on_screen(w)
        parent.scroll_to(w, padding=8, animate=False)
        return False  # checked again on the next poll, once the list has moved

    def _on_screen(self, w: Any) -> bool:
        """Whether all of the widget is where an eye can see it: inside the window and inside
        every scrolling view around it (a finger cannot reach what is clipped away)."""
        from kivy.core.window import Window
        from kivy.uix.scrollview import ScrollView

        def box(widget: Any) -> tuple[float, float, float, float]:
            x0, y0 = widget.to_window(widget.x, widget.y)
            x1, y1 = widget.to_window(widget.right, widget.top)
            return x0, y0, x1, y1

        x0, y0, x1, y1 = box(w)
        bounds = [(0.0, 0.0, float(Window.width), float(Window.height))]
        parent = w.parent
        while parent is not None and parent is not parent.parent:
            if isinstance(parent, ScrollView):
                bounds.append(box(parent))
            parent = parent.parent
        return all(
            x0 >= bx0 - 0.5 and y0 >= by0 - 0.5 and x1 <= bx1 + 0.5 and y1 <= by1 + 0.5
            for bx0, by0, bx1, by1 in bounds
        )

    def _find(self, ui_id: str) -> Any:
        from kivy.core.window import Window

        for top in Window.children:
            for w in top.walk(restrict=True):
                if getattr(w, "ui_id", None) == ui_id and w.get_root_window() is not None:
                    return w
        return None

    def _texts(self) -> dict[str, str]:
        from kivy.core.window import Window

        found: dict[str, str] = {}
        for top in Window.children:
            for w in top.walk(restrict=True):
                ui_id = getattr(w, "ui_id", "")
                if ui_id and hasattr(w, "text"):
                    found[ui_id] = str(w.text)
        return found

    def _colours(self) -> list[dict[str, Any]]:
        """Every label on screen with text: what an eye sees of it, for contrast checks.

        The background is the nearest fill behind the text: a button's own face, else the
        closest enclosing panel's colour, else the window's clear colour.
        """
        from kivy.core.window import Window
        from kivy.uix.button import Button
        from kivy.uix.label import Label

        seen: list[dict[str, Any]] = []
        for top in Window.children:
            for w in top.walk(restrict=True):
                if not isinstance(w, Label) or not str(w.text).strip():
                    continue
                if w.get_root_window() is None or w.width <= 1 or w.height <= 1:
                    continue
                colour = w.disabled_color if w.disabled else w.color
                seen.append(
                    {
                        "ui_id": getattr(w, "ui_id", ""),
                        "text": str(w.text),
                        "colour": [float(c) for c in colour],
                        "background": [float(c) for c in self._background(w, Button)],
                        "font_size": float(w.font_size),
                    }
                )
        return seen

    @staticmethod
    def _background(w: Any, button: type) -> Any:
        from kivy.core.window import Window

        node = w
        while node is not None:
            if isinstance(node, button):
                return node.background_color
            if hasattr(node, "bg"):
                return node.bg
            parent = node.parent
            node = None if parent is node else parent
        return Window.clearcolor

    def _screenshot(self, name: str) -> None:
        if self.app.root is None:
            return
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        self.app.root.export_to_png(str(path))
        self.result["screenshots"][name] = str(path)


def main(argv: list[str]) -> int:
    """Run the app named after ``--`` under the script; 0 when every step passed."""
    parser = argparse.ArgumentParser(prog="tests.ui.driver")
    parser.add_argument("--steps", required=True, help="JSON file with the list of steps")
    parser.add_argument("--artifacts", required=True, help="screenshot directory")
    parser.add_argument("--out", required=True, help="where to write the JSON result")
    parser.add_argument("app_argv", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    app_argv = args.app_argv[1:] if args.app_argv[:1] == ["--"] else args.app_argv

    from hardware_sim import register_simulators

    register_simulators()  # as main.py does: a kiosk's printer may be sim://
    if app_argv[:1] in (["display"], ["rating-pad"]):
        from simulation.launch import build_app
    else:
        from kiosk.launch import build_app
    app = build_app(app_argv)
    steps = json.loads(Path(args.steps).read_text(encoding="utf-8"))
    runner = ScriptRunner(app, steps, Path(args.artifacts))
    from kivy.clock import Clock

    # Start once the window exists and the first frame is drawn.
    Clock.schedule_once(runner.start, 0.5)
    app.run()
    text = json.dumps(runner.result, ensure_ascii=False)
    Path(args.out).write_text(text, encoding="utf-8")
    print("UI-RESULT " + text, flush=True)
    return 0 if runner.result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
