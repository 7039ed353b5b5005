"""Device addresses as URLs, so one configuration line picks the simulator or the hardware.

Examples::

    sim://usb-printer?record=/tmp/tickets.jsonl
    usb://0416:5011?serial=ABC123
    serial:///dev/ttyUSB0?baud=9600
    tcp://127.0.0.1:7601

The scheme chooses the backend, the rest is the backend's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from core.errors import ConfigError


@dataclass(frozen=True)
class DeviceUrl:
    scheme: str
    #: host part (``usb-printer`` in ``sim://usb-printer``, ``0416:5011`` in ``usb://0416:5011``)
    target: str
    path: str = ""
    options: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    def option(self, name: str, default: str | None = None) -> str | None:
        return self.options.get(name, default)


def parse_device_url(url: str) -> DeviceUrl:
    """Split a device URL.

    Raises:
        ConfigError (100): the URL has no scheme.
    """
    parts = urlsplit(url)
    if not parts.scheme:
        raise ConfigError(f"device URL without a scheme: {url!r}", url=url)
    return DeviceUrl(
        scheme=parts.scheme,
        target=parts.netloc,
        path=parts.path,
        options=dict(parse_qsl(parts.query)),
        raw=url,
    )
