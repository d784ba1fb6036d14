"""Scheduled polling: due sources are polled, paused/stopped/not-due ones are not, and rules fire on pulled events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert
from events.models import AuditEvent
from events.sources.models import Source
from events.sources.services import source_create
from events.sources.tasks import sources_poll_due_task
from rules.services import rule_create

pytestmark = pytest.mark.django_db


def make(standin, **config) -> Source:
    start = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    return source_create(
        data={
            "name": "Acme",
            "config": {"base_url": standin.url, "api_key": "test-key", "start_time": start, **config},
        },
        actor=None,
    )


def pulled() -> int:
    return AuditEvent.objects.exclude(service="alerts").count()


def test_a_due_source_is_polled_by_the_scheduler(vendor_standin):
    vendor_standin.add(vendor_standin.make_events(20))
    source = make(vendor_standin)
    assert sources_poll_due_task() == 1
    assert pulled() == 20
    source.refresh_from_db()
    assert source.next_poll_at > timezone.now() + timedelta(seconds=50)  # the poll interval


def test_a_source_is_not_polled_before_its_interval(vendor_standin):
    make(vendor_standin)
    sources_poll_due_task()
    assert sources_poll_due_task() == 0
    assert len(vendor_standin.event_requests) == 1


@pytest.mark.parametrize("change", [{"enabled": False}, {"stopped": True}])
def test_paused_and_stopped_sources_are_not_polled(vendor_standin, change):
    source = make(vendor_standin)
    Source.objects.filter(pk=source.pk).update(**change)
    assert sources_poll_due_task() == 0
    assert vendor_standin.event_requests == []


def test_a_backlog_goes_on_at_the_next_tick(vendor_standin, settings):
    settings.ALERTSITE_SOURCE_TASK_MAX_SECONDS = 0  # one page a round
    vendor_standin.add(vendor_standin.make_events(250))
    make(vendor_standin, page_limit=100)
    for _ in range(3):
        sources_poll_due_task()
    assert pulled() == 250


def test_rules_fire_on_pulled_events(vendor_standin, django_capture_on_commit_callbacks):
    rule_create(
        data={"name": "Failed logins", "priority": "high", "conditions": [{"event_type": "user_login_attempt"}]},
        actor=None,
    )
    vendor_standin.add(vendor_standin.make_events(5, event_type="user_login_attempt"))
    make(vendor_standin)
    with django_capture_on_commit_callbacks(execute=True):
        sources_poll_due_task()
    assert Alert.objects.count() == 5
