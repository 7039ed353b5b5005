"""Open a device from its URL: one configuration line picks the simulator or the hardware.

``sim://`` URLs build a simulator and plug it in *under* the real driver, so the same driver
code runs in the demo, in tests and in the hall. Simulators are imported only for ``sim://``
URLs, and drivers only when their device is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.device_url import DeviceUrl, parse_device_url
from core.errors import ConfigError
from devices.ticket_printer import PROFILES, PrinterProfile, TicketPrinter

if TYPE_CHECKING:
    from devices.call_display import CallDisplay
    from devices.document_camera import DocumentCamera
    from devices.document_printer import DocumentPrinter
    from devices.id_card_reader import IdCardReader
    from devices.rating_pad import RatingPad
    from devices.window_caller import WindowCaller
    from devices.window_screen import WindowScreen
    from drivers.line_socket import LineSocket
    from hardware_sim.id_card_reader import IdCardReaderSim


def open_ticket_printer(url: str, device_id: str) -> TicketPrinter:
    """Build the ticket printer a URL names. The USB device is opened on first use.

    URL forms::

        sim://usb-printer?record=/tmp/tickets.jsonl&paper=20000&near_end=1500&profile=pos-58
        usb://0416:5011?serial=ABC123&profile=pos-80
        serial:///dev/ttyUSB0?baud=9600          (RS-232 or a USB-serial bridge)
        serial://sim?baud=9600&record=…          (the simulator on a paced pty)

    For ``sim://`` the returned printer's ``sim`` attribute is the
    :class:`hardware_sim.escpos_printer.EscPosPrinterSim`; faults are injected there.

    Args:
        url: the device URL.
        device_id: the hall's name for the printer, carried in health and errors.

    Returns:
        A :class:`TicketPrinter` holding a :class:`drivers.usb_bulk.UsbBulk` driver.

    Raises:
        ConfigError (100): unknown scheme, target, profile or a malformed option.
    """
    from drivers.usb_bulk import UsbBulk

    parsed = parse_device_url(url)
    profile = _profile(parsed)
    if parsed.scheme == "sim":
        if parsed.target != "usb-printer":
            raise ConfigError(f"no simulator {parsed.target!r}", url=url)
        from hardware_sim.escpos_printer import EscPosPrinterSim, Fault
        from hardware_sim.usb_printer import SIM_PID, SIM_VID, UsbPrinterBackend

        sim = EscPosPrinterSim(
            paper_mm=_number(parsed, "paper", 50_000.0),
            near_end_mm=_number(parsed, "near_end", 1_500.0),
            dots_per_line=profile.dots_per_line,
            record=parsed.option("record"),
        )
        for fault in filter(None, (parsed.option("faults") or "").split(",")):
            try:
                sim.inject(Fault(fault))
            except ValueError as err:
                raise ConfigError(f"unknown simulator fault {fault!r}", url=url) from err
        serial = parsed.option("serial", "HE58SIM0001")
        backend = UsbPrinterBackend(sim, serial=serial or "HE58SIM0001")
        driver = UsbBulk(SIM_VID, SIM_PID, serial=serial, backend=backend, device_id=device_id)
        return TicketPrinter(driver, profile, device_id=device_id, sim=sim)
    if parsed.scheme == "usb":
        vid, pid = _vid_pid(parsed)
        driver = UsbBulk(vid, pid, serial=parsed.option("serial"), device_id=device_id)
        return TicketPrinter(driver, profile, device_id=device_id)
    if parsed.scheme in ("serial", "spy", "hwgrep"):
        return _serial_ticket_printer(parsed, profile, device_id)
    raise ConfigError(f"a ticket printer cannot be opened from {parsed.scheme}://", url=url)


def _serial_ticket_printer(
    parsed: DeviceUrl, profile: PrinterProfile, device_id: str
) -> TicketPrinter:
    """``serial:///dev/ttyUSB0?baud=9600`` (or a pyserial ``spy://``/``hwgrep://`` URL), and
    ``serial://sim?baud=9600&record=…`` for the simulator on a paced pty."""
    from drivers.serial_port import SerialPort

    baud = int(_number(parsed, "baud", 9600))
    if parsed.scheme == "serial" and parsed.target == "sim":
        from hardware_sim.escpos_printer import EscPosPrinterSim
        from hardware_sim.serial_printer import SerialPrinterLink

        sim = EscPosPrinterSim(dots_per_line=profile.dots_per_line, record=parsed.option("record"))
        link = SerialPrinterLink(sim, baud).start()
        port = SerialPort(link.path, baud, device_id=device_id)
        return TicketPrinter(port, profile, device_id=device_id, sim=sim, on_close=link.stop)
    target = parsed.path if parsed.scheme == "serial" else parsed.raw.split("?")[0]
    return TicketPrinter(SerialPort(target, baud, device_id=device_id), profile, device_id=device_id)


