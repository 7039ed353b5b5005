"""The kiosk's ledger of online submissions: each submission id written to disk *before* the
case is sent, and its outcome after.

The submission id is the case's ``Idempotency-Key``. Kept on disk first, it outlives a crash
in the middle of the POST: staff (or a later tool) can still ask the platform about that key,
and a kiosk never files the same citizen's case under a second key by accident. The ledger
holds no personal data: the id, the item code, the state, the case number.

One JSON file (``<data_dir>/submissions.json``), replaced atomically (write, fsync, rename),
so a crash leaves either the old ledger or the new one.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

FILE_NAME = "submissions.json"
#: States of an entry: sent and not yet answered, filed, refused.
STATES = ("sending", "done", "failed")
#: Entries kept; the oldest settled ones go first.
KEEP = 500


class SubmissionLedger:
    """The ledger file in a kiosk's data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
        self._lock = threading.Lock()

    def record(self, submission_id: str, item: str, state: str, case_no: str = "") -> None:
        """Write an entry's state; on disk when this returns."""
        if state not in STATES:
            raise ValueError(f"ledger state {state!r} not one of {STATES}")
        with self._lock:
            entries = self._read()
            entries[submission_id] = {"item": item, "state": state, "case_no": case_no}
            while len(entries) > KEEP:
                settled = next((k for k, v in entries.items() if v["state"] != "sending"), None)
                entries.pop(settled if settled is not None else next(iter(entries)))
            self._write(entries)

    def entry(self, submission_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._read().get(submission_id)

    def unsettled(self) -> list[str]:
        """Submission ids sent whose outcome the kiosk never learned."""
        with self._lock:
            return [k for k, v in self._read().items() if v["state"] == "sending"]

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, entries: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(entries, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
