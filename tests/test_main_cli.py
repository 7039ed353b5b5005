"""`python main.py`: one table of commands, each registered by its own package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import main
from core.cli import commands_of

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ("demo", "simulate", "kiosk", "pad", "display", "rating-pad", "agent", "collector",
            "devices", "bench", "errors")


def test_help_lists_every_command_without_loading_kivy_or_opencv() -> None:
    code = (
        "import sys, main\n"
        "try:\n    main.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in ('kivy', 'cv2', 'collector.service') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    for name in EXPECTED:
        assert f"    {name} " in out, name
    assert "LOADED []" in out


def test_every_command_parses_its_own_help() -> None:
    for name in EXPECTED:
        out = subprocess.run([sys.executable, "main.py", name, "--help"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (name, out.stderr)
        assert "usage: main.py " + name in out.stdout


def test_a_command_registered_twice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "twice_a.py").write_text(
        "from core.cli import Command\n"
        "COMMANDS = (Command('errors', 'x', lambda p: None, 'x:y'),)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="registered twice"):
        commands_of([*main.COMMAND_MODULES, "twice_a"])


def test_errors_command_prints_the_code_table() -> None:
    out = subprocess.run([sys.executable, "main.py", "errors"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert "| 100 | `config_invalid` |" in out