def open_call_display(url: str, device_id: str) -> CallDisplay:
    """Build the hall call display a URL names, speaking the hall line protocol.

    URL forms::

        sim://call-display?port=7601&speak_s=2.5&wav_dir=/tmp/calls&timeout=2
        tcp://127.0.0.1:7601?timeout=2

    ``sim://`` starts a :class:`hardware_sim.call_display.CallDisplaySim` in this process (on a
    free port unless ``port`` is given) and exposes it as the display's ``sim``; ``tcp://``
    reaches a display, or a simulator in another process such as the Kivy display window.

    Args:
        url: the device URL.
        device_id: the hall's name for the display, carried in health and errors.

    Returns:
        A :class:`devices.call_display.CallDisplay` holding a
        :class:`drivers.line_socket.LineSocket`; it connects on first use.

    Raises:
        ConfigError (100): unknown scheme or target, a malformed option, a busy port.
    """
    from devices.call_display import CallDisplay

    parsed = parse_device_url(url)
    if parsed.scheme == "sim":
        if parsed.target != "call-display":
            raise ConfigError(f"no simulator {parsed.target!r}", url=url)
        from hardware_sim.call_display import CallDisplaySim

        sim = CallDisplaySim(
            int(_number(parsed, "port", 0)),
            speak_s=_number(parsed, "speak_s", 0.0),
            wav_dir=parsed.option("wav_dir"),
        )
        sim.start()
        driver = _line_socket(parsed, "127.0.0.1", sim.port, device_id)
        return CallDisplay(driver, device_id, sim=sim)
    if parsed.scheme == "tcp":
        host, port = _host_port(parsed)
        return CallDisplay(_line_socket(parsed, host, port, device_id), device_id)
    raise ConfigError(f"a call display cannot be opened from {parsed.scheme}://", url=url)


def open_rating_pad(url: str, device_id: str) -> RatingPad:
    """Build the 好差评 rating pad a URL names, speaking the hall line protocol.

    URL forms::

        sim://rating-pad?auto=5&delay=1.5&port=7602&timeout=2
        tcp://127.0.0.1:7602?timeout=2

    ``sim://`` starts a :class:`hardware_sim.rating_pad.RatingPadSim` in this process and
    exposes it as the pad's ``sim``; with ``auto`` (1–5) it answers every request by itself
    after ``delay`` seconds, for a headless hall.

    Args:
        url: the device URL.
        device_id: the hall's name for the pad, carried in health and errors.

    Returns:
        A :class:`devices.rating_pad.RatingPad` holding a
        :class:`drivers.line_socket.LineSocket`; it connects on first use.

    Raises:
        ConfigError (100): unknown scheme or target, a malformed option, a busy port.
    """
    from devices.rating_pad import RatingPad

    parsed = parse_device_url(url)
    if parsed.scheme == "sim":
        if parsed.target != "rating-pad":
            raise ConfigError(f"no simulator {parsed.target!r}", url=url)
        from hardware_sim.rating_pad import RatingPadSim

        auto = parsed.option("auto")
        if auto is not None and auto not in ("1", "2", "3", "4", "5"):
            raise ConfigError(f"option auto={auto!r} is not a level 1-5", url=url)
        sim = RatingPadSim(
            int(_number(parsed, "port", 0)),
            auto_level=None if auto is None else int(auto),
            delay_s=_number(parsed, "delay", 0.0),
        )
        sim.start()
        driver = _line_socket(parsed, "127.0.0.1", sim.port, device_id)
        return RatingPad(driver, device_id, sim=sim)
    if parsed.scheme == "tcp":
        host, port = _host_port(parsed)
        return RatingPad(_line_socket(parsed, host, port, device_id), device_id)
    raise ConfigError(f"a rating pad cannot be opened from {parsed.scheme}://", url=url)


