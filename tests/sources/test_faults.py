"""The poller against a misbehaving vendor (issue 11, "Real parts in tests" and "Bad input"; api.md §8).

Each scenario ends with every event of the stand-in stored exactly once (ids compared with the
stand-in's), each organisation's checkpoint on its newest event and the counts consistent.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.db import connection
from django.utils import timezone

from events.models import AuditEvent
from events.sources.models import Source, SourceCursor
from events.sources.poller import MAX_STALLED_PAGES, source_poll
from events.sources.services import source_status, source_update
from events.sources.tasks import source_poll_task, sources_due, sources_poll_due_task
from events.validation import derive_event_id
from tests.sources.standin import VendorStandin, parse_time
from tests.sources.test_poller import START, make_source, poll_until_done, pulled, stored_ids
from tests.workers import CeleryWorker, wait_for

pytestmark = pytest.mark.django_db

KEY = "di-key-7f3a9c1e5b2d4f60a8c7e9b1"
NEW_KEY = "di-key-rotated-2c4e6a8b0d1f3e5a"


@pytest.fixture
def vendor(vendor_standin: VendorStandin) -> VendorStandin:
    """The stand-in with a key distinctive enough to search for everywhere it must not be."""
    vendor_standin.rotate_key(KEY)
    return vendor_standin


@pytest.fixture(autouse=True)
def _fast_backoff(settings) -> None:
    settings.ALERTSITE_SOURCE_BACKOFF_SECONDS = 1.0
    settings.ALERTSITE_SOURCE_BACKOFF_MAX_SECONDS = 60.0
    settings.ALERTSITE_SOURCE_FAILING_AFTER = 3


def events_at(vendor: VendorStandin, n: int, **kwargs: Any) -> list[dict[str, Any]]:
    events = vendor.make_events(n, start=kwargs.pop("start", START + timedelta(minutes=1)), **kwargs)
    vendor.add(events, org=kwargs.get("org"))
    return events


def poll(source: Source, *, manual: bool = True):
    return source_poll(source.pk, max_seconds=30, manual=manual)


def cursor_of(source: Source, org: str = "default") -> SourceCursor:
    return SourceCursor.objects.get(source=source, org=org)


def audit(event_type: str):
    return AuditEvent.objects.filter(event_type=event_type)


def assert_every_event_once(
    source: Source, vendor: VendorStandin, *, orgs: list[str] | None = None, ids: list[str] | None = None
) -> None:
    """Every stand-in event stored exactly once; each cursor's checkpoint its newest timestamp; counts agree."""
    by_cursor = {"default": vendor.events()} if orgs is None else {org: vendor.events(org) for org in orgs}
    stored = stored_ids()
    expected = ids if ids is not None else [e["id"] for events in by_cursor.values() for e in events]
    assert len(stored) == len(set(stored))
    assert sorted(stored) == sorted(expected)
    for org, events in by_cursor.items():
        cursor = cursor_of(source, org)
        assert cursor.checkpoint == max((parse_time(e["timestamp"]) for e in events), default=None)
        assert cursor.events_ingested == len(events)
        assert cursor.backfill_done
    source.refresh_from_db()
    assert source.events_ingested == len(stored)
    assert (source.lease_owner, source.lease_until) == ("", None)


def assert_recovered(source: Source) -> None:
    source.refresh_from_db()
    assert (source.state, source.last_error, source.consecutive_failures) == ("ok", "", 0)


# -- throttling, 5xx, timeouts, dropped connections ------------------------------------------------


