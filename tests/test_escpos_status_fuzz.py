"""Whatever a printer answers to DLE EOT, the ticket printer ends in a health or a typed error.

The driver here replays arbitrary bytes as the printer's replies: a broken or foreign printer
on the USB cable. The status parser must never crash, never loop, and never read garbage as
"paper OK".
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import DeviceError
from devices.health import HealthState
from devices.ticket_printer import TicketContent, TicketPrinter

CONTENT = TicketContent(
    hall_name="示范区政务服务中心", service_name="社保医保", ticket_no="A001",
    people_ahead=0, est_wait_s=0, issued_at=1795395600.0, qr_payload="HE1|hall-demo|A001|x",
)


class ReplayDriver:
    """A byte driver whose every read returns the next scripted reply (b"" = silence)."""

    def __init__(self, replies: list[bytes]) -> None:
        self.replies = list(replies)
        self.is_open = False
        self.written = 0

    def open(self) -> None:
        self.is_open = True

    def write(self, data: bytes, timeout_ms: int | None = None) -> None:
        self.written += len(data)

    def read(self, size: int = 64, timeout_ms: int | None = None) -> bytes:
        return self.replies.pop(0)[:size] if self.replies else b""

    def close(self) -> None:
        self.is_open = False


replies = st.lists(st.binary(min_size=0, max_size=20), min_size=0, max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replies)
def test_any_status_reply_ends_in_a_health_never_a_crash(script: list[bytes]) -> None:
    printer = TicketPrinter(ReplayDriver(script), device_id="printer-1")
    health = printer.health()
    assert health.state in set(HealthState)
    if health.state is HealthState.OK:
        # Only well-formed status bytes (0xx1xx10) can say OK.
        assert all(r and r[-1] & 0x93 == 0x12 for r in script[:3])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replies)
def test_printing_against_any_reply_prints_or_raises_a_device_error(script: list[bytes]) -> None:
    driver = ReplayDriver(script)
    printer = TicketPrinter(driver, device_id="printer-1")
    try:
        printer.print_ticket(CONTENT)
    except DeviceError as err:
        assert err.code >= 300
        assert not printer.last_health.usable or err.details.get("stage") == "after"
