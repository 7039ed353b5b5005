"""Every MQTT client names its connection failure the same way: a refused password is
MqttAuthRefused (470), a broker whose certificate we do not trust is MqttTlsFailed (471), and
the log says so when the kind of failure changes. Run against a TLS-only Mosquitto with a
password file and the per-hall ACL (tests/secure_broker.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.remote import RemoteControl
from agent.remote_store import RemoteStore
from agent.warnings_listener import WarningsListener
from collector.commands import CommandSender
from collector.presence import PresenceListener, PresenceView
from collector.service import CollectorService
from core.config import load_hall_config
from core.errors import BrokerUnavailable, MqttAuthRefused, MqttTlsFailed
from core.mqtt import MqttAuth
from core.strings_zh import error_text
from tests.brokers import wait_until
from tests.secure_broker import COLLECTOR_USER, SecureMosquitto, hall_box_user, make_pki

HALL = "hall-demo"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureMosquitto]:
    secure = SecureMosquitto(tmp_path_factory.mktemp("secure-mosquitto"), [HALL])
    secure.start()
    try:
        yield secure
    finally:
        secure.close()


@pytest.fixture(scope="module")
def stranger_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(make_pki(tmp_path_factory.mktemp("other-pki"), name="other-ca").ca_cert)


@dataclass
class Client:
    """One MQTT client under test: how to start and stop it and read its last error."""

    start: Callable[[], None]
    stop: Callable[[], None]
    last_error: Callable[[], BrokerUnavailable | None]
    logger: str


def remote_control(broker: SecureMosquitto, auth: MqttAuth, tmp: Path) -> Client:
    store = RemoteStore(tmp / "remote.db")
    remote = RemoteControl(broker.host, broker.port, HALL, "hallbox-hall-demo", store, auth=auth)

    def stop() -> None:
        remote.stop()
        store.close()

    return Client(remote.start, stop, lambda: remote.last_error, "agent.remote")


def warnings_listener(broker: SecureMosquitto, auth: MqttAuth, tmp: Path) -> Client:
    pad = WarningsListener(broker.host, broker.port, HALL, lambda body: None, auth=auth)
    return Client(pad.start, pad.stop, lambda: pad.last_error, "agent.warnings_listener")


def presence_view(broker: SecureMosquitto, auth: MqttAuth, tmp: Path) -> Client:
    view = PresenceListener(PresenceView(), broker.host, broker.port, auth=auth)
    return Client(view.start, view.stop, lambda: view.last_error, "collector.presence")


def command_sender(broker: SecureMosquitto, auth: MqttAuth, tmp: Path) -> Client:
    sender = CommandSender(broker.host, broker.port, auth=auth)
    return Client(sender.start, sender.stop, lambda: sender.last_error, "collector.commands")


def warning_publisher(broker: SecureMosquitto, auth: MqttAuth, tmp: Path) -> Client:
    hall = load_hall_config()
    service = CollectorService(
        tmp / "collector.db", broker.host, broker.port, {hall.hall_id: hall}, auth=auth
    )
    return Client(
        service.start,
        service.stop,
        lambda: service.warnings_status.last_error,
        "collector.service",
    )


def box_presence(broker: SecureMosquitto, auth: MqttAuth, tmp: Path) -> Client:
    from agent.presence import hall_box_presence
    pres = hall_box_presence(load_hall_config(), broker.host, broker.port, auth=auth)
    return Client(pres.start, pres.stop, lambda: pres.last_error, "agent.presence")


def ingest(broker: SecureMosquitto, auth: MqttAuth, tmp: Path) -> Client:
    from collector.ingest import Ingestor
    ing = Ingestor(tmp / "c.db", broker.host, broker.port, auth=auth)
    return Client(ing.start, ing.stop, lambda: ing.last_error, "collector.ingest")


#: (client factory, the account it runs under on a production broker)
CLIENTS: dict[str, tuple[Callable[[SecureMosquitto, MqttAuth, Path], Client], str]] = {
    "remote control": (remote_control, hall_box_user(HALL)),
    "box presence": (box_presence, hall_box_user(HALL)),
    "ingest": (ingest, COLLECTOR_USER),
    "PAD warnings listener": (warnings_listener, hall_box_user(HALL)),
    "collector presence view": (presence_view, COLLECTOR_USER),
    "collector command sender": (command_sender, COLLECTOR_USER),
    "collector warning publisher": (warning_publisher, COLLECTOR_USER),
}


def run_until_error(client: Client, kind: type[BrokerUnavailable]) -> Any:
    client.start()
    try:
        assert wait_until(lambda: isinstance(client.last_error(), kind), 60), client.last_error()
        return client.last_error()
    finally:
        client.stop()


@pytest.mark.parametrize("name", CLIENTS)
def test_a_wrong_password_is_auth_refused(
    name: str, broker: SecureMosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make, user = CLIENTS[name]
    client = make(broker, broker.auth(user, password="not-it"), tmp_path)
    with caplog.at_level(logging.WARNING, logger=client.logger):
        err = run_until_error(client, MqttAuthRefused)
    assert err.code == 470 and "密码被拒绝" in error_text(err)
    assert "code=470" in caplog.text, broker.log_text()


@pytest.mark.parametrize("name", CLIENTS)
def test_a_broker_signed_by_another_ca_is_tls_failed(
    name: str,
    broker: SecureMosquitto,
    stranger_ca: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make, user = CLIENTS[name]
    auth = MqttAuth(username=user, password=broker.passwords[user], ca_file=stranger_ca)
    client = make(broker, auth, tmp_path)
    with caplog.at_level(logging.WARNING, logger=client.logger):
        err = run_until_error(client, MqttTlsFailed)
    assert err.code == 471 and "证书" in error_text(err)
    assert "code=471" in caplog.text


@pytest.mark.parametrize("name", CLIENTS)
def test_plain_tcp_to_the_tls_listener_is_broker_unavailable(
    name: str, broker: SecureMosquitto, tmp_path: Path
) -> None:
    make, user = CLIENTS[name]
    plain = MqttAuth(username=user, password=broker.passwords[user])
    err = run_until_error(make(broker, plain, tmp_path), BrokerUnavailable)
    assert type(err) is BrokerUnavailable and err.code == 410


def test_the_log_warns_once_per_kind_of_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Broker down, then up but refusing the password: one warning for each, not one per
    retry, so a long outage does not bury the moment the fault changed."""
    secure = SecureMosquitto(tmp_path / "mosquitto", [HALL])
    sender = CommandSender(
        secure.host, secure.port, auth=secure.auth(COLLECTOR_USER, password="not-it")
    )
    with caplog.at_level(logging.DEBUG, logger="collector.commands"):
        sender.start()
        try:
            assert wait_until(lambda: sender.status.connect_failures >= 2, 60)
            assert type(sender.last_error) is BrokerUnavailable
            secure.start()
            assert wait_until(lambda: isinstance(sender.last_error, MqttAuthRefused), 60)
            refused_from = sender.status.connect_failures
            assert wait_until(lambda: sender.status.connect_failures >= refused_from + 1, 60)
        finally:
            sender.stop()
            secure.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "code=410" in warnings[0] and "code=470" in warnings[1]
