"""What the simulated devices' windows share: a device simulator embedded on a loopback port,
a worker thread for it, and type drawn for the device's native screen size."""

from __future__ import annotations

from typing import Any

from kivy.app import App

from kiosk.background import Background


class SimulatedDeviceWindow(App):
    """A Kivy window that *is* a simulated hall device.

    Args:
        port: the loopback TCP port the embedded simulator listens on.
        hall_name: shown in the header.
        worker: the name of the simulator's worker thread.

    Attributes:
        sim: the embedded simulator, once it started (on the worker).
        scale: sizes are drawn for :attr:`native_size`; a smaller window (the demo's) scales
            them down by this rather than letting text run over its neighbours.
    """

    native_size = (1024, 600)
    scale = 1.0

    def __init__(self, port: int, hall_name: str = "", worker: str = "device-worker",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.port = port
        self.hall_name = hall_name
        self.sim: Any = None
        self.background = Background(worker)

    def measure(self) -> float:
        """Set and return :attr:`scale` from the window's size; call at the top of build."""
        from kivy.core.window import Window

        width, height = self.native_size
        self.scale = min(1.0, Window.width / width, Window.height / height)
        return self.scale

    def on_stop(self) -> None:
        sim = self.sim
        if sim is not None:
            self.background.submit(sim.stop)
        self.background.stop()
