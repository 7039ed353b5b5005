"""The install is reproducible: requirements.lock pins every distribution, with hashes, and
agrees with pyproject.toml. `make lock` refreshes it; this test fails when the two drift."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)")


def _lock() -> dict[str, tuple[str, int]]:
    """name → (version, number of hashes) for every entry of requirements.lock."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match[1])
            entries[current] = (match[2], 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
    return entries


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    for extra in project.get("optional-dependencies", {}).values():
        declared += [Requirement(r) for r in extra]
    return declared


LOCK = _lock()


def test_every_lock_entry_is_exact_and_hashed() -> None:
    assert len(LOCK) > 20
    unhashed = [name for name, (_, hashes) in LOCK.items() if hashes == 0]
    assert not unhashed


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_pyproject_requirement_is_locked_within_its_range(requirement: Requirement) -> None:
    name = canonicalize_name(requirement.name)
    assert name in LOCK, f"{requirement} is in pyproject.toml but not in the lock: run make lock"
    version = LOCK[name][0]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"the lock has {name}=={version}, outside pyproject's {requirement.specifier}: make lock"
    )


def test_the_lock_is_closed_under_dependencies() -> None:
    """Every dependency of a locked distribution is itself locked (transitive pins)."""
    environment = default_environment()
    missing = []
    for name in LOCK:
        for text in metadata.requires(name) or ():
            dep = Requirement(text)
            if dep.marker and not dep.marker.evaluate({**environment, "extra": ""}):
                continue
            if canonicalize_name(dep.name) not in LOCK:
                missing.append(f"{name} needs {dep}")
    assert not missing


def test_pins_kept_by_make_lock_are_in_the_lock() -> None:
    for line in (ROOT / "requirements.pins").read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            assert LOCK[canonicalize_name(match[1])][0] == match[2], line


def test_the_environment_running_the_tests_is_the_locked_one() -> None:
    """`make test` installs from the lock: a stale or hand-edited venv shows up here."""
    drift = {
        name: (version, metadata.version(name))
        for name, (version, _) in LOCK.items()
        if metadata.version(name) != version
    }
    assert not drift, f"installed differs from requirements.lock (locked, installed): {drift}"