def open_window_screen(url: str, device_id: str) -> WindowScreen:
    """Build the LED screen above a window a URL names, speaking the window screen protocol.

    URL forms::

        sim://window-screen?port=7603&timeout=2
        tcp://127.0.0.1:7603?timeout=2

    Returns:
        A :class:`devices.window_screen.WindowScreen`; ``sim://`` exposes the
        :class:`hardware_sim.window_screen.WindowScreenSim` as its ``sim``.

    Raises:
        ConfigError (100): unknown scheme or target, a malformed option, a busy port.
    """
    from devices.window_screen import WindowScreen

    parsed = parse_device_url(url)
    if parsed.scheme == "sim":
        if parsed.target != "window-screen":
            raise ConfigError(f"no simulator {parsed.target!r}", url=url)
        from hardware_sim.window_screen import WindowScreenSim

        sim = WindowScreenSim(int(_number(parsed, "port", 0)))
        sim.start()
        return WindowScreen(
            _line_socket(parsed, "127.0.0.1", sim.port, device_id), device_id, sim=sim
        )
    if parsed.scheme == "tcp":
        host, port = _host_port(parsed)
        return WindowScreen(_line_socket(parsed, host, port, device_id), device_id)
    raise ConfigError(f"a window screen cannot be opened from {parsed.scheme}://", url=url)


def open_window_caller(url: str, device_id: str) -> WindowCaller:
    """Build the serial window caller (with its 4-key rating pad) a URL names, reference §5.2.

    URL forms::

        sim://window-caller?address=3&bus=1,2,3&faults=garbage&trace=/tmp/caller.txt
        serial:///dev/ttyUSB0?address=3&rater=4key
        spy:///dev/ttyUSB0?file=/tmp/caller.txt&address=3     (pyserial wire trace)
        hwgrep://1a86:7523?address=3                          (first port matching VID:PID)

    Any scheme but ``sim`` and ``serial`` is a pyserial URL, passed on without this function's
    own options (``address``, ``rater``, ``gap``, ``timeout``). ``sim://`` starts a
    :class:`hardware_sim.window_caller.WindowCallerBusSim` with callers at ``bus`` (default: just
    ``address``) on a paced pty and exposes it as the caller's ``sim``; ``trace`` opens it
    through ``spy://`` so the wire is dumped to that file.

    Returns:
        A started :class:`devices.window_caller.WindowCaller` that owns its bus; its
        ``rating_pad`` is the pad at the same address.

    Raises:
        ConfigError (100): unknown target or fault, a malformed option.
    """
    from devices.window_caller import RATER_PROFILES, WindowCaller
    from drivers.caller_bus import CallerBus
    from drivers.serial_port import SerialPort

    parsed = parse_device_url(url)
    address = int(_number(parsed, "address", 1))
    rater = RATER_PROFILES.get(parsed.option("rater", "4key") or "4key")
    if rater is None or not 0 <= address <= 0xFF:
        raise ConfigError("bad address or rater option", url=url)
    sim = None
    if parsed.scheme == "sim":
        if parsed.target != "window-caller":
            raise ConfigError(f"no simulator {parsed.target!r}", url=url)
        sim = _caller_sim(parsed, address)
        trace = parsed.option("trace")
        port_url = f"spy://{sim.path}?file={trace}" if trace else sim.path
    elif parsed.scheme == "serial":
        port_url = parsed.path
    else:
        own = {"address", "rater", "gap", "timeout"}
        query = "&".join(f"{k}={v}" for k, v in parsed.options.items() if k not in own)
        port_url = f"{parsed.scheme}://{parsed.target}{parsed.path}" + (
            f"?{query}" if query else ""
        )
    port = SerialPort(port_url, 9600, _number(parsed, "timeout", 1.0), device_id=device_id)
    bus = CallerBus(port, frame_gap_s=_number(parsed, "gap", 0.3))
    caller = WindowCaller(bus, address, device_id, rater=rater, owns_bus=True, sim=sim)
    bus.start()
    return caller


