"""The five 好差评 levels (GB/T 39735-2020 practice: 5 stars 非常满意 … 1 star 非常不满意).

One table for the pad, the queue and the collector. Levels 1 and 2 are 差评, which the rules
require a callback for.
"""

from __future__ import annotations

LEVEL_LABELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def is_bad_review(level: int) -> bool:
    """差评: 不满意 or 非常不满意."""
    return level <= 2
