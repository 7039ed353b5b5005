"""A Mosquitto as production halls run it: TLS only, one account per connection, client ids
owned by their accounts, an ACL per account.

The test makes everything itself: a CA and a server certificate for 127.0.0.1 (openssl CLI),
the password file (``mosquitto_passwd``) and the ACL. Accounts, ACL and configuration are the
ones ``docs/deployment.md`` documents (and ``docs/topics.md`` summarises), so a test that
passes here proves the documented deployment, not a looser copy.

Why one account per connection: the listener runs with ``use_username_as_clientid true``, so
the broker replaces every client id by the account's name. Nobody can then connect under
another device's client id, disconnect it, fire its Last Will or wipe its persistent session:
an id is taken over only by someone holding that account's password. The price is that one
account carries one connection at a time, so each of a device's connections has its own
account (``<device account>.<connection>``, :meth:`core.mqtt.MqttAuth.for_connection`), all
with the device's password.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.mqtt import CONNECTION_SEPARATOR, MqttAuth
from core.topics import PREFIX, hall_box_id
from tests.brokers import MosquittoUnderTest

#: The collector's device account. No connection logs in under it directly: its persistent
#: ingest session must be reachable under one name only, ``collector.ingest``.
COLLECTOR_USER = "collector"


@dataclass(frozen=True)
class Pki:
    """A throwaway CA and the broker's certificate signed by it."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_pki(folder: Path, name: str = "ca") -> Pki:
    """Generate a CA and a server certificate valid for 127.0.0.1 and localhost."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    ca_key, ca_cert = folder / f"{name}.key", folder / f"{name}.crt"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.crt"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN=Hall Edge test {name}", "-keyout", str(ca_key), "-out", str(ca_cert))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(key), "-out", str(csr))
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert))
    return Pki(ca_cert, cert, key)


def hall_box_user(hall_id: str) -> str:
    """The device account of a hall's edge box (also its journal publisher's account)."""
    return hall_box_id(hall_id)


def app_user(hall_id: str, device_id: str) -> str:
    """The device account of a kiosk or PAD: device ids repeat across halls, so the hall is
    part of it (``kiosk-1@hall-demo``)."""
    return f"{device_id}@{hall_id}"


def connection_user(device_account: str, connection: str) -> str:
    """The account of one of a device's connections (``hallbox-hall-demo.presence``)."""
    return f"{device_account}{CONNECTION_SEPARATOR}{connection}"


@dataclass(frozen=True)
class Account:
    """One broker account: one MQTT connection of one device.

    Attributes:
        name: the username, and (``use_username_as_clientid``) the connection's client id.
        device: the device account whose password it shares.
        client: which client of Hall Edge connects under it.
        write: topic filters it may publish to.
        read: topic filters it may subscribe to.
    """

    name: str
    device: str
    client: str
    write: tuple[str, ...] = ()
    read: tuple[str, ...] = ()


def collector_accounts() -> list[Account]:
    """The collector's four connections; together they read every hall and write the downlink."""
    dev = COLLECTOR_USER
    return [
        Account(connection_user(dev, "ingest"), dev,
                "collector ingest (persistent session; collector/ingest.py)",
                write=(f"{PREFIX}/+/stored",),
                read=(f"{PREFIX}/+/events", f"{PREFIX}/+/telemetry")),
        Account(connection_user(dev, "presence"), dev,
                "collector presence view (collector/presence.py)",
                read=(f"{PREFIX}/+/state/+", f"{PREFIX}/+/heartbeat/+")),
        Account(connection_user(dev, "warnings"), dev,
                "collector warning publisher (collector/service.py)",
                write=(f"{PREFIX}/+/warnings",)),
        Account(connection_user(dev, "commands"), dev,
                "collector command sender (collector/commands.py, `collector command`)",
                write=(f"{PREFIX}/+/cmd/+",), read=(f"{PREFIX}/+/cmd-ack/+",)),
    ]


def hall_box_accounts(hall: str) -> list[Account]:
    """A hall box's three connections, each confined to its hall and its own device topics."""
    dev, box = hall_box_user(hall), hall_box_id(hall)
    base = f"{PREFIX}/{hall}"
    return [
        Account(dev, dev, "hall box journal publisher (agent/publisher.py)",
                write=(f"{base}/events", f"{base}/telemetry"), read=(f"{base}/stored",)),
        Account(connection_user(dev, "presence"), dev, "hall box presence (agent/presence.py)",
                write=(f"{base}/state/{box}", f"{base}/heartbeat/{box}")),
        Account(connection_user(dev, "remote"), dev,
                "hall box remote control (agent/hallbox_remote.py)",
                write=(f"{base}/cmd-ack/{box}",), read=(f"{base}/cmd/{box}",)),
    ]