def _caller_sim(parsed: DeviceUrl, address: int):  # type: ignore[no-untyped-def]
    from hardware_sim.window_caller import CallerFault, WindowCallerBusSim

    try:
        bus = tuple(int(a) for a in (parsed.option("bus") or str(address)).split(","))
        faults = [CallerFault(f) for f in filter(None, (parsed.option("faults") or "").split(","))]
    except ValueError as err:
        raise ConfigError(f"bad bus or faults option: {err}", url=parsed.raw) from err
    sim = WindowCallerBusSim(bus if address in bus else (*bus, address)).start()
    for fault in faults:
        sim.inject(fault)
    return sim


def open_id_card_reader(url: str, device_id: str) -> IdCardReader:
    """Build the second-generation ID card reader a URL names (SAM protocol, 115200 8N1).

    URL forms::

        sim://id-reader?card=resident&timing=typical&repeat_find=1&faults=garbage&fingerprint=0
        serial:///dev/ttyUSB0?profile=sam-uart&baud=115200
        hwgrep://1a86:7523?profile=sam-uart-fingerprint

    ``sim://`` starts a :class:`hardware_sim.id_card_reader.IdCardReaderSim` on a paced pty in
    this process and exposes it as the reader's ``sim``; ``card`` names one of its sample cards
    (``resident``, ``resident-10y``, ``hk_macao_taiwan``, ``foreigner``, ``foreigner_2023``,
    ``none``). ``hwgrep://`` opens the first serial port whose USB VID:PID matches.

    Args:
        url: the device URL.
        device_id: the hall's name for the reader, carried in health and errors.

    Returns:
        A :class:`devices.id_card_reader.IdCardReader` holding a
        :class:`drivers.serial_port.SerialPort`; the port opens on first use.

    Raises:
        ConfigError (100): unknown scheme, target, profile, card, timing or fault.
    """
    from devices.id_card_reader import PROFILES as READER_PROFILES
    from devices.id_card_reader import IdCardReader
    from drivers.serial_port import SerialPort

    parsed = parse_device_url(url)
    name = parsed.option("profile", "sam-uart") or "sam-uart"
    if name not in READER_PROFILES:
        raise ConfigError(f"unknown ID card reader profile {name!r}", url=url)
    profile = READER_PROFILES[name]
    baud = int(_number(parsed, "baud", profile.baudrate))
    if parsed.scheme == "sim":
        if parsed.target != "id-reader":
            raise ConfigError(f"no simulator {parsed.target!r}", url=url)
        sim = _id_reader_sim(parsed, baud)
        driver = SerialPort(sim.path, baud, device_id=device_id)
        return IdCardReader(driver, profile, device_id, sim=sim)
    if parsed.scheme == "serial" and parsed.path:
        port = parsed.path
    elif parsed.scheme == "hwgrep" and parsed.target:
        port = f"hwgrep://{parsed.target}{parsed.path}"
    else:
        raise ConfigError(f"an ID card reader cannot be opened from {url!r}", url=url)
    return IdCardReader(SerialPort(port, baud, device_id=device_id), profile, device_id)


