"""The queue port: what the flows need from a hall queue, wherever the queue is.

On the hall box (and on a single-machine hall) the queue is :class:`flows.queue.HallQueue` over
the hall database. On a kiosk or PAD that is its own machine on the hall's LAN it is
``hallnet.client.RemoteHallQueue``, which asks the hall box. :class:`flows.ticketing.TicketFlow`
and :class:`flows.window_desk.WindowDesk` are typed against :class:`QueuePort` and never import
``hallnet`` (an import-linter layer rule: ``hallnet`` sits above ``flows``).

Both raise the same :mod:`core.errors` types for the same refusals (a remote
``TicketInService`` is the same class as a local one); a remote queue adds
``HallBoxUnreachable`` (701), a :class:`core.errors.HallEdgeError` the flows handle like any
other.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from core.clock import Clock
from core.config import HallConfig
from devices.health import Health
from flows.queue import IssuedTicket, Ticket, WindowView


class QueuePort(Protocol):
    """The hall queue as the flows use it; :class:`flows.queue.HallQueue` satisfies it.

    Attributes:
        hall: the hall configuration in force (its catalog: services and windows); a catalog
            refresh replaces it between two steps.
    """

    hall: HallConfig

    def issue(
        self,
        service_code: str,
        device_id: str,
        *,
        appointment: str | None = None,
        priority: str | None = None,
    ) -> IssuedTicket:
        """Take a ticket; ``appointment``: the booking number of a checked-in appointment, whose
        ticket is called before walk-ins when the hall says ``[queue] appointments_first``;
        ``priority``: ``"green"`` (绿色通道) or ``"special"`` (special groups)."""
        ...

    def waiting_count(self, service_code: str | None = None) -> int: ...

    def open_window(self, window_no: int, device_id: str, staff_id: str) -> None: ...

    def close_window(self, window_no: int, device_id: str) -> None: ...

    def call_next(self, window_no: int, device_id: str) -> Ticket | None: ...

    def recall(self, window_no: int, device_id: str) -> Ticket: ...

    def skip(self, window_no: int, device_id: str) -> Ticket: ...

    def finish(self, window_no: int, device_id: str) -> Ticket: ...

    def undo_skip(self, window_no: int, device_id: str, ticket_id: str) -> Ticket: ...

    def transfer(
        self,
        window_no: int,
        device_id: str,
        *,
        to_service: str | None = None,
        to_window: int | None = None,
    ) -> Ticket: ...

    def pause_window(self, window_no: int, device_id: str, reason: str) -> bool: ...

    def resume_window(self, window_no: int, device_id: str) -> bool: ...

    def record_rating(self, ticket: Ticket, level: int, device_id: str) -> None: ...

    def window_view(self, window_no: int) -> WindowView: ...


class HealthRecorder(Protocol):
    """Where a flow reports its devices' health: only changes become ``device.health`` events."""

    def record(self, health: Health) -> bool: ...


@runtime_checkable
class JournalsHealth(Protocol):
    """A queue that says where its flows journal device health: the hall store for a local
    queue, the hall box's journal over the API for a remote one."""

    def health_journal(self, clock: Clock) -> HealthRecorder: ...


def health_journal_for(queue: QueuePort, clock: Clock) -> HealthRecorder:
    """The health journal of a flow on ``queue``.

    Raises:
        TypeError: ``queue`` does not say where its health goes.
    """
    if isinstance(queue, JournalsHealth):
        return queue.health_journal(clock)
    raise TypeError(f"{type(queue).__name__} has no health journal")
