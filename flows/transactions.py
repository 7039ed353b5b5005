"""Where a kiosk function journals what a citizen did: the transaction journal.

Every citizen-visible transaction (a booking, a payment, a submitted form, a certificate
printed, a card reported lost) is on disk before the citizen is told it is done. A kiosk
function says so through :class:`TransactionJournal`: :meth:`TransactionJournal.record`
returns only once the event is committed with ``synchronous=FULL``, and from there the
agent carries it to the collector like any other event (``docs/topics.md``, "Kiosk events").

Where the journal lives depends on where the kiosk runs (``docs/hall-api.md``, "Where
transactions live"): a kiosk on the hall box journals in the hall store; a kiosk that is its
own machine journals on its own disk, so a payment's order is there before the channel is
called, whatever happens to the LAN.

Events carry no personal data: no ID number, no name, no phone, no bank card. A function puts
in ``ref`` what staff need to find the case upstream (a case number, an order number) and
nothing that names the citizen (``docs/privacy.md``).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from core.clock import Clock
from core.events import Event, Kind
from hallstore.store import HallStore

#: ``outcome`` of a ``kiosk.transaction``: done; refused or failed (nothing happened
#: upstream); cancelled by the citizen; unknown (the upstream result is not known yet, a
#: later event settles it).
OUTCOMES = ("done", "failed", "cancelled", "unknown")


class TransactionJournal(Protocol):
    """What a kiosk function journals through; durable before it returns."""

    def record(self, kind: str, data: dict[str, Any]) -> Event:
        """Journal one event of this kiosk, on disk when this returns.

        Raises:
            StorageFull (420): the disk is too full to accept it; nothing was journaled.
            ValueError: ``kind`` is not a :class:`core.events.Kind`.
        """
        ...


@runtime_checkable
class JournalsTransactions(Protocol):
    """A queue that says where the kiosk functions on it journal their transactions."""

    def transaction_journal(self, device_id: str, clock: Clock) -> TransactionJournal: ...


def transaction_event(
    function: str,
    outcome: str,
    *,
    item: str = "",
    ref: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """The ``data`` of a ``kiosk.transaction`` event.

    Args:
        function: the kiosk function's id (``bill_payment``).
        outcome: one of :data:`OUTCOMES`.
        item: the service item (事项) or query or bill type it was for; the collector counts
            transactions per function and per item (自助机办件率).
        ref: what finds it upstream (a case or order number); never personal data.
        extra: further plain fields of the function's own (an amount in fen, a channel).

    Raises:
        ValueError: an outcome outside :data:`OUTCOMES`.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"transaction outcome {outcome!r} not one of {OUTCOMES}")
    return {"function": function, "item": item, "outcome": outcome, "ref": ref, **extra}


class StoreTransactionJournal:
    """The transaction journal in a hall store: a kiosk running on the hall box.

    Args:
        store: the hall store (its connection commits with ``synchronous=FULL``).
        device_id: the kiosk whose seq counter numbers the events.
        clock: the hall clock.
    """

    def __init__(self, store: HallStore, device_id: str, clock: Clock) -> None:
        self.store = store
        self.device_id = device_id
        self.clock = clock

    def record(self, kind: str, data: dict[str, Any]) -> Event:
        with self.store.transaction() as tx:
            tx.ensure_room()
            return tx.journal(kind, self.device_id, data, at=self.clock.now())


def transaction_journal_for(queue: object, device_id: str, clock: Clock) -> TransactionJournal:
    """The transaction journal of a kiosk on ``queue``.

    Raises:
        TypeError: ``queue`` does not say where transactions go.
    """
    if isinstance(queue, JournalsTransactions):
        return queue.transaction_journal(device_id, clock)
    raise TypeError(f"{type(queue).__name__} has no transaction journal")

