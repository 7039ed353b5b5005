"""The running Hall Edge version, as installed (``dev`` from a bare checkout)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def software_version() -> str:
    try:
        return version("hall-edge")
    except PackageNotFoundError:
        return "dev"