def app_accounts(hall: str, device: str, pad: bool) -> list[Account]:
    """A kiosk's connection (its remote control), or a PAD's two (remote control, warnings)."""
    dev = app_user(hall, device)
    base = f"{PREFIX}/{hall}"
    accounts = [
        Account(connection_user(dev, "remote"), dev,
                f"{'PAD' if pad else 'kiosk'} remote control (kiosk/app_remote.py)",
                write=(f"{base}/cmd-ack/{device}",), read=(f"{base}/cmd/{device}",)),
    ]
    if pad:
        accounts.append(Account(connection_user(dev, "warnings"), dev,
                                "PAD warnings listener (agent/warnings_listener.py)",
                                read=(f"{base}/warnings",)))
    return accounts


def deployment_accounts(
    halls: list[str],
    kiosks: dict[str, list[str]] | None = None,
    pads: dict[str, list[str]] | None = None,
) -> list[Account]:
    """Every account of a deployment: the collector's, each hall box's, each kiosk's and PAD's.

    Args:
        halls: the halls with a box.
        kiosks: per hall, the device ids of its kiosks (``kiosk-1``).
        pads: per hall, the device ids of its window PADs (``pad-3``).
    """
    accounts = collector_accounts()
    for hall in halls:
        accounts += hall_box_accounts(hall)
        for device in (kiosks or {}).get(hall, []):
            accounts += app_accounts(hall, device, pad=False)
        for device in (pads or {}).get(hall, []):
            accounts += app_accounts(hall, device, pad=True)
    return accounts


def acl_text(accounts: list[Account]) -> str:
    """The ``acl_file``: each account may publish and subscribe only where its client must."""
    lines: list[str] = []
    for account in accounts:
        lines += [f"# {account.client}", f"user {account.name}"]
        lines += [f"topic write {topic}" for topic in account.write]
        lines += [f"topic read {topic}" for topic in account.read]
        lines.append("")
    return "\n".join(lines)


def device_password(device: str) -> str:
    """The test's password of a device account (production: a random secret per device)."""
    return f"pw-{device}"


class SecureMosquitto(MosquittoUnderTest):
    """A TLS-only mosquitto with a password file and an ACL, owned by one test.

    Args:
        data_dir: config, certificates, accounts and logs (a pytest tmp dir).
        halls: the halls with a box account.
        kiosks: per hall, its kiosks' device ids, each given accounts of its own.
        pads: per hall, its PADs' device ids, likewise.
        owned_client_ids: ``use_username_as_clientid``; False only to show what happens
            without it.

    Attributes:
        accounts: every account, by name.
        passwords: the password of every device account and of every connection account.
    """

    def __init__(
        self,
        data_dir: Path,
        halls: list[str],
        kiosks: dict[str, list[str]] | None = None,
        pads: dict[str, list[str]] | None = None,
        owned_client_ids: bool = True,
    ) -> None:
        super().__init__(data_dir)
        self.owned_client_ids = owned_client_ids
        self.pki = make_pki(self.data_dir / "pki")
        self.accounts = {a.name: a for a in deployment_accounts(halls, kiosks, pads)}
        self.passwords = {a.device: device_password(a.device) for a in self.accounts.values()}
        self.passwords |= {a.name: device_password(a.device) for a in self.accounts.values()}
        self.password_file = self.data_dir / "passwd"
        # One mosquitto_passwd run hashes every "name:password" line in place.
        self.password_file.write_text(
            "".join(f"{name}:{self.passwords[name]}\n" for name in self.accounts), encoding="utf-8"
        )
        self.password_file.chmod(0o600)
        subprocess.run(["mosquitto_passwd", "-U", str(self.password_file)],
                       check=True, capture_output=True, timeout=60)
        self.acl_file = self.data_dir / "acl"
        self.acl_file.write_text(acl_text(list(self.accounts.values())), encoding="utf-8")

    def auth(self, user: str, password: str | None = None) -> MqttAuth:
        """Credentials of an account over TLS; ``password`` overrides the right one."""
        return MqttAuth(
            username=user,
            password=self.passwords[user] if password is None else password,
            ca_file=str(self.pki.ca_cert),
        )

    def config_text(self) -> str:
        plain = super().config_text().replace("allow_anonymous true", "allow_anonymous false")
        return plain + "\n".join(
            [
                f"password_file {self.password_file}",
                f"acl_file {self.acl_file}",
                # Options after the listener line belong to it. The client id is the account:
                # nobody connects under another account's id (docs/deployment.md).
                f"use_username_as_clientid {'true' if self.owned_client_ids else 'false'}",
                # Connections and take-overs ("already connected, closing old connection"),
                # for the tests to read.
                "log_type information",
                # This port speaks TLS only.
                f"cafile {self.pki.ca_cert}",
                f"certfile {self.pki.server_cert}",
                f"keyfile {self.pki.server_key}",
                "",
            ]
        )
