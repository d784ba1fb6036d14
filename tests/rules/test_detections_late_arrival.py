"""Property (issue 16): events arriving late, inside the sweep window, are decided as documented.

Every event arrives up to ALERTSITE_DETECTION_LATE_MINUTES after its timestamp, so one key's
events overtake each other across batches whenever they lie closer than that. The live path
decides each batch as the replay of its events after what earlier batches left
(`arrival_replay`: README "Detections", "Live decisions are final"); against the replay of the
whole stream in timestamp order (the preview) that means:

- a key whose events did not overtake each other gets exactly the replay's alerts;
- new_value: each value the replay finds new raises its alert, on the first of its events to
  arrive (not two: no two alerts of one value lie within `history_days`); an alert the replay
  does not raise comes only from an event that an earlier event, arriving after it, shows was
  a repeat: a decision already made is not taken back;
- sequence: a late step joins the key's step events no alert has used, in event-time order
  (a late step 1 completes a stored step 2, once); no event is in two alerts.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from events import services as event_services
from rules.detections import DetectionEvent, detection_replay
from rules.detections.base import event_order
from rules.detections.new_value import history_span, is_new
from rules.detections.sequence import window
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
    Batches,
    Key,
    admin_of,
    arrival_late,
    arrival_replay,
    as_detected,
    attempt,
    attempt_positions,
    by_key,
    clean_slate,
    ingest_in_time_order,
    live_alerts,
    login,
    setup_rule,
    step,
    value_of,
)

pytestmark = pytest.mark.django_db

LATE = timedelta(minutes=django_settings.ALERTSITE_DETECTION_LATE_MINUTES)
# (user, country, day, minute): hour-long bursts about a day apart (23.5 hours plus the minutes),
# so with history_days 1 a value sometimes comes back new and sometimes is a repeat, and events
# of one burst overtake each other.
logins = st.lists(
    st.tuples(st.sampled_from(USERS[:2]), st.sampled_from(COUNTRIES[:2]), st.integers(0, 2), st.integers(0, 60)),
    max_size=25,
)
steps = st.lists(st.tuples(st.sampled_from(USERS[:2]), st.integers(0, 1), st.integers(0, 60)), max_size=25)
attempts = st.lists(st.tuples(st.sampled_from([False, False, True]), st.integers(0, 90)), min_size=10, max_size=30)
examples = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def in_key_order(batches: Batches, events: list[DetectionEvent], key: Key, key_of) -> bool:
    """Whether the key's events arrived in event-time order (none overtook another)."""
    order = {event.pk: event_order(event) for event in events if key_of(event) == key}
    arrived = [order[pk] for batch in batches for pk in sorted(batch, key=lambda pk: order.get(pk, ())) if pk in order]
    return arrived == sorted(arrived)


def check_keys_in_order_equal_replay(batches, events, live, replayed, key_of) -> None:
    """Keys whose events did not overtake each other: exactly the replay's alerts."""
    by_pk = {event.pk: event for event in events}
    live_by_key = by_key(live, lambda pk: key_of(by_pk[pk]))
    replay_by_key = by_key(replayed, lambda pk: key_of(by_pk[pk]))
    for key in {key_of(event) for event in events}:
        if in_key_order(batches, events, key, key_of):
            assert live_by_key.get(key, ()) == replay_by_key.get(key, ()), key


def aim_at_differences(batches, events, live, replayed, key_of) -> None:
    """Steer Hypothesis towards overtaking keys and alerts the replay does not raise."""
    target(sum(not in_key_order(batches, events, key, key_of) for key in {key_of(e) for e in events}), label="late")
    target(len(set(live) ^ set(replayed)), label="differences")


