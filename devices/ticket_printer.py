"""The queue-ticket printer: what a ticket looks like and whether the printer can print it.

:class:`TicketPrinter` holds a byte driver (``open/write/read/close``, e.g.
:class:`drivers.usb_bulk.UsbBulk`) and a :class:`PrinterProfile` that says what the model can do.
It never trusts a silent printer: before each ticket it asks the real-time status (``DLE EOT``)
and refuses when the paper is out, the cover is open or the printer is offline, and a printer
that does not answer is ``unknown``, never "paper OK" (reference §2.3). After the ticket it asks
again, so paper that ran out half-way is reported instead of a ticket the citizen never got.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.clock import hall_time
from core.errors import (
    BadResponse,
    ConfigError,
    CoverOpen,
    DeviceError,
    DeviceTimeout,
    PaperOut,
    PrinterOffline,
)
from devices.health import Health, HealthState, Reason
from protocols.escpos import (
    ALIGN_CENTER,
    BOLD_OFF,
    BOLD_ON,
    CHINESE_MODE_ON,
    CUT_FULL,
    CUT_PARTIAL,
    FEED_LINES,
    INIT,
    LF,
    QR_EC_LEVELS,
    QR_FUNCTION,
    SIZE_DOUBLE,
    SIZE_NORMAL,
    STATUS_COVER_OPEN,
    STATUS_CUTTER_ERROR,
    STATUS_ERROR,
    STATUS_NEAR_END,
    STATUS_OFFLINE,
    STATUS_PAPER_END,
    STATUS_PAPER_END_STOP,
    STATUS_QUERY,
    is_status_reply,
)
from protocols.qr_size import qr_modules

#: The Chinese text on the ticket (user-facing, so it lives in one place).
TICKET_TEXT = {
    "people_ahead": "前面还有 {n} 人等候",
    "wait_minutes": "预计等候约 {m} 分钟",
    "wait_short": "预计等候不到 1 分钟",
    "issued_at": "取号时间：{t}",
    "footer": "请留意叫号，过号需重新取号",
}


class ByteDriver(Protocol):
    """The driver contract a device holds: bytes in, bytes out."""

    @property
    def is_open(self) -> bool: ...

    def open(self) -> None: ...

    def write(self, data: bytes, timeout_ms: int | None = None) -> None: ...

    def read(self, size: int = 64, timeout_ms: int | None = None) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PrinterProfile:
    """What one printer model can do. Quirks are data, not subclasses.

    Attributes:
        model: the profile's name (``pos-58``).
        encoding: how the printer reads Chinese text in ``FS &`` mode.
        columns: half-width characters per line in font A (a Chinese character takes two).
        dots_per_line: printable width in dots.
        supports_native_qr: the firmware renders ``GS ( k`` QR codes; otherwise the QR is sent
            as a raster image.
        cut: ``partial`` (leaves a tab, the ticket does not fall) or ``full``.
        feed_before_cut: blank lines fed after the footer, so the cut is below it.
        qr_module_size: QR module size in dots (shrunk when the symbol would not fit).
        qr_ec: QR error correction level, ``L``/``M``/``Q``/``H``.
        status_timeout_ms: how long to wait for a DLE EOT answer.
    """

    model: str
    encoding: str = "gb18030"
    columns: int = 32
    dots_per_line: int = 384
    supports_native_qr: bool = True
    cut: str = "partial"
    feed_before_cut: int = 3
    qr_module_size: int = 6
    qr_ec: str = "M"
    status_timeout_ms: int = 1000


#: Known models, by the name used in device URLs (``?profile=pos-80``).
PROFILES: dict[str, PrinterProfile] = {
    # The generic 58 mm printers sold under VID:PID 0416:5011 (reference §2.5).
    "pos-58": PrinterProfile("pos-58"),
    "pos-80": PrinterProfile("pos-80", columns=48, dots_per_line=576, cut="full"),
    # Cheap mechanisms without QR firmware: the code goes out as a bitmap.
    "pos-58-raster": PrinterProfile("pos-58-raster", supports_native_qr=False),
}


@dataclass(frozen=True)
class TicketContent:
    """Everything printed on one queue ticket.

    Attributes:
        hall_name: the hall (示范区政务服务中心).
        service_name: the business type (社保医保).
        ticket_no: the number called out (A001).
        people_ahead: tickets waiting before this one.
        est_wait_s: estimated wait in seconds (the middle of the range).
        est_wait_text: the wait as the kiosk says it (预计等候约15–25分钟, from
            :mod:`flows.wait_estimate`); without it the ticket prints ``est_wait_s`` rounded.
        issued_at: when the ticket was taken, epoch seconds (printed in Beijing time).
        qr_payload: what the QR code holds (a status-page URL).
        footer: the closing sentence.
    """

    hall_name: str
    service_name: str
    ticket_no: str
    people_ahead: int
    est_wait_s: float
    issued_at: float
    qr_payload: str
    footer: str = TICKET_TEXT["footer"]
    est_wait_text: str | None = None


@dataclass(frozen=True)
class PrinterStatus:
    """The printer's answer to DLE EOT 1, 2, 4 (and 3 when it reports an error)."""

    offline: bool = False
    cover_open: bool = False
    paper_out: bool = False
    near_end: bool = False
    cutter_error: bool = False

    def reasons(self) -> tuple[str, ...]:
        """Health reasons, most urgent first."""
        found = [
            (self.paper_out, Reason.PAPER_OUT),
            (self.cover_open, Reason.COVER_OPEN),
            (self.cutter_error, Reason.CUTTER_ERROR),
            (self.offline and not (self.paper_out or self.cover_open or self.cutter_error),
             Reason.OFFLINE),
            (self.near_end and not self.paper_out, Reason.PAPER_LOW),
        ]
        return tuple(reason for present, reason in found if present)


class TicketPrinter:
    """A queue-ticket printer: lays out tickets and guards every print with a status check.

    Args:
        driver: the byte driver (opened on first use).
        profile: the model's capabilities.
        device_id: the hall's name for this printer (``printer-1``).
        on_health: called with the new :class:`Health` whenever it changes, e.g. to journal a
            ``device.health`` event.
        on_close: called by :meth:`close` after the driver is released.
    """

    def __init__(
        self,
        driver: ByteDriver,
        profile: PrinterProfile = PROFILES["pos-58"],
        device_id: str = "printer",
        on_health: Callable[[Health], None] | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.driver = driver
        self.profile = profile
        self.device_id = device_id
        self.on_health = on_health
        self.on_close = on_close
        self._health = Health.unknown(device_id)
        self._lock = threading.Lock()

    @property
    def last_health(self) -> Health:
        """The health found by the last status check, without asking the printer."""
        return self._health

    def close(self) -> None:
        """Release the printer, then call ``on_close``."""
        self.driver.close()
        if self.on_close is not None:
            self.on_close()

    def health(self) -> Health:
        """Ask the printer now. Never raises: a device error becomes the health it implies."""
        with self._lock:
            try:
                self._check()
            except DeviceError:
                pass  # _check already recorded the health the error implies
            return self._health

    def print_ticket(self, content: TicketContent) -> Health:
        """Print one queue ticket.

        Returns:
            The printer's health after the ticket (``warning``/``paper_low`` when the roll is
            running out, which does not stop printing).

        Raises:
            PaperOut (310): no paper before printing, or the paper ran out during the ticket.
            CoverOpen (311): the cover is open.
            PrinterOffline (312): the printer reports itself offline (e.g. cutter error).
            DeviceTimeout (303): the printer did not answer the status query; health unknown.
            DeviceUnplugged (302): the cable was pulled.
            DeviceNotFound (301): the printer is not connected.
            BadResponse (304): the status reply is not a DLE EOT status byte.
        """
        data = self.ticket_bytes(content)
        with self._lock:
            self._raise_unless_usable(self._check(), content, stage="before")
            self._guarded(self.driver.write, data)
            self._raise_unless_usable(self._check(), content, stage="after")
            return self._health

    # --- layout -----------------------------------------------------------------------------

    def ticket_bytes(self, content: TicketContent) -> bytes:
        """The exact bytes sent for a ticket."""
        p, out = self.profile, bytearray()
        out += INIT + CHINESE_MODE_ON + ALIGN_CENTER + SIZE_NORMAL
        out += BOLD_ON + self._lines(content.hall_name) + BOLD_OFF
        out += self._lines(content.service_name) + LF
        out += SIZE_DOUBLE + self._lines(content.ticket_no, width=2) + SIZE_NORMAL + LF
        out += self._lines(TICKET_TEXT["people_ahead"].format(n=content.people_ahead))
        out += self._lines(content.est_wait_text or _wait_text(content.est_wait_s))
        issued = hall_time(content.issued_at).strftime("%Y-%m-%d %H:%M")
        out += self._lines(TICKET_TEXT["issued_at"].format(t=issued)) + LF
        out += self._qr(content.qr_payload) + LF
        out += self._lines(content.footer)
        out += FEED_LINES + bytes((p.feed_before_cut,))
        out += CUT_FULL if p.cut == "full" else CUT_PARTIAL
        return bytes(out)

    def _lines(self, text: str, width: int = 1) -> bytes:
        """``text`` as printed lines, broken by us so every line stays centred."""
        out = bytearray()
        for line in _wrap(text, self.profile.columns // width):
            out += self._encode(line) + LF
        return bytes(out)

    def _encode(self, text: str) -> bytes:
        # python-escpos 3.1 MagicEncode turns full-width punctuation into "?" (reference §2.4),
        # so text is encoded here in the profile's encoding and written raw.
        try:
            return text.encode(self.profile.encoding)
        except UnicodeEncodeError as err:
            raise ConfigError(
                f"{self.profile.model}: {self.profile.encoding} cannot encode {text!r}",
                device=self.device_id, encoding=self.profile.encoding,
            ) from err

    def _qr(self, payload: str) -> bytes:
        data = payload.encode("utf-8")  # phone scanners read QR bytes as UTF-8
        size = _fitting_module_size(data, self.profile)
        if not self.profile.supports_native_qr:
            # Rendering a QR bitmap is python-escpos's strength; its bytes are the model-free
            # GS v 0 raster, so Dummy is the right tool here (unlike for text).
            from escpos.printer import Dummy

            dummy = Dummy()
            dummy.qr(payload, native=False, size=size)
            return dummy.output
        # Native QR is five short fixed commands; written by hand, byte for byte as python-escpos
        # 3.1 emits them (reference §2.2), without pulling its profile machinery in.
        store = b"\x31\x50\x30" + data
        return (
            QR_FUNCTION + b"\x04\x00\x31\x41\x32\x00"  # fn 65: model 2
            + QR_FUNCTION + b"\x03\x00\x31\x43" + bytes((size,))  # fn 67: module size
            + QR_FUNCTION + b"\x03\x00\x31\x45" + bytes((QR_EC_LEVELS[self.profile.qr_ec],))
            + QR_FUNCTION + len(store).to_bytes(2, "little") + store  # fn 80: store data
            + QR_FUNCTION + b"\x03\x00\x31\x51\x30"  # fn 81: print
        )

    # --- status -----------------------------------------------------------------------------

    def _check(self) -> Health:
        """Query DLE EOT 1, 2, 4 (and 3 on error); record and return the health."""
        try:
            status = self._read_status()
        except DeviceError as err:
            self._set_health(Health.from_error(self.device_id, err))
            raise
        self._set_health(_health_of(self.device_id, status))
        return self._health

    def _read_status(self) -> PrinterStatus:
        if not self.driver.is_open:
            self.driver.open()
        n1, n2, n4 = self._query(1), self._query(2), self._query(4)
        cutter = bool(n2 & STATUS_ERROR) and bool(self._query(3) & STATUS_CUTTER_ERROR)
        return PrinterStatus(
            offline=bool(n1 & STATUS_OFFLINE),
            cover_open=bool(n2 & STATUS_COVER_OPEN),
            paper_out=bool(n2 & STATUS_PAPER_END_STOP) or n4 & STATUS_PAPER_END == STATUS_PAPER_END,
            near_end=n4 & STATUS_NEAR_END == STATUS_NEAR_END,
            cutter_error=cutter,
        )

    def _query(self, n: int) -> int:
        self.driver.write(STATUS_QUERY + bytes((n,)))
        reply = self.driver.read(16, timeout_ms=self.profile.status_timeout_ms)
        if not reply:
            raise DeviceTimeout(f"no answer to DLE EOT {n}", device=self.device_id, query=n)
        # A late answer to an earlier query would come first; the newest byte is ours.
        byte = reply[-1]
        if not is_status_reply(byte):
            raise BadResponse(
                f"DLE EOT {n} answered 0x{byte:02X}", device=self.device_id, query=n,
                reply=reply.hex(), reason=Reason.BAD_FRAME,
            )
        return byte

    def _guarded(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except DeviceError as err:
            self._set_health(Health.from_error(self.device_id, err))
            raise

    def _raise_unless_usable(self, health: Health, content: TicketContent, stage: str) -> None:
        if health.usable:
            return
        facts = {"device": self.device_id, "ticket_no": content.ticket_no, "stage": stage,
                 "reason": health.reasons[0]}
        first = health.reasons[0]
        if first == Reason.PAPER_OUT:
            raise PaperOut(f"paper out {stage} ticket {content.ticket_no}", **facts)
        if first == Reason.COVER_OPEN:
            raise CoverOpen(f"cover open {stage} ticket {content.ticket_no}", **facts)
        raise PrinterOffline(f"printer offline ({first}) {stage} ticket", **facts)

    def _set_health(self, health: Health) -> None:
        changed = health != self._health
        self._health = health
        if changed and self.on_health is not None:
            self.on_health(health)


def _health_of(device_id: str, status: PrinterStatus) -> Health:
    reasons = status.reasons()
    if not reasons:
        return Health.ok(device_id)
    first = reasons[0]
    if first == Reason.PAPER_LOW:
        return Health(device_id, HealthState.WARNING, reasons)
    code = {Reason.PAPER_OUT: PaperOut.code, Reason.COVER_OPEN: CoverOpen.code}.get(
        first, PrinterOffline.code
    )
    state = HealthState.OFFLINE if first == Reason.OFFLINE else HealthState.ERROR
    return Health(device_id, state, reasons, code)


def _wait_text(est_wait_s: float) -> str:
    if est_wait_s < 60:
        return TICKET_TEXT["wait_short"]
    return TICKET_TEXT["wait_minutes"].format(m=math.ceil(est_wait_s / 60))


def _columns(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("F", "W") else 1


def _wrap(text: str, columns: int) -> list[str]:
    """Break ``text`` into lines of at most ``columns`` half-width columns."""
    lines, current, used = [], [], 0
    for char in text:
        width = _columns(char)
        if current and used + width > columns:
            lines.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += width
    lines.append("".join(current))
    return lines


def _fitting_module_size(data: bytes, profile: PrinterProfile) -> int:
    """The largest module size up to the profile's that keeps the QR inside the paper."""
    size = min(profile.qr_module_size, profile.dots_per_line // qr_modules(data, profile.qr_ec))
    if size < 1:
        raise ValueError(f"QR payload of {len(data)} bytes does not fit the paper")
    return size