def _id_reader_sim(parsed: DeviceUrl, baud: int) -> IdCardReaderSim:
    from hardware_sim.id_card_reader import SAMPLE_CARDS, TIMINGS, Fault, IdCardReaderSim

    card_name = parsed.option("card", "resident") or "none"
    timing_name = parsed.option("timing", "typical") or "typical"
    if card_name != "none" and card_name not in SAMPLE_CARDS:
        raise ConfigError(f"no sample card {card_name!r}", url=parsed.raw)
    if timing_name not in TIMINGS:
        raise ConfigError(f"unknown module timing {timing_name!r}", url=parsed.raw)
    sim = IdCardReaderSim(
        None if card_name == "none" else SAMPLE_CARDS[card_name],
        timing=TIMINGS[timing_name],
        repeat_find=parsed.option("repeat_find", "1") != "0",
        fingerprint=bytes(range(256)) * (int(_number(parsed, "fingerprint", 0)) // 256),
        baud=baud,
    )
    try:
        faults = [Fault(f) for f in filter(None, (parsed.option("faults") or "").split(","))]
    except ValueError as err:
        raise ConfigError(f"unknown simulator fault in {parsed.raw!r}", url=parsed.raw) from err
    sim.start()
    for fault in faults:
        sim.inject(fault)
    return sim


def open_document_printer(url: str, device_id: str) -> DocumentPrinter:
    """Build the A4 document printer a URL names: a CUPS queue, spoken to through pycups.

    URL forms::

        cups://<queue>?server=127.0.0.1:631&profile=a4-laser
        sim://cups-pdf?queue=a4&profile=cups-pdf

    ``sim://cups-pdf`` starts a private cupsd (:class:`hardware_sim.cups_server.CupsServer`,
    root only) with a ``cups-pdf`` queue and an ``a4`` state-printer queue, and exposes it as
    the printer's ``sim``; ``queue`` picks which one the printer uses. :meth:`close` stops it.

    Args:
        url: the device URL.
        device_id: the hall's name for the printer, carried in health and errors.

    Returns:
        A :class:`devices.document_printer.DocumentPrinter` holding a
        :class:`drivers.cups_printer.CupsPrinter`; nothing is contacted until first use.

    Raises:
        ConfigError (100): unknown scheme, target or profile; the simulator cannot start.
    """
    from devices.document_printer import PROFILES as A4_PROFILES
    from devices.document_printer import DocumentPrinter
    from drivers.cups_printer import CupsPrinter

    parsed = parse_device_url(url)
    default_profile = "cups-pdf" if parsed.scheme == "sim" else "a4-laser"
    name = parsed.option("profile", default_profile) or default_profile
    if name not in A4_PROFILES:
        raise ConfigError(f"unknown document printer profile {name!r}", url=url)
    if parsed.scheme == "sim":
        if parsed.target != "cups-pdf":
            raise ConfigError(f"no simulator {parsed.target!r}", url=url)
        from hardware_sim.cups_server import CupsServer

        server = CupsServer()
        try:
            server.start()
            server.add_state_printer("a4")
        except BaseException:
            server.close()
            raise
        queue = parsed.option("queue", "cups-pdf") or "cups-pdf"
        driver = CupsPrinter(queue, server.server, device_id=device_id)
        return DocumentPrinter(driver, A4_PROFILES[name], device_id, sim=server)
    if parsed.scheme == "cups":
        if not parsed.target:
            raise ConfigError(f"expected cups://QUEUE, got {url!r}", url=url)
        driver = CupsPrinter(parsed.target, parsed.option("server", "") or "", device_id)
        return DocumentPrinter(driver, A4_PROFILES[name], device_id)
    raise ConfigError(f"a document printer cannot be opened from {parsed.scheme}://", url=url)


def open_document_camera(url: str, device_id: str) -> DocumentCamera:
    """Build the 高拍仪 document camera a URL names, read through OpenCV.

    URL forms::

        camera://0?profile=uvc-8mp             a UVC camera by index (V4L2 on Linux)
        file:///var/hall/desk.mp4              a recording, played in a loop
        images:///var/hall/desk/%04d.jpg       an image sequence, played in a loop
        http://127.0.0.1:8081/stream.mjpg      an MJPEG stream (passed to FFmpeg as is)
        sim://camera?fps=15&width=1280&height=960&slow_s=5&faults=black

    ``sim://camera`` starts a :class:`hardware_sim.mjpeg_camera.MjpegCameraSim` on a free
    loopback port and reads it over HTTP; it is the camera's ``sim``, faults are injected there.
    ``camera://`` options ``fourcc``, ``width``, ``height`` and ``fps`` override the profile.

    Args:
        url: the device URL.
        device_id: the hall's name for the camera, carried in health and errors.

    Returns:
        A :class:`devices.document_camera.DocumentCamera` holding a
        :class:`drivers.opencv_camera.OpenCvCamera`; it starts reading on first use.

    Raises:
        ConfigError (100): unknown scheme, target, profile, fault or a malformed option.
    """
    from dataclasses import replace

    from devices.document_camera import PROFILES as CAMERA_PROFILES
    from devices.document_camera import DocumentCamera
    from drivers.opencv_camera import FILE, IMAGES, INDEX, STREAM, OpenCvCamera

    parsed = parse_device_url(url)
    stream = parsed.scheme in ("http", "https", "sim")
    default_profile = "mjpeg-http" if stream else "uvc-8mp"
    name = default_profile if parsed.scheme in ("http", "https") else parsed.option("profile")
    name = name or default_profile
    if name not in CAMERA_PROFILES:
        raise ConfigError(f"unknown camera profile {name!r}", url=url)
    profile = CAMERA_PROFILES[name]
    if parsed.scheme == "camera":
        if not parsed.target.isdigit():
            raise ConfigError(f"expected camera://INDEX, got {url!r}", url=url)
        profile = replace(
            profile,
            fourcc=parsed.option("fourcc", profile.fourcc) or profile.fourcc,
            width=int(_number(parsed, "width", profile.width)),
            height=int(_number(parsed, "height", profile.height)),
            fps=_number(parsed, "fps", profile.fps),
        )
        driver = OpenCvCamera(int(parsed.target), INDEX, profile.mode, device_id)
        return DocumentCamera(driver, profile, device_id)
    if parsed.scheme in ("file", "images"):
        kind = FILE if parsed.scheme == "file" else IMAGES
        return DocumentCamera(OpenCvCamera(parsed.path, kind, None, device_id), profile, device_id)
    if parsed.scheme in ("http", "https"):
        return DocumentCamera(OpenCvCamera(url, STREAM, None, device_id), profile, device_id)
    if parsed.scheme == "sim":
        if parsed.target != "camera":
            raise ConfigError(f"no simulator {parsed.target!r}", url=url)
        from hardware_sim.mjpeg_camera import Fault, MjpegCameraSim

        sim = MjpegCameraSim(
            fps=_number(parsed, "fps", 15.0),
            width=int(_number(parsed, "width", 1280)),
            height=int(_number(parsed, "height", 960)),
            slow_s=_number(parsed, "slow_s", 5.0),
        )
        sim.start()
        for fault in filter(None, (parsed.option("faults") or "").split(",")):
            try:
                sim.inject(Fault(fault))
            except ValueError as err:
                sim.close()
                raise ConfigError(f"unknown simulator fault {fault!r}", url=url) from err
        driver = OpenCvCamera(sim.url, STREAM, None, device_id)
        return DocumentCamera(driver, profile, device_id, sim=sim)
    raise ConfigError(f"a document camera cannot be opened from {parsed.scheme}://", url=url)


def _line_socket(parsed: DeviceUrl, host: str, port: int, device_id: str) -> LineSocket:
    from drivers.line_socket import LineSocket

    return LineSocket(host, port, _number(parsed, "timeout", 2.0), device_id=device_id)


def _host_port(parsed: DeviceUrl) -> tuple[str, int]:
    host, _, port = parsed.target.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"expected tcp://HOST:PORT, got {parsed.raw!r}", url=parsed.raw)
    return host, int(port)


def _profile(parsed: DeviceUrl) -> PrinterProfile:
    name = parsed.option("profile", "pos-58") or "pos-58"
    try:
        return PROFILES[name]
    except KeyError as err:
        raise ConfigError(f"unknown printer profile {name!r}", url=parsed.raw) from err


def _vid_pid(parsed: DeviceUrl) -> tuple[int, int]:
    try:
        vid, pid = parsed.target.split(":")
        return int(vid, 16), int(pid, 16)
    except ValueError as err:
        raise ConfigError(f"expected usb://VVVV:PPPP, got {parsed.raw!r}", url=parsed.raw) from err


def _number(parsed: DeviceUrl, name: str, default: float) -> float:
    raw = parsed.option(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as err:
        raise ConfigError(f"option {name}={raw!r} is not a number", url=parsed.raw) from err
