"""Detections on the live path (api.md section 12): ingest -> evaluation -> detection -> alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, AlertEvent
from events.models import AuditEvent
from rules.detections.learning import detections_prune
from rules.evaluation import events_evaluate
from rules.models import BackfillStatus, DetectionStep, DetectionValue, Rule, RuleMatch
from rules.services import rule_create, rule_update
from tests.factories import make_event

pytestmark = pytest.mark.django_db(transaction=False)

NOW = timezone.now().replace(microsecond=0)
NEW_COUNTRY = {"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"], "history_days": 30}
SEQUENCE = {"type": "sequence", "steps": [0, 1], "by": ["initiated_by.email"], "within_minutes": 10}


def at(minutes: float) -> str:
    return (NOW - timedelta(hours=2) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def login(event_id: str, minutes: float, *, email: str = "alice@example.com", country: str = "DE") -> dict[str, Any]:
    return make_event(
        id=event_id,
        success=True,
        timestamp=at(minutes),
        initiated_by={"type": "user", "email": email},
        geoip={"country_code": country},
    )


def admin_event(event_id: str, event_type: str, minutes: float, *, email: str = "alice@example.com") -> dict:
    return make_event(
        id=event_id,
        event_type=event_type,
        service="directory",
        timestamp=at(minutes),
        initiated_by={"type": "admin", "email": email},
        success=...,
        geoip=...,
    )


def totp_off(event_id: str, minutes: float, **kwargs: Any) -> dict:
    return admin_event(event_id, "admin_totp_disable", minutes, **kwargs)


def password(event_id: str, minutes: float, **kwargs: Any) -> dict:
    return admin_event(event_id, "admin_password_change", minutes, **kwargs)


def new_country_rule(**overrides: Any) -> Rule:
    return rule_create(
        data={
            "name": "New country",
            "priority": "high",
            "conditions": [
                {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": True}]}
            ],
            "detection": NEW_COUNTRY,
            **overrides,
        },
        actor=None,
    )


def sequence_rule(**overrides: Any) -> Rule:
    return rule_create(
        data={
            "name": "TOTP then password",
            "priority": "high",
            "conditions": [{"event_type": "admin_totp_disable"}, {"event_type": "admin_password_change"}],
            "detection": SEQUENCE,
            **overrides,
        },
        actor=None,
    )


def alert_events(alert: Alert) -> list[str]:
    links = AlertEvent.objects.filter(alert=alert).order_by("step", "event_timestamp").select_related("event")
    return [link.event.event_id for link in links]


# -- new_value ----------------------------------------------------------------------------------------


def test_new_value_rule_learns_before_it_fires(ingest, django_capture_on_commit_callbacks):
    ingest(login("old-de", 0))
    with django_capture_on_commit_callbacks(execute=True):
        rule = new_country_rule()
    rule.refresh_from_db()
    assert rule.learn_status == BackfillStatus.DONE
    assert (rule.learn_total, rule.learn_done) == (1, 1)
    ingest(login("again-de", 5), login("first-fr", 6, country="FR"), login("second-fr", 7, country="FR"))
    alerts = list(Alert.objects.filter(rule=rule))
    assert [alert.event.event_id for alert in alerts] == ["first-fr"]
    assert alerts[0].explanation == "first time in 30 days: alice@example.com, FR"
    assert RuleMatch.objects.filter(rule=rule).count() == 1


def test_new_value_over_batches_fires_once_per_value(ingest, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = new_country_rule()
    ingest(login("a", 1))
    ingest(login("b", 2), login("c", 3, email="BOB@example.com"))
    ingest(login("d", 4, email="bob@example.com"), login("e", 5))
    assert sorted(Alert.objects.filter(rule=rule).values_list("event__event_id", flat=True)) == ["a", "c"]
    assert DetectionValue.objects.filter(rule=rule).count() == 2


def test_new_value_late_event_of_a_fired_value_does_not_fire_again(ingest, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = new_country_rule()
    ingest(login("later", 10))
    ingest(login("earlier", 2))
    assert Alert.objects.filter(rule=rule).count() == 1


def test_new_value_event_lacking_a_field_does_not_count(ingest, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = new_country_rule()
    ingest(make_event(id="no-country", success=True, timestamp=at(1), geoip=...))
    assert not Alert.objects.filter(rule=rule).exists()


def test_a_learning_rule_records_values_but_fires_on_none(ingest):
    rule = new_country_rule()  # its learning task never ran (no on-commit callbacks executed)
    assert Rule.objects.get(pk=rule.pk).learn_status == BackfillStatus.QUEUED
    ingest(login("while-learning", 1))
    assert not Alert.objects.filter(rule=rule).exists()
    assert DetectionValue.objects.filter(rule=rule).count() == 1


def test_changing_the_fields_forgets_and_relearns(ingest, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = new_country_rule()
    ingest(login("a", 1))
    with django_capture_on_commit_callbacks(execute=True):
        rule_update(rule=rule, data={"detection": {**NEW_COUNTRY, "fields": ["geoip.country_code"]}}, actor=None)
    assert DetectionValue.objects.filter(rule=rule).count() == 1  # relearned from the stored event
    ingest(login("b", 2, email="bob@example.com"))
    assert Alert.objects.filter(rule=rule).count() == 1


def test_prune_drops_values_older_than_history_days(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = new_country_rule()
    old, recent = NOW - timedelta(days=31), NOW - timedelta(days=1)
    DetectionValue.objects.create(rule=rule, value_hash="a" * 40, first_seen=old, last_seen=old)
    DetectionValue.objects.create(rule=rule, value_hash="b" * 40, first_seen=recent, last_seen=recent)
    assert detections_prune(now=NOW)["values"] == 1
    assert list(DetectionValue.objects.values_list("value_hash", flat=True)) == ["b" * 40]


# -- sequence ------------------------------------------------------------------------------------------


def test_sequence_fires_once_with_every_step(ingest):
    rule = sequence_rule()
    ingest(totp_off("t1", 0))
    assert not Alert.objects.filter(rule=rule).exists()
    ingest(password("p1", 4))
    alert = Alert.objects.get(rule=rule)
    assert alert.event.event_id == "p1"
    assert alert_events(alert) == ["t1", "p1"]
    assert alert.event_count == 2
    assert alert.explanation.startswith("step 1 (admin_totp_disable) at ")
    assert ", step 2 (admin_password_change) at " in alert.explanation
    ingest(password("p2", 5))
    assert Alert.objects.filter(rule=rule).count() == 1
    assert not DetectionStep.objects.filter(rule=rule, event__event_id__in=["t1", "p1"]).exists()


def test_sequence_late_first_step_inside_the_window_still_completes_once(ingest):
    rule = sequence_rule()
    ingest(password("p1", 4))
    ingest(totp_off("t1", 0))
    alert = Alert.objects.get(rule=rule)
    assert alert.event.event_id == "p1"
    assert alert_events(alert) == ["t1", "p1"]
    ingest(totp_off("t1-again", 1))
    assert Alert.objects.filter(rule=rule).count() == 1


def test_a_step_stored_before_its_chain_was_recorded_still_completes_the_sequence(ingest):
    """Steps stored by a release that did not record their partial sequence (chain null) are fed
    again from nothing, as then."""
    rule = sequence_rule()
    ingest(totp_off("t1", 0))
    DetectionStep.objects.filter(rule=rule).update(chain=None)
    ingest(password("p1", 4))
    assert alert_events(Alert.objects.get(rule=rule)) == ["t1", "p1"]


def test_sequence_in_one_batch_out_of_order(ingest):
    rule = sequence_rule()
    ingest(password("p1", 4), totp_off("t1", 0))
    assert alert_events(Alert.objects.get(rule=rule)) == ["t1", "p1"]


def test_sequence_outside_the_window_or_other_user_does_not_fire(ingest):
    rule = sequence_rule()
    ingest(totp_off("t1", 0), password("p-late", 11), password("p-bob", 2, email="bob@example.com"))
    assert not Alert.objects.filter(rule=rule).exists()


def test_sequence_alert_api_lists_steps_in_order(ingest, auth_client):
    sequence_rule()
    ingest(totp_off("t1", 0))
    ingest(password("p1", 4))
    alert = Alert.objects.get()
    body = auth_client("viewer").get(f"/api/v1/alerts/{alert.pk}").json()
    assert body["event"]["id"] == "p1"
    assert [event["id"] for event in body["events"]] == ["t1", "p1"]
    assert body["explanation"] == alert.explanation


def test_prune_drops_expired_steps(ingest, settings):
    settings.ALERTSITE_DETECTION_LATE_MINUTES = 60
    rule = sequence_rule()
    ingest(totp_off("t-old", 0), totp_off("t-new", 100))
    assert detections_prune(now=NOW)["steps"] == 1
    assert list(DetectionStep.objects.filter(rule=rule).values_list("event__event_id", flat=True)) == ["t-new"]


def test_sequence_with_grouping_joins_the_open_alert(ingest):
    rule = sequence_rule(group_by=["initiated_by.email"], group_window_minutes=60)
    ingest(totp_off("t1", 0), password("p1", 1))
    ingest(totp_off("t2", 2), password("p2", 3))
    alert = Alert.objects.get(rule=rule)
    assert alert.event_count == 4


# -- cost per batch -------------------------------------------------------------------------------------


def _evaluate_counting(events: list[dict]) -> tuple[int, int]:
    """(statements on the detection stores, statements besides the alert rows SQLite splits) to evaluate the batch."""
    from events.services import event_batch_ingest
    from events.validation import Limits, event_validate

    limits = Limits.from_settings()
    event_batch_ingest(records=[event_validate(e, index=n, limits=limits) for n, e in enumerate(events)])  # type: ignore[arg-type]
    pks = list(AuditEvent.objects.filter(event_id__in=[e["id"] for e in events]).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        events_evaluate(event_pks=pks)
    statements = [query["sql"] for query in queries.captured_queries]
    detection = [sql for sql in statements if "rules_detection" in sql]
    split = ('INSERT INTO "alerts_alert" ', 'INSERT OR IGNORE INTO "alerts_alertevent" ')
    return len(detection), len([sql for sql in statements if not sql.startswith(split)])


def users_batch(prefix: str, size: int) -> list[dict]:
    events = []
    for n in range(size):
        email = f"{prefix}{n}@example.com"
        events += [login(f"{prefix}l{n}", n % 50, email=email), totp_off(f"{prefix}t{n}", n % 50, email=email)]
        if n % 2:
            events.append(password(f"{prefix}p{n}", n % 50 + 1, email=email))
    return events


def test_detection_statements_per_batch_do_not_grow_with_the_batch(django_capture_on_commit_callbacks, monkeypatch):
    from events import services as event_services

    monkeypatch.setattr(event_services, "events_ingested_notify", lambda pks: None)
    with django_capture_on_commit_callbacks(execute=True):
        new_country_rule()
    sequence_rule()
    _evaluate_counting(users_batch("w", 2))  # warms the per-process caches
    small = _evaluate_counting(users_batch("s", 10))
    large = _evaluate_counting(users_batch("l", 100))
    assert Alert.objects.filter(rule__name="New country").count() == 112
    assert Alert.objects.filter(rule__name="TOTP then password").count() == 1 + 5 + 50
    assert small == large, (small, large)
    assert large[0] <= 4  # values: read, upsert; steps: read, insert (a DELETE when a stored step is consumed)


# -- Existing Conditions and learning progress ------------------------------------------------------------


def test_existing_conditions_replays_stored_events_through_the_sequence(ingest, django_capture_on_commit_callbacks):
    ingest(password("p1", 4), totp_off("t1", 0), password("p-alone", 30))
    with django_capture_on_commit_callbacks(execute=True):
        rule = sequence_rule(existing_conditions=True)
    alert = Alert.objects.get(rule=rule)
    assert alert_events(alert) == ["t1", "p1"]
    assert Rule.objects.get(pk=rule.pk).backfill_status == BackfillStatus.DONE


def test_existing_conditions_of_a_new_value_rule_waits_for_learning_and_raises_nothing_learned(
    ingest, django_capture_on_commit_callbacks
):
    ingest(login("seen", 1), login("seen-too", 2, country="FR"))
    with django_capture_on_commit_callbacks(execute=True):
        rule = new_country_rule(existing_conditions=True)
    rule.refresh_from_db()
    assert (rule.learn_status, rule.backfill_status) == (BackfillStatus.DONE, BackfillStatus.DONE)
    assert not Alert.objects.filter(rule=rule).exists()


def test_api_shows_learning_progress(auth_client, ingest, django_capture_on_commit_callbacks):
    ingest(login("a", 1), login("b", 2, country="FR"), make_event(id="other", event_type="admin_create"))
    with django_capture_on_commit_callbacks(execute=True):
        rule = new_country_rule()
    body = auth_client("viewer").get(f"/api/v1/rules/{rule.pk}").json()
    assert body["learning_progress"] == {"status": "done", "total": 2, "done": 2, "error": None}
    assert body["detection"] == NEW_COUNTRY


def test_enabling_a_new_value_rule_learns_what_came_while_it_was_off(ingest, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rule = new_country_rule(enabled=False)
    assert Rule.objects.get(pk=rule.pk).learn_status == BackfillStatus.IDLE
    ingest(login("while-off", 1, country="JP"))
    with django_capture_on_commit_callbacks(execute=True):
        rule_update(rule=rule, data={"enabled": True}, actor=None)
    ingest(login("after", 2, country="JP"))
    assert not Alert.objects.filter(rule=rule).exists()


def test_a_rule_whose_stored_detection_is_broken_is_left_out_of_the_engine(ingest):
    rule = sequence_rule()
    Rule.objects.filter(pk=rule.pk).update(detection={"type": "anomaly"})
    from rules.services import rules_version_bump

    rules_version_bump()
    ingest(totp_off("t1", 0), password("p1", 1))
    assert not Alert.objects.exists()


def test_values_keep_first_and_last_seen_to_the_microsecond(ingest, django_capture_on_commit_callbacks):
    early = login("early", 1)
    early["timestamp"] = (NOW - timedelta(hours=3, microseconds=123457)).isoformat()
    late = login("late", 2)
    late["timestamp"] = (NOW - timedelta(hours=1, microseconds=987651)).isoformat()
    ingest(early, late)
    with django_capture_on_commit_callbacks(execute=True):
        rule = new_country_rule()
    value = DetectionValue.objects.get(rule=rule)
    stored = {event.event_id: event.timestamp for event in AuditEvent.objects.filter(event_id__in=["early", "late"])}
    assert (value.first_seen, value.last_seen) == (stored["early"], stored["late"])
