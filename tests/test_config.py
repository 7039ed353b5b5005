"""The hall config refuses what would make two windows or two services indistinguishable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import DEFAULT_CONFIG, load_hall_config
from core.errors import ConfigError


def test_the_demo_hall_loads() -> None:
    hall = load_hall_config(DEFAULT_CONFIG)
    assert len({w.no for w in hall.windows}) == len(hall.windows)


def test_a_window_number_given_twice_is_refused(tmp_path: Path) -> None:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    numbers = re.findall(r"^no = (\d+)$", text, flags=re.MULTILINE)
    assert len(numbers) >= 2
    twice = re.sub(rf"^no = {numbers[1]}$", f"no = {numbers[0]}", text, count=1,
                   flags=re.MULTILINE)
    path = tmp_path / "hall.toml"
    path.write_text(twice, encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"window numbers \[{numbers[0]}\]"):
        load_hall_config(path)
