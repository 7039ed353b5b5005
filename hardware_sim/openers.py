"""The ``sim://`` device URLs: each starts a simulator and opens the real driver on it.

The product never imports this package. Whoever composes the program (``main.py``, the tests,
``simulation/``, ``benchmarks/``) calls :func:`register_simulators`, and from then on the
device URLs below open simulators through :mod:`devices.url_registry`, exactly like any other
scheme. Registering is cheap: a simulator module is imported when its URL is first opened.

A simulated device stops its simulator when it is closed (its ``on_close``); tests reach the
simulator behind a device with :func:`simulator_of`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from core.device_url import DeviceUrl
from core.errors import ConfigError
from devices.open import (
    CALL_DISPLAY,
    DOCUMENT_CAMERA,
    DOCUMENT_PRINTER,
    ID_CARD_READER,
    RATING_PAD,
    TICKET_PRINTER,
    WINDOW_CALLER,
    WINDOW_SCREEN,
)
from devices.url_registry import SIM, Opener, register

if TYPE_CHECKING:
    from devices.call_display import CallDisplay
    from devices.document_camera import DocumentCamera
    from devices.document_printer import DocumentPrinter
    from devices.id_card_reader import IdCardReader
    from devices.rating_pad import RatingPad
    from devices.ticket_printer import TicketPrinter
    from devices.window_caller import WindowCaller
    from devices.window_screen import WindowScreen

D = TypeVar("D")
E = TypeVar("E", bound=Enum)

# Weak keys: a device that is dropped without close() must not be kept alive by its sim.
_simulators: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def register_simulators() -> None:
    """Make the ``sim://`` device URLs (and ``serial://sim``) open simulators.

    Idempotent: call it from every composition root that may meet a simulator URL.
    """
    for kind, scheme, target, opener in _ROWS:
        register(kind, scheme, opener, target=target)


def simulator_of(device: object) -> Any:
    """The simulator behind a device opened from a simulator URL, or None.

    It is the object faults are injected into and results are read from: an
    :class:`~hardware_sim.escpos_printer.EscPosPrinterSim` behind a ticket printer, a
    :class:`~hardware_sim.call_display.CallDisplaySim` behind a call display, and so on.
    """
    return _simulators.get(device)


def _over(sim: Any, stop: Callable[[], None] | None, build: Callable[[Any], D]) -> D:
    """``build(on_close)`` the device over a started simulator and remember the pair.

    If building fails (a bad option), the simulator is stopped at once: nothing else would.
    """
    try:
        device = build(stop)
    except BaseException:
        if stop is not None:
            stop()
        raise
    _simulators[device] = sim
    return device


def _on_loopback(parsed: DeviceUrl, device_id: str, sim: Any, device: Callable[..., D]) -> D:
    """A line-protocol device reaching its started simulator on loopback, through the real
    driver (:func:`devices.open.line_socket`)."""
    from devices.open import line_socket

    return _over(
        sim,
        sim.stop,
        lambda stop: device(
            line_socket(parsed, "127.0.0.1", sim.port, device_id), device_id, on_close=stop
        ),
    )


def _enums(parsed: DeviceUrl, name: str, kind: type[E]) -> list[E]:
    """A comma-separated option of enum values (``faults=garbage,slow``)."""
    try:
        return [kind(v) for v in filter(None, (parsed.option(name) or "").split(","))]
    except ValueError as err:
        raise ConfigError(f"bad {name} option: {err}", url=parsed.raw) from err


def _inject(sim: Any, faults: Iterable[Enum]) -> None:
    for fault in faults:
        sim.inject(fault)


# --- one opener per simulator ------------------------------------------------------------


def _usb_printer(parsed: DeviceUrl, device_id: str) -> TicketPrinter:
    from devices.open import number_option, profile_option
    from devices.ticket_printer import PROFILES, TicketPrinter
    from drivers.usb_bulk import UsbBulk
    from hardware_sim.escpos_printer import EscPosPrinterSim, Fault
    from hardware_sim.usb_printer import SIM_PID, SIM_VID, UsbPrinterBackend

    profile = profile_option(parsed, PROFILES, "pos-58", "printer")
    sim = EscPosPrinterSim(
        paper_mm=number_option(parsed, "paper", 50_000.0),
        near_end_mm=number_option(parsed, "near_end", 1_500.0),
        dots_per_line=profile.dots_per_line,
        record=parsed.option("record"),
    )
    _inject(sim, _enums(parsed, "faults", Fault))
    serial = parsed.option("serial", "HE58SIM0001")
    backend = UsbPrinterBackend(sim, serial=serial or "HE58SIM0001")
    driver = UsbBulk(SIM_VID, SIM_PID, serial=serial, backend=backend, device_id=device_id)
    # Nothing runs behind a USB backend, so there is nothing to stop.
    return _over(sim, None, lambda _: TicketPrinter(driver, profile, device_id=device_id))


def _serial_printer(parsed: DeviceUrl, device_id: str) -> TicketPrinter:
    from devices.open import number_option, profile_option
    from devices.ticket_printer import PROFILES, TicketPrinter
    from drivers.serial_port import SerialPort
    from hardware_sim.escpos_printer import EscPosPrinterSim
    from hardware_sim.serial_printer import SerialPrinterLink

    profile = profile_option(parsed, PROFILES, "pos-58", "printer")
    baud = int(number_option(parsed, "baud", 9600))
    sim = EscPosPrinterSim(dots_per_line=profile.dots_per_line, record=parsed.option("record"))
    link = SerialPrinterLink(sim, baud).start()
    port = SerialPort(link.path, baud, device_id=device_id)
    return _over(
        sim, link.stop, lambda stop: TicketPrinter(port, profile, device_id, on_close=stop)
    )


def _call_display(parsed: DeviceUrl, device_id: str) -> CallDisplay:
    from devices.call_display import CallDisplay
    from devices.open import number_option
    from hardware_sim.call_display import CallDisplaySim

    sim = CallDisplaySim(
        int(number_option(parsed, "port", 0)),
        speak_s=number_option(parsed, "speak_s", 0.0),
        wav_dir=parsed.option("wav_dir"),
    ).start()
    return _on_loopback(parsed, device_id, sim, CallDisplay)


def _rating_pad(parsed: DeviceUrl, device_id: str) -> RatingPad:
    from devices.open import number_option
    from devices.rating_pad import RatingPad
    from hardware_sim.rating_pad import RatingPadSim

    auto = parsed.option("auto")
    if auto is not None and auto not in ("1", "2", "3", "4", "5"):
        raise ConfigError(f"option auto={auto!r} is not a level 1-5", url=parsed.raw)
    sim = RatingPadSim(
        int(number_option(parsed, "port", 0)),
        auto_level=None if auto is None else int(auto),
        delay_s=number_option(parsed, "delay", 0.0),
    ).start()
    return _on_loopback(parsed, device_id, sim, RatingPad)


def _window_screen(parsed: DeviceUrl, device_id: str) -> WindowScreen:
    from devices.open import number_option
    from devices.window_screen import WindowScreen
    from hardware_sim.window_screen import WindowScreenSim

    sim = WindowScreenSim(int(number_option(parsed, "port", 0))).start()
    return _on_loopback(parsed, device_id, sim, WindowScreen)


def _window_caller(parsed: DeviceUrl, device_id: str) -> WindowCaller:
    """Callers at ``bus`` (default: just ``address``) on a paced pty; ``trace`` opens the port
    through pyserial's ``spy://`` so the wire is dumped to that file."""
    from devices.open import caller_address, window_caller_on
    from hardware_sim.window_caller import CallerFault, WindowCallerBusSim

    address = caller_address(parsed)
    try:
        bus = tuple(int(a) for a in (parsed.option("bus") or str(address)).split(","))
    except ValueError as err:
        raise ConfigError(f"bad bus option: {err}", url=parsed.raw) from err
    faults = _enums(parsed, "faults", CallerFault)
    sim = WindowCallerBusSim(bus if address in bus else (*bus, address)).start()
    _inject(sim, faults)
    trace = parsed.option("trace")
    port_url = f"spy://{sim.path}?file={trace}" if trace else sim.path
    return _over(sim, sim.stop, lambda stop: window_caller_on(parsed, port_url, device_id, stop))


