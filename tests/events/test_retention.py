"""Event retention: the purge service, its guards, its Celery task and its daily schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from alertsite.celery import app as celery_app
from events import hooks
from events.models import AuditEvent
from events.services import event_batch_ingest, event_retention_purge
from events.tasks import event_retention_purge_task
from events.validation import Limits, events_validate
from tests.factories import make_event

pytestmark = pytest.mark.django_db


def days_ago(days: float) -> str:
    return (timezone.now() - timedelta(days=days)).isoformat().replace("+00:00", "Z")


def store(*events: dict) -> None:
    records, errors = events_validate(list(events), limits=Limits.from_settings())
    assert not errors, errors
    event_batch_ingest(records=records)


def remaining() -> list[str]:
    return sorted(AuditEvent.objects.values_list("event_id", flat=True))


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_events_older_than_the_retention_period_are_deleted_and_newer_kept():
    store(make_event(id="old", timestamp=days_ago(31)), make_event(id="new", timestamp=days_ago(29)))
    result = event_retention_purge()
    assert result.deleted == 1
    assert remaining() == ["new"]


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_age_is_the_event_timestamp_not_the_arrival_time():
    store(make_event(id="sent-late", timestamp=days_ago(45)))
    assert AuditEvent.objects.get().received_at > timezone.now() - timedelta(minutes=1)
    event_retention_purge()
    assert remaining() == []


def test_days_argument_overrides_the_setting():
    store(make_event(id="week-old", timestamp=days_ago(8)), make_event(id="today", timestamp=days_ago(0.1)))
    result = event_retention_purge(days=7)
    assert remaining() == ["today"]
    assert timezone.now() - timedelta(days=7, minutes=1) < result.cutoff < timezone.now() - timedelta(days=7)


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_purge_works_through_several_batches():
    store(*[make_event(id=f"old{n}", timestamp=days_ago(40 + n)) for n in range(5)])
    store(make_event(id="recent", timestamp=days_ago(1)))
    result = event_retention_purge(batch_size=2)
    assert result.deleted == 5
    assert "recent" in remaining()
    assert not any(event_id.startswith("old") for event_id in remaining())


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30, ALERTSITE_RETENTION_BATCH_SIZE=2)
def test_batch_size_setting_is_used_by_default():
    store(*[make_event(id=f"old{n}", timestamp=days_ago(40)) for n in range(5)])
    assert event_retention_purge().deleted == 5
    assert remaining() == []


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_purge_with_nothing_expired_deletes_nothing():
    store(make_event(id="fresh", timestamp=days_ago(1)))
    assert event_retention_purge().deleted == 0
    assert remaining() == ["fresh"]


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_retention_guard_protects_its_events():
    store(*[make_event(id=f"old{n}", timestamp=days_ago(60)) for n in range(4)])

    def guard():
        return AuditEvent.objects.filter(event_id__in=["old1", "old3"]).values("pk")

    hooks.retention_guard_register(guard)
    try:
        result = event_retention_purge(batch_size=1)
    finally:
        hooks.retention_guard_unregister(guard)
    assert remaining() == ["old1", "old3"]
    assert (result.deleted, result.kept) == (2, 2)


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_retention_guard_may_return_a_plain_list_of_keys():
    store(make_event(id="keep", timestamp=days_ago(60)), make_event(id="drop", timestamp=days_ago(60)))
    keep_pk = AuditEvent.objects.get(event_id="keep").pk

    def guard():
        return [keep_pk]

    hooks.retention_guard_register(guard)
    try:
        event_retention_purge()
    finally:
        hooks.retention_guard_unregister(guard)
    assert remaining() == ["keep"]


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_unregistered_guard_no_longer_protects():
    store(make_event(id="old", timestamp=days_ago(60)))

    def guard():
        return AuditEvent.objects.values("pk")

    hooks.retention_guard_register(guard)
    hooks.retention_guard_unregister(guard)
    assert guard not in hooks.retention_guards()
    event_retention_purge()
    assert remaining() == []


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_purge_task_runs_in_process_and_reports_what_it_did():
    store(make_event(id="old", timestamp=days_ago(31)), make_event(id="new", timestamp=days_ago(1)))
    result = event_retention_purge_task.apply()
    assert result.successful()
    assert result.get() == {"deleted": 1, "kept": 0}
    assert remaining() == ["new"]


def test_beat_schedule_runs_the_purge_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["event-retention-purge"]
    assert entry["task"] == "events.tasks.event_retention_purge_task"
    assert entry["schedule"] == timedelta(hours=24)
    assert entry["task"] in celery_app.tasks
    assert celery_app.conf.beat_schedule["event-retention-purge"]["task"] == entry["task"]


# -- at scale: short batches, ids only, progress (issue 13) ------------------------------------


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_each_batch_deletes_at_most_batch_size_events_in_its_own_transaction():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    store(*[make_event(id=f"old{n}", timestamp=days_ago(40)) for n in range(7)])
    with CaptureQueriesContext(connection) as queries:
        assert event_retention_purge(batch_size=3).deleted == 7
    statements = [q["sql"] for q in queries.captured_queries]
    deletes = [s for s in statements if s.startswith('DELETE FROM "events_auditevent"')]
    assert [s.count(",") + 1 for s in deletes] == [3, 3, 1]
    # One transaction (a savepoint inside the test's) per batch, and the payloads are never read.
    assert sum(s.startswith("SAVEPOINT") for s in statements) == 4  # 3 batches + the one that finds nothing
    assert not any('"payload"' in s for s in statements)


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_each_batch_starts_after_the_last_id_of_the_one_before():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    store(*[make_event(id=f"old{n}", timestamp=days_ago(40)) for n in range(4)])
    pks = list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        event_retention_purge(batch_size=2)
    lookups = [q["sql"] for q in queries.captured_queries if 'AS "pk"' in q["sql"] and "LIMIT 2" in q["sql"]]
    assert len(lookups) == 3
    assert '"id" > 0' in lookups[0] and f'"id" > {pks[1]}' in lookups[1]


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_progress_hears_the_running_total_after_each_batch():
    store(*[make_event(id=f"old{n}", timestamp=days_ago(40)) for n in range(5)])
    heard: list[int] = []
    event_retention_purge(batch_size=2, on_progress=heard.append)
    assert heard == [2, 4, 5]


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_purge_events_command_reports_what_it_deleted_with_a_progress_bar():
    from io import StringIO

    from django.core.management import call_command

    store(*[make_event(id=f"old{n}", timestamp=days_ago(40)) for n in range(3)], make_event(id="new"))
    AuditEvent.objects.filter(event_id="new").update(timestamp=timezone.now())
    out, err = StringIO(), StringIO()
    call_command("purge_events", "--batch-size", "2", stdout=out, stderr=err)
    assert out.getvalue().startswith("deleted 3 events older than ")
    assert "kept 0" in out.getvalue()
    assert remaining() == ["new"]


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_the_purge_rests_after_each_batch_twice_as_long_as_the_batch_took_by_default():
    store(*[make_event(id=f"old{n}", timestamp=days_ago(40)) for n in range(5)])
    rests: list[float] = []
    event_retention_purge(batch_size=2, sleep=rests.append)
    assert settings.ALERTSITE_RETENTION_DUTY_CYCLE == pytest.approx(0.33)
    assert len(rests) == 3 and all(rest > 0 for rest in rests)


@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_a_duty_cycle_of_one_purges_without_resting():
    store(*[make_event(id=f"old{n}", timestamp=days_ago(40)) for n in range(5)])
    rests: list[float] = []
    result = event_retention_purge(batch_size=2, duty_cycle=1.0, sleep=rests.append)
    assert (result.deleted, rests) == (5, [])


@pytest.mark.parametrize("duty", ["0", "1.5", "-0.2"])
def test_purge_events_command_refuses_a_duty_cycle_outside_zero_to_one(duty):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--duty-cycle must be more than 0 and at most 1"):
        call_command("purge_events", "--duty-cycle", duty)


def test_purge_events_command_refuses_a_negative_period():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--days must be 0 or more"):
        call_command("purge_events", "--days", "-1")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(ALERTSITE_EVENT_RETENTION_DAYS=30)
def test_ingest_goes_on_beside_a_purge_without_waiting_for_it(ingest_client):
    """A purge of thousands of rows in batches of 500 never makes a concurrent POST wait long."""
    import threading
    import time

    import orjson
    from django.db import connection as main_connection

    for start in range(0, 6000, 1000):
        store(*[make_event(id=f"old{n}", timestamp=days_ago(40)) for n in range(start, start + 1000)])
    latencies: list[float] = []
    purging = threading.Event()
    done = threading.Event()

    def ingest_meanwhile() -> None:
        from django.db import connection

        purging.wait(30)
        n = 0
        while not done.is_set():
            started = time.monotonic()
            body = orjson.dumps(make_event(id=f"live{n}", timestamp=days_ago(0)))
            response = ingest_client.post("/api/v1/events", data=body, content_type="application/json")
            assert response.status_code == 202
            latencies.append(time.monotonic() - started)
            n += 1
        connection.close()

    thread = threading.Thread(target=ingest_meanwhile)
    thread.start()
    try:
        result = event_retention_purge(batch_size=500, on_progress=lambda deleted: purging.set())
    finally:
        done.set()
        purging.set()
        thread.join(30)
    assert result.deleted == 6000
    # The purge takes several seconds; a POST waiting for it would take as long. The bound leaves
    # room for a loaded two-core machine stalling one request (1.05 s was seen in a full run).
    assert latencies and max(latencies) < 2.0, max(latencies, default=None)
    assert AuditEvent.objects.filter(event_id__startswith="live").count() == len(latencies)
    assert main_connection.vendor == "postgresql"
