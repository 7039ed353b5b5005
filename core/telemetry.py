"""Telemetry samples: measurements that may be thinned out, unlike events.

An event is a fact a citizen saw happen (a ticket, a call) and is never dropped. A sample is a
reading: journal backlog, free disk, printer paper level, camera frame rate. Samples are
group-committed, and under a long outage they are downsampled and, past a hard cap, dropped
oldest-first; the hall reports how many with every batch, so the collector can tell a quiet
device from a thinned-out one. The wire form is documented in ``docs/topics.md``.

A sample is either one reading (``n`` = 1) or the aggregate of ``n`` readings of the same
device and metric within one minute (``at`` = the first of them, ``value`` = their mean,
``min``/``max`` their range). The collector keys samples by (hall, device, metric, at, n), so
a batch delivered twice is stored once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from core.errors import MalformedMessage
from core.events import INT_MAX, MAX_DEPTH, MAX_ID_CHARS, MIB, load_json, readable_id

TELEMETRY_VERSION = 1
#: Longest metric name accepted (names such as ``journal.backlog``, ``disk.free_bytes``).
MAX_METRIC_LEN = 64
#: Largest telemetry payload accepted, in bytes: a full agent batch (500 samples of about
#: 150 bytes) is some 75 KB.
MAX_TELEMETRY_BYTES = 1 * MIB


@dataclass(frozen=True)
class Sample:
    """One reading, or the aggregate of ``n`` readings of one bucket.

    Attributes:
        device_id: the device measured.
        metric: what was measured (dotted name).
        at: epoch seconds of the reading, or of the first reading in the aggregate.
        value: the reading, or the mean of the aggregated readings.
        n: how many readings this sample stands for.
        min: the smallest of them (``value`` when n = 1).
        max: the largest of them.
    """

    device_id: str
    metric: str
    at: float
    value: float
    n: int = 1
    min: float | None = None
    max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        low = self.value if self.min is None else self.min
        high = self.value if self.max is None else self.max
        return {"device_id": self.device_id, "metric": self.metric, "at": self.at,
                "value": self.value, "n": self.n, "min": low, "max": high}


@dataclass(frozen=True)
class TelemetryBatch:
    """A message on ``halledge/v1/<hall>/telemetry``.

    Attributes:
        hall_id: the hall that sent it.
        samples: the samples.
        dropped_total: readings this hall has dropped since its database was created.
        downsampled_total: readings merged into aggregates since then.
    """

    hall_id: str
    samples: list[Sample]
    dropped_total: int
    downsampled_total: int


def encode_batch(batch: TelemetryBatch) -> bytes:
    body = {
        "v": TELEMETRY_VERSION,
        "hall_id": batch.hall_id,
        "dropped_total": batch.dropped_total,
        "downsampled_total": batch.downsampled_total,
        "samples": [s.to_dict() for s in batch.samples],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_batch(payload: bytes) -> TelemetryBatch:
    """Parse and check a telemetry message.

    The payload passes the same size and nesting-depth checks as an event batch
    (:func:`core.events.load_json`) before anything else; every number is then checked
    where it is read.

    Raises:
        MalformedMessage (501): too big, too deep, not JSON, another version, a missing or
            mistyped field, a non-finite number or an integer beyond 64 bits, ``n`` < 1, or
            ``min`` ≤ ``value`` ≤ ``max`` violated.
    """
    body = load_json(payload, MAX_TELEMETRY_BYTES, MAX_DEPTH)
    if not isinstance(body, dict):
        raise MalformedMessage("telemetry is not an object", reason="wrong_type")
    if body.get("v") != TELEMETRY_VERSION:
        raise MalformedMessage(f"telemetry version {body.get('v')!r}", reason="version")
    hall = body.get("hall_id")
    samples = body.get("samples")
    if not isinstance(hall, str) or not hall or not isinstance(samples, list):
        raise MalformedMessage("telemetry needs hall_id and samples", reason="missing_field")
    if not samples:
        raise MalformedMessage("telemetry batch has no samples", reason="empty")
    return TelemetryBatch(
        hall,
        [_sample(raw) for raw in samples],
        _count(body, "dropped_total"),
        _count(body, "downsampled_total"),
    )


def _count(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= INT_MAX:
        raise MalformedMessage(f"telemetry {name} must be a count", reason="wrong_type")
    return value


def _number(raw: dict[str, Any], name: str) -> float:
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedMessage(f"sample {name} must be a finite number", reason="wrong_type")
    return float(value)


def _sample(raw: Any) -> Sample:
    if not isinstance(raw, dict):
        raise MalformedMessage("sample is not an object", reason="wrong_type")
    device, metric, n = raw.get("device_id"), raw.get("metric"), raw.get("n")
    if not isinstance(device, str) or not device or not isinstance(metric, str) or not metric:
        raise MalformedMessage("sample needs device_id and metric", reason="missing_field")
    if readable_id(device, MAX_ID_CHARS) is None or readable_id(metric, MAX_METRIC_LEN) is None:
        raise MalformedMessage("sample device id or metric name is not a short text",
                               reason="wrong_type")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= INT_MAX:
        raise MalformedMessage("sample n must be a count ≥ 1", reason="wrong_type")
    value, low, high = _number(raw, "value"), _number(raw, "min"), _number(raw, "max")
    if not low <= value <= high:
        raise MalformedMessage("sample needs min ≤ value ≤ max", reason="wrong_type")
    return Sample(device, metric, _number(raw, "at"), value, n, low, high)
