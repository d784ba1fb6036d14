"""The pure detections (api.md section 12): replay in event-time order and explanations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rules.detections import DetectionEvent, detection_explain, detection_replay

T0 = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
NEW_COUNTRY = {"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"], "history_days": 30}
TOTP_THEN_PASSWORD = {"type": "sequence", "steps": [0, 1], "by": ["initiated_by.email"], "within_minutes": 10}
LABELS = ("TOTP disabled", "password changed")


def login(
    pk: int, minutes: float, *, email: str | None = "alice@example.com", country: str | None = "DE"
) -> DetectionEvent:
    payload: dict[str, Any] = {"event_type": "user_login_attempt"}
    if email is not None:
        payload["initiated_by"] = {"email": email}
    if country is not None:
        payload["geoip"] = {"country_code": country}
    return DetectionEvent(pk, T0 + timedelta(minutes=minutes), payload, frozenset({0}))


def step(pk: int, minutes: float, condition: int, *, email: str | None = "alice@example.com") -> DetectionEvent:
    event_type = ["admin_totp_disable", "admin_password_change"][condition]
    payload: dict[str, Any] = {"event_type": event_type}
    if email is not None:
        payload["initiated_by"] = {"email": email}
    return DetectionEvent(pk, T0 + timedelta(minutes=minutes), payload, frozenset({condition}))


def fired(detection: dict, events: list[DetectionEvent], **kwargs: Any) -> list[tuple[int, ...]]:
    return [decision.event_pks for decision in detection_replay(detection, events, **kwargs)]


# -- new_value ------------------------------------------------------------------------------------


def test_new_value_fires_on_the_first_event_of_a_combination_only():
    events = [login(1, 0), login(2, 1), login(3, 2, country="FR"), login(4, 3, country="FR")]
    assert fired(NEW_COUNTRY, events) == [(1,), (3,)]


def test_new_value_an_event_lacking_a_field_does_not_count():
    assert fired(NEW_COUNTRY, [login(1, 0, country=None), login(2, 1, email=None)]) == []


def test_new_value_compares_strings_ignoring_case():
    assert fired(NEW_COUNTRY, [login(1, 0), login(2, 1, email="ALICE@example.com", country="de")]) == [(1,)]


def test_new_value_history_primes_and_never_fires():
    assert fired(NEW_COUNTRY, [login(2, 60)], history=[login(1, 0)]) == []


def test_new_value_counts_again_after_history_days_without_it():
    days = 30 * 24 * 60
    assert fired(NEW_COUNTRY, [login(1, 0), login(2, days), login(3, 2 * days + 1)]) == [(1,), (3,)]


def test_new_value_replays_in_event_time_order_whatever_the_input_order():
    assert fired(NEW_COUNTRY, [login(2, 5), login(1, 0)]) == [(1,)]


def test_new_value_explanation_names_the_new_values():
    (decision,) = detection_replay(NEW_COUNTRY, [login(1, 0)])
    assert decision.explanation == "first time in 30 days: alice@example.com, DE"
    assert decision.event_pk == 1


def test_new_value_explain_says_when_it_was_seen_before():
    counts, why = detection_explain(NEW_COUNTRY, login(2, 60), history=[login(1, 0)])
    assert not counts
    assert why == "seen before at 2026-12-07 10:00:00: alice@example.com, DE"


def test_new_value_explain_says_which_field_is_missing():
    counts, why = detection_explain(NEW_COUNTRY, login(1, 0, country=None))
    assert not counts and "geoip.country_code" in why


def test_new_value_explicit_path_reads_the_path():
    detection = {"type": "new_value", "fields": ["$.geoip.country_code"], "history_days": 1}
    assert fired(detection, [login(1, 0), login(2, 1, country="FR"), login(3, 2)]) == [(1,), (2,)]


# -- sequence -------------------------------------------------------------------------------------


def test_sequence_fires_when_the_steps_come_in_order_within_the_window():
    assert fired(TOTP_THEN_PASSWORD, [step(1, 0, 0), step(2, 4, 1)]) == [(1, 2)]


def test_sequence_does_not_fire_out_of_order_in_event_time():
    assert fired(TOTP_THEN_PASSWORD, [step(1, 0, 1), step(2, 4, 0)]) == []


def test_sequence_does_not_fire_outside_the_window():
    assert fired(TOTP_THEN_PASSWORD, [step(1, 0, 0), step(2, 10.5, 1)]) == []


def test_sequence_window_counts_from_the_first_step_inclusive():
    assert fired(TOTP_THEN_PASSWORD, [step(1, 0, 0), step(2, 10, 1)]) == [(1, 2)]


def test_sequence_needs_the_same_by_values():
    assert fired(TOTP_THEN_PASSWORD, [step(1, 0, 0), step(2, 1, 1, email="bob@example.com")]) == []


def test_sequence_by_values_ignore_case():
    assert fired(TOTP_THEN_PASSWORD, [step(1, 0, 0), step(2, 1, 1, email="Alice@Example.com")]) == [(1, 2)]


def test_sequence_an_event_lacking_a_by_field_is_no_step():
    assert fired(TOTP_THEN_PASSWORD, [step(1, 0, 0, email=None), step(2, 1, 1, email=None)]) == []


def test_a_completed_sequence_fires_once_and_consumes_its_steps():
    events = [step(1, 0, 0), step(2, 1, 1), step(3, 2, 1)]
    assert fired(TOTP_THEN_PASSWORD, events) == [(1, 2)]


def test_each_first_step_completes_at_most_once_oldest_first():
    events = [step(1, 0, 0), step(2, 1, 0), step(3, 2, 1), step(4, 3, 1)]
    assert fired(TOTP_THEN_PASSWORD, events) == [(1, 3), (2, 4)]


def test_an_expired_first_step_gives_way_to_a_newer_one():
    events = [step(1, 0, 0), step(2, 8, 0), step(3, 12, 1)]
    assert fired(TOTP_THEN_PASSWORD, events) == [(2, 3)]


def test_sequence_of_three_steps():
    detection = {"type": "sequence", "steps": [1, 0, 2], "by": [], "within_minutes": 60}
    events = [
        DetectionEvent(1, T0, {}, frozenset({1})),
        DetectionEvent(2, T0 + timedelta(minutes=1), {}, frozenset({2})),  # step 3 too early: ignored
        DetectionEvent(3, T0 + timedelta(minutes=2), {}, frozenset({0})),
        DetectionEvent(4, T0 + timedelta(minutes=3), {}, frozenset({2})),
    ]
    assert fired(detection, events) == [(1, 3, 4)]


def test_sequence_history_primes_a_partial_sequence():
    assert fired(TOTP_THEN_PASSWORD, [step(2, 3, 1)], history=[step(1, 0, 0)]) == [(1, 2)]


def test_sequence_decision_is_the_last_step_with_every_step_and_the_words():
    (decision,) = detection_replay(TOTP_THEN_PASSWORD, [step(1, 0.05, 0), step(2, 4 + 1 / 6, 1)], step_labels=LABELS)
    assert decision.event_pk == 2
    assert decision.event_pks == (1, 2)
    assert (
        decision.explanation == "step 1 (TOTP disabled) at 2026-12-07 10:00:03, step 2 (password changed) at 10:04:10"
    )


def test_sequence_explanation_defaults_to_the_event_types():
    (decision,) = detection_replay(TOTP_THEN_PASSWORD, [step(1, 0, 0), step(2, 1, 1)])
    assert decision.explanation.startswith("step 1 (admin_totp_disable) at ")


def test_sequence_explain_waits_for_the_first_step():
    counts, why = detection_explain(TOTP_THEN_PASSWORD, step(2, 0, 1), step_labels=LABELS)
    assert not counts
    assert why == "waiting for step 1 (TOTP disabled) within 10 minutes"


def test_sequence_explain_a_first_step_waits_for_the_next():
    counts, why = detection_explain(TOTP_THEN_PASSWORD, step(1, 0, 0), step_labels=LABELS)
    assert not counts
    assert why == "step 1 of 2; waiting for step 2 (password changed) within 10 minutes"


def test_sequence_explain_completes_with_history():
    counts, why = detection_explain(TOTP_THEN_PASSWORD, step(2, 5, 1), history=[step(1, 0, 0)], step_labels=LABELS)
    assert counts
    assert why.startswith("step 1 (TOTP disabled) at 2026-12-07 10:00:00, step 2 (password changed)")
