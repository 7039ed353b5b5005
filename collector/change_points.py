"""Where a hall's daily figures changed for good (a new policy, a moved department, a new
layout), so the weekly baseline forgets what came before.

Method: binary segmentation with a squared-error cost and a penalty, as ``ruptures.Binseg``
with ``model="l2"`` (reference B3), on a series of business days with the weekday pattern
removed (each day minus the median of its weekday in the window):

1. The noise σ is estimated robustly from the day-to-day differences (MAD / 0.6745 / √2),
   so a change does not inflate its own yardstick; it is floored at 5 % of the series'
   typical size, so a perfectly regular hall does not see a "change" in every wobble.
2. The best single split is the one that most reduces Σ(x − segment mean)², each side at
   least :data:`MIN_SEGMENT_DAYS` long. It counts as a change when the reduction exceeds
   ``PENALTY · σ² · ln n`` (a BIC-style penalty, three times the usual per-change cost:
   a baseline reset costs weeks of cold start, so only a clear shift may cause one).
3. The search repeats on the part after the change, and the latest change found is the one
   the baseline starts from.

Offline by design: it runs with the nightly baseline, never minute by minute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median

#: The shortest regime believed: two working weeks.
MIN_SEGMENT_DAYS = 10
PENALTY = 3.0
#: σ is at least this share of the series' median absolute size.
SIGMA_FLOOR = 0.05


def deseasonalised(values: Sequence[float], weekdays: Sequence[int]) -> list[float]:
    """Each value minus the median of the values on the same weekday."""
    by_day: dict[int, list[float]] = {}
    for v, d in zip(values, weekdays, strict=True):
        by_day.setdefault(d, []).append(v)
    centre = {d: median(vs) for d, vs in by_day.items()}
    return [v - centre[d] for v, d in zip(values, weekdays, strict=True)]


def latest_change(
    values: Sequence[float],
    scale: float | None = None,
    min_size: int = MIN_SEGMENT_DAYS,
    penalty: float = PENALTY,
) -> int | None:
    """The index where the latest regime of ``values`` begins, or None for no change.

    Args:
        values: one figure per business day, oldest first (weekday pattern removed).
        scale: the typical size of the raw figures, for the σ floor (default: from values).
        min_size: the shortest segment.
        penalty: the penalty factor of step 2.
    """
    n = len(values)
    if n < 2 * min_size:
        return None
    diffs = sorted(abs(b - a) for a, b in zip(values, values[1:]))
    sigma = median(diffs) / 0.6745 / math.sqrt(2)
    typical = scale if scale is not None else median(abs(v) for v in values)
    sigma = max(sigma, SIGMA_FLOOR * typical, 1e-9)
    threshold = penalty * sigma**2 * math.log(n)
    found, offset, part = None, 0, list(values)
    while len(part) >= 2 * min_size:
        split, gain = _best_split(part, min_size)
        if gain <= threshold:
            break
        found = offset + split
        offset, part = found, part[split:]
    return found


def _best_split(values: list[float], min_size: int) -> tuple[int, float]:
    """The split k (values[:k] | values[k:]) with the largest cost reduction, and it."""
    n = len(values)
    total = sum(values)
    mean = total / n
    whole = sum((v - mean) ** 2 for v in values)
    best, best_gain = min_size, -1.0
    left_sum = left_sq = 0.0
    squares = sum(v * v for v in values)
    for k in range(1, n):
        v = values[k - 1]
        left_sum += v
        left_sq += v * v
        if k < min_size or n - k < min_size:
            continue
        right_sum, right_sq = total - left_sum, squares - left_sq
        cost = (left_sq - left_sum**2 / k) + (right_sq - right_sum**2 / (n - k))
        gain = whole - cost
        if gain > best_gain:
            best, best_gain = k, gain
    return best, best_gain
