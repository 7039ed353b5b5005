"""A citizen's phone, for tests: headless Chromium opening the platform's mobile form page and
filling it as a person would (focus a field, type, pick an option, tap 提交), driven over the
Chrome DevTools Protocol with ``websockets`` (no Selenium, no Playwright in the lock).

The page runs its own script in a real browser engine: what the test sees is what a phone
would show (``document.body.dataset.state`` is ``submitted`` once the platform accepted it).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

#: Chromium's start on a busy 2-core machine.
START_S = 120.0


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed (Debian package chromium): the phone form is "
                    "tested in a real browser")  # fmt: skip
    return found


class Phone:
    """One headless Chromium with one tab, a phone-sized window.

    Args:
        work: a directory of its own (profile, and where screenshots go).
    """

    def __init__(self, work: Path) -> None:
        self.work = work
        profile = work / "profile"
        profile.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--remote-debugging-port=0", "--remote-allow-origins=*",
             f"--user-data-dir={profile}", "--window-size=412,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=os.environ | {"HOME": str(work)},
        )  # fmt: skip
        self._id = 0
        self.ws = self._attach(profile / "DevToolsActivePort")

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    # --- what a citizen does --------------------------------------------------------------

    def open(self, url: str) -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && !!document.body")

    def fill(self, values: dict[str, str]) -> None:
        """Type each text field (an IME's insertText, so the page sees real input) and pick
        each option of a select."""
        for key, value in values.items():
            tag = self.js(f"document.getElementById('field-{key}').tagName")
            if tag == "SELECT":
                self.js(f"(() => {{ const s = document.getElementById('field-{key}');"
                        f" s.value = {json.dumps(value)};"
                        " s.dispatchEvent(new Event('change', {bubbles: true})); })()")  # fmt: skip
                continue
            self.js(f"(() => {{ const e = document.getElementById('field-{key}');"
                    " e.value = ''; e.focus(); })()")  # fmt: skip
            self.call("Input.insertText", text=value)

    def submit(self) -> str:
        """Tap 提交 and wait for the page to settle; the page's state afterwards."""
        self.js("document.getElementById('submit').click()")
        self.wait_for("['submitted', 'invalid', 'expired'].includes(document.body.dataset.state)")
        return str(self.js("document.body.dataset.state"))

    def text(self, element_id: str) -> str:
        return str(self.js(f"document.getElementById({json.dumps(element_id)}).textContent"))

    def state(self) -> str:
        return str(self.js("document.body.dataset.state"))

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    # --- the protocol -----------------------------------------------------------------------

    def js(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in answer:
            raise AssertionError(f"page script failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.js(expression):
            if time.monotonic() > deadline:
                raise AssertionError(f"page never satisfied {expression}")
            time.sleep(0.1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self._id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _attach(self, port_file: Path) -> ClientConnection:
        deadline = time.monotonic() + START_S
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("chromium did not open its debugging port")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as answer:
            targets = json.loads(answer.read())
        page = next(t for t in targets if t.get("type") == "page")
        return connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
