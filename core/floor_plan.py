"""The hall's floor plan (大厅平面图, seed 004): where each window and area is, for the wall screen.

A hall config may draw its hall in an optional ``[floor]`` table, in any unit (metres, floor
tiles), with the origin at the top-left corner as seen on the screen::

    [floor]
    width = 30
    depth = 18
    [[floor.windows]]
    no = 1
    x = 2          # the window's counter, top-left corner
    y = 1
    [[floor.areas]]
    name = "等候区"
    kind = "waiting"   # waiting | kiosks | entrance | other
    x = 4
    y = 7
    w = 14
    h = 8

Windows the table does not place, and a hall without the table, get :func:`auto_layout`:
the counters in a row along the back wall, in front of them the waiting area, the kiosks and
the entrance. That is what most service halls look like, so a hall shows
a recognisable plan before anyone measured it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Size of a window's counter in the automatic layout, in floor units.
COUNTER_W, COUNTER_H = 3.6, 2.4
AREA_KINDS = ("waiting", "kiosks", "entrance", "other")


@dataclass(frozen=True)
class FloorSpot:
    """One window's counter on the plan."""

    no: int
    x: float
    y: float
    w: float = COUNTER_W
    h: float = COUNTER_H


@dataclass(frozen=True)
class FloorArea:
    name: str
    kind: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class FloorPlan:
    width: float
    depth: float
    windows: tuple[FloorSpot, ...] = ()
    areas: tuple[FloorArea, ...] = ()
    #: False when the plan was laid out automatically rather than drawn in the config.
    drawn: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "depth": self.depth,
            "drawn": self.drawn,
            "windows": [s.__dict__.copy() for s in self.windows],
            "areas": [a.__dict__.copy() for a in self.areas],
        }


def parse_floor(raw: dict[str, Any] | None, window_numbers: list[int]) -> FloorPlan | None:
    """``[floor]`` of a hall config, or None when absent.

    Raises:
        ValueError: unknown keys, a window the hall does not have, a shape off the floor.
    """
    if raw is None:
        return None
    unknown = set(raw) - {"width", "depth", "windows", "areas"}
    if unknown:
        raise ValueError(f"[floor] has unknown keys {sorted(unknown)}")
    width, depth = _positive(raw, "width"), _positive(raw, "depth")
    spots: list[FloorSpot] = []
    for w in raw.get("windows", []):
        spot = FloorSpot(int(w["no"]), float(w["x"]), float(w["y"]),
                         float(w.get("w", COUNTER_W)), float(w.get("h", COUNTER_H)))  # fmt: skip
        if spot.no not in window_numbers:
            raise ValueError(f"[floor] places window {spot.no}, which [[windows]] does not list")
        _on_floor(f"window {spot.no}", spot.x, spot.y, spot.w, spot.h, width, depth)
        spots.append(spot)
    if len({s.no for s in spots}) != len(spots):
        raise ValueError("[floor] places a window twice")
    areas: list[FloorArea] = []
    for a in raw.get("areas", []):
        area = FloorArea(str(a["name"]), str(a.get("kind", "other")), float(a["x"]),
                         float(a["y"]), float(a["w"]), float(a["h"]))  # fmt: skip
        if area.kind not in AREA_KINDS:
            raise ValueError(f"[floor] area {area.name!r}: kind must be one of {AREA_KINDS}")
        _on_floor(f"area {area.name!r}", area.x, area.y, area.w, area.h, width, depth)
        areas.append(area)
    return FloorPlan(width, depth, tuple(spots), tuple(areas))


def auto_layout(window_numbers: list[int], plan: FloorPlan | None = None) -> FloorPlan:
    """The plan to draw: ``plan`` with any window it leaves out placed in a free row, or,
    without a plan, counters along the back wall, waiting area, kiosks and entrance."""
    numbers = sorted(window_numbers)
    if plan is not None:
        placed = {s.no for s in plan.windows}
        missing = [n for n in numbers if n not in placed]
        if not missing:
            return plan
        # Unplaced windows go in a row below the drawn floor, so nothing drawn moves.
        extra = tuple(
            FloorSpot(n, 1.0 + i * (COUNTER_W + 1.0), plan.depth + 1.0)
            for i, n in enumerate(missing)
        )
        width = max(plan.width, 1.0 + len(missing) * (COUNTER_W + 1.0))
        return FloorPlan(width, plan.depth + COUNTER_H + 2.0, plan.windows + extra, plan.areas,
                         plan.drawn)  # fmt: skip
    count = max(len(numbers), 1)
    gap = 1.0
    # Wide and shallow (about 3.7 : 1), the shape of the screen's panel.
    width = max(count * (COUNTER_W + gap) + gap, 20.0)
    depth = 5.4
    left = (width - (count * (COUNTER_W + gap) - gap)) / 2
    spots = tuple(
        FloorSpot(n, left + i * (COUNTER_W + gap), 0.4) for i, n in enumerate(numbers)
    )
    areas = (
        FloorArea("等候区", "waiting", 1.0, 3.2, width * 0.45, 1.8),
        FloorArea("自助服务区", "kiosks", width * 0.45 + 1.5, 3.2, width * 0.25, 1.8),
        FloorArea("入口", "entrance", width * 0.7 + 2.0, 3.6, width * 0.3 - 3.0, 1.4),
    )
    return FloorPlan(width, depth, spots, areas, drawn=False)


def _positive(raw: dict[str, Any], key: str) -> float:
    value = float(raw[key])
    if not value > 0:
        raise ValueError(f"[floor] {key} must be positive, got {value}")
    return value


def _on_floor(what: str, x: float, y: float, w: float, h: float, width: float,
              depth: float) -> None:  # fmt: skip
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > depth:
        raise ValueError(f"[floor] {what} is not inside the {width}×{depth} floor")
