"""Fixtures for the real-window UI tests: one Xvfb per session, one app per subprocess.

Import the fixtures into a test module (``from tests.ui.fixtures import ui, xvfb``); pytest
finds them there. Each app runs in its own process under :mod:`tests.ui.driver` (Kivy allows
one App per process), on the session's virtual X display. Screenshots land in
``test-artifacts/ui/<test name>/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
#: A UI run is a whole Kivy start-up plus its script; a ceiling, not an expectation.
RUN_TIMEOUT_S = 150.0


@pytest.fixture(scope="session")
def xvfb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A virtual X display for the session; yields the environment for app processes.

    Xvfb picks a free display number itself (``-displayfd``), so parallel test sessions on
    one machine never fight over ``:99``.
    """
    binary = shutil.which("Xvfb")
    if binary is None:
        pytest.fail("Xvfb is not installed; run `scripts/system-deps.sh test` (package xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [binary, "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "r") as pipe:
            number = pipe.readline().strip()
        if not number.isdigit():
            pytest.fail(f"Xvfb did not report a display (exit code {proc.poll()})")
        env = dict(os.environ)
        env.update(
            DISPLAY=f":{number}",
            KIVY_HOME=str(tmp_path_factory.mktemp("kivy-home")),
            KIVY_NO_ARGS="1",
            # The apps must never pick up a desktop's audio or a real USB printer by accident.
            SDL_AUDIODRIVER="dummy",
            PYTHONUNBUFFERED="1",
        )
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class UiRun:
    """One app process playing one script.

    Attributes:
        proc: the driver process.
        out: where the driver writes its JSON result.
        log: the process's combined output, for failure messages.
    """

    proc: subprocess.Popen[bytes]
    out: Path
    log: Path

    def alive(self) -> bool:
        """True while the app window is still running."""
        return self.proc.poll() is None

    def wait_for_file(self, path: Path, timeout: float = RUN_TIMEOUT_S) -> None:
        """Block until the script has created ``path`` (a ``touch_file`` step).

        Raises:
            AssertionError: the app ended or the time ran out first.
        """
        deadline = time.monotonic() + timeout
        while not path.exists():
            if not self.alive():
                raise AssertionError(
                    f"the app ended before {path.name}: {self.error()}\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {path.name} after {timeout}s:\n{self.tail()}")
            time.sleep(0.05)

    def result(self, timeout: float = RUN_TIMEOUT_S) -> dict[str, Any]:
        """Wait for the app to finish its script; its result, asserted successful."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"the UI run did not finish in {timeout}s:\n{self.tail()}")
        if not self.out.exists():
            raise AssertionError(
                f"the app exited {self.proc.returncode} without a result:\n{self.tail()}"
            )
        result: dict[str, Any] = json.loads(self.out.read_text(encoding="utf-8"))
        assert result["ok"], f"{result['error']}\n{result.get('snapshots')}\n{self.tail()}"
        return result

    def error(self) -> str:
        """The driver's failure message and what was on screen, if it wrote a result."""
        if not self.out.exists():
            return f"no result (exit code {self.proc.returncode})"
        result = json.loads(self.out.read_text(encoding="utf-8"))
        return f"{result['error']}\n{result.get('snapshots')}"

    def stop(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class UiLauncher:
    """Starts apps under the driver for one test.

    Args:
        env: the environment from :func:`xvfb`.
        work: the test's temporary directory.
        artifacts: the test's screenshot directory.
    """

    def __init__(self, env: dict[str, str], work: Path, artifacts: Path) -> None:
        self.env = env
        self.work = work
        self.artifacts = artifacts
        self.runs: list[UiRun] = []

    #: The driver module run in the app's process, and options placed before its own.
    driver: tuple[str, ...] = ("tests.ui.driver",)

    def start(self, app_argv: list[str], steps: list[dict[str, Any]], name: str = "app") -> UiRun:
        """Start ``python -m tests.ui.driver … -- <app_argv>`` in the background."""
        steps_path = self.work / f"{name}-steps.json"
        steps_path.write_text(json.dumps(steps, ensure_ascii=False), encoding="utf-8")
        out = self.work / f"{name}-result.json"
        log = self.work / f"{name}.log"
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    *self.driver,
                    "--steps",
                    str(steps_path),
                    "--artifacts",
                    str(self.artifacts),
                    "--out",
                    str(out),
                    "--",
                    *app_argv,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        run = UiRun(proc, out, log)
        self.runs.append(run)
        return run

    def run(
        self, app_argv: list[str], steps: list[dict[str, Any]], name: str = "app"
    ) -> dict[str, Any]:
        """Run a script to its end; the driver's result."""
        return self.start(app_argv, steps, name).result()


@pytest.fixture
def ui(
    xvfb: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[UiLauncher]:
    """Launch hall windows for this test; every window still open at the end is killed."""
    artifacts = ARTIFACTS / request.node.name
    shutil.rmtree(artifacts, ignore_errors=True)
    launcher = UiLauncher(xvfb, tmp_path, artifacts)
    try:
        yield launcher
    finally:
        for run in launcher.runs:
            run.stop()
