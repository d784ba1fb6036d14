"""Snoozing a rule (api.md 10): it still records matches and raises alerts, but sends nothing until then."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert
from channels.models import Channel, Delivery
from events.models import AuditEvent
from rules.alerting import alert_policies
from rules.models import Rule, RuleMatch
from rules.selectors import rules_stamp_pinned
from rules.services import rule_create
from rules.snooze import rule_snooze, rule_snoozes_expire
from rules.tasks import rule_snoozes_expire_task
from tests.factories import make_event

pytestmark = pytest.mark.django_db

FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


@pytest.fixture
def channel() -> Channel:
    return Channel.objects.create(kind="email", name="Ops mail", config={"recipients": ["ops@example.com"]})


@pytest.fixture
def rule(channel) -> Rule:
    return rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def snooze_url(rule: Rule) -> str:
    return f"/api/v1/rules/{rule.pk}/snooze"


def rule_audit_events() -> list[dict]:
    return [e.payload for e in AuditEvent.objects.filter(event_type="alert_rule_update").order_by("pk")]


# -- the API ----------------------------------------------------------------------------


def test_admin_snoozes_a_rule_for_minutes_and_the_rule_shows_it(admin, rule):
    before = timezone.now()
    response = admin.post(snooze_url(rule), {"minutes": 60, "note": "Pen test this afternoon"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    until = Rule.objects.get(pk=rule.pk).snoozed_until
    assert before + timedelta(minutes=60) <= until <= timezone.now() + timedelta(minutes=60)
    assert body["snoozed_until"] is not None
    assert body["snoozed_by"] == {"id": admin.user.pk, "username": admin.user.username}
    assert body["snooze_note"] == "Pen test this afternoon"


def test_a_rule_snoozes_until_a_time(admin, rule):
    until = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    response = admin.post(snooze_url(rule), {"until": until.isoformat()}, format="json")
    assert response.status_code == 200, response.content
    assert Rule.objects.get(pk=rule.pk).snoozed_until == until


def test_delete_ends_the_snooze_early(admin, rule):
    admin.post(snooze_url(rule), {"minutes": 60}, format="json")
    response = admin.delete(snooze_url(rule))
    assert response.status_code == 200
    assert response.json()["snoozed_until"] is None
    assert response.json()["snoozed_by"] is None
    assert Rule.objects.get(pk=rule.pk).snoozed_until is None


def test_a_rule_that_is_not_snoozed_reads_so(admin, rule):
    body = admin.get(f"/api/v1/rules/{rule.pk}").json()
    assert (body["snoozed_until"], body["snoozed_by"], body["snooze_note"]) == (None, None, "")


@pytest.mark.parametrize("role", ["responder", "viewer"])
def test_only_admins_snooze_rules(auth_client, rule, role):
    client = auth_client(role)
    assert client.post(snooze_url(rule), {"minutes": 60}, format="json").status_code == 403
    assert client.delete(snooze_url(rule)).status_code == 403
    assert Rule.objects.get(pk=rule.pk).snoozed_until is None


def test_snoozing_needs_a_login(api_client, rule):
    assert api_client.post(snooze_url(rule), {"minutes": 60}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": -5}, "minutes"),
        ({"minutes": 30 * 24 * 60 + 1}, "minutes"),
        ({"minutes": "soon"}, "minutes"),
        ({}, "minutes"),
        ({"minutes": 60, "until": "2030-01-01T00:00:00Z"}, "until"),
        ({"until": "2020-01-01T00:00:00Z"}, "until"),
        ({"until": "yesterday"}, "until"),
        ({"until": "2030-01-01T00:00:00"}, "until"),
        ({"minutes": 60, "note": "x" * 501}, "note"),
    ],
)
def test_bad_snooze_input_is_a_400_naming_the_field(admin, rule, body, field):
    response = admin.post(snooze_url(rule), body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Rule.objects.get(pk=rule.pk).snoozed_until is None


def test_until_more_than_30_days_ahead_is_refused(admin, rule):
    until = timezone.now() + timedelta(days=30, minutes=5)
    response = admin.post(snooze_url(rule), {"until": until.isoformat()}, format="json")
    assert response.status_code == 400
    assert "until" in response.json()


# -- audit ------------------------------------------------------------------------------


def test_starting_and_ending_a_snooze_are_audit_events_by_the_admin(admin, rule):
    admin.post(snooze_url(rule), {"minutes": 60, "note": "Maintenance"}, format="json")
    admin.delete(snooze_url(rule))
    started, ended = rule_audit_events()
    assert started["initiated_by"]["username"] == admin.user.username
    assert started["resource"] == {"type": "alert_rule", "id": str(rule.pk), "name": rule.name}
    assert started["changes"][0]["field"] == "snoozed_until"
    assert started["changes"][0]["from"] is None and started["changes"][0]["to"]
    assert started["changes"][1] == {"field": "snooze_note", "from": "", "to": "Maintenance"}
    assert ended["changes"][0]["to"] is None


# -- while snoozed ---------------------------------------------------------------------


def test_a_snoozed_rules_match_raises_an_alert_but_writes_no_delivery(rule, ingest):
    rule_snooze(rule=rule, body={"minutes": 60}, actor=None)
    ingest(make_event(id="login-snoozed"))
    assert RuleMatch.objects.filter(rule=rule).count() == 1
    assert Alert.objects.filter(rule=rule).count() == 1
    assert Delivery.objects.count() == 0


def test_after_the_snooze_the_rule_notifies_again(rule, ingest):
    rule_snooze(rule=rule, body={"minutes": 60}, actor=None)
    Rule.objects.filter(pk=rule.pk).update(snoozed_until=timezone.now() - timedelta(seconds=1))
    ingest(make_event(id="login-awake"))
    assert Delivery.objects.filter(kind="alert.created").count() == 1


def test_a_snoozed_rule_that_only_notifies_sends_no_event_matched(channel, ingest):
    rule = rule_create(
        data={**FAILED_LOGINS, "generate_alerts": False, "send_notifications": True, "channels": [channel.pk]},
        actor=None,
    )
    rule_snooze(rule=rule, body={"minutes": 60}, actor=None)
    ingest(make_event(id="login-match-only"))
    assert RuleMatch.objects.filter(rule=rule).count() == 1
    assert Delivery.objects.count() == 0


def test_the_batch_reads_snoozes_with_its_policies_in_the_same_queries(rule, channel):
    others = [
        rule_create(
            data={**FAILED_LOGINS, "name": f"Copy {n}", "send_notifications": True, "channels": [channel.pk]},
            actor=None,
        )
        for n in range(5)
    ]
    rule_snooze(rule=rule, body={"minutes": 60}, actor=None)
    with CaptureQueriesContext(connection) as queries:
        policies = alert_policies([rule.pk, *(o.pk for o in others)])
    assert len(queries) == 3  # the rules stamp, the rules, their channels
    with rules_stamp_pinned(), CaptureQueriesContext(connection) as queries:
        assert alert_policies([rule.pk, *(o.pk for o in others)]) == policies
    assert len(queries) == 0  # a batch reads the stamp once, before; the rows are kept under it
    assert policies[rule.pk].snoozed and not policies[rule.pk].notifies_now
    assert not any(policies[o.pk].snoozed for o in others)


# -- the end, by time ---------------------------------------------------------------------


def test_the_expiry_job_ends_snoozes_whose_time_has_come_and_records_it(rule, admin):
    admin.post(snooze_url(rule), {"minutes": 60}, format="json")
    other = rule_create(data={**FAILED_LOGINS, "name": "Still snoozed"}, actor=None)
    rule_snooze(rule=other, body={"minutes": 120}, actor=None)
    Rule.objects.filter(pk=rule.pk).update(snoozed_until=timezone.now() - timedelta(seconds=1))

    assert rule_snoozes_expire_task.apply().get() == 1

    rule.refresh_from_db()
    assert (rule.snoozed_until, rule.snoozed_by, rule.snooze_note) == (None, None, "")
    assert Rule.objects.get(pk=other.pk).snoozed_until is not None
    ended = rule_audit_events()[-1]
    assert ended["initiated_by"] == {"type": "system", "id": "alertsite"}
    assert ended["resource"]["id"] == str(rule.pk)
    assert ended["changes"][0]["to"] is None


def test_the_expiry_job_with_nothing_due_does_nothing(rule):
    assert rule_snoozes_expire() == 0
    assert rule_audit_events() == []


def test_the_expiry_job_is_in_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"rules.tasks.rule_snoozes_expire_task", "alerts.tasks.alert_snoozes_expire_task"} <= tasks


def test_a_rule_edit_keeps_its_snooze(admin, rule):
    admin.post(snooze_url(rule), {"minutes": 60}, format="json")
    response = admin.patch(f"/api/v1/rules/{rule.pk}", {"description": "Edited"}, format="json")
    assert response.status_code == 200
    assert response.json()["snoozed_until"] is not None
