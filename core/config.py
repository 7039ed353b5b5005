"""Hall configuration: services, windows, devices and warning thresholds, read from TOML.

The shipped ``config/hall-demo.toml`` is the embedded default the demo runs on.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.errors import ConfigError

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "hall-demo.toml"


@dataclass(frozen=True)
class Service:
    """A business type (业务类型) citizens take tickets for."""

    code: str
    name: str
    prefix: str
    #: Average handling time in seconds, used for the wait estimate until history exists.
    aht_s: float = 300.0


@dataclass(frozen=True)
class Window:
    no: int
    services: tuple[str, ...]


@dataclass(frozen=True)
class Level:
    yellow: float
    red: float


@dataclass(frozen=True)
class Thresholds:
    """Peak and valley thresholds per metric (seed 000 row 41: 等候时长, 办事耗时).

    ``wait_s`` is the longest wait among tickets waiting or called in the window;
    ``time_in_hall_s`` is issued→finished; ``waiting_count`` is people waiting.
    ``valley_wait_s`` and ``valley_idle_windows`` describe an idle hall.
    """

    wait_s: Level = Level(900, 1800)
    time_in_hall_s: Level = Level(1800, 3600)
    waiting_count: Level = Level(10, 20)
    #: A warning fires only after its condition held this long (hall clock), and clears
    #: only after the value stayed below the yellow level this long: no flapping.
    pending_s: float = 120.0
    clear_after_s: float = 600.0
    valley_wait_s: float = 60.0
    valley_for_s: float = 1800.0


@dataclass(frozen=True)
class HallConfig:
    hall_id: str
    name: str
    services: tuple[Service, ...]
    windows: tuple[Window, ...]
    thresholds: Thresholds = field(default_factory=Thresholds)
    devices: dict[str, Any] = field(default_factory=dict)
    #: Which revision of this hall's configuration this is (reported in the box's birth).
    config_version: str = "1"
    #: The kiosk functions a kiosk of this hall offers (``[kiosk] functions``), by id; None
    #: offers every registered one. The ids are checked against the registry when a kiosk
    #: starts (:func:`flows.kiosk_functions.enabled`): core does not know the registry.
    kiosk_functions: tuple[str, ...] | None = None
    #: ``[hall_box] listen``: where the hall box serves the hall API to the hall's kiosks and
    #: PADs (``host:port``, e.g. ``0.0.0.0:7700``); None: it does not serve (``docs/hall-api.md``).
    hall_box_listen: str | None = None
    #: ``[hall_box] devices``: the hall box's device list file; None: ``hall-devices.json`` next
    #: to the hall database. A relative path is read from the config file's directory.
    hall_box_devices: str | None = None

    def service(self, code: str) -> Service:
        for s in self.services:
            if s.code == code:
                return s
        from core.errors import UnknownService

        raise UnknownService(f"no service {code!r}", service=code)

    def window(self, no: int) -> Window:
        for w in self.windows:
            if w.no == no:
                return w
        from core.errors import UnknownWindow

        raise UnknownWindow(f"no window {no}", window=no)


def load_hall_config(path: Path | str = DEFAULT_CONFIG) -> HallConfig:
    """Read and validate a hall configuration file.

    Raises:
        ConfigError (100): the file is missing, not TOML, or inconsistent.
    """
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}", path=str(path)) from err
    hall = parse_hall_config(raw)
    if hall.hall_box_devices is not None and not Path(hall.hall_box_devices).is_absolute():
        hall = replace(hall, hall_box_devices=str(Path(path).parent / hall.hall_box_devices))
    return hall


def parse_hall_config(raw: dict[str, Any]) -> HallConfig:
    try:
        hall = raw["hall"]
        services = tuple(
            Service(s["code"], s["name"], s["prefix"], float(s.get("aht_s", 300)))
            for s in raw["services"]
        )
        windows = tuple(Window(int(w["no"]), tuple(w["services"])) for w in raw["windows"])
        thresholds = _thresholds(raw.get("thresholds", {}))
        kiosk_functions = _kiosk_functions(raw.get("kiosk", {}))
        hall_box = _hall_box(raw.get("hall_box", {}))
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"invalid hall config: {err!r}") from err
    codes = {s.code for s in services}
    prefixes = [s.prefix for s in services]
    if len(prefixes) != len(set(prefixes)):
        raise ConfigError("two services share a ticket prefix")
    numbers = [w.no for w in windows]
    if len(numbers) != len(set(numbers)):
        repeated = sorted({n for n in numbers if numbers.count(n) > 1})
        raise ConfigError(f"window numbers {repeated} appear more than once")
    for w in windows:
        unknown = set(w.services) - codes
        if unknown:
            raise ConfigError(f"window {w.no} serves unknown services {sorted(unknown)}")
    return HallConfig(
        hall_id=str(hall["id"]),
        name=str(hall["name"]),
        services=services,
        windows=windows,
        thresholds=thresholds,
        devices=dict(raw.get("devices", {})),
        config_version=str(hall.get("config_version", "1")),
        kiosk_functions=kiosk_functions,
        hall_box_listen=hall_box.get("listen"),
        hall_box_devices=hall_box.get("devices"),
    )


def _hall_box(raw: dict[str, Any]) -> dict[str, str]:
    """``[hall_box]``: ``listen`` (``host:port``) and ``devices`` (a path), both optional."""
    unknown = set(raw) - {"listen", "devices"}
    if unknown:
        raise ValueError(f"[hall_box] has unknown keys {sorted(unknown)}")
    for name, value in raw.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"[hall_box] {name} must be a non-empty string, got {value!r}")
    if "listen" in raw and ":" not in raw["listen"]:
        raise ValueError(f"[hall_box] listen wants host:port, got {raw['listen']!r}")
    return dict(raw)


def _kiosk_functions(raw: dict[str, Any]) -> tuple[str, ...] | None:
    """``[kiosk] functions``: a non-empty list of distinct ids, or absent (every function)."""
    given = raw.get("functions")
    if given is None:
        return None
    if not isinstance(given, list) or not all(isinstance(f, str) and f for f in given):
        raise ValueError(f"[kiosk] functions must be a list of function ids, got {given!r}")
    if not given:
        raise ValueError("[kiosk] functions is empty: a kiosk needs at least one function")
    if len(set(given)) != len(given):
        raise ValueError(f"[kiosk] functions lists an id twice: {given!r}")
    return tuple(given)


def _thresholds(raw: dict[str, Any]) -> Thresholds:
    base = Thresholds()

    def level(name: str) -> Level:
        given = raw.get(name)
        default: Level = getattr(base, name)
        if given is None:
            return default
        lv = Level(float(given["yellow"]), float(given["red"]))
        if lv.red < lv.yellow:
            raise ValueError(f"{name}: red below yellow")
        return lv

    return Thresholds(
        wait_s=level("wait_s"),
        time_in_hall_s=level("time_in_hall_s"),
        waiting_count=level("waiting_count"),
        pending_s=float(raw.get("pending_s", base.pending_s)),
        clear_after_s=float(raw.get("clear_after_s", base.clear_after_s)),
        valley_wait_s=float(raw.get("valley_wait_s", base.valley_wait_s)),
        valley_for_s=float(raw.get("valley_for_s", base.valley_for_s)),
    )
