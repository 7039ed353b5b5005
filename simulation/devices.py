"""A simulated hall's front of house: kiosks with printers, window desks with a call display
and rating pads, all opened from device URLs and driven through the real flows."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.clock import Clock
from devices.call_display import CallDisplay
from devices.open import open_call_display, open_rating_pad, open_ticket_printer
from devices.rating_pad import RatingPad
from devices.ticket_printer import TicketPrinter
from flows.queue import HallQueue
from flows.ticketing import TicketFlow
from flows.window_desk import WindowDesk
from hardware_sim import register_simulators


@dataclass
class FrontOfHouse:
    """The flows a simulated hall runs, and the devices under them (to close)."""

    kiosks: list[TicketFlow]
    desks: dict[int, WindowDesk]
    printers: list[TicketPrinter] = field(default_factory=list)
    display: CallDisplay | None = None
    pads: dict[int, RatingPad] = field(default_factory=dict)

    def ratings_recorded(self) -> int:
        return sum(desk.ratings_recorded for desk in self.desks.values())

    def close(self) -> None:
        for printer in self.printers:
            printer.close()
        for pad in self.pads.values():
            pad.close()
        if self.display is not None:
            self.display.close()


def open_front_of_house(
    queue: HallQueue,
    clock: Clock,
    windows: tuple[int, ...],
    kiosk_ids: tuple[str, ...] = ("kiosk-1", "kiosk-2"),
    display_url: str = "sim://call-display",
    printer_url: str = "sim://usb-printer",
) -> FrontOfHouse:
    """Open simulated kiosks (each with a USB ticket printer), one call display and a rating
    pad per window, and the flows that drive them.

    Args:
        queue: the hall queue.
        clock: the hall clock.
        windows: the staffed windows.
        kiosk_ids: one kiosk flow and printer per id.
        display_url: the hall display (``tcp://`` to reach the demo's display window).
        printer_url: the printers' URL (each kiosk opens its own simulator).
    """
    register_simulators()
    printers = [open_ticket_printer(printer_url, f"printer-{k}") for k in kiosk_ids]
    kiosks = [TicketFlow(queue, p, k, clock) for k, p in zip(kiosk_ids, printers)]
    display = open_call_display(display_url, "display-1")
    pads = {w: open_rating_pad("sim://rating-pad", f"rating-{w}") for w in windows}
    desks = {w: WindowDesk(queue, w, f"pad-{w}", display, pads[w], clock) for w in windows}
    return FrontOfHouse(kiosks, desks, printers, display, pads)