def _id_reader(parsed: DeviceUrl, device_id: str) -> IdCardReader:
    """``card`` names one of the sample cards (``resident``, ``resident-10y``,
    ``hk_macao_taiwan``, ``foreigner``, ``foreigner_2023``, ``none``)."""
    from devices.id_card_reader import PROFILES, IdCardReader
    from devices.open import number_option, profile_option
    from drivers.serial_port import SerialPort
    from hardware_sim.id_card_reader import SAMPLE_CARDS, TIMINGS, Fault, IdCardReaderSim

    profile = profile_option(parsed, PROFILES, "sam-uart", "ID card reader")
    baud = int(number_option(parsed, "baud", profile.baudrate))
    card_name = parsed.option("card", "resident") or "none"
    timing_name = parsed.option("timing", "typical") or "typical"
    if card_name != "none" and card_name not in SAMPLE_CARDS:
        raise ConfigError(f"no sample card {card_name!r}", url=parsed.raw)
    if timing_name not in TIMINGS:
        raise ConfigError(f"unknown module timing {timing_name!r}", url=parsed.raw)
    faults = _enums(parsed, "faults", Fault)
    sim = IdCardReaderSim(
        None if card_name == "none" else SAMPLE_CARDS[card_name],
        timing=TIMINGS[timing_name],
        repeat_find=parsed.option("repeat_find", "1") != "0",
        fingerprint=bytes(range(256)) * (int(number_option(parsed, "fingerprint", 0)) // 256),
        baud=baud,
    ).start()
    _inject(sim, faults)
    port = SerialPort(sim.path, baud, device_id=device_id)
    return _over(
        sim, sim.stop, lambda stop: IdCardReader(port, profile, device_id, on_close=stop)
    )


def _cups_pdf(parsed: DeviceUrl, device_id: str) -> DocumentPrinter:
    """A private cupsd (root only) with a ``cups-pdf`` queue and an ``a4`` state-printer
    queue; ``queue`` picks the one the printer uses."""
    from devices.document_printer import PROFILES, DocumentPrinter
    from devices.open import profile_option
    from drivers.cups_printer import CupsPrinter
    from hardware_sim.cups_server import CupsServer

    profile = profile_option(parsed, PROFILES, "cups-pdf", "document printer")
    server = CupsServer()
    queue = parsed.option("queue", "cups-pdf") or "cups-pdf"

    def build(stop: Callable[[], None]) -> DocumentPrinter:
        server.start()
        server.add_state_printer("a4")
        driver = CupsPrinter(queue, server.server, device_id=device_id)
        return DocumentPrinter(driver, profile, device_id, on_close=stop)

    return _over(server, server.close, build)


def _camera(parsed: DeviceUrl, device_id: str) -> DocumentCamera:
    """An MJPEG simulator on a free loopback port, read over HTTP."""
    from devices.document_camera import PROFILES, DocumentCamera
    from devices.open import number_option, profile_option
    from drivers.opencv_camera import STREAM, OpenCvCamera
    from hardware_sim.mjpeg_camera import Fault, MjpegCameraSim

    profile = profile_option(parsed, PROFILES, "mjpeg-http", "camera")
    faults = _enums(parsed, "faults", Fault)
    sim = MjpegCameraSim(
        fps=number_option(parsed, "fps", 15.0),
        width=int(number_option(parsed, "width", 1280)),
        height=int(number_option(parsed, "height", 960)),
        slow_s=number_option(parsed, "slow_s", 5.0),
    )
    sim.start()
    _inject(sim, faults)
    driver = OpenCvCamera(sim.url, STREAM, None, device_id)
    return _over(
        sim, sim.close, lambda stop: DocumentCamera(driver, profile, device_id, on_close=stop)
    )


#: (device kind, scheme, target, opener): one row per simulator URL.
_ROWS: tuple[tuple[str, str, str, Opener], ...] = (
    (TICKET_PRINTER, SIM, "usb-printer", _usb_printer),
    (TICKET_PRINTER, "serial", SIM, _serial_printer),
    (CALL_DISPLAY, SIM, "call-display", _call_display),
    (RATING_PAD, SIM, "rating-pad", _rating_pad),
    (WINDOW_SCREEN, SIM, "window-screen", _window_screen),
    (WINDOW_CALLER, SIM, "window-caller", _window_caller),
    (ID_CARD_READER, SIM, "id-reader", _id_reader),
    (DOCUMENT_PRINTER, SIM, "cups-pdf", _cups_pdf),
    (DOCUMENT_CAMERA, SIM, "camera", _camera),
)
