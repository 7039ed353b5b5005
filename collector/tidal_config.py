"""The collector's own part of a hall's config file: ``[tidal]`` (the baseline and the advice)
and ``[notify]`` (who is told, through which gateway).

The hall box reads the same TOML file and ignores both tables; the collector reads them here,
so a hall keeps one file. The keys and their defaults are described in ``docs/tidal.md``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from collector.recipients import RecipientBook, parse_recipients
from core.errors import ConfigError

#: Weeks of history the weekly baseline is taken from (reference B4: 8).
BASELINE_WEEKS = 8
#: Length of a time slot, minutes (reference B4: 30).
SLOT_MIN = 30
YELLOW_QUANTILE = 0.80
RED_QUANTILE = 0.95
#: Cold start: a weekday slot needs readings from this many days before its quantiles are
#: believed; until then the hall's promise alone sets the levels.
MIN_DAYS = 3


@dataclass(frozen=True)
class TidalSettings:
    """``[tidal]``: how levels and advice are made for one hall.

    Attributes:
        weeks: the baseline window N, in weeks.
        slot_min: the time-slot length, minutes; divides a day evenly.
        yellow_quantile, red_quantile: the baseline quantiles for yellow and red.
        min_days: the cold-start rule (see :data:`MIN_DAYS`).
        closes_at: the hall's closing time ``HH:MM`` (for 延时服务 advice).
        kiosk_services: services citizens can also do at the hall's self-service kiosks.
        holidays: days the baseline skips besides the shipped national list.
    """

    weeks: int = BASELINE_WEEKS
    slot_min: int = SLOT_MIN
    yellow_quantile: float = YELLOW_QUANTILE
    red_quantile: float = RED_QUANTILE
    min_days: int = MIN_DAYS
    closes_at: str = "17:00"
    kiosk_services: tuple[str, ...] = ()
    holidays: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotifySettings:
    """``[notify]``: the gateway and the people warnings and bad ratings go to.

    Attributes:
        gateway: the notification gateway's base URL; None sends nothing (and audits nothing).
        channel: ``sms`` or ``im``, passed to the gateway.
        recipients: who gets what, by role.
    """

    gateway: str | None = None
    channel: str = "sms"
    recipients: RecipientBook = field(default_factory=RecipientBook)


@dataclass(frozen=True)
class CollectorHallSettings:
    tidal: TidalSettings = field(default_factory=TidalSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)


def load_collector_settings(path: Path | str) -> CollectorHallSettings:
    """Read ``[tidal]`` and ``[notify]`` of a hall config file.

    Raises:
        ConfigError (100): the file is unreadable, or a key is wrong.
    """
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}", path=str(path)) from err
    return parse_collector_settings(raw)


def parse_collector_settings(raw: dict[str, Any]) -> CollectorHallSettings:
    try:
        tidal = _tidal(raw.get("tidal", {}))
        notify = _notify(raw.get("notify", {}))
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"invalid [tidal]/[notify] config: {err}") from err
    return CollectorHallSettings(tidal, notify)


def _tidal(raw: dict[str, Any]) -> TidalSettings:
    known = set(TidalSettings.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"[tidal] has unknown keys {sorted(unknown)}")
    base = TidalSettings()
    settings = TidalSettings(
        weeks=int(raw.get("weeks", base.weeks)),
        slot_min=int(raw.get("slot_min", base.slot_min)),
        yellow_quantile=float(raw.get("yellow_quantile", base.yellow_quantile)),
        red_quantile=float(raw.get("red_quantile", base.red_quantile)),
        min_days=int(raw.get("min_days", base.min_days)),
        closes_at=str(raw.get("closes_at", base.closes_at)),
        kiosk_services=tuple(str(s) for s in raw.get("kiosk_services", ())),
        holidays=tuple(date.fromisoformat(str(d)).isoformat() for d in raw.get("holidays", ())),
    )
    if settings.weeks < 1 or settings.min_days < 1:
        raise ValueError("[tidal] weeks and min_days must be at least 1")
    if settings.slot_min < 5 or 1440 % settings.slot_min:
        raise ValueError("[tidal] slot_min must divide a day and be at least 5 minutes")
    if not 0 < settings.yellow_quantile <= settings.red_quantile < 1:
        raise ValueError("[tidal] wants 0 < yellow_quantile <= red_quantile < 1")
    hh, _, mm = settings.closes_at.partition(":")
    if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
        raise ValueError(f"[tidal] closes_at wants HH:MM, got {settings.closes_at!r}")
    return settings


def _notify(raw: dict[str, Any]) -> NotifySettings:
    unknown = set(raw) - {"gateway", "channel", "recipients"}
    if unknown:
        raise ValueError(f"[notify] has unknown keys {sorted(unknown)}")
    channel = str(raw.get("channel", "sms"))
    if channel not in ("sms", "im"):
        raise ValueError(f"[notify] channel must be sms or im, got {channel!r}")
    gateway = raw.get("gateway")
    return NotifySettings(
        gateway=str(gateway).rstrip("/") if gateway else None,
        channel=channel,
        recipients=parse_recipients(raw.get("recipients", [])),
    )