def test_429_with_retry_after_sets_next_poll_at_and_the_poll_resumes_after_it(vendor):
    events_at(vendor, 250)
    source = make_source(vendor)
    vendor.after_request(1, lambda v: v.fail_next("429", retry_after=1))
    result = poll(source, manual=False)
    assert "429" in result.error and pulled().count() == 100
    source.refresh_from_db()
    assert source.next_poll_at - source.last_run_at == timedelta(seconds=1)
    asked = len(vendor.requests)
    assert sources_due() == [] and poll(source, manual=False).busy  # not due before Retry-After
    assert len(vendor.requests) == asked
    time.sleep(max(0.0, (source.next_poll_at - timezone.now()).total_seconds()) + 0.05)
    assert sources_due() == [source.pk]
    result = poll(source, manual=False)
    assert result.error is None and not result.more
    assert_every_event_once(source, vendor)
    assert_recovered(source)


def test_429_without_retry_after_backs_off_exponentially(vendor, settings):
    settings.ALERTSITE_SOURCE_BACKOFF_SECONDS = 10.0
    settings.ALERTSITE_SOURCE_BACKOFF_MAX_SECONDS = 35.0
    settings.ALERTSITE_SOURCE_FAILING_AFTER = 10
    events_at(vendor, 150)
    source = make_source(vendor)
    vendor.fail_next("429_no_retry_after", times=4)
    waits = []
    for _ in range(4):
        assert "429" in poll(source).error
        source.refresh_from_db()
        waits.append((source.next_poll_at - source.last_run_at).total_seconds())
    assert waits == [10, 20, 35, 35]
    assert not source.failing
    poll_until_done(source)
    assert_every_event_once(source, vendor)
    assert_recovered(source)


def test_429s_however_many_in_a_row_never_make_a_source_failing(vendor, settings):
    settings.ALERTSITE_SOURCE_FAILING_AFTER = 2
    events_at(vendor, 150)
    source = make_source(vendor)
    vendor.fail_next("429", retry_after=0, times=4)
    for _ in range(4):
        assert "429" in poll(source).error
    source.refresh_from_db()
    assert (source.consecutive_failures, source.failing, source.state) == (4, False, "ok")


def test_a_503_with_retry_after_waits_as_long_as_it_says(vendor):
    events_at(vendor, 150)
    source = make_source(vendor)
    vendor.fail_next("503", retry_after=7)
    assert "answered 503" in poll(source).error
    source.refresh_from_db()
    assert source.next_poll_at - source.last_run_at == timedelta(seconds=7)


@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_a_5xx_answer_is_a_transient_failure_and_the_next_poll_completes(vendor, status):
    events_at(vendor, 250)
    source = make_source(vendor)
    vendor.after_request(1, lambda v: v.fail_next(status))
    result = poll(source)
    assert f"answered {status}" in result.error and pulled().count() == 100
    source.refresh_from_db()
    assert (source.consecutive_failures, source.failing, source.stopped) == (1, False, False)
    assert source.next_poll_at - source.last_run_at == timedelta(seconds=1)
    [result] = poll_until_done(source)
    assert result.error is None
    assert_every_event_once(source, vendor)
    assert_recovered(source)


def test_a_page_slower_than_the_timeout_fails_the_poll_and_the_next_resumes(vendor):
    events_at(vendor, 250)
    source = make_source(vendor, timeout_seconds=1)
    vendor.after_request(1, lambda v: v.fail_next("slow", seconds=2))
    started = time.monotonic()
    result = poll(source)
    assert time.monotonic() - started < 1.9
    assert "did not answer within 1 s" in result.error and pulled().count() == 100
    [result] = poll_until_done(source)
    assert result.error is None
    assert_every_event_once(source, vendor)


def test_a_kept_alive_connection_dropped_once_is_retried_on_a_fresh_one(vendor):
    events_at(vendor, 250)
    source = make_source(vendor)
    vendor.after_request(1, lambda v: v.fail_next("drop"))
    [result] = poll_until_done(source)
    assert result.error is None
    assert [r.fault for r in vendor.event_requests].count("drop") == 1
    assert_every_event_once(source, vendor)


