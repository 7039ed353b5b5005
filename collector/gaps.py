"""Live view of missing sequence numbers per device, updated event by event at ingest.

The agent sends each device's events in seq order, so a new event whose seq jumps past the
next expected one means events in between are missing: lost with a crashed broker, or still
held by a hall box that is offline. :class:`GapTracker` opens a gap for that run and closes
it, piece by piece, as the missing events arrive. It starts from the store's own view
(:meth:`collector.store.EventStore.gaps`), so a restarted collector still knows old gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collector.store import Gap


@dataclass
class GapChanges:
    """What one batch changed.

    Attributes:
        opened: runs found missing now.
        closed: runs now complete (every seq of the run arrived).
    """

    opened: list[Gap] = field(default_factory=list)
    closed: list[Gap] = field(default_factory=list)


class GapTracker:
    """Open gaps per (hall, device), kept in step with the events stored.

    Args:
        gaps: the gaps already in the store.
        highest: the highest stored seq per (hall, device).
    """

    def __init__(self, gaps: list[Gap], highest: dict[tuple[str, str], int]) -> None:
        self._highest = dict(highest)
        #: (hall, device) → open runs as [first, last, original Gap].
        self._open: dict[tuple[str, str], list[list]] = {}
        for g in gaps:
            self._open.setdefault((g.hall_id, g.device_id), []).append([g.first, g.last, g])
        self.opened_total = 0

    def observe(self, hall_id: str, device_id: str, seq: int) -> GapChanges:
        """Account for one newly stored event (never a duplicate)."""
        changes = GapChanges()
        key = (hall_id, device_id)
        top = self._highest.get(key, 0)
        if seq > top + 1:
            gap = Gap(hall_id, device_id, top + 1, seq - 1)
            self._open.setdefault(key, []).append([gap.first, gap.last, gap])
            changes.opened.append(gap)
            self.opened_total += 1
        if seq > top:
            self._highest[key] = seq
            return changes
        runs = self._open.get(key, [])
        for run in runs:
            first, last, original = run
            if first <= seq <= last:
                runs.remove(run)
                if first < seq:
                    runs.append([first, seq - 1, original])
                if seq < last:
                    runs.append([seq + 1, last, original])
                if not any(r[2] is original for r in runs):
                    changes.closed.append(original)
                break
        if not runs:
            self._open.pop(key, None)
        return changes

    def open_gaps(self) -> list[Gap]:
        """Every missing run right now, ordered by hall, device and seq."""
        found = [
            Gap(h, d, first, last) for (h, d), runs in self._open.items() for first, last, _ in runs
        ]
        return sorted(found, key=lambda g: (g.hall_id, g.device_id, g.first))
