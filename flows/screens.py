"""What a flow asks its screen to show: a description, never a widget.

Like a Home Assistant config-flow step, each flow step returns a :class:`Screen` naming what to
show, the facts to show, and an error *key*. The Kivy app renders it; tests read it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.strings_zh import error_text


@dataclass(frozen=True)
class Screen:
    """One screen's worth of state.

    Attributes:
        name: which screen (``home``, ``choose_service``, ``ticket``, ``desk`` …).
        kind: ``menu`` (choices), ``result`` (an outcome to read), ``form`` (input wanted).
        data: the facts the screen shows.
        error_key: a key of :mod:`core.strings_zh` when something went wrong.
        function: on the kiosk, the id of the kiosk function whose screens draw this one
            (``ticket``); :class:`flows.kiosk_functions.KioskHome` stamps it, so a function's
            flow never names itself. None for a window's own screens (the kiosk home, the PAD).
    """

    name: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    error_key: str | None = None
    function: str | None = None

    @property
    def error_text(self) -> str | None:
        """The Chinese sentence for :attr:`error_key`, or None."""
        return None if self.error_key is None else error_text(self.error_key)