def test_a_connection_dropped_twice_fails_the_poll_and_the_next_resumes(vendor):
    events_at(vendor, 250)
    source = make_source(vendor)
    vendor.after_request(1, lambda v: v.fail_next("drop", times=2))
    result = poll(source)
    assert "dropped" in result.error and pulled().count() == 100
    [result] = poll_until_done(source)
    assert result.error is None
    assert_every_event_once(source, vendor)


# -- paging: repeated pages, one timestamp, late events -------------------------------------------


def test_a_repeated_page_is_stored_once_and_paging_goes_on(vendor):
    events_at(vendor, 250)
    source = make_source(vendor)
    vendor.after_request(1, lambda v: v.fail_next("repeat_page"))
    [result] = poll_until_done(source)
    assert (result.error, result.pages, result.accepted, result.duplicates) == (None, 4, 250, 100)
    assert_every_event_once(source, vendor)


def test_a_page_repeated_without_end_stops_the_poll_with_a_clear_error(vendor):
    events_at(vendor, 250)
    source = make_source(vendor)
    vendor.after_request(1, lambda v: v.fail_next("repeat_page", times=50))
    result = poll(source)
    assert "with the same X-Search_after" in result.error and "paging cannot continue" in result.error
    assert len(vendor.event_requests) == 1 + MAX_STALLED_PAGES and pulled().count() == 100
    vendor.clear_faults()
    [result] = poll_until_done(source)
    assert result.error is None
    assert_every_event_once(source, vendor)


def test_many_events_with_one_timestamp_across_a_page_boundary_are_stored_once(vendor):
    events_at(vendor, 50)
    events_at(vendor, 250, start=START + timedelta(hours=1), same_timestamp=True)
    source = make_source(vendor)
    [result] = poll_until_done(source)
    assert (result.error, result.pages, result.accepted) == (None, 4, 300)
    [again] = poll_until_done(source)  # from the checkpoint minus the overlap: all 250 again, none new
    assert (again.accepted, again.duplicates) == (0, 250)
    assert_every_event_once(source, vendor)


def test_late_events_inside_the_overlap_are_picked_up_by_the_next_poll(vendor):
    events_at(vendor, 120, start=START + timedelta(hours=1))
    source = make_source(vendor, overlap_seconds=300)
    poll_until_done(source)
    checkpoint = cursor_of(source).checkpoint
    vendor.add_late(vendor.make_events(5, start=checkpoint - timedelta(seconds=240), step=timedelta(seconds=10)))
    [result] = poll_until_done(source)
    assert (result.error, result.accepted) == (None, 5)
    assert cursor_of(source).checkpoint == checkpoint
    assert_every_event_once(source, vendor)


def test_late_events_older_than_the_overlap_are_missed_which_is_the_overlaps_contract(vendor):
    """The overlap is how late an event may show up in the vendor's log and still be pulled:
    a poll re-reads from its checkpoint minus `overlap_seconds`, never further back. An event
    that appears later than that behind the newest one already pulled is not fetched (raise
    `overlap_seconds` for a vendor that lags more)."""
    on_time = events_at(vendor, 120, start=START + timedelta(hours=1))
    source = make_source(vendor, overlap_seconds=300)
    poll_until_done(source)
    checkpoint = cursor_of(source).checkpoint
    vendor.add_late(vendor.make_events(3, start=checkpoint - timedelta(seconds=400)))
    [result] = poll_until_done(source)
    assert (result.error, result.accepted) == (None, 0)
    assert sorted(stored_ids()) == sorted(e["id"] for e in on_time)
    assert cursor_of(source).checkpoint == checkpoint


# -- refusals, empty and several organisations ----------------------------------------------------


