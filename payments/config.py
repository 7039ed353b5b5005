"""The kiosk's payment channels, read from their configuration file.

One JSON file per kiosk (``[kiosk] payments`` in the hall config, or ``--payments``), written
at setup; keys are files beside it, never inline, so the file itself can be shown to a
technician::

    {
      "alipay": {"gateway": "https://openapi.alipay.com/gateway.do", "app_id": "2021000000000001",
                 "private_key_file": "keys/app_private.pem",
                 "alipay_public_key_file": "keys/alipay_public.pem", "store_id": "GLM-HALL-01"},
      "icbc": {"gateway": "https://gw.open.icbc.com.cn", "app_id": "10000000000000001",
               "mer_id": "020001020001", "private_key_file": "keys/app_private.pem",
               "bank_public_key_file": "keys/icbc_public.pem"},
      "ccb": {"gateway": "https://ibsbjstar.ccb.com.cn", "merchant_id": "105000000000001",
              "pos_id": "100000001", "branch_id": "110000000",
              "public_key_tail": "...", "bank_public_key_file": "keys/ccb_public.pem"}
    }

A channel left out is not offered. ``docs/payments.md`` describes each channel's fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from payments.alipay import AlipayChannel
from payments.ccb import CcbChannel
from payments.channel import PaymentChannel
from payments.icbc import IcbcChannel

#: Every channel the kiosk knows, in the order its screen offers them.
CHANNELS = ("alipay", "icbc", "ccb")


def load_channels(path: Path | str, timeout_s: float = 6.0) -> dict[str, PaymentChannel]:
    """The channels a payments file configures.

    Raises:
        ConfigError (100): the file cannot be read, is not JSON, names an unknown channel,
            lacks a field, or a key file is missing.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"payments file {path}: {err}", path=str(path)) from err
    if not isinstance(raw, dict):
        raise ConfigError(f"payments file {path}: not a JSON object", path=str(path))
    unknown = set(raw) - set(CHANNELS)
    if unknown:
        raise ConfigError(
            f"payments file {path}: unknown channels {sorted(unknown)}; known {CHANNELS}",
            path=str(path),
        )
    fields = _Fields(path)
    channels: dict[str, PaymentChannel] = {}
    if "alipay" in raw:
        a = fields.of(raw, "alipay")
        channels["alipay"] = AlipayChannel(
            a.text("gateway"),
            a.text("app_id"),
            a.key("private_key_file"),
            a.key("alipay_public_key_file"),
            store_id=a.text("store_id", ""),
            timeout_s=timeout_s,
        )
    if "icbc" in raw:
        i = fields.of(raw, "icbc")
        channels["icbc"] = IcbcChannel(
            i.text("gateway"),
            i.text("app_id"),
            i.text("mer_id"),
            i.key("private_key_file"),
            i.key("bank_public_key_file"),
            timeout_s=timeout_s,
        )
    if "ccb" in raw:
        c = fields.of(raw, "ccb")
        channels["ccb"] = CcbChannel(
            c.text("gateway"),
            c.text("merchant_id"),
            c.text("pos_id"),
            c.text("branch_id"),
            c.text("public_key_tail"),
            c.key("bank_public_key_file"),
            timeout_s=timeout_s,
        )
    return channels


class _Fields:
    """Reads one channel's fields, naming the file, channel and field in every error."""

    def __init__(self, path: Path, channel: str = "", raw: dict[str, Any] | None = None) -> None:
        self.path = path
        self.channel = channel
        self.raw = raw or {}

    def of(self, raw: dict[str, Any], channel: str) -> _Fields:
        section = raw[channel]
        if not isinstance(section, dict):
            raise ConfigError(f"payments file {self.path}: {channel} is not an object")
        return _Fields(self.path, channel, section)

    def text(self, name: str, default: str | None = None) -> str:
        value = self.raw.get(name, default)
        if not isinstance(value, str) or (default is None and not value):
            raise ConfigError(
                f"payments file {self.path}: {self.channel}.{name} must be a non-empty string",
                path=str(self.path),
                field=f"{self.channel}.{name}",
            )
        return value

    def key(self, name: str) -> str:
        """A key file's PEM text; relative paths are relative to the payments file."""
        key_path = Path(self.text(name))
        if not key_path.is_absolute():
            key_path = self.path.parent / key_path
        try:
            return key_path.read_text(encoding="ascii")
        except (OSError, ValueError) as err:
            raise ConfigError(
                f"payments file {self.path}: {self.channel}.{name}: {err}",
                path=str(self.path),
                field=f"{self.channel}.{name}",
            ) from err
