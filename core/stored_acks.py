"""The collector's end-to-end acknowledgement: what it has *stored*, per device.

A broker's PUBACK only says the broker took a batch; if no collector session exists yet, or the
broker restarts without persistence, the batch is gone. So a hall deletes an event from its
journal only when the collector says it stored it. The collector publishes, per hall, a
*watermark* for each device: the highest ``seq`` such that every event of that device from its
first kept seq up to it is stored (a dead-lettered event counts as stored: it is kept at the
collector, not lost). One watermark acknowledges any number of events at once.

Wire form (``halledge/v1/<hall>/stored``, retained, so an agent that (re)connects learns at
once what it may delete; QoS 0 from the collector, ``collector/stored_acks.py``)::

    {"v": 1, "hall_id": "hall-1", "stored": {"kiosk-1": 1042, "pad-3": 77}}

``floors``: a hall tells the collector, in each event batch, the lowest seq it still holds per
device (``"floors": {"kiosk-1": 1000}``). Seqs below a floor can never arrive any more (deleted
by an older agent that trusted PUBACK, say), so the collector counts them as lost and lets the
watermark pass them instead of waiting for ever.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.errors import MalformedMessage
from core.events import INT_MAX, MAX_ID_CHARS

#: Version of the watermark message; a reader ignores versions it does not know.
STORED_VERSION = 1
#: A device id longer than this is not one of ours (the bound every id has, ``core.events``).
MAX_DEVICE_ID = MAX_ID_CHARS


@dataclass(frozen=True)
class StoredWatermarks:
    """Per device of one hall: the highest seq up to which everything is stored."""

    hall_id: str
    stored: dict[str, int]

    def encode(self) -> bytes:
        body = {"v": STORED_VERSION, "hall_id": self.hall_id, "stored": self.stored}
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def decode(cls, payload: bytes) -> StoredWatermarks:
        """Raises MalformedMessage (501) for anything but a well-formed version-1 message."""
        try:
            body = json.loads(payload)
        except (ValueError, RecursionError) as err:
            raise MalformedMessage("watermark is not JSON", reason="not_json") from err
        if not isinstance(body, dict) or body.get("v") != STORED_VERSION:
            raise MalformedMessage("watermark has no supported version", reason="version")
        hall, stored = body.get("hall_id"), body.get("stored")
        if not isinstance(hall, str) or not isinstance(stored, dict):
            raise MalformedMessage("watermark lacks hall_id or stored", reason="field")
        for device, seq in stored.items():
            if len(device) > MAX_DEVICE_ID or not _is_seq(seq):
                raise MalformedMessage(f"bad watermark for {device[:40]!r}", reason="field")
        return cls(hall, dict(stored))


def _is_seq(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT_MAX