def test_401_after_a_key_rotation_stops_the_source_until_its_key_is_edited(vendor):
    events_at(vendor, 100)
    source = make_source(vendor)
    poll_until_done(source)
    vendor.rotate_key(NEW_KEY)
    events_at(vendor, 30, start=START + timedelta(hours=2))
    Source.objects.filter(pk=source.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))
    assert sources_poll_due_task() == 1  # as beat does: the poll runs inline in tests

    source.refresh_from_db()
    assert (source.state, source.stopped, source.failing) == ("failing", True, True)
    assert "401" in source.last_error and "Edit the source's key" in source.last_error
    assert KEY not in source.last_error and NEW_KEY not in source.last_error
    assert audit("insights_source_failed").count() == 1

    Source.objects.filter(pk=source.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))
    asked = len(vendor.requests)
    assert sources_due() == [] and sources_poll_due_task() == 0 and poll(source, manual=False).busy
    assert len(vendor.requests) == asked and audit("insights_source_failed").count() == 1

    source_update(source=source, data={"config": {"api_key": NEW_KEY}}, actor=None)
    assert sources_poll_due_task() == 1
    assert_every_event_once(source, vendor)
    assert_recovered(source)
    assert audit("insights_source_recovered").count() == 1 and audit("insights_source_failed").count() == 1
    assert vendor.event_requests[-1].header("x-api-key") == NEW_KEY


def test_an_empty_organisation_completes_with_nothing_stored_and_no_checkpoint(vendor):
    source = make_source(vendor)
    [result] = poll_until_done(source)
    assert (result.error, result.pages, result.fetched, result.more) == (None, 1, 0, False)
    cursor = cursor_of(source)
    assert (cursor.checkpoint, cursor.events_ingested, cursor.backfill_done) == (None, 0, True)
    assert stored_ids() == []
    assert_recovered(source)
    poll_until_done(source)  # still from the start time: there is no checkpoint to start from
    assert [r.body["start_time"] for r in vendor.event_requests] == [vendor.event_requests[0].body["start_time"]] * 2


def test_msp_org_ids_are_polled_each_with_its_own_checkpoint_and_x_org_id(vendor):
    events_at(vendor, 150, start=START + timedelta(hours=1), org="org-a")
    rows_b = vendor.make_events(40, start=START + timedelta(hours=3), org="org-b")
    for row in rows_b:
        del row["organization"]  # the poller names the organisation it asked for
    vendor.add(rows_b, org="org-b")
    events_at(vendor, 5)  # the key's own organisation: not asked for
    source = make_source(vendor, org_ids=["org-a", "org-b"])
    [result] = poll_until_done(source)
    assert result.error is None
    assert {r.header("x-org-id") for r in vendor.event_requests} == {"org-a", "org-b"}
    assert_every_event_once(source, vendor, orgs=["org-a", "org-b"])
    assert cursor_of(source, "org-a").checkpoint != cursor_of(source, "org-b").checkpoint
    organisation = dict(pulled().values_list("event_id", "payload__organization"))
    for org in ("org-a", "org-b"):
        assert {organisation[e["id"]] for e in vendor.events(org)} == {org}


# -- bad vendor answers -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "says"), [("non_json", "not JSON"), ("not_array", "not an array")])
def test_a_page_that_is_not_a_json_array_fails_the_poll_stores_none_of_it_and_the_next_completes(vendor, kind, says):
    events = events_at(vendor, 250)
    source = make_source(vendor)
    vendor.after_request(1, lambda v: v.fail_next(kind))
    result = poll(source)
    assert says in result.error and pulled().count() == 100
    assert cursor_of(source).checkpoint == parse_time(events[99]["timestamp"])
    source.refresh_from_db()
    assert (source.consecutive_failures, source.stopped) == (1, False)
    [result] = poll_until_done(source)
    assert result.error is None
    assert_every_event_once(source, vendor)
    assert_recovered(source)


def test_invalid_rows_are_skipped_and_counted_the_rest_stored_and_the_page_advances(vendor, caplog):
    events_at(vendor, 250)
    source = make_source(vendor)
    vendor.fail_next("invalid_rows", times=2, count=3)
    [result] = poll_until_done(source)
    assert (result.error, result.skipped, result.accepted) == (None, 6, 250)
    assert_every_event_once(source, vendor)
    assert source.skipped == 6 and source_status(source)["skipped"] == 6
    assert any(r.getMessage() == "source skipped invalid vendor rows" for r in caplog.records)


