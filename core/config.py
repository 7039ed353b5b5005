"""Hall configuration: services, windows, devices and warning thresholds, read from TOML.

The shipped ``config/hall-demo.toml`` is the embedded default the demo runs on.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.floor_plan import FloorPlan, parse_floor

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
    #: ``[[windows]] special = true``: a 特殊人群专窗 (seed 003 §1.4.2). It calls the tickets
    #: issued for special groups (``priority = "special"``) before the others it serves.
    special: bool = False


@dataclass(frozen=True)
class StaffMember:
    """``[[staff]]``: a window staff member as the citizen-facing window terminal names them.

    The PAD signs in with the staff id only; the name and title live here, in the machine's
    own hall config, so no personal data crosses the hall API.
    """

    staff_id: str
    name: str
    #: 岗位 shown under the name (e.g. 综合受理员); may be empty.
    title: str = ""


@dataclass(frozen=True)
class GuideNote:
    """``[guides.<service code>]``: what the window terminal shows as the current case's guide.

    ``item`` names an item of the platform's item catalog (事项实施编码) whose materials are
    shown when a catalog copy is at hand; ``summary`` and ``materials`` are the hall's own
    words, shown when it is not (or when no item fits a ticket service).
    """

    item: str | None = None
    summary: str = ""
    materials: tuple[str, ...] = ()


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
    #: ``[kiosk] platform``: the government platform's URL (``docs/gov-platform.md``); None:
    #: the kiosk functions that need it say 暂不可用.
    kiosk_platform: str | None = None
    #: ``[kiosk] payments``: the payment channels' file (``docs/payments.md``); None: no
    #: channel. A relative path is read from the config file's directory.
    kiosk_payments: str | None = None
    #: ``[hall_box] listen``: where the hall box serves the hall API to the hall's kiosks and
    #: PADs (``host:port``, e.g. ``0.0.0.0:7700``); None: it does not serve (``docs/hall-api.md``).
    hall_box_listen: str | None = None
    #: ``[hall_box] devices``: the hall box's device list file; None: ``hall-devices.json`` next
    #: to the hall database. A relative path is read from the config file's directory.
    hall_box_devices: str | None = None
    #: ``[queue] appointments_first``: a ticket issued for a checked-in appointment is called
    #: before the walk-ins a window serves (``flows/queue.py``).
    appointments_first: bool = True
    #: ``[floor]``: the hall's floor plan for the wall screen (``core/floor_plan.py``); None:
    #: the screen lays the windows out by itself.
    floor: FloorPlan | None = None
    #: ``[calls] read_one_as``: how the digit 1 is read in a ticket number when a call is
    #: spoken: "一" (yī, the default) or "幺" (yāo, the radio and telephone reading that
    #: cannot be mistaken for 七). The window number is a cardinal and always says 一.
    read_one_as: str = "一"
    #: ``[[staff]]``: staff names by staff id, for the window terminal (kept local like the
    #: device URLs: the hall box's catalog does not carry them).
    staff: tuple[StaffMember, ...] = ()
    #: ``[guides.<service code>]``: the window terminal's guide per ticket service.
    guides: dict[str, GuideNote] = field(default_factory=dict)

    def staff_member(self, staff_id: str | None) -> StaffMember | None:
        """The ``[[staff]]`` entry of a staff id, or None (unknown, or nobody signed in)."""
        return next((m for m in self.staff if m.staff_id == staff_id), None)

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
    if hall.kiosk_payments is not None and not Path(hall.kiosk_payments).is_absolute():
        hall = replace(hall, kiosk_payments=str(Path(path).parent / hall.kiosk_payments))
    return hall


def parse_hall_config(raw: dict[str, Any]) -> HallConfig:
    try:
        hall = raw["hall"]
        services = tuple(
            Service(s["code"], s["name"], s["prefix"], float(s.get("aht_s", 300)))
            for s in raw["services"]
        )
        windows = tuple(
            Window(int(w["no"]), tuple(w["services"]), _flag(w, "special")) for w in raw["windows"]
        )
        thresholds = _thresholds(raw.get("thresholds", {}))
        kiosk_functions = _kiosk_functions(raw.get("kiosk", {}))
        kiosk_uplinks = _kiosk_uplinks(raw.get("kiosk", {}))
        hall_box = _hall_box(raw.get("hall_box", {}))
        queue = _queue(raw.get("queue", {}))
        read_one_as = _calls(raw.get("calls", {}))
        floor = parse_floor(raw.get("floor"), [w.no for w in windows])
        staff = _staff(raw.get("staff", []))
        guides = _guides(raw.get("guides", {}))
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
    if set(guides) - codes:
        raise ConfigError(f"[guides] names unknown services {sorted(set(guides) - codes)}")
    return HallConfig(
        hall_id=str(hall["id"]),
        name=str(hall["name"]),
        services=services,
        windows=windows,
        thresholds=thresholds,
        devices=dict(raw.get("devices", {})),
        config_version=str(hall.get("config_version", "1")),
        kiosk_functions=kiosk_functions,
        kiosk_platform=kiosk_uplinks.get("platform"),
        kiosk_payments=kiosk_uplinks.get("payments"),
        hall_box_listen=hall_box.get("listen"),
        hall_box_devices=hall_box.get("devices"),
        appointments_first=queue.get("appointments_first", True),
        floor=floor,
        read_one_as=read_one_as,
        staff=staff,
        guides=guides,
    )


def _staff(raw: list[dict[str, Any]]) -> tuple[StaffMember, ...]:
    """``[[staff]]``: ``id`` and ``name`` (non-empty strings), ``title`` optional; ids distinct."""
    members = []
    for entry in raw:
        unknown = set(entry) - {"id", "name", "title"}
        if unknown:
            raise ValueError(f"[[staff]] has unknown keys {sorted(unknown)}")
        staff_id, name = entry["id"], entry["name"]
        if not isinstance(staff_id, str) or not staff_id or not isinstance(name, str) or not name:
            raise ValueError(f"[[staff]] id and name must be non-empty strings, got {entry!r}")
        members.append(StaffMember(staff_id, name, str(entry.get("title", ""))))
    ids = [m.staff_id for m in members]
    if len(ids) != len(set(ids)):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"[[staff]] lists an id twice: {twice}")
    return tuple(members)


def _guides(raw: dict[str, Any]) -> dict[str, GuideNote]:
    """``[guides.<service>]``: ``item`` (a catalog item code), ``summary``, ``materials``."""
    notes = {}
    for code, entry in raw.items():
        unknown = set(entry) - {"item", "summary", "materials"}
        if unknown:
            raise ValueError(f"[guides.{code}] has unknown keys {sorted(unknown)}")
        materials = entry.get("materials", [])
        if not isinstance(materials, list) or not all(isinstance(m, str) for m in materials):
            raise ValueError(f"[guides.{code}] materials must be a list of strings")
        item = entry.get("item")
        notes[str(code)] = GuideNote(
            str(item) if item else None, str(entry.get("summary", "")), tuple(materials)
        )
    return notes


def _flag(raw: dict[str, Any], name: str) -> bool:
    value = raw.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _calls(raw: dict[str, Any]) -> str:
    """``[calls]``: ``read_one_as`` ("一" or "幺", default "一")."""
    unknown = set(raw) - {"read_one_as"}
    if unknown:
        raise ValueError(f"[calls] has unknown keys {sorted(unknown)}")
    value = raw.get("read_one_as", "一")
    if value not in ("一", "幺"):
        raise ValueError(f"[calls] read_one_as must be 一 or 幺, got {value!r}")
    return str(value)


def _queue(raw: dict[str, Any]) -> dict[str, bool]:
    """``[queue]``: ``appointments_first`` (a boolean, default true)."""
    unknown = set(raw) - {"appointments_first"}
    if unknown:
        raise ValueError(f"[queue] has unknown keys {sorted(unknown)}")
    if not isinstance(raw.get("appointments_first", True), bool):
        raise ValueError(f"[queue] appointments_first must be true or false, got {raw!r}")
    return dict(raw)


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


def _kiosk_uplinks(raw: dict[str, Any]) -> dict[str, str]:
    """``[kiosk] platform`` (an http(s) URL) and ``payments`` (a path), both optional."""
    unknown = set(raw) - {"functions", "platform", "payments"}
    if unknown:
        raise ValueError(f"[kiosk] has unknown keys {sorted(unknown)}")
    found = {k: raw[k] for k in ("platform", "payments") if k in raw}
    for name, value in found.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"[kiosk] {name} must be a non-empty string, got {value!r}")
    if "platform" in found and not found["platform"].startswith(("http://", "https://")):
        raise ValueError(f"[kiosk] platform wants an http(s) URL, got {found['platform']!r}")
    return found


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
