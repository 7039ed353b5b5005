"""The ESC/POS printer simulator on a serial line: the same printer model, a different cable.

Many Chinese ticket printers hang off RS-232 or a USB-serial bridge instead of USB bulk
endpoints. This puts :class:`hardware_sim.escpos_printer.EscPosPrinterSim` behind a
:class:`hardware_sim.pty_link.PtyLink`, so the real serial driver is what tests exercise:
bytes arrive at the configured baud rate, and real-time status answers (DLE EOT) go back on the
same line as they would from the printer's UART.
"""

from __future__ import annotations

from hardware_sim.escpos_printer import EscPosPrinterSim
from hardware_sim.pty_link import PtyLink

#: Typical factory setting of serial receipt printers.
DEFAULT_BAUD = 9600


class SerialPrinterLink:
    """A simulated serial ticket printer.

    Args:
        sim: the printer model.
        baud: the line speed, for pacing.
    """

    def __init__(self, sim: EscPosPrinterSim, baud: int = DEFAULT_BAUD) -> None:
        self.sim = sim
        self.link = PtyLink(baud, self._received, name="ttySIM-printer")
        # The printer's "unplugged" fault pulls this cable.
        sim.on_plug = lambda plugged: self.link.plug() if plugged else self.link.unplug()

    @property
    def path(self) -> str:
        """What the driver opens, like ``/dev/ttyUSB0``."""
        return self.link.path

    def start(self) -> SerialPrinterLink:
        self.link.start()
        return self

    def stop(self) -> None:
        self.link.stop()

    def unplug(self) -> None:
        self.link.unplug()

    def plug(self) -> None:
        self.link.plug()

    def _received(self, data: bytes) -> None:
        self.sim.feed(data)
        # DLE EOT is answered at once, even mid-job; anything the model queued goes back now.
        reply = self.sim.read_reply(64, 0)
        if reply:
            self.link.send(reply)