def test_rows_without_id_get_the_push_apis_derived_id_and_a_repeat_poll_does_not_double_them(vendor, ingest_client):
    events = events_at(vendor, 150)
    source = make_source(vendor)
    vendor.fail_next("rows_without_id", times=20)  # this vendor never sends ids
    [first] = poll_until_done(source)
    [again] = poll_until_done(source)
    assert (first.accepted, again.accepted, again.duplicates) == (150, 0, 150)
    without_id = [{k: v for k, v in e.items() if k != "id"} for e in events]
    assert_every_event_once(source, vendor, ids=[derive_event_id(row) for row in without_id])
    answer = ingest_client.post("/api/v1/events", data=orjson.dumps(without_id[:3]), content_type="application/json")
    assert answer.status_code == 202 and pulled().count() == 150  # the push API derives the same ids


def test_a_missing_search_after_header_continues_from_the_checkpoint(vendor):
    events = events_at(vendor, 250)
    source = make_source(vendor)
    vendor.after_request(1, lambda v: v.fail_next("missing_search_after"))
    [result] = poll_until_done(source)
    assert result.error is None
    third = vendor.event_requests[2].body
    assert "search_after" not in third and parse_time(third["start_time"]) == parse_time(events[199]["timestamp"])
    assert_every_event_once(source, vendor)


def test_a_missing_search_after_header_with_every_row_on_one_timestamp_stops_with_a_clear_error(vendor):
    events_at(vendor, 250, same_timestamp=True)
    source = make_source(vendor)
    vendor.fail_next("missing_search_after", times=50)
    result = poll(source)
    assert "without X-Search_after" in result.error and "paging cannot continue" in result.error
    assert len(vendor.event_requests) == 1 + MAX_STALLED_PAGES
    assert pulled().count() == 100
    vendor.clear_faults()
    [result] = poll_until_done(source)
    assert result.error is None
    assert_every_event_once(source, vendor)


# -- failing, recovering, and the key ----------------------------------------------------------------


def test_failing_after_n_transient_failures_records_insights_source_failed_once(vendor):
    events_at(vendor, 50)
    source = make_source(vendor)
    vendor.fail_next("500", times=5)
    for n in range(1, 6):
        assert "500" in poll(source).error
        source.refresh_from_db()
        assert (source.failing, source.stopped) == (n >= 3, False)
        assert audit("insights_source_failed").count() == (1 if n >= 3 else 0)
    failed = audit("insights_source_failed").get().payload
    assert (failed["status_code"], failed["consecutive_failures"], failed["success"]) == (500, 3, False)
    assert source.state == "failing" and not audit("insights_source_recovered").exists()
    poll_until_done(source)
    assert_every_event_once(source, vendor)
    assert_recovered(source)
    assert audit("insights_source_recovered").count() == 1 and audit("insights_source_failed").count() == 1


def test_the_api_key_never_appears_in_last_error_audit_events_or_logs(vendor, caplog):
    """Not even when the vendor (or a proxy before it) echoes the key in its error message."""
    caplog.set_level(logging.DEBUG)
    events_at(vendor, 50)
    source = make_source(vendor)
    vendor.fail_next("500", times=3, message=f"upstream rejected x-api-key {KEY}")
    errors = [poll(source).error for _ in range(3)]
    vendor.rotate_key(NEW_KEY)
    vendor.fail_next("401", message=f"key {KEY} was revoked")
    errors.append(poll(source).error)
    source.refresh_from_db()
    errors.append(source.last_error)
    assert source.stopped and "401" in source.last_error
    source_update(source=source, data={"config": {"api_key": NEW_KEY}}, actor=None)
    poll_until_done(source)
    assert_every_event_once(source, vendor)

    assert audit("insights_source_failed").count() == 1 and audit("insights_source_recovered").count() == 1
    payloads = orjson.dumps(list(AuditEvent.objects.values_list("payload", flat=True))).decode()
    logged = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)
    stored_config = orjson.dumps(Source.objects.get(pk=source.pk).config).decode()
    for secret in (KEY, NEW_KEY):
        for text in (*errors, payloads, logged, stored_config):
            assert secret not in text
    assert "***" in errors[0]  # the echoed key is masked, the rest of the vendor's message kept


