"""Live view of missing sequence numbers per device, updated event by event at ingest.

The agent sends each device's events in seq order, so a new event whose seq jumps past the
next expected one means events in between are missing: lost with a crashed broker, or still
held by a hall box that is offline. :class:`GapTracker` opens a gap for that run and closes
it, piece by piece, as the missing events arrive. A dead-lettered event arrived too (it is
kept at the collector), so it closes its seq like a stored one. A *floor* (the lowest seq a
hall still holds for a device) closes every run below it for good: those seqs are lost, and
counted. It starts from the store's own view (:meth:`collector.store.EventStore.gaps`), so a
restarted collector still knows old gaps.

The same state gives each device's stored-watermark: the highest seq up to which nothing is
missing (``collector/stored_acks.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collector.store import Gap


@dataclass
class GapChanges:
    """What one batch changed.

    Attributes:
        opened: runs found missing now.
        closed: runs now complete (every seq of the run arrived, or is below a floor).
        lost: seqs given up for lost now (below a floor, never arrived).
    """

    opened: list[Gap] = field(default_factory=list)
    closed: list[Gap] = field(default_factory=list)
    lost: int = 0


class GapTracker:
    """Open gaps per (hall, device), kept in step with the events stored.

    Not thread-safe: the ingest serialises access.

    Args:
        gaps: the gaps already in the store (lost seqs included, so floors can count them).
        highest: the highest covered seq per (hall, device).
        floors: the floors already in the store; their lost seqs are counted again.
    """

    def __init__(
        self,
        gaps: list[Gap],
        highest: dict[tuple[str, str], int],
        floors: dict[tuple[str, str], int] | None = None,
    ) -> None:
        self._highest = dict(highest)
        #: hall → its devices: a province holds 10^5 devices, and a watermark round asks
        #: for each hall's, so they are never found by scanning every key.
        self._devices: dict[str, set[str]] = {}
        for hall, device in self._highest:
            self._devices.setdefault(hall, set()).add(device)
        #: (hall, device) → open runs as [first, last, original Gap].
        self._open: dict[tuple[str, str], list[list]] = {}
        for g in gaps:
            self._open.setdefault((g.hall_id, g.device_id), []).append([g.first, g.last, g])
        self._lost: dict[str, int] = {}
        for (hall, device), floor in (floors or {}).items():
            self.floor(hall, device, floor)
        self.opened_total = 0

    def observe(self, hall_id: str, device_id: str, seq: int) -> GapChanges:
        """Account for one newly covered seq (an event stored or dead-lettered)."""
        changes = GapChanges()
        key = (hall_id, device_id)
        top = self._highest.get(key, 0)
        if seq > top + 1:
            gap = Gap(hall_id, device_id, top + 1, seq - 1)
            self._open.setdefault(key, []).append([gap.first, gap.last, gap])
            changes.opened.append(gap)
            self.opened_total += 1
        if seq > top:
            if top == 0:
                self._devices.setdefault(hall_id, set()).add(device_id)
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

    def floor(self, hall_id: str, device_id: str, floor: int) -> GapChanges:
        """The hall holds nothing of the device below ``floor`` any more: every seq below it
        that has not arrived never will. Closes those runs and counts them as lost."""
        changes = GapChanges()
        key = (hall_id, device_id)
        top = self._highest.get(key, 0)
        if floor - 1 > top:
            changes.lost += floor - 1 - top
            self._highest[key] = floor - 1
            self._devices.setdefault(hall_id, set()).add(device_id)
        runs = self._open.get(key, [])
        for run in list(runs):
            first, last, original = run
            if first >= floor:
                continue
            runs.remove(run)
            changes.lost += min(last, floor - 1) - first + 1
            if last >= floor:
                runs.append([floor, last, original])
            elif not any(r[2] is original for r in runs):
                changes.closed.append(original)
        if not runs:
            self._open.pop(key, None)
        if changes.lost:
            self._lost[hall_id] = self._lost.get(hall_id, 0) + changes.lost
        return changes

    def watermark(self, hall_id: str, device_id: str) -> int:
        """The highest seq such that every seq from the device's floor (or 1) up to it is
        covered; 0 when seq 1 is still missing."""
        key = (hall_id, device_id)
        runs = self._open.get(key)
        if runs:
            return min(r[0] for r in runs) - 1
        return self._highest.get(key, 0)

    def devices(self, hall_id: str) -> list[str]:
        """Every device of a hall seen so far, sorted."""
        return sorted(self._devices.get(hall_id, ()))

    def halls(self) -> list[str]:
        """Every hall seen so far, sorted."""
        return sorted(self._devices)

    def lost(self, hall_id: str) -> int:
        """Seqs of the hall's devices given up for lost (below a floor, never arrived)."""
        return self._lost.get(hall_id, 0)

    def open_gaps(self) -> list[Gap]:
        """Every missing run right now, ordered by hall, device and seq."""
        found = [
            Gap(h, d, first, last) for (h, d), runs in self._open.items() for first, last, _ in runs
        ]
        return sorted(found, key=lambda g: (g.hall_id, g.device_id, g.first))
