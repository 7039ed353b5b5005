"""Open a device from its URL: one configuration line picks the hardware (or a simulator).

Importing this module registers the hardware schemes in :mod:`devices.url_registry`; the
``open_*`` functions look the URL up there. ``sim://`` (and ``serial://sim``) work only after
the composition root registered the simulators, which then sit *under* the real drivers built
here. Drivers are imported only when their device is opened.

The helpers at the end (:func:`number_option`, :func:`profile_option`, :func:`line_socket`,
:func:`window_caller_on`) are for any opener, so a plug-in reads options as these do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from core.device_url import DeviceUrl, parse_device_url
from core.errors import ConfigError
from devices.url_registry import Opener, opener_for, register

if TYPE_CHECKING:
    from devices.call_display import CallDisplay
    from devices.document_camera import DocumentCamera
    from devices.document_printer import DocumentPrinter
    from devices.id_card_reader import IdCardReader
    from devices.rating_pad import RatingPad
    from devices.ticket_printer import TicketPrinter
    from devices.window_caller import WindowCaller
    from devices.window_screen import WindowScreen
    from drivers.line_socket import LineSocket

P = TypeVar("P")

#: Device kinds, named as the hall config's ``[devices]`` roles.
TICKET_PRINTER = "ticket_printer"
CALL_DISPLAY = "call_display"
RATING_PAD = "rating_pad"
WINDOW_SCREEN = "window_screen"
WINDOW_CALLER = "window_caller"
ID_CARD_READER = "id_card_reader"
DOCUMENT_PRINTER = "document_printer"
DOCUMENT_CAMERA = "document_camera"

#: pyserial's own URL handlers, passed to it as they are (``spy://`` dumps the wire).
PYSERIAL_SCHEMES = ("spy", "hwgrep", "rfc2217", "socket", "loop")


def open_device(kind: str, url: str, device_id: str) -> Any:
    """Build the device of ``kind`` a URL names, with the opener registered for its scheme.

    Args:
        kind: the device kind (:data:`TICKET_PRINTER` …).
        url: the device URL.
        device_id: the hall's name for the device, carried in health and errors.

    Raises:
        ConfigError (100): no opener for the scheme (for ``sim://``: simulators are not
            registered), or the opener refused the URL.
    """
    parsed = parse_device_url(url)
    return opener_for(kind, parsed)(parsed, device_id)


def open_ticket_printer(url: str, device_id: str) -> TicketPrinter:
    """Build the ticket printer a URL names. The device is opened on first use.

    URL forms::

        usb://0416:5011?serial=ABC123&profile=pos-80
        serial:///dev/ttyUSB0?baud=9600          (RS-232 or a USB-serial bridge)
        spy:///dev/ttyUSB0?file=/tmp/wire.txt    (any pyserial URL: a wire trace)
        sim://usb-printer?record=/tmp/tickets.jsonl&paper=20000&near_end=1500&profile=pos-58
        serial://sim?baud=9600&record=…          (the simulator on a paced pty)

    Returns:
        A :class:`TicketPrinter` holding a byte driver.

    Raises:
        ConfigError (100): unknown scheme, target, profile or a malformed option.
    """
    return cast("TicketPrinter", open_device(TICKET_PRINTER, url, device_id))


def open_call_display(url: str, device_id: str) -> CallDisplay:
    """Build the hall call display a URL names, speaking the hall line protocol.

    URL forms::

        tcp://127.0.0.1:7601?timeout=2
        sim://call-display?port=7601&speak_s=2.5&wav_dir=/tmp/calls&timeout=2

    ``tcp://`` reaches a display, or a simulator in another process such as the simulated
    display window; ``sim://`` starts one in this process (on a free port unless ``port``).

    Returns:
        A :class:`devices.call_display.CallDisplay`; it connects on first use.

    Raises:
        ConfigError (100): unknown scheme or target, a malformed option, a busy port.
    """
    return cast("CallDisplay", open_device(CALL_DISPLAY, url, device_id))


def open_rating_pad(url: str, device_id: str) -> RatingPad:
    """Build the 好差评 rating pad a URL names, speaking the hall line protocol.

    URL forms::

        tcp://127.0.0.1:7602?timeout=2
        sim://rating-pad?auto=5&delay=1.5&port=7602&timeout=2

    With ``auto`` (1–5) the simulated pad answers every request by itself after ``delay``
    seconds, for a headless hall.

    Returns:
        A :class:`devices.rating_pad.RatingPad`; it connects on first use.

    Raises:
        ConfigError (100): unknown scheme or target, a malformed option, a busy port.
    """
    return cast("RatingPad", open_device(RATING_PAD, url, device_id))


def open_window_screen(url: str, device_id: str) -> WindowScreen:
    """Build the LED screen above a window a URL names, speaking the window screen protocol.

    URL forms::

        tcp://127.0.0.1:7603?timeout=2
        sim://window-screen?port=7603&timeout=2

    Raises:
        ConfigError (100): unknown scheme or target, a malformed option, a busy port.
    """
    return cast("WindowScreen", open_device(WINDOW_SCREEN, url, device_id))


def open_window_caller(url: str, device_id: str) -> WindowCaller:
    """Build the serial window caller (with its 4-key rating pad) a URL names, reference §5.2.

    URL forms::

        serial:///dev/ttyUSB0?address=3&rater=4key
        spy:///dev/ttyUSB0?file=/tmp/caller.txt&address=3     (pyserial wire trace)
        hwgrep://1a86:7523?address=3                          (first port matching VID:PID)
        sim://window-caller?address=3&bus=1,2,3&faults=garbage&trace=/tmp/caller.txt

    A pyserial URL (:data:`PYSERIAL_SCHEMES`) is passed on without this function's own
    options (``address``, ``rater``, ``gap``, ``timeout``).

    Returns:
        A started :class:`devices.window_caller.WindowCaller` that owns its bus; its
        ``rating_pad`` is the pad at the same address.

    Raises:
        ConfigError (100): unknown scheme, target or fault, a malformed option.
    """
    return cast("WindowCaller", open_device(WINDOW_CALLER, url, device_id))


def open_id_card_reader(url: str, device_id: str) -> IdCardReader:
    """Build the second-generation ID card reader a URL names (SAM protocol, 115200 8N1).

    URL forms::

        serial:///dev/ttyUSB0?profile=sam-uart&baud=115200
        hwgrep://1a86:7523?profile=sam-uart-fingerprint
        sim://id-reader?card=resident&timing=typical&repeat_find=1&faults=garbage&fingerprint=0

    ``hwgrep://`` opens the first serial port whose USB VID:PID matches.

    Returns:
        A :class:`devices.id_card_reader.IdCardReader`; the port opens on first use.

    Raises:
        ConfigError (100): unknown scheme, target, profile, card, timing or fault.
    """
    return cast("IdCardReader", open_device(ID_CARD_READER, url, device_id))


def open_document_printer(url: str, device_id: str) -> DocumentPrinter:
    """Build the A4 document printer a URL names: a CUPS queue, spoken to through pycups.

    URL forms::

        cups://<queue>?server=127.0.0.1:631&profile=a4-laser
        sim://cups-pdf?queue=a4&profile=cups-pdf      (a private cupsd; root only)

    Returns:
        A :class:`devices.document_printer.DocumentPrinter`; nothing is contacted until
        first use.

    Raises:
        ConfigError (100): unknown scheme, target or profile; the simulator cannot start.
    """
    return cast("DocumentPrinter", open_device(DOCUMENT_PRINTER, url, device_id))


def open_document_camera(url: str, device_id: str) -> DocumentCamera:
    """Build the 高拍仪 document camera a URL names, read through OpenCV.

    URL forms::

        camera://0?profile=uvc-8mp             a UVC camera by index (V4L2 on Linux)
        file:///var/hall/desk.mp4              a recording, played in a loop
        images:///var/hall/desk/%04d.jpg       an image sequence, played in a loop
        http://127.0.0.1:8081/stream.mjpg      an MJPEG stream (passed to FFmpeg as is)
        sim://camera?fps=15&width=1280&height=960&slow_s=5&faults=black

    ``camera://`` options ``fourcc``, ``width``, ``height`` and ``fps`` override the profile.

    Returns:
        A :class:`devices.document_camera.DocumentCamera`; it starts reading on first use.

    Raises:
        ConfigError (100): unknown scheme, target, profile, fault or a malformed option.
    """
    return cast("DocumentCamera", open_device(DOCUMENT_CAMERA, url, device_id))


# --- the hardware openers ----------------------------------------------------------------


def _usb_ticket_printer(parsed: DeviceUrl, device_id: str) -> TicketPrinter:
    from devices.ticket_printer import PROFILES, TicketPrinter
    from drivers.usb_bulk import UsbBulk

    profile = profile_option(parsed, PROFILES, "pos-58", "printer")
    try:
        vid, pid = (int(part, 16) for part in parsed.target.split(":"))
    except ValueError as err:
        raise ConfigError(f"expected usb://VVVV:PPPP, got {parsed.raw!r}", url=parsed.raw) from err
    driver = UsbBulk(vid, pid, serial=parsed.option("serial"), device_id=device_id)
    return TicketPrinter(driver, profile, device_id=device_id)


def _serial_ticket_printer(parsed: DeviceUrl, device_id: str) -> TicketPrinter:
    from devices.ticket_printer import PROFILES, TicketPrinter
    from drivers.serial_port import SerialPort

    profile = profile_option(parsed, PROFILES, "pos-58", "printer")
    baud = int(number_option(parsed, "baud", 9600))
    port = parsed.path if parsed.scheme == "serial" else parsed.raw.split("?")[0]
    if not port:
        raise ConfigError(f"expected serial:///dev/PORT, got {parsed.raw!r}", url=parsed.raw)
    return TicketPrinter(SerialPort(port, baud, device_id=device_id), profile, device_id=device_id)


def _tcp_call_display(parsed: DeviceUrl, device_id: str) -> CallDisplay:
    from devices.call_display import CallDisplay

    return CallDisplay(line_socket(parsed, *_host_port(parsed), device_id), device_id)


def _tcp_rating_pad(parsed: DeviceUrl, device_id: str) -> RatingPad:
    from devices.rating_pad import RatingPad

    return RatingPad(line_socket(parsed, *_host_port(parsed), device_id), device_id)


def _tcp_window_screen(parsed: DeviceUrl, device_id: str) -> WindowScreen:
    from devices.window_screen import WindowScreen

    return WindowScreen(line_socket(parsed, *_host_port(parsed), device_id), device_id)


def _serial_window_caller(parsed: DeviceUrl, device_id: str) -> WindowCaller:
    if parsed.scheme == "serial":
        port_url = parsed.path
    else:
        own = {"address", "rater", "gap", "timeout"}
        query = "&".join(f"{k}={v}" for k, v in parsed.options.items() if k not in own)
        port_url = f"{parsed.scheme}://{parsed.target}{parsed.path}" + (
            f"?{query}" if query else ""
        )
    return window_caller_on(parsed, port_url, device_id)


def _serial_id_card_reader(parsed: DeviceUrl, device_id: str) -> IdCardReader:
    from devices.id_card_reader import PROFILES, IdCardReader
    from drivers.serial_port import SerialPort

    profile = profile_option(parsed, PROFILES, "sam-uart", "ID card reader")
    baud = int(number_option(parsed, "baud", profile.baudrate))
    if parsed.scheme == "serial" and parsed.path:
        port = parsed.path
    elif parsed.scheme == "hwgrep" and parsed.target:
        port = f"hwgrep://{parsed.target}{parsed.path}"
    else:
        raise ConfigError(f"an ID card reader cannot be opened from {parsed.raw!r}", url=parsed.raw)
    return IdCardReader(SerialPort(port, baud, device_id=device_id), profile, device_id)


def _cups_document_printer(parsed: DeviceUrl, device_id: str) -> DocumentPrinter:
    from devices.document_printer import PROFILES, DocumentPrinter
    from drivers.cups_printer import CupsPrinter

    profile = profile_option(parsed, PROFILES, "a4-laser", "document printer")
    if not parsed.target:
        raise ConfigError(f"expected cups://QUEUE, got {parsed.raw!r}", url=parsed.raw)
    driver = CupsPrinter(parsed.target, parsed.option("server", "") or "", device_id)
    return DocumentPrinter(driver, profile, device_id)


def _uvc_document_camera(parsed: DeviceUrl, device_id: str) -> DocumentCamera:
    from devices.document_camera import PROFILES, DocumentCamera
    from drivers.opencv_camera import INDEX, OpenCvCamera

    profile = profile_option(parsed, PROFILES, "uvc-8mp", "camera")
    if not parsed.target.isdigit():
        raise ConfigError(f"expected camera://INDEX, got {parsed.raw!r}", url=parsed.raw)
    profile = replace(
        profile,
        fourcc=parsed.option("fourcc", profile.fourcc) or profile.fourcc,
        width=int(number_option(parsed, "width", profile.width)),
        height=int(number_option(parsed, "height", profile.height)),
        fps=number_option(parsed, "fps", profile.fps),
    )
    driver = OpenCvCamera(int(parsed.target), INDEX, profile.mode, device_id)
    return DocumentCamera(driver, profile, device_id)


def _recorded_document_camera(parsed: DeviceUrl, device_id: str) -> DocumentCamera:
    from devices.document_camera import PROFILES, DocumentCamera
    from drivers.opencv_camera import FILE, IMAGES, OpenCvCamera

    profile = profile_option(parsed, PROFILES, "uvc-8mp", "camera")
    kind = FILE if parsed.scheme == "file" else IMAGES
    return DocumentCamera(OpenCvCamera(parsed.path, kind, None, device_id), profile, device_id)


def _stream_document_camera(parsed: DeviceUrl, device_id: str) -> DocumentCamera:
    from devices.document_camera import PROFILES, DocumentCamera
    from drivers.opencv_camera import STREAM, OpenCvCamera

    # The whole URL goes to FFmpeg, so there is no room for our own options here.
    driver = OpenCvCamera(parsed.raw, STREAM, None, device_id)
    return DocumentCamera(driver, PROFILES["mjpeg-http"], device_id)


_HARDWARE: tuple[tuple[str, tuple[str, ...], Opener], ...] = (
    (TICKET_PRINTER, ("usb",), _usb_ticket_printer),
    (TICKET_PRINTER, ("serial", "spy", "hwgrep"), _serial_ticket_printer),
    (CALL_DISPLAY, ("tcp",), _tcp_call_display),
    (RATING_PAD, ("tcp",), _tcp_rating_pad),
    (WINDOW_SCREEN, ("tcp",), _tcp_window_screen),
    (WINDOW_CALLER, ("serial", *PYSERIAL_SCHEMES), _serial_window_caller),
    (ID_CARD_READER, ("serial", "hwgrep"), _serial_id_card_reader),
    (DOCUMENT_PRINTER, ("cups",), _cups_document_printer),
    (DOCUMENT_CAMERA, ("camera",), _uvc_document_camera),
    (DOCUMENT_CAMERA, ("file", "images"), _recorded_document_camera),
    (DOCUMENT_CAMERA, ("http", "https"), _stream_document_camera),
)

for _kind, _schemes, _opener in _HARDWARE:
    for _scheme in _schemes:
        register(_kind, _scheme, _opener)


# --- building blocks for openers ---------------------------------------------------------


def number_option(parsed: DeviceUrl, name: str, default: float) -> float:
    """A numeric URL option, or ``default`` when absent.

    Raises:
        ConfigError (100): the option is not a number.
    """
    raw = parsed.option(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as err:
        raise ConfigError(f"option {name}={raw!r} is not a number", url=parsed.raw) from err


def profile_option(parsed: DeviceUrl, profiles: Mapping[str, P], default: str, what: str) -> P:
    """The model profile the ``profile`` option names, or ``default``'s.

    Raises:
        ConfigError (100): no such profile in ``profiles`` (``what`` names the device in the
            message: ``unknown printer profile 'x'``).
    """
    name = parsed.option("profile", default) or default
    try:
        return profiles[name]
    except KeyError as err:
        raise ConfigError(f"unknown {what} profile {name!r}", url=parsed.raw) from err


def line_socket(parsed: DeviceUrl, host: str, port: int, device_id: str) -> LineSocket:
    """A hall line protocol connection to ``host:port``, with the URL's ``timeout``."""
    from drivers.line_socket import LineSocket

    return LineSocket(host, port, number_option(parsed, "timeout", 2.0), device_id=device_id)


