"""Messages to people through the notification gateway (a webhook for SMS or IM), each once,
retried until delivered, and every one audited.

Each message is first written to ``notify_messages`` in the collector's database (the audit,
and the outbox): its ``dedup_key`` is unique, so a warning or rating seen again (a resent
batch, a second evaluation) enqueues nothing. A worker thread posts due messages to the
gateway with ``requests``:

* **Retries.** A connection error, a timeout or a 5xx is tried again after 2 s, 10 s, 60 s,
  300 s; after the last the message is ``failed`` (logged with code 510, ``NotifyFailed``).
  The outbox is in the database, so messages due when the collector stopped go out when it
  starts again.
* **Once at the gateway.** Every attempt carries the same ``Idempotency-Key`` (a digest of
  the dedup key): an attempt whose answer was lost is not delivered twice.
* **Refusals** (4xx: a number the gateway does not accept) are not retried: ``refused``, with
  the gateway's code, logged with code 511 (``NotifyRefused``).

The gateway's API (``docs/tidal.md``; simulated by ``upstream_sim/notify_gateway.py``)::

    POST {gateway}/api/v1/messages      Idempotency-Key: <64 hex>
    {"channel": "sms", "to": "13800000001", "text": "…", "tag": "warning"}
    → 200 {"code": "0", "message": "成功", "data": {"message_id": "…"}}
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from collector.recipients import Recipient
from core.errors import NotifyFailed, NotifyRefused
from core.sqlite_migrations import Migration, Migrations
from core.sqlite_tx import atomic

log = logging.getLogger(__name__)

#: Seconds before each retry; the message is ``failed`` after the last.
RETRY_DELAYS_S = (2.0, 10.0, 60.0, 300.0)
TIMEOUT_S = (2.0, 5.0)
MESSAGES_PATH = "/api/v1/messages"

NOTIFY_SCHEMA = Migrations(
    "collector.notify",
    (
        Migration(
            1,
            "notify_messages: every message to a person, its delivery and its attempts",
            (
                "CREATE TABLE notify_messages ("
                " id INTEGER PRIMARY KEY, dedup_key TEXT NOT NULL UNIQUE,"
                " hall_id TEXT NOT NULL, subject TEXT NOT NULL, level TEXT NOT NULL,"
                " role TEXT NOT NULL, name TEXT NOT NULL, address TEXT NOT NULL,"
                " text TEXT NOT NULL, created_at REAL NOT NULL, status TEXT NOT NULL,"
                " attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,"
                " sent_at REAL, gateway_id TEXT, last_error TEXT)",
                "CREATE INDEX notify_due ON notify_messages(status, next_at)",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class Message:
    """One message to one person.

    Attributes:
        key: what it is about, the same for every recipient (``warning|hall|…``); with the
            recipient's address it makes the dedup key.
        hall: the hall it concerns.
        subject: ``warning`` or ``bad_rating``.
        level: ``red``, ``yellow``, ``valley``, ``clear`` or the rating level.
        recipient: who.
        text: what they read (Chinese).
    """

    key: str
    hall: str
    subject: str
    level: str
    recipient: Recipient
    text: str

    @property
    def dedup_key(self) -> str:
        return f"{self.key}|{self.recipient.phone}"


class GatewayClient:
    """One POST per attempt to the notification gateway.

    Args:
        base_url: the gateway's address, e.g. ``http://127.0.0.1:8790``.
        channel: ``sms`` or ``im``.
    """

    def __init__(self, base_url: str, channel: str = "sms") -> None:
        self.url = base_url.rstrip("/") + MESSAGES_PATH
        self.channel = channel
        self.session = requests.Session()
        # Retries are the outbox's, spaced out and audited; urllib3's would hide them.
        self.session.mount("http://", HTTPAdapter(max_retries=0))
        self.session.mount("https://", HTTPAdapter(max_retries=0))

    def send(self, dedup_key: str, address: str, text: str, tag: str) -> str:
        """Deliver one message; returns the gateway's message id.

        Raises:
            NotifyFailed (510): not delivered now, worth retrying.
            NotifyRefused (511): the gateway refused it for good.
        """
        key = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()
        body = {"channel": self.channel, "to": address, "text": text, "tag": tag}
        try:
            answer = self.session.post(
                self.url, json=body, headers={"Idempotency-Key": key}, timeout=TIMEOUT_S
            )
        except requests.RequestException as err:
            raise NotifyFailed(f"gateway {self.url} not reached: {err!r}") from err
        if answer.status_code >= 500:
            raise NotifyFailed(f"gateway answered HTTP {answer.status_code}")
        try:
            payload = answer.json()
        except ValueError as err:
            raise NotifyFailed(f"gateway answer is not JSON (HTTP {answer.status_code})") from err
        if answer.status_code >= 400 or not isinstance(payload, dict) or payload.get("code") != "0":
            code = payload.get("code") if isinstance(payload, dict) else None
            raise NotifyRefused(f"gateway refused: {payload!r}", upstream_code=code)
        data = payload.get("data")
        if not isinstance(data, dict) or not data.get("message_id"):
            raise NotifyFailed("gateway answer has no message_id")
        return str(data["message_id"])

    def close(self) -> None:
        self.session.close()


class Notifier:
    """The outbox, its audit and the worker that empties it.

    Args:
        path: the collector's database.
        gateways: per hall, its gateway client; messages of a hall without one are not kept.
        retry_delays_s: see the module's description.
    """

    def __init__(
        self,
        path: Path | str,
        gateways: dict[str, GatewayClient],
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
    ) -> None:
        self.gateways = dict(gateways)
        self.retry_delays_s = retry_delays_s
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        NOTIFY_SCHEMA.apply(self._conn)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- enqueueing -------------------------------------------------------------------

    def enqueue(self, messages: Iterable[Message]) -> int:
        """Keep messages for delivery; one already kept (same dedup key) is skipped.

        Returns:
            How many were new.
        """
        now = time.time()
        rows = [
            (m.dedup_key, m.hall, m.subject, m.level, m.recipient.role, m.recipient.name,
             m.recipient.phone, m.text, now, "pending", now)
            for m in messages
            if m.hall in self.gateways
        ]  # fmt: skip
        if not rows:
            return 0
        with self._lock, atomic(self._conn) as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO notify_messages(dedup_key, hall_id, subject, level, role,"
                " name, address, text, created_at, status, next_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            added = conn.total_changes - before
        self._wake.set()
        return added

    # --- delivering -------------------------------------------------------------------

    def deliver_due(self) -> int:
        """Attempt every message that is due now, once each. Returns how many were sent."""
        with self._lock:
            due = self._conn.execute(
                "SELECT id, dedup_key, hall_id, subject, address, text, attempts"
                " FROM notify_messages WHERE status='pending' AND next_at<=? ORDER BY id",
                (time.time(),),
            ).fetchall()
        sent = 0
        for row_id, dedup_key, hall, subject, address, text, attempts in due:
            gateway = self.gateways.get(hall)
            if gateway is None:
                continue
            try:
                gateway_id = gateway.send(dedup_key, address, text, subject)
            except NotifyRefused as err:
                log.error("code=%d message %d to %s refused: %s", err.code, row_id, address, err)
                self._update(row_id, "refused", attempts + 1, error=str(err))
            except NotifyFailed as err:
                tried = attempts + 1
                if tried > len(self.retry_delays_s):
                    failure = NotifyFailed(str(err), message_id=row_id, attempts=tried)
                    log.error("code=%d message %d to %s: %s", failure.code, row_id, address, err)
                    self._update(row_id, "failed", tried, error=str(err))
                else:
                    log.warning("message %d to %s not delivered (attempt %d): %s",
                                row_id, address, tried, err)  # fmt: skip
                    delay = self.retry_delays_s[tried - 1]
                    self._update(row_id, "pending", tried, error=str(err),
                                 next_at=time.time() + delay)  # fmt: skip
            else:
                self._update(row_id, "sent", attempts + 1, gateway_id=gateway_id)
                sent += 1
        return sent

    def _update(
        self,
        row_id: int,
        status: str,
        attempts: int,
        error: str | None = None,
        gateway_id: str | None = None,
        next_at: float | None = None,
    ) -> None:
        now = time.time()
        with self._lock, atomic(self._conn) as conn:
            conn.execute(
                "UPDATE notify_messages SET status=?, attempts=?,"
                " last_error=COALESCE(?, last_error),"
                " gateway_id=COALESCE(?, gateway_id), next_at=COALESCE(?, next_at),"
                " sent_at=CASE WHEN ?='sent' THEN ? ELSE sent_at END WHERE id=?",
                (status, attempts, error, gateway_id, next_at, status, now, row_id),
            )

    def start(self) -> None:
        """Deliver in the background until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        for gateway in self.gateways.values():
            gateway.close()
        with self._lock:
            self._conn.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.deliver_due()
            except Exception:
                # The worker must outlive one bad round; the messages stay pending.
                log.exception("notification round failed")
            self._wake.wait(self._next_wait())

    def _next_wait(self) -> float:
        with self._lock:
            row = self._conn.execute(
                "SELECT MIN(next_at) FROM notify_messages WHERE status='pending'"
            ).fetchone()
        if row is None or row[0] is None:
            return 60.0
        return min(60.0, max(0.05, float(row[0]) - time.time()))

    # --- the audit --------------------------------------------------------------------

    def audit(self, hall: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Every message kept, newest first: to whom, what, and how its delivery went."""
        sql = (
            "SELECT id, hall_id, subject, level, role, name, address, text, created_at, status,"
            " attempts, sent_at, gateway_id, last_error FROM notify_messages"
        )
        args: tuple[Any, ...] = ()
        if hall is not None:
            sql += " WHERE hall_id=?"
            args = (hall,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        names = ("id", "hall", "subject", "level", "role", "name", "address", "text",
                 "created_at", "status", "attempts", "sent_at", "gateway_id",
                 "last_error")  # fmt: skip
        return [dict(zip(names, r, strict=True)) for r in rows]
