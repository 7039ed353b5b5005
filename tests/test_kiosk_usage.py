"""What the collector shows of a hall's kiosks: transactions per function and per service
item (the numerator of 自助机办件率), help requests, ratings and pages printed, each event
counted once, per business day. The events are journaled by the kiosk's own transaction
journal on a real hall store."""

from __future__ import annotations

import pytest

from collector.metrics import HallMetrics
from core.events import Kind
from flows.transactions import transaction_event
from tests.hall_events import RecordedHall


@pytest.fixture
def hall(tmp_path):
    recorded = RecordedHall(tmp_path / "hall.db")
    yield recorded
    recorded.close_db()


def kiosk_morning(hall: RecordedHall) -> None:
    journal = hall.queue.transaction_journal("kiosk-1", hall.clock)
    for item, outcome in [("JG-000101", "done"), ("JG-000101", "done"), ("JG-000207", "done"),
                          ("JG-000207", "failed")]:
        journal.record(Kind.KIOSK_TRANSACTION, transaction_event("appointments", outcome, item=item))
        hall.advance(60)
    journal.record(Kind.KIOSK_TRANSACTION,
                   transaction_event("bill_payment", "done", item="water", ref="K1-20261207-0001",
                                     amount_fen=8650, channel="alipay"))
    journal.record(Kind.KIOSK_HELP_REQUESTED, {"function": "bill_payment", "screen": "pay"})
    journal.record(Kind.KIOSK_RATED, {"function": "appointments", "level": 5, "label": "非常满意"})
    journal.record(Kind.KIOSK_RATED, {"function": "appointments", "level": 2, "label": "不满意",
                                      "reason": "等待时间长"})
    journal.record(Kind.DOCUMENT_PRINTED,
                   {"function": "certificates", "item": "pension", "pages": 2, "outcome": "done"})
    journal.record(Kind.DOCUMENT_PRINTED,
                   {"function": "certificates", "item": "pension", "pages": 2,
                    "outcome": "failed"})


def test_kiosk_transactions_are_counted_per_function_and_item(hall):
    hall.issue("social")  # the hall's day begins with a ticket
    kiosk_morning(hall)
    events = hall.take()
    metrics = HallMetrics({hall.hall_id: hall.config})
    metrics.observe_all(events)
    metrics.observe_all(events)  # a re-sent batch counts nothing twice

    kiosk = metrics.hall_snapshot(hall.hall_id, hall.now()).to_dict()["kiosk"]

    assert kiosk["transactions_done"] == 4
    assert kiosk["help_requests"] == 1
    appointments = kiosk["functions"]["appointments"]
    assert (appointments["done"], appointments["not_done"]) == (3, 1)
    assert appointments["items"] == {"JG-000101": 2, "JG-000207": 1}
    assert (appointments["rating_count"], appointments["rating_avg"]) == (2, 3.5)
    assert kiosk["functions"]["bill_payment"]["items"] == {"water": 1}
    assert kiosk["functions"]["bill_payment"]["help_requests"] == 1
    assert kiosk["functions"]["certificates"]["printed_pages"] == 2  # the failed print is not


def test_a_new_business_day_starts_the_kiosk_counts_again(hall):
    hall.issue("social")
    kiosk_morning(hall)
    metrics = HallMetrics({hall.hall_id: hall.config})
    metrics.observe_all(hall.take())
    hall.advance(24 * 3600)
    hall.issue("social")
    journal = hall.queue.transaction_journal("kiosk-1", hall.clock)
    journal.record(Kind.KIOSK_TRANSACTION, transaction_event("case_progress", "done"))
    metrics.observe_all(hall.take())

    kiosk = metrics.hall_snapshot(hall.hall_id, hall.now()).to_dict()["kiosk"]

    assert kiosk["transactions_done"] == 1
    assert list(kiosk["functions"]) == ["case_progress"]


def test_a_kiosk_event_says_the_minor_version_its_kind_came_with(hall, tmp_path):
    """So a collector older than the kind stores it and counts it as a newer version's."""
    from collector.ingest import Ingestor
    from core.events import SCHEMA_MINOR
    from hallstore import journal as hall_journal

    journal = hall.queue.transaction_journal("kiosk-1", hall.clock)
    journal.record(Kind.KIOSK_TRANSACTION, transaction_event("case_progress", "done"))
    (event,) = hall.take()
    assert '"minor":1' in hall_journal.event_json(event)
    assert event.to_dict()["minor"] == 1 <= SCHEMA_MINOR

    ingestor = Ingestor(tmp_path / "collector.db", "127.0.0.1", 1)
    try:
        from agent.publisher import batch_payload

        assert ingestor.ingest(f"halledge/v1/{hall.hall_id}/events",
                               batch_payload([hall_journal.event_json(event)]))
        unknown, newer = ingestor.store.unfamiliar_counts(0)  # as a minor-0 collector sees it
        assert newer == {(hall.hall_id, Kind.KIOSK_TRANSACTION): 1}
        assert ingestor.store.unfamiliar_counts(SCHEMA_MINOR)[1] == {}
    finally:
        ingestor.store.close()
        ingestor.telemetry.close()
