"""host:port strings from the command line."""

from __future__ import annotations

from core.errors import ConfigError


def parse_host_port(text: str, default_port: int = 1883) -> tuple[str, int]:
    """Split ``host:port`` (port optional).

    Raises:
        ConfigError (100): the port is not a number in 1..65535.
    """
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    try:
        number = int(port)
    except ValueError as err:
        raise ConfigError(f"bad port in {text!r}", address=text) from err
    if not 0 < number < 65536:
        raise ConfigError(f"port out of range in {text!r}", address=text)
    return host or "127.0.0.1", number
