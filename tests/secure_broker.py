"""A Mosquitto as production halls run it: TLS only, one account per device, an ACL per hall.

The test makes everything itself: a CA and a server certificate for 127.0.0.1 (openssl CLI),
the password file (``mosquitto_passwd``) and the ACL. The ACL is the one ``docs/topics.md``
describes, so a test that passes here proves the documented rules, not a looser copy.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.mqtt import MqttAuth
from tests.brokers import MosquittoUnderTest

#: The collector's account: reads every hall, writes warnings and commands.
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
    """The broker account of a hall's edge box."""
    return f"hallbox-{hall_id}"


def acl_text(halls: list[str]) -> str:
    """Per-hall rules: a box writes only its hall's uplink topics and reads only its own
    commands and warnings; the collector reads everything and writes the downlink."""
    lines = [
        f"user {COLLECTOR_USER}",
        "topic read halledge/v1/#",
        "topic write halledge/v1/+/warnings",
        "topic write halledge/v1/+/cmd/#",
        "",
    ]
    for hall in halls:
        lines += [
            f"user {hall_box_user(hall)}",
            f"topic write halledge/v1/{hall}/events",
            f"topic write halledge/v1/{hall}/telemetry",
            f"topic write halledge/v1/{hall}/state/#",
            f"topic write halledge/v1/{hall}/heartbeat/#",
            f"topic write halledge/v1/{hall}/cmd-ack/#",
            f"topic read halledge/v1/{hall}/cmd/#",
            f"topic read halledge/v1/{hall}/warnings",
            "",
        ]
    return "\n".join(lines)


class SecureMosquitto(MosquittoUnderTest):
    """A TLS-only mosquitto with a password file and an ACL, owned by one test.

    Args:
        data_dir: config, certificates, accounts and logs (a pytest tmp dir).
        halls: the halls with a box account; each gets the password ``pw-<hall>``.
    """

    def __init__(self, data_dir: Path, halls: list[str]) -> None:
        super().__init__(data_dir)
        self.pki = make_pki(self.data_dir / "pki")
        self.passwords = {COLLECTOR_USER: "pw-collector"}
        self.passwords |= {hall_box_user(h): f"pw-{h}" for h in halls}
        self.password_file = self.data_dir / "passwd"
        for i, (user, password) in enumerate(self.passwords.items()):
            create = ["-c"] if i == 0 else []
            subprocess.run(
                ["mosquitto_passwd", "-b", *create, str(self.password_file), user, password],
                check=True, capture_output=True, timeout=60,
            )
        self.acl_file = self.data_dir / "acl"
        self.acl_file.write_text(acl_text(halls), encoding="utf-8")

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
                # Options after the listener line belong to it: this port speaks TLS only.
                f"cafile {self.pki.ca_cert}",
                f"certfile {self.pki.server_cert}",
                f"keyfile {self.pki.server_key}",
                "",
            ]
        )
