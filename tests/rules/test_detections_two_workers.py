"""Property (issue 16): two workers evaluating random batches at once raise the alerts of the replay.

The stream's batches go two at a time to two workers (threads with their own PostgreSQL
connection, through `events_evaluate`), which meet at a barrier after claiming so their
detections decide against each other. One key's events arrive in event-time order across
rounds, as in tests/rules/test_detections_property.py. What the live path promises:

- a key whose events no round split between the two workers gets exactly the replay's alerts;
- a key both workers saw at once is decided as if one of the two batches went first (the
  database serializes each key: the value row or the sequence's advisory lock), never as
  neither: one new value seen by both raises one alert, one sequence completes once.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import services as event_services
from rules.detections import detection_replay, live
from tests.rules.detection_streams import (
    BASE,
    COUNTRIES,
    LOGIN_CONDITIONS,
    NEW_VALUE,
    SEQUENCE,
    STEP_CONDITIONS,
    STEP_TYPES,
    USERS,
    TwoWorkers,
    admin_of,
    arrival_in_key_order,
    as_detected,
    by_key,
    clean_slate,
    ingest_in_time_order,
    live_alerts,
    login,
    rounds_of,
    serial_outcomes,
    setup_rule,
    step,
    value_of,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Few users and values, so the two workers keep meeting on the same keys.
logins = st.lists(
    st.tuples(st.sampled_from(USERS[:2]), st.sampled_from(COUNTRIES[:2]), st.integers(0, 72)), max_size=20
)
steps = st.lists(st.tuples(st.sampled_from(USERS[:2]), st.integers(0, 1), st.integers(0, 40)), max_size=20)
examples = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


def check_against_replay(rule, detection, events, rounds, key_of) -> None:
    """Per key: the replay's alerts when no round split the key, else one serial order's."""
    by_pk = {event.pk: event for event in events}
    live = by_key(live_alerts(rule), lambda pk: key_of(by_pk[pk]))
    replayed = by_key((d.event_pks for d in detection_replay(detection, events)), lambda pk: key_of(by_pk[pk]))
    for key in {key_of(event) for event in events}:
        split = any(sum(any(key_of(by_pk[pk]) == key for pk in batch) for batch in batches) > 1 for batches in rounds)
        found = live.get(key, ())
        if not split:
            assert found == replayed.get(key, ()), key
        detected = [[[by_pk[pk] for pk in batch] for batch in batches] for batches in rounds]
        assert found in serial_outcomes(detection, detected, key, key_of), (key, rounds)


@examples
@given(stream=logins, data=st.data())
def test_two_workers_raise_one_alert_per_new_value_as_the_replay(stream, data, monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    workers = TwoWorkers(monkeypatch)
    rule = setup_rule("New values, two workers", LOGIN_CONDITIONS, NEW_VALUE)
    clean_slate()
    ordered = sorted(stream, key=lambda item: item[2])
    events = ingest_in_time_order(
        [login(n, user, country, BASE + timedelta(hours=hour)) for n, (user, country, hour) in enumerate(ordered)]
    )
    rounds = rounds_of(arrival_in_key_order(data, events, value_of))
    for batches in rounds:
        workers.run(batches)
    check_against_replay(rule, NEW_VALUE, as_detected(events, lambda e: frozenset({0})), rounds, value_of)


@examples
@given(stream=steps, data=st.data())
def test_two_workers_complete_each_sequence_once_as_the_replay(stream, data, monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    workers = TwoWorkers(monkeypatch)
    rule = setup_rule("Sequences, two workers", STEP_CONDITIONS, SEQUENCE)
    clean_slate()
    ordered = sorted(stream, key=lambda item: item[2])
    events = ingest_in_time_order(
        [step(n, user, index, BASE + timedelta(minutes=minute)) for n, (user, index, minute) in enumerate(ordered)]
    )
    rounds = rounds_of(arrival_in_key_order(data, events, admin_of))
    for batches in rounds:
        workers.run(batches)
    positions = as_detected(events, lambda e: frozenset({STEP_TYPES.index(e.event_type)}))
    check_against_replay(rule, SEQUENCE, positions, rounds, admin_of)


def test_a_worker_that_loses_the_race_for_a_new_value_decides_after_the_winner(monkeypatch):
    """Both workers find alice/DE unknown; worker-0 stores it first. worker-1's 10:00 login is then
    a repeat of worker-0's 00:00 one, but its login two days later is new again and counts."""
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    workers = TwoWorkers(monkeypatch)
    write = live.values_write

    def write_second(seen, **kwargs):
        if threading.current_thread().name == "worker-1" and kwargs.get("fresh"):
            time.sleep(0.5)  # worker-0's insert goes first
        return write(seen, **kwargs)

    monkeypatch.setattr(live, "values_write", write_second)
    rule = setup_rule("New values, a race", LOGIN_CONDITIONS, NEW_VALUE)
    clean_slate()
    hours = [0, 10, 50]
    first, repeat, again = ingest_in_time_order(
        [login(n, USERS[0], "DE", BASE + timedelta(hours=hour)) for n, hour in enumerate(hours)]
    )
    workers.run([[first.pk], [repeat.pk, again.pk]])
    assert live_alerts(rule) == [(first.pk,), (again.pk,)]
