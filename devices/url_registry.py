"""The open table of device URL schemes: (device kind, scheme) → opener.

In the spirit of pyserial's ``serial_for_url``: a URL's scheme picks the code that builds the
device, and anyone may add a scheme. :mod:`devices.open` registers the hardware schemes
(``usb://``, ``serial://``, ``tcp://``, ``cups://`` …) when it is loaded; the simulators add
``sim://`` only when the composition root calls ``hardware_sim.register_simulators()``, so
the product never depends on them.

A row may name a URL target as well (``serial://sim``): it is consulted before the scheme's
general opener.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from core.device_url import DeviceUrl
from core.errors import ConfigError

#: Builds a device from its parsed URL and the hall's device id.
Opener = Callable[[DeviceUrl, str], Any]

#: The scheme, or the target, by which a URL names a simulator.
SIM = "sim"

_Key = tuple[str, str, str | None]
_openers: dict[_Key, Opener] = {}
_lock = threading.Lock()


def register(
    kind: str, scheme: str, opener: Opener, *, target: str | None = None, replace: bool = False
) -> None:
    """Let URLs with ``scheme`` (and ``target``, if given) open devices of ``kind``.

    Registering the same opener again does nothing, so registration functions may be called
    more than once.

    Args:
        kind: the device kind, as the hall config names its role (``ticket_printer``).
        scheme: the URL scheme, without ``://``.
        opener: called with the parsed URL and the device id; returns the device.
        target: only for URLs with this target (``sim`` in ``serial://sim``).
        replace: replace another opener for the same row instead of refusing.

    Raises:
        ValueError: another opener holds the row, and ``replace`` is false. A silent
            replacement would let a plug-in take over a built-in scheme unnoticed.
    """
    key = (kind, scheme, target)
    with _lock:
        known = _openers.get(key)
        if known is not None and known is not opener and not replace:
            raise ValueError(f"{scheme}:// for {kind} (target {target}) is taken by {known!r}")
        _openers[key] = opener


def unregister(kind: str, scheme: str, *, target: str | None = None) -> None:
    """Forget an opener (a plug-in unloaded, or a test cleaning up); unknown rows are ignored."""
    with _lock:
        _openers.pop((kind, scheme, target), None)


def opener_for(kind: str, parsed: DeviceUrl) -> Opener:
    """The opener for a URL: its (scheme, target) row first, then its scheme's.

    Raises:
        ConfigError (100): no opener; for a simulator URL, the message says whether the
            simulators are not registered at all or have no such simulator.
    """
    names_sim = SIM in (parsed.scheme, parsed.target)
    with _lock:
        opener = _openers.get((kind, parsed.scheme, parsed.target))
        # A simulator URL never falls through to a hardware opener: serial://sim would
        # otherwise try to open a port called "".
        if opener is None and not names_sim:
            opener = _openers.get((kind, parsed.scheme, None))
        sims_known = any(k[0] == kind and SIM in k[1:] for k in _openers)
    if opener is not None:
        return opener
    noun = kind.replace("_", " ")
    if names_sim and not sims_known:
        raise ConfigError(
            f"{parsed.raw!r} names a simulator, but simulators are not registered "
            "(the composition root calls hardware_sim.register_simulators())",
            url=parsed.raw,
            kind=kind,
        )
    if names_sim:
        raise ConfigError(f"no {noun} simulator {parsed.raw!r}", url=parsed.raw, kind=kind)
    raise ConfigError(
        f"a {noun} cannot be opened from {parsed.scheme}://", url=parsed.raw, kind=kind
    )
