"""Which machines may use the hall API, and what each machine knows about itself.

**The device list** (the hall box's): a JSON file, by default ``hall-devices.json`` next to the
hall database (``var/<hall>/hall-devices.json``; ``[hall_box] devices`` in the hall config or
``--devices`` moves it). One entry per device: its role, the window a PAD is bound to (optional)
and a salted scrypt hash of its secret, never the secret itself::

    {"version": 1, "hall_id": "hall-demo",
     "devices": {"pad-3": {"role": "pad", "window": 3, "added_at": 1767225600.0,
                           "secret": "scrypt$16384$8$1$<salt>$<hash>"}}}

A file rather than a table of the hall database: ``python main.py hall-devices`` edits it
while the hall box runs without writing the hall database from a second process, a technician
can read it, and it is replaced whole (written to a temporary file, fsynced, renamed), so the
server never reads half of it. The server re-reads it when it changes: a removed device is
refused at its next request and its open event stream is closed.

**The device file** (each machine's own, ``var/<device_id>/device.json``, mode 0600): the
hall, the device id, its role, the secret in clear and the hall box's address. ``hall-devices
add`` writes both at once; the device file is then copied to the machine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigError, DeviceNotAuthorized
from core.netaddr import parse_host_port

log = logging.getLogger(__name__)

#: ``window-terminal``: the citizen-facing window terminal (双屏窗口终端); it only reads.
ROLES = ("kiosk", "pad", "window-terminal")
DEVICE_LIST_NAME = "hall-devices.json"
#: scrypt cost: about 16 MiB and some tens of milliseconds per check. The server checks a
#: secret once per device and process and then trusts a keyed digest of it (see
#: :class:`DeviceRegistry`), so requests do not pay this.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
HALL_BOX_PORT = 7700


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of a device secret: ``scrypt$N$r$p$salt$hash`` (base64)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return "$".join(
        ("scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest))
    )


def verify_secret(secret: str, encoded: str) -> bool:
    """Whether ``secret`` matches a :func:`hash_secret` hash (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        found = hashlib.scrypt(
            secret.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, expected)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# --- the hall box's device list ------------------------------------------------------------


@dataclass(frozen=True)
class DeviceEntry:
    """One device the hall box lets in.

    Attributes:
        device_id: ``kiosk-1``, ``pad-3`` …; what its events are journaled under.
        role: ``kiosk`` (issues tickets) or ``pad`` (serves a window).
        secret_hash: :func:`hash_secret` of its secret.
        window: the only window a PAD may serve, or None for any.
        added_at: when it was added (epoch seconds).
    """

    device_id: str
    role: str
    secret_hash: str
    window: int | None = None
    added_at: float = 0.0


def default_device_list(hall_db: Path | str) -> Path:
    """Where the device list lives unless configured: next to the hall database."""
    return Path(hall_db).parent / DEVICE_LIST_NAME


def read_device_list(path: Path | str) -> tuple[str | None, dict[str, DeviceEntry]]:
    """The hall id and the devices of a device list; an absent file is an empty list.

    Raises:
        ConfigError (100): the file is not a device list.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, {}
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the device list {path}: {err}", path=str(path)) from err
    try:
        devices = {
            device_id: DeviceEntry(
                device_id,
                str(entry["role"]),
                str(entry["secret"]),
                None if entry.get("window") is None else int(entry["window"]),
                float(entry.get("added_at", 0.0)),
            )
            for device_id, entry in raw["devices"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ConfigError(f"invalid device list {path}: {err!r}", path=str(path)) from err
    return raw.get("hall_id"), devices


def write_device_list(path: Path | str, hall_id: str, devices: dict[str, DeviceEntry]) -> None:
    """Replace the device list whole (temporary file, fsync, rename)."""
    body = {
        "version": 1,
        "hall_id": hall_id,
        "devices": {
            d.device_id: {
                "role": d.role,
                "window": d.window,
                "added_at": d.added_at,
                "secret": d.secret_hash,
            }
            for d in sorted(devices.values(), key=lambda d: d.device_id)
        },
    }
    _write_private(Path(path), json.dumps(body, ensure_ascii=False, indent=2) + "\n")


def add_device(
    path: Path | str,
    hall_id: str,
    device_id: str,
    role: str,
    window: int | None = None,
    replace: bool = False,
) -> str:
    """Add a device to the list (or give it a new secret with ``replace``); its new secret.

    Raises:
        ConfigError (100): an unknown role, a device already listed (without ``replace``), or a
            list that belongs to another hall.
    """
    if role not in ROLES:
        raise ConfigError(f"role must be one of {ROLES}, got {role!r}", role=role)
    if not device_id or any(c.isspace() or c in ":/" for c in device_id):
        raise ConfigError(f"bad device id {device_id!r}", device_id=device_id)
    listed_hall, devices = read_device_list(path)
    if listed_hall is not None and listed_hall != hall_id:
        raise ConfigError(f"{path} is the device list of hall {listed_hall!r}", path=str(path))
    if device_id in devices and not replace:
        raise ConfigError(
            f"{device_id} is already listed; --replace gives it a new secret",
            device_id=device_id,
        )
    secret = secrets.token_urlsafe(32)
    devices[device_id] = DeviceEntry(device_id, role, hash_secret(secret), window, time.time())
    write_device_list(path, hall_id, devices)
    return secret


def remove_device(path: Path | str, device_id: str) -> bool:
    """Take a device off the list; False when it was not on it."""
    hall_id, devices = read_device_list(path)
    if devices.pop(device_id, None) is None:
        return False
    write_device_list(path, hall_id or "", devices)
    return True


class DeviceRegistry:
    """The server's view of the device list: re-read when the file changes, secrets checked.

    A secret is checked with scrypt once per device and process; after that, the server keeps
    a digest of the secret under a key that lives only in this process and compares against
    it (``hmac.compare_digest``), so a request does not pay tens of milliseconds. A new secret
    or a removed device invalidates it (the entry's hash is part of what is remembered).

    Args:
        path: the device list file.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._loaded = False
        self._devices: dict[str, DeviceEntry] = {}
        self._pepper = os.urandom(32)
        self._checked: dict[str, tuple[str, bytes]] = {}
        self.refresh()

    def refresh(self) -> bool:
        """Re-read the file if it changed; True when it did."""
        try:
            st = self.path.stat()
            signature: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            signature = None
        with self._lock:
            if self._loaded and signature == self._signature:
                return False
            try:
                _, devices = read_device_list(self.path)
            except ConfigError as err:
                if not self._loaded:
                    raise
                # A hand-edited file gone wrong: keep the devices as they were, say so once.
                log.error("error %d: %s; the device list stays as last read", err.code, err)
                self._signature = signature
                return False
            self._signature, self._devices, self._loaded = signature, devices, True
            return True

    def get(self, device_id: str) -> DeviceEntry | None:
        with self._lock:
            return self._devices.get(device_id)

    def listed(self) -> list[DeviceEntry]:
        """Every device on the list as last read."""
        with self._lock:
            return list(self._devices.values())

    def authenticate(self, device_id: str, secret: str) -> DeviceEntry:
        """The device's entry when ``secret`` is its secret.

        Raises:
            DeviceNotAuthorized (702): not listed, or a wrong secret.
        """
        self.refresh()
        entry = self.get(device_id)
        if entry is None:
            raise DeviceNotAuthorized(
                f"{device_id!r} is not in the device list", device_id=device_id
            )
        mark = hmac.new(self._pepper, secret.encode(), hashlib.sha256).digest()
        with self._lock:
            known = self._checked.get(device_id)
        if known is not None and known[0] == entry.secret_hash:
            if hmac.compare_digest(known[1], mark):
                return entry
        elif verify_secret(secret, entry.secret_hash):
            with self._lock:
                self._checked[device_id] = (entry.secret_hash, mark)
            return entry
        raise DeviceNotAuthorized(f"wrong secret for {device_id!r}", device_id=device_id)

    def still_listed(self, entry: DeviceEntry) -> bool:
        """Whether the device is still on the list with the same secret."""
        current = self.get(entry.device_id)
        return current is not None and current.secret_hash == entry.secret_hash


# --- a machine's device file ---------------------------------------------------------------


@dataclass(frozen=True)
class DeviceFile:
    """What a kiosk or PAD machine knows about itself (``var/<device_id>/device.json``).

    Attributes:
        hall_id: the hall it belongs to; the hall box must serve the same hall.
        device_id: its id in the device list and in its events.
        role: ``kiosk`` or ``pad``.
        secret: its secret, in clear (the file is readable by its owner only).
        hall_box: the hall box's ``host:port``.
        window: a PAD's window, when it is bound to one.
    """

    hall_id: str
    device_id: str
    role: str
    secret: str
    hall_box: str
    window: int | None = None
    #: Where it was read from (None when built in memory); its directory is the machine's own
    #: data directory (``hallnet/local_store.py``).
    path: Path | None = field(default=None, compare=False)

    @property
    def address(self) -> tuple[str, int]:
        return parse_host_port(self.hall_box, HALL_BOX_PORT)

    @classmethod
    def read(cls, path: Path | str) -> DeviceFile:
        """Read a device file.

        Raises:
            ConfigError (100): missing, unreadable or incomplete.
        """
        path = Path(path)
        try:
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                hall_id=str(raw["hall_id"]),
                device_id=str(raw["device_id"]),
                role=str(raw["role"]),
                secret=str(raw["secret"]),
                hall_box=str(raw["hall_box"]),
                window=None if raw.get("window") is None else int(raw["window"]),
                path=path,
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ConfigError(
                f"cannot read the device file {path}: {err!r}", path=str(path)
            ) from err

    def write(self, path: Path | str) -> None:
        """Write the file, readable by its owner only."""
        body = {
            "hall_id": self.hall_id,
            "device_id": self.device_id,
            "role": self.role,
            "secret": self.secret,
            "hall_box": self.hall_box,
            "window": self.window,
        }
        _write_private(Path(path), json.dumps(body, ensure_ascii=False, indent=2) + "\n")


def default_device_file(root: Path | str, device_id: str) -> Path:
    """``<root>/var/<device_id>/device.json``."""
    return Path(root) / "var" / device_id / "device.json"


def enrol(
    devices_path: Path | str,
    device_file: Path | str,
    hall_id: str,
    device_id: str,
    role: str,
    hall_box: str,
    window: int | None = None,
    replace: bool = False,
) -> DeviceFile:
    """Add a device to the hall box's list and write its device file (``hall-devices add``)."""
    secret = add_device(devices_path, hall_id, device_id, role, window, replace)
    device = DeviceFile(hall_id, device_id, role, secret, hall_box, window)
    device.write(device_file)
    return device


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
