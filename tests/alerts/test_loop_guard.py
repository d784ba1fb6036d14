"""Causal depth: rules may watch alert activity, but alert -> audit event -> alert stops after one step."""

from __future__ import annotations

import orjson
import pytest

from alerts.models import Alert
from alerts.services import alert_acknowledge
from events.models import AuditEvent, PendingEvaluation
from rules.evaluation import events_evaluate
from rules.models import RuleMatch
from rules.services import rule_create
from rules.tasks import evaluation_sweep_task
from tests.factories import make_event

pytestmark = pytest.mark.django_db

FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}
WATCH_CREATED = {
    "name": "Watch new alerts",
    "priority": "low",
    "conditions": [
        {"event_type": "alert_created", "filters": [{"key": "service", "operator": "eq", "value": "alerts"}]}
    ],
}
WATCH_STATUS = {
    "name": "Watch alert status",
    "priority": "low",
    "conditions": [
        {"event_type": "alert_status_updated", "filters": [{"key": "service", "operator": "eq", "value": "alerts"}]}
    ],
}


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """Run whatever a block's commit sets off, including what those callbacks set off in turn."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def ingest(ingest_client, run_commits):
    def post(*events: dict) -> None:
        with run_commits():
            response = ingest_client.post(
                "/api/v1/events", data=orjson.dumps(list(events)), content_type="application/json"
            )
        assert response.status_code == 202, response.content

    return post


def created_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type="alert_created").order_by("pk"))


def test_rule_watching_alert_created_raises_one_alert_and_the_chain_stops(ingest):
    outside = rule_create(data=FAILED_LOGINS, actor=None)
    watcher = rule_create(data=WATCH_CREATED, actor=None)
    ingest(make_event(id="outside"))
    first, second = Alert.objects.order_by("pk")
    assert (first.rule_id, first.causal_depth, first.event.event_id) == (outside.pk, 0, "outside")
    assert (second.rule_id, second.causal_depth) == (watcher.pk, 1)
    created = created_events()
    assert [(e.payload["resource"]["id"], e.causal_depth) for e in created] == [
        (str(first.pk), 1),
        (str(second.pk), 2),
    ]
    assert second.event_id == created[0].pk  # B was raised by A's alert_created event
    assert Alert.objects.count() == 2
    watcher.refresh_from_db()
    assert (watcher.alert_count, watcher.match_count) == (1, 1)


def test_depth_two_event_is_stored_as_already_evaluated_and_never_matched(ingest):
    rule_create(data=FAILED_LOGINS, actor=None)
    watcher = rule_create(data=WATCH_CREATED, actor=None)
    ingest(make_event(id="outside"))
    deep = created_events()[-1]
    assert deep.causal_depth == 2
    assert not PendingEvaluation.objects.filter(event=deep).exists()  # never pending: no evaluation run
    assert not RuleMatch.objects.filter(event=deep).exists()
    assert RuleMatch.objects.filter(rule=watcher).count() == 1


def test_depth_two_event_is_skipped_by_later_evaluation_runs_too(ingest, run_commits):
    rule_create(data=FAILED_LOGINS, actor=None)
    rule_create(data=WATCH_CREATED, actor=None)
    ingest(make_event(id="outside"))
    deep = created_events()[-1]
    with run_commits():
        assert events_evaluate(event_pks=[deep.pk]).events == 0
        evaluation_sweep_task.apply()
    assert Alert.objects.count() == 2
    assert not RuleMatch.objects.filter(event=deep).exists()


def test_every_outside_event_gets_exactly_one_watcher_alert(ingest):
    outside = rule_create(data=FAILED_LOGINS, actor=None)
    watcher = rule_create(data=WATCH_CREATED, actor=None)
    ingest(make_event(id="one"), make_event(id="two"), make_event(id="three"))
    assert Alert.objects.filter(rule=outside).count() == 3
    assert Alert.objects.filter(rule=watcher).count() == 3
    assert Alert.objects.count() == 6
    assert sorted(e.causal_depth for e in created_events()) == [1, 1, 1, 2, 2, 2]


def test_rule_watching_status_updates_raises_one_alert_per_outside_alert_move(ingest, run_commits, make_user):
    outside = rule_create(data=FAILED_LOGINS, actor=None)
    watcher = rule_create(data=WATCH_STATUS, actor=None)
    responder = make_user("responder")
    ingest(make_event(id="outside"))
    original = Alert.objects.get()
    with run_commits():
        alert_acknowledge(alert=original, actor=responder, note="on it")
    raised = Alert.objects.get(rule=watcher)
    assert raised.causal_depth == 1
    assert raised.event.event_type == "alert_status_updated"
    assert raised.event.causal_depth == 1
    with run_commits():
        alert_acknowledge(alert=raised, actor=responder)  # its status event has depth 2: not evaluated
    deep = AuditEvent.objects.filter(event_type="alert_status_updated").order_by("pk").last()
    assert deep.causal_depth == 2
    assert not PendingEvaluation.objects.filter(event=deep).exists()
    assert Alert.objects.filter(rule=outside).count() == 1
    assert Alert.objects.filter(rule=watcher).count() == 1
    assert Alert.objects.count() == 2


def test_both_watchers_together_still_stop_after_one_step(ingest, run_commits, make_user):
    rule_create(data=FAILED_LOGINS, actor=None)
    on_created = rule_create(data=WATCH_CREATED, actor=None)
    on_status = rule_create(data=WATCH_STATUS, actor=None)
    responder = make_user("responder")
    ingest(make_event(id="outside"))
    assert Alert.objects.count() == 2  # the outside alert and the one watching its creation
    for alert in list(Alert.objects.order_by("pk")):
        with run_commits():
            alert_acknowledge(alert=alert, actor=responder)
    # Only acknowledging the outside alert (depth 0) is evaluated; the watcher's alert is depth 1.
    assert Alert.objects.filter(rule=on_status).count() == 1
    assert Alert.objects.filter(rule=on_created).count() == 1
    assert Alert.objects.count() == 3
    assert not PendingEvaluation.objects.filter(event__causal_depth__gte=2).exists()
    assert not RuleMatch.objects.filter(event__causal_depth__gte=2).exists()


def test_notes_and_assignment_on_a_watcher_alert_are_not_evaluated(ingest, run_commits, make_user):
    from alerts.services import alert_assign, alert_note_add

    rule_create(data=FAILED_LOGINS, actor=None)
    watcher = rule_create(data=WATCH_CREATED, actor=None)
    rule_create(
        data={
            "name": "Watch alert edits",
            "conditions": [
                {"event_type": "alert_updated", "filters": [{"key": "service", "operator": "eq", "value": "alerts"}]}
            ],
        },
        actor=None,
    )
    responder = make_user("responder")
    ingest(make_event(id="outside"))
    raised = Alert.objects.get(rule=watcher)
    with run_commits():
        alert_note_add(alert=raised, author=responder, text="looked")
        alert_assign(alert=raised, assignee=responder, actor=responder)
    updates = AuditEvent.objects.filter(event_type="alert_updated")
    assert sorted(e.causal_depth for e in updates) == [2, 2]
    assert Alert.objects.count() == 2