# -- the lease, and a real worker killed mid-backfill -------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_polls_of_one_source_one_is_busy_and_events_are_stored_once(vendor):
    events_at(vendor, 250)
    source = make_source(vendor)
    vendor.fail_next("slow", seconds=1)  # the first page keeps the winner busy while the other tries
    barrier = threading.Barrier(2)

    def concurrent_poll(_: int):
        barrier.wait()
        try:
            return poll(source)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(concurrent_poll, range(2)))
    assert sorted(r.busy for r in results) == [False, True]
    [done] = [r for r in results if not r.busy]
    assert (done.error, done.accepted) == (None, 250)
    assert len(vendor.event_requests) == 3
    assert_every_event_once(source, vendor)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_backfill_leaves_every_event_once_when_another_worker_goes_on(broker_queue):
    total, page = 8_000, 500
    worker_env = {"ALERTSITE_SOURCE_LEASE_SECONDS": "3", "ALERTSITE_SOURCE_TASK_MAX_SECONDS": "60"}
    first, second = CeleryWorker("sources-1", **worker_env), CeleryWorker("sources-2", **worker_env)
    with VendorStandin(api_key=KEY, page_delay=0.05) as vendor, ThreadPoolExecutor(max_workers=1) as pool:
        try:
            starting = pool.submit(first.start)  # a worker takes seconds to start: meanwhile, the data
            events_at(vendor, total)
            source = make_source(vendor, page_limit=page)
            starting.result()
            source_poll_task.delay(source.pk)
            wait_for(
                lambda: source.cursors.filter(events_ingested__gte=3 * page).exists(), timeout=40, describe=first.output
            )
        finally:
            first.kill()  # SIGKILL, mid-backfill: a page may be half stored in an open transaction
        starting = pool.submit(second.start)

        cursor = cursor_of(source)
        assert 0 < cursor.events_ingested < total and not cursor.backfill_done
        assert pulled().count() == cursor.events_ingested  # each stored page came with its checkpoint
        assert cursor.checkpoint == max(parse_time(e["timestamp"]) for e in vendor.events()[: cursor.events_ingested])
        source.refresh_from_db()
        assert source.lease_owner  # the dead poll's lease: nobody polls the source until it lapses
        wait_for(lambda: sources_due() == [source.pk], timeout=10)

        try:
            starting.result()
            sources_poll_due_task.delay()  # as beat does
            wait_for(
                lambda: cursor_of(source).backfill_done and not Source.objects.get(pk=source.pk).lease_owner,
                timeout=40,
                describe=second.output,
            )
        finally:
            second.stop()
        assert_every_event_once(source, vendor)
        assert pulled().count() == total
        assert_recovered(source)