def caller_address(parsed: DeviceUrl) -> int:
    """The window caller's bus address (``address``, default 1).

    Raises:
        ConfigError (100): not a number in 0–255.
    """
    address = int(number_option(parsed, "address", 1))
    if not 0 <= address <= 0xFF:
        raise ConfigError("bad address or rater option", url=parsed.raw)
    return address


def window_caller_on(
    parsed: DeviceUrl,
    port_url: str,
    device_id: str,
    on_close: Callable[[], None] | None = None,
) -> WindowCaller:
    """A started window caller on the serial port ``port_url`` (a path or a pyserial URL),
    with the URL's ``address``, ``rater``, ``gap`` and ``timeout``; it owns its bus.

    Raises:
        ConfigError (100): a bad address or rater option.
    """
    from devices.window_caller import RATER_PROFILES, WindowCaller
    from drivers.caller_bus import CallerBus
    from drivers.serial_port import SerialPort

    address = caller_address(parsed)
    rater = RATER_PROFILES.get(parsed.option("rater", "4key") or "4key")
    if rater is None:
        raise ConfigError("bad address or rater option", url=parsed.raw)
    port = SerialPort(port_url, 9600, number_option(parsed, "timeout", 1.0), device_id=device_id)
    bus = CallerBus(port, frame_gap_s=number_option(parsed, "gap", 0.3))
    caller = WindowCaller(
        bus, address, device_id, rater=rater, owns_bus=True, on_close=on_close
    )
    bus.start()
    return caller


def _host_port(parsed: DeviceUrl) -> tuple[str, int]:
    host, _, port = parsed.target.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"expected tcp://HOST:PORT, got {parsed.raw!r}", url=parsed.raw)
    return host, int(port)
