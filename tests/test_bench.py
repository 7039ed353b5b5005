"""`python main.py bench`: every suite runs and reports a ratio against its same-run baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import SUITES

ROOT = Path(__file__).resolve().parent.parent


#: Suites whose quick run takes a minute or more (a Kivy kiosk through 36 sessions; a broker
#: and a province of halls): they run with the slow tests (`pytest -m slow`).
SLOW_SUITES = {"kiosk", "collector"}


@pytest.mark.parametrize(
    "suite",
    [pytest.param(s, marks=pytest.mark.slow) if s in SLOW_SUITES else s for s in sorted(SUITES)],
)
def test_each_suite_prints_json_with_a_ratio(suite: str) -> None:
    out = subprocess.run(
        [sys.executable, "main.py", "bench", suite, "--json", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
    )
    result = json.loads(out.stdout)[suite]
    # A suite reports its ratios at the top, or in sections of its own (the collector's
    # ingest, evaluation, latency).
    ratios = {k: v for k, v in result.items() if "ratio" in k} | {
        f"{name}.{k}": v
        for name, section in result.items() if isinstance(section, dict)
        for k, v in section.items() if "ratio" in k
    }
    assert ratios and all(isinstance(v, (int, float)) and v > 0 for v in ratios.values()), result
    versions = result["versions"]
    assert versions["sqlite"].count(".") == 2
    for library in SUITES[suite].libraries:
        assert versions[library][0].isdigit(), (library, versions)
    if suite == "kiosk" and result["materials"]["rounds"]:
        # Issue 13's figures, each measured every round beside a baseline of the same run.
        materials = result["materials"]
        for figure in ("tap_to_corrected_page", "page_laid_to_corrected_page",
                       "copy_tap_to_corrected_card", "tap_to_first_page_printed"):  # fmt: skip
            assert materials[figure]["count"] == materials["rounds"], (figure, materials)
            assert materials[figure]["p50_ratio_vs_baseline"] > 0, (figure, materials)