@examples
@given(stream=logins, data=st.data())
def test_new_value_late_events_raise_each_new_value_once_on_its_first_arrival(stream, data, monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    rule = setup_rule("New values, late", LOGIN_CONDITIONS, NEW_VALUE)
    clean_slate()
    times = sorted(
        (BASE + day * timedelta(hours=23, minutes=30) + timedelta(minutes=m), user, country)
        for user, country, day, m in stream
    )
    stored = ingest_in_time_order([login(n, user, country, at) for n, (at, user, country) in enumerate(times)])
    batches = arrival_late(data, stored, late=LATE)
    for batch in batches:
        events_evaluate(event_pks=batch)
    events = as_detected(stored, lambda e: frozenset({0}))
    by_pk = {event.pk: event for event in events}
    detected = [[by_pk[pk] for pk in batch] for batch in batches]
    live = live_alerts(rule)
    assert live == sorted(d.event_pks for d in arrival_replay(NEW_VALUE, detected))
    replayed = [d.event_pks for d in detection_replay(NEW_VALUE, events)]
    check_keys_in_order_equal_replay(batches, events, live, replayed, value_of)
    aim_at_differences(batches, events, live, replayed, value_of)

    span = history_span(NEW_VALUE)
    arrival = {pk: (n, event_order(by_pk[pk])) for n, batch in enumerate(batches) for pk in batch}
    fired = {pks[0] for pks in live}
    runs: dict[Key, list[DetectionEvent]] = defaultdict(list)
    for event in sorted(events, key=event_order):
        runs[value_of(event)].append(event)
    for key, run in runs.items():
        # The replay's episodes: each starts with an event it finds new and lasts while repeats follow.
        episodes: list[list[DetectionEvent]] = []
        for event in run:
            if not episodes or is_new(episodes[-1][-1].timestamp, event.timestamp, span):
                episodes.append([])
            episodes[-1].append(event)
        for episode in episodes:
            assert min(episode, key=lambda e: arrival[e.pk]).pk in fired, (key, "episode without its alert")
        alerted = sorted((by_pk[pk] for pk in fired if value_of(by_pk[pk]) == key), key=event_order)
        for earlier, later in itertools.pairwise(alerted):
            assert later.timestamp - earlier.timestamp > span, (key, "two alerts within history_days")
        firsts = {min(episode, key=lambda e: arrival[e.pk]).pk for episode in episodes}
        for event in alerted:
            if event.pk not in firsts:  # fired, then an earlier repeat arrived and showed it was not new
                assert any(
                    arrival[other.pk] > arrival[event.pk]
                    and event.timestamp - span <= other.timestamp < event.timestamp
                    for other in run
                ), (key, "an alert the replay does not raise, with no late event to explain it")


@examples
@given(stream=steps, data=st.data())
def test_sequence_late_steps_complete_with_the_steps_no_alert_used(stream, data, monkeypatch):
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    rule = setup_rule("Sequences, late", STEP_CONDITIONS, SEQUENCE)
    clean_slate()
    ordered = sorted(stream, key=lambda item: item[2])
    stored = ingest_in_time_order(
        [step(n, user, index, BASE + timedelta(minutes=minute)) for n, (user, index, minute) in enumerate(ordered)]
    )
    batches = arrival_late(data, stored, late=LATE)
    for batch in batches:
        events_evaluate(event_pks=batch)
    events = as_detected(stored, lambda e: frozenset({STEP_TYPES.index(e.event_type)}))
    by_pk = {event.pk: event for event in events}
    detected = [[by_pk[pk] for pk in batch] for batch in batches]
    live = live_alerts(rule)
    assert live == sorted(d.event_pks for d in arrival_replay(SEQUENCE, detected))
    replayed = [d.event_pks for d in detection_replay(SEQUENCE, events)]
    check_keys_in_order_equal_replay(batches, events, live, replayed, admin_of)
    aim_at_differences(batches, events, live, replayed, admin_of)
    # With two steps the replay's pairing (each step 2 takes the oldest waiting step 1) is a
    # largest one, so an alert already raised can only leave a late step without a partner.
    assert len(live) <= len(replayed)

    used = [pk for pks in live for pk in pks]
    assert len(used) == len(set(used)), "an event in two alerts"
    for first, last in live:
        assert 0 in by_pk[first].positions and 1 in by_pk[last].positions
        assert admin_of(by_pk[first]) == admin_of(by_pk[last])
        assert timedelta(0) <= by_pk[last].timestamp - by_pk[first].timestamp <= window(SEQUENCE)


def check_sequences(live, by_pk, detection) -> None:
    """No event in two alerts; each alert is the steps in order, of one key, within the window."""
    used = [pk for pks in live for pk in pks]
    assert len(used) == len(set(used)), "an event in two alerts"
    for pks in live:
        chain = [by_pk[pk] for pk in pks]
        assert all(step in event.positions for step, event in zip(detection["steps"], chain, strict=True))
        assert chain == sorted(chain, key=event_order)
        assert len({admin_of(event) for event in chain}) == 1
        assert chain[-1].timestamp - chain[0].timestamp <= window(detection)


@examples
@given(stream=attempts, data=st.data())
def test_sequence_of_steps_matching_one_event_late_completes_valid_sequences(stream, data, monkeypatch):
    """ "Two failures then a success" with failures arriving late: a late failure can move the
    stored ones after it into other partial sequences (recorded with them); every alert is still
    a valid sequence, no event is in two, and without overtaking it is the replay's."""
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    rule = setup_rule("Overlapping steps, late", OVERLAPPING_CONDITIONS, OVERLAPPING)
    clean_slate()
    ordered = sorted(stream, key=lambda item: item[1])
    stored = ingest_in_time_order(
        [attempt(n, USERS[0], ok, BASE + timedelta(minutes=minute)) for n, (ok, minute) in enumerate(ordered)]
    )
    batches = arrival_late(data, stored, late=LATE)
    for batch in batches:
        events_evaluate(event_pks=batch)
    events = as_detected(stored, attempt_positions)
    live = live_alerts(rule)
    replayed = [d.event_pks for d in detection_replay(OVERLAPPING, events)]
    check_keys_in_order_equal_replay(batches, events, live, replayed, admin_of)
    aim_at_differences(batches, events, live, replayed, admin_of)
    check_sequences(live, {event.pk: event for event in events}, OVERLAPPING)


def test_a_late_step_moves_the_stored_steps_after_it_into_the_replays_sequences(monkeypatch):
    """Failures at 10:05 and 10:08 are stored as one partial sequence; a failure of 10:02 arriving
    late takes 10:05 as its second step and leaves 10:08 to start its own. The success at 10:11
    then completes 10:02, 10:05, 10:11, as the replay does (not 10:05, 10:08, 10:11)."""
    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    rule = setup_rule("Overlapping steps, moved", OVERLAPPING_CONDITIONS, OVERLAPPING)
    clean_slate()
    times = [(False, 2), (False, 5), (False, 8), (True, 11)]
    late, first, second, success = ingest_in_time_order(
        [attempt(n, USERS[0], ok, BASE + timedelta(minutes=minute)) for n, (ok, minute) in enumerate(times)]
    )
    for batch in ([first.pk, second.pk], [late.pk], [success.pk]):
        events_evaluate(event_pks=batch)
    replayed = detection_replay(OVERLAPPING, as_detected([late, first, second, success], attempt_positions))
    assert live_alerts(rule) == [d.event_pks for d in replayed] == [(late.pk, first.pk, success.pk)]