def test_a_stored_key_that_cannot_be_decrypted_fails_the_poll_and_frees_the_lease(vendor):
    """E.g. after ALERTSITE_ENCRYPTION_KEY changed without keeping the old one: a failure to see, not a crash."""
    from alertsite.crypto import ENCRYPTED

    events_at(vendor, 10)
    source = make_source(vendor)
    Source.objects.filter(pk=source.pk).update(config={**source.config, "api_key": {ENCRYPTED: "not-a-fernet-token"}})
    result = poll(source)
    assert "cannot be decrypted" in result.error
    source.refresh_from_db()
    assert "cannot be decrypted" in source.last_error and source.consecutive_failures == 1
    assert (source.lease_owner, source.lease_until) == ("", None) and vendor.requests == []
    source_update(source=source, data={"config": {"api_key": KEY}}, actor=None)
    poll_until_done(source)
    assert_every_event_once(source, vendor)
    assert_recovered(source)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_edit_during_a_poll_stops_that_poll_and_the_next_uses_the_new_config(vendor):
    """An earlier start time resets the cursors: the running poll must not write its old checkpoint back."""
    events_at(vendor, 600)  # from START + 1 min, one a second
    source = make_source(vendor, start_time=(START + timedelta(minutes=5)).isoformat())
    vendor.page_delay = 0.3
    with ThreadPoolExecutor(max_workers=1) as pool:

        def running_poll():
            try:
                return poll(source, manual=False)
            finally:
                connection.close()

        running = pool.submit(running_poll)
        wait_for(lambda: source.cursors.filter(events_ingested__gt=0).exists(), timeout=10)
        source_update(source=source, data={"config": {"start_time": START.isoformat()}}, actor=None)
        result = running.result(timeout=30)
    assert "The source was changed" in result.error
    vendor.page_delay = 0
    [result] = poll_until_done(source)
    assert result.error is None
    assert_every_event_once(source, vendor)
    assert_recovered(source)


def test_a_long_backfill_of_one_organisation_does_not_starve_the_others(vendor):
    """Each run stops at its deadline; caught-up organisations go first, then the one furthest behind."""
    events_at(vendor, 20, start=START + timedelta(hours=2), org="org-b")
    source = make_source(vendor, org_ids=["org-b"])
    poll_until_done(source)
    events_at(vendor, 500, org="org-a")  # an organisation added later: a backfill of 5 pages
    source_update(source=source, data={"config": {"org_ids": ["org-a", "org-b"]}}, actor=None)
    late_b = events_at(vendor, 3, start=START + timedelta(hours=3), org="org-b")
    result = source_poll(source.pk, max_seconds=0, manual=True)  # one page of the backfill, at most
    assert result.more and result.error is None
    assert set(stored_ids()) >= {e["id"] for e in late_b}  # org-b's news did not wait for org-a's backfill
    poll_until_done(source)
    assert_every_event_once(source, vendor, orgs=["org-a", "org-b"])


def test_a_failing_source_stays_failing_through_other_failures_until_a_poll_succeeds(vendor):
    """insights_source_failed once when it starts failing, insights_source_recovered once when it recovers."""
    events_at(vendor, 20)
    source = make_source(vendor)
    vendor.fail_next("401")
    vendor.fail_next("503")  # "Poll now" after the stop meets a passing outage
    vendor.fail_next("401")
    for _ in range(3):
        assert poll(source).error
        source.refresh_from_db()
        assert source.state == "failing" and source.failing
    assert audit("insights_source_failed").count() == 1 and not audit("insights_source_recovered").exists()
    poll_until_done(source)
    assert_every_event_once(source, vendor)
    assert_recovered(source)
    assert audit("insights_source_failed").count() == 1 and audit("insights_source_recovered").count() == 1


def test_a_row_dated_in_the_future_does_not_move_the_checkpoint_past_now(vendor):
    """A vendor clock gone wrong (or one bad row) must not make every later poll start in the future."""
    events_at(vendor, 50)
    events_at(vendor, 1, start=timezone.now() + timedelta(days=3650))
    source = make_source(vendor)
    poll_until_done(source)
    assert cursor_of(source).checkpoint <= timezone.now()
    fresh = events_at(vendor, 5, start=timezone.now())  # what the vendor logs next
    [result] = poll_until_done(source)
    assert result.accepted == 5
    assert sorted(stored_ids()) == sorted(e["id"] for e in vendor.events())
    assert cursor_of(source).checkpoint <= timezone.now() and set(stored_ids()) >= {e["id"] for e in fresh}
