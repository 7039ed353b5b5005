"""Personal data on the wire and in logs: an ID number never leaves the device in clear.

Two ways out, and only these (``docs/privacy.md``):

- **masked** for people to read (screens, logs, events): region and last four digits,
  ``110101********1234``, the rule of :func:`mask_number`;
- **keyed hash** when the collector needs the same citizen to give the same key (e.g. "at
  most N tickets per ID per day"): HMAC-SHA256 under a secret of the hall. Without the
  secret, the 10^8-ish plausible numbers of a region cannot be hashed and compared, which a
  plain SHA-256 would allow in minutes; and two halls give the same citizen unrelated keys.

The secret lives in a file on the hall box (like the MQTT password), never in the hall
configuration TOML, which is pushed over MQTT and kept in version control.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from core.errors import PrivacyKeyMissing

#: Shortest secret accepted; shorter ones are guessable.
MIN_SECRET_BYTES = 16


def mask_number(number: str) -> str:
    """``110101199003071234`` → ``110101********1234``: region and last four only.

    Shorter numbers (15-character foreigner cards) keep their first three and last four.
    """
    head = 6 if len(number) >= 18 else 3
    if len(number) <= head + 4:
        return "*" * len(number)
    return number[:head] + "*" * (len(number) - head - 4) + number[-4:]


def mask_name(name: str) -> str:
    """``张三丰`` → ``张**``: the first character only."""
    return name[:1] + "*" * (len(name) - 1) if name else ""


def normalize_id_number(number: str) -> str:
    """The canonical form hashed: no spaces, upper-case check character ``X``."""
    return "".join(number.split()).upper()


def mask_id_number(number: str) -> str:
    """An ID number as people may see it: ``110101********1234``."""
    return mask_number(normalize_id_number(number))


class IdPseudonymizer:
    """Stable pseudonymous keys for ID numbers, per hall.

    Args:
        hall_id: the hall; part of the message, so one secret reused by two halls still
            gives them unrelated keys.
        secret: the hall's privacy secret, at least :data:`MIN_SECRET_BYTES` bytes.

    Raises:
        PrivacyKeyMissing (472): no secret, or one too short to be a secret.
    """

    def __init__(self, hall_id: str, secret: bytes | str | None) -> None:
        raw = secret.encode("utf-8") if isinstance(secret, str) else (secret or b"")
        if len(raw) < MIN_SECRET_BYTES:
            raise PrivacyKeyMissing(
                f"hall {hall_id} has no privacy secret of {MIN_SECRET_BYTES}+ bytes", hall=hall_id
            )
        self.hall_id = hall_id
        self._secret = raw

    @classmethod
    def from_file(cls, hall_id: str, path: Path | str) -> IdPseudonymizer:
        """Read the hall's secret from a file (trailing newline ignored).

        Raises:
            PrivacyKeyMissing (472): the file is missing, unreadable or too short.
        """
        try:
            secret = Path(path).read_bytes().rstrip(b"\r\n")
        except OSError as err:
            raise PrivacyKeyMissing(f"cannot read privacy secret {path}: {err}", hall=hall_id) from err
        return cls(hall_id, secret)

    def key(self, id_number: str, scope: str = "") -> str:
        """The citizen's key in this hall: HMAC-SHA256, hex.

        Args:
            id_number: the ID number, in any spacing or case.
            scope: narrows the key, e.g. the day ``"2026-11-22"`` for a per-day limit: keys
                of different days cannot be linked, so no long-term profile builds up.
        """
        message = "\x1f".join((self.hall_id, scope, normalize_id_number(id_number)))
        return hmac.new(self._secret, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        # Never the secret, not even in a traceback.
        return f"IdPseudonymizer(hall_id={self.hall_id!r})"
