"""Property (issue 16): for random event streams, evaluating live in random batch sizes raises the
same alerts as `detection_replay` over the stream in timestamp order, for both kinds.

Arrival is shuffled: batches are cut at random, events of different keys overtake each other
across batches, and inside a batch any order goes. Events of one key (one user's values, one
admin's steps) arrive in event-time order across batches here; one key's events overtaking
each other are tests/rules/test_detections_late_arrival.py, two workers at once
tests/rules/test_detections_two_workers.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import services as event_services
from rules.detections import detection_replay
from rules.evaluation import events_evaluate
from tests.rules.detection_streams import (
    BASE,
    COUNTRIES,
    LOGIN_CONDITIONS,
    NEW_VALUE,
    OVERLAPPING,
    OVERLAPPING_CONDITIONS,
    SEQUENCE,
    STEP_CONDITIONS,
    STEP_TYPES,
    USERS,
    admin_of,
    arrival_in_key_order,
    as_detected,
    attempt,
    attempt_positions,
    clean_slate,
    ingest_in_time_order,
    live_alerts,
    login,
    setup_rule,
    step,
    value_of,
)

pytestmark = pytest.mark.django_db

# (user, country, hour) for logins: four days, so values expire and come back after history_days.
logins = st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(COUNTRIES), st.integers(0, 96)), max_size=25)
# (admin, step, minute) for sequences: an hour, so windows of 10 minutes open, close and overlap.
steps = st.lists(st.tuples(st.sampled_from(USERS), st.integers(0, 1), st.integers(0, 60)), max_size=25)
# (user, success, minute) for "two failures then a success": one user's attempts over an hour
# and a half, mostly failures, so partial sequences keep expiring while later failures start new ones.
attempts = st.lists(
    st.tuples(st.sampled_from(USERS[:1]), st.sampled_from([False, False, True]), st.integers(0, 90)),
    min_size=20,
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=logins, data=st.data())
def test_new_value_live_in_random_batches_equals_replay(stream, data, monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    rule = setup_rule("New values", LOGIN_CONDITIONS, NEW_VALUE)
    clean_slate()
    ordered = sorted(stream, key=lambda item: item[2])
    events = ingest_in_time_order(
        [login(n, user, country, BASE + timedelta(hours=hour)) for n, (user, country, hour) in enumerate(ordered)]
    )
    for batch in arrival_in_key_order(data, events, value_of):
        events_evaluate(event_pks=batch)
    replayed = detection_replay(NEW_VALUE, as_detected(events, lambda e: frozenset({0})))
    assert live_alerts(rule) == sorted(decision.event_pks for decision in replayed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=steps, data=st.data())
def test_sequence_live_in_random_batches_equals_replay(stream, data, monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    rule = setup_rule("Sequences", STEP_CONDITIONS, SEQUENCE)
    clean_slate()
    ordered = sorted(stream, key=lambda item: item[2])
    events = ingest_in_time_order(
        [step(n, user, index, BASE + timedelta(minutes=minute)) for n, (user, index, minute) in enumerate(ordered)]
    )
    for batch in arrival_in_key_order(data, events, admin_of):
        events_evaluate(event_pks=batch)
    replayed = detection_replay(SEQUENCE, as_detected(events, lambda e: frozenset({STEP_TYPES.index(e.event_type)})))
    assert live_alerts(rule) == sorted(decision.event_pks for decision in replayed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=attempts, data=st.data())
def test_sequence_of_steps_matching_one_event_live_in_random_batches_equals_replay(stream, data, monkeypatch):
    """A failure is both step 1 and step 2; which one it is depends on the partial sequences
    before it, also those that expired since, so each batch must resume them as they stood."""
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    rule = setup_rule("Overlapping steps", OVERLAPPING_CONDITIONS, OVERLAPPING)
    clean_slate()
    ordered = sorted(stream, key=lambda item: item[2])
    events = ingest_in_time_order(
        [attempt(n, user, ok, BASE + timedelta(minutes=minute)) for n, (user, ok, minute) in enumerate(ordered)]
    )
    for batch in arrival_in_key_order(data, events, admin_of):
        events_evaluate(event_pks=batch)
    replayed = detection_replay(OVERLAPPING, as_detected(events, attempt_positions))
    assert live_alerts(rule) == sorted(decision.event_pks for decision in replayed)
