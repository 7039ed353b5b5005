"""The wait on the ticket against ZMS's queue-length estimator (issue #14).

Not a speed figure: an accuracy one, beside its baseline from the same simulated mornings
(:mod:`simulation.wait_compare`). For each scenario (the multi-service morning peak; a morning
on which windows sign in late, open for the peak, pause and close) both estimators are scored
on the same tickets:

- on the fixed held-out seeds (never used to choose the estimator's constants), and
- on fresh seeds drawn for this run (printed, so a surprising run can be replayed).

The target is a mean absolute error at least 30 % below ZMS's (``mae_reduction`` ≥ 0.30);
underestimates are reported apart (``under_share``, ``under_mae_s``, and ``told_late_share``:
waited past the upper end of the range as printed).
"""

from __future__ import annotations

import secrets
from typing import Any

from simulation.wait_compare import HELD_OUT_SEEDS, SCENARIOS, TUNING_SEEDS, compare

#: The issue's target: MAE at least this much below the baseline's.
TARGET_REDUCTION = 0.30
FRESH_SEEDS = 10


def run(options: dict[str, Any]) -> dict[str, Any]:
    quick = bool(options.get("quick"))
    held_out = HELD_OUT_SEEDS[:3] if quick else HELD_OUT_SEEDS
    fresh = tuple(secrets.randbelow(1_000_000) + 1000 for _ in range(3 if quick else FRESH_SEEDS))
    results = []
    for scenario in SCENARIOS:
        for label, seeds in (("held_out", held_out), ("fresh", fresh)):
            result = compare(scenario, seeds)
            result["seed_set"] = label
            result["meets_target"] = (result["mae_reduction"] or 0.0) >= TARGET_REDUCTION
            results.append(result)
    mae = {
        name: sum((r[name]["mae_s"] or 0.0) * r[name]["count"] for r in results)
        for name in ("estimator", "zms")
    }
    return {
        # Our MAE over the queue-length baseline's, every run pooled: below 0.7 meets the target.
        "mae_ratio_vs_zms": round(mae["estimator"] / mae["zms"], 3) if mae["zms"] else None,
        "target_mae_reduction": TARGET_REDUCTION,
        "tuning_seeds": list(TUNING_SEEDS),
        "runs": results,
        "all_meet_target": all(r["meets_target"] for r in results),
        "note": "MAE of est_wait_s (the range's middle) vs the waits the queue recorded; "
        "ZMS = (people ahead + 1) × configured AHT ÷ open unpaused windows of the service",
    }
