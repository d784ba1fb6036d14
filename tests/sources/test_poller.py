"""The poller against the vendor stand-in: paging, checkpoints, faults, bad rows (api.md §8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import AuditEvent
from events.sources.models import Source, SourceCursor
from events.sources.poller import source_poll
from events.sources.services import source_create

pytestmark = pytest.mark.django_db

START = datetime.now(UTC) - timedelta(days=2)


def make_source(standin, **config) -> Source:
    return source_create(
        data={
            "name": "Acme",
            "config": {
                "base_url": standin.url,
                "api_key": standin.api_key,
                "start_time": START.isoformat(),
                "page_limit": 100,
                **config,
            },
        },
        actor=None,
    )


def poll_until_done(source: Source, rounds: int = 20):
    results = []
    for _ in range(rounds):
        result = source_poll(source.pk, max_seconds=30, manual=True)
        results.append(result)
        if not result.more and not result.error:
            break
    return results


def pulled():
    """The events that came from the vendor (not alertsite's own audit trail)."""
    return AuditEvent.objects.exclude(service="alerts")


def stored_ids() -> list[str]:
    return list(pulled().values_list("event_id", flat=True))


def test_a_backfill_stores_every_event_once(vendor_standin):
    events = vendor_standin.make_events(450, start=START + timedelta(minutes=1))
    vendor_standin.add(events)
    source = make_source(vendor_standin)
    [result] = poll_until_done(source)
    assert result.pages == 5 and result.accepted == 450 and result.error is None
    assert sorted(stored_ids()) == sorted(e["id"] for e in events)
    cursor = SourceCursor.objects.get(source=source)
    assert cursor.checkpoint.isoformat().startswith(events[-1]["timestamp"][:19])
    assert cursor.backfill_done
    source.refresh_from_db()
    assert source.state == "ok" and source.events_ingested == 450


def test_pages_follow_search_after_with_ascending_sort(vendor_standin):
    vendor_standin.add(vendor_standin.make_events(250, start=START + timedelta(minutes=1)))
    poll_until_done(make_source(vendor_standin))
    bodies = [r.body for r in vendor_standin.event_requests]
    assert [b.get("search_after") is not None for b in bodies] == [False, True, True]
    assert all(b["sort"] == "ASC" and b["limit"] == 100 for b in bodies)
    assert all(r.header("x-api-key") == "test-key" for r in vendor_standin.event_requests)


def test_many_events_with_one_timestamp_across_pages_are_stored_once(vendor_standin):
    events = vendor_standin.make_events(1_050, start=START + timedelta(minutes=5), same_timestamp=True)
    vendor_standin.add(events)
    poll_until_done(make_source(vendor_standin, page_limit=1000))
    assert pulled().count() == 1_050


def test_the_next_poll_starts_at_the_checkpoint_minus_the_overlap(vendor_standin):
    vendor_standin.add(vendor_standin.make_events(10, start=START + timedelta(hours=1)))
    source = make_source(vendor_standin, overlap_seconds=300)
    poll_until_done(source)
    checkpoint = SourceCursor.objects.get(source=source).checkpoint
    poll_until_done(source)
    last = vendor_standin.event_requests[-1].body
    assert datetime.fromisoformat(last["start_time"]) == checkpoint - timedelta(seconds=300)
