"""Snoozing an alert (api.md 10): it keeps its status, leaves the bell and the widget, and comes back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_resolve, alert_snooze, alert_snoozes_expire
from alerts.tasks import alert_snoozes_expire_task
from events.models import AuditEvent
from tests.factories import make_event

pytestmark = pytest.mark.django_db

LOGIN = make_event(event_type="user_login_attempt")


@pytest.fixture
def alert(raise_alert) -> Alert:
    return raise_alert(LOGIN)


@pytest.fixture
def responder(auth_client):
    return auth_client("responder")


def snooze_url(alert: Alert) -> str:
    return f"/api/v1/alerts/{alert.pk}/snooze"


def snooze_events(alert: Alert) -> list[dict]:
    return [
        e.payload
        for e in AuditEvent.objects.filter(event_type="alert_updated").order_by("pk")
        if e.payload["resource"]["id"] == str(alert.pk)
    ]


def expire_now(alert: Alert) -> None:
    Alert.objects.filter(pk=alert.pk).update(snoozed_until=timezone.now() - timedelta(seconds=1))


# -- the API ----------------------------------------------------------------------------


def test_a_responder_snoozes_an_alert_which_keeps_its_status(responder, alert):
    response = responder.post(snooze_url(alert), {"minutes": 240, "note": "Known noise"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "open"
    assert body["snoozed_until"] is not None
    assert body["snoozed_by"] == {"id": responder.user.pk, "username": responder.user.username}
    assert body["snooze_note"] == "Known noise"


def test_an_admin_snoozes_an_alert_until_a_time(auth_client, alert):
    until = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    response = auth_client("admin").post(snooze_url(alert), {"until": until.isoformat()}, format="json")
    assert response.status_code == 200
    assert Alert.objects.get(pk=alert.pk).snoozed_until == until


def test_a_viewer_may_not_snooze_an_alert(auth_client, alert):
    viewer = auth_client("viewer")
    assert viewer.post(snooze_url(alert), {"minutes": 60}, format="json").status_code == 403
    assert viewer.delete(snooze_url(alert)).status_code == 403


def test_delete_ends_an_alerts_snooze(responder, alert):
    responder.post(snooze_url(alert), {"minutes": 60}, format="json")
    response = responder.delete(snooze_url(alert))
    assert response.status_code == 200
    assert response.json()["snoozed_until"] is None


def test_a_resolved_alert_cannot_be_snoozed(responder, alert):
    alert_resolve(alert=alert, actor=None)
    response = responder.post(snooze_url(alert), {"minutes": 60}, format="json")
    assert response.status_code == 409
    assert "resolved" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": -1}, "minutes"),
        ({"minutes": 43201}, "minutes"),
        ({"until": "2001-01-01T00:00:00Z"}, "until"),
        ({"minutes": 5, "until": "2099-01-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_snooze_input_is_a_400_naming_the_field(responder, alert, body, field):
    response = responder.post(snooze_url(alert), body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_snoozing_is_an_audit_event_with_the_remark(responder, alert):
    responder.post(snooze_url(alert), {"minutes": 60, "note": "Known noise"}, format="json")
    event = snooze_events(alert)[-1]
    assert event["initiated_by"]["username"] == responder.user.username
    assert event["changes"][0]["field"] == "Snoozed until"
    assert event["changes"][0]["to"]
    assert event["changes"][1] == {"field": "Remark", "from": "", "to": "Known noise"}


# -- the summary, the bell ---------------------------------------------------------------


def test_the_summary_counts_a_snoozed_alert_as_snoozed_not_open(responder, raise_alert):
    snoozed, awake = raise_alert(LOGIN), raise_alert(LOGIN)
    acknowledged = raise_alert(LOGIN)
    responder.post(f"/api/v1/alerts/{acknowledged.pk}/acknowledge", {}, format="json")
    responder.post(snooze_url(snoozed), {"minutes": 60}, format="json")
    responder.post(snooze_url(acknowledged), {"minutes": 60}, format="json")
    summary = responder.get("/api/v1/alerts/summary").json()
    assert (summary["open"], summary["acknowledged"], summary["snoozed"]) == (1, 0, 2)
    assert summary["open_by_priority"]["high"] == 1
    assert summary["snoozed_by_priority"]["high"] == 2
    assert awake.pk != snoozed.pk


def test_a_snoozed_alert_leaves_the_bell(login, responder, alert):
    console = login("viewer")
    assert 'aria-label="Alerts: 1 open"' in console.get("/bell/").content.decode()
    responder.post(snooze_url(alert), {"minutes": 60}, format="json")
    assert 'aria-label="Alerts: 0 open"' in console.get("/bell/").content.decode()


def test_a_snooze_whose_time_passed_counts_as_open_before_the_job_runs(responder, alert):
    responder.post(snooze_url(alert), {"minutes": 60}, format="json")
    expire_now(alert)
    summary = responder.get("/api/v1/alerts/summary").json()
    assert (summary["open"], summary["snoozed"]) == (1, 0)
    assert responder.get(f"/api/v1/alerts/{alert.pk}").json()["snoozed_until"] is None


# -- the end of a snooze -------------------------------------------------------------------


def test_the_expiry_job_brings_the_alert_back_with_an_audit_event(responder, alert):
    responder.post(snooze_url(alert), {"minutes": 60}, format="json")
    expire_now(alert)
    assert alert_snoozes_expire_task.apply().get() == 1
    alert.refresh_from_db()
    assert (alert.snoozed_until, alert.snoozed_by, alert.snooze_note) == (None, None, "")
    assert alert.status == "open"
    ended = snooze_events(alert)[-1]
    assert ended["initiated_by"] == {"type": "system", "id": "alertsite"}
    assert ended["changes"] == [{"field": "Snoozed until", "from": ended["changes"][0]["from"], "to": ""}]


def test_the_expiry_job_calls_the_reminder_hook_for_an_unresolved_alert(monkeypatch, alert):
    reminded: list[int] = []
    monkeypatch.setattr("alerts.services.snooze.alert_snooze_ended_remind", lambda a: reminded.append(a.pk))
    alert_snooze(alert=alert, body={"minutes": 60}, actor=None)
    expire_now(alert)
    alert_snoozes_expire()
    assert reminded == [alert.pk]


def test_the_expiry_job_leaves_running_snoozes_alone(alert):
    alert_snooze(alert=alert, body={"minutes": 60}, actor=None)
    assert alert_snoozes_expire() == 0
    assert Alert.objects.get(pk=alert.pk).snoozed_until is not None


def test_resolving_a_snoozed_alert_ends_its_snooze(alert):
    alert_snooze(alert=alert, body={"minutes": 60}, actor=None)
    alert_resolve(alert=alert, actor=None)
    assert Alert.objects.get(pk=alert.pk).snoozed_until is None
    assert alert_snoozes_expire() == 0


# -- bulk -----------------------------------------------------------------------------------


def test_bulk_snooze_gives_each_alert_its_outcome(responder, raise_alert):
    first, second = raise_alert(LOGIN), raise_alert(LOGIN)
    alert_resolve(alert=second, actor=None)
    response = responder.post(
        "/api/v1/alerts/bulk", {"action": "snooze", "ids": [first.pk, second.pk, 999999], "minutes": 60}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["updated"] == [first.pk]
    assert [s["id"] for s in body["skipped"]] == [second.pk, 999999]


def test_bulk_snooze_with_bad_minutes_is_a_400(responder, alert):
    response = responder.post("/api/v1/alerts/bulk", {"action": "snooze", "ids": [alert.pk]}, format="json")
    assert response.status_code == 400
    assert "minutes" in response.json()


def test_bulk_unsnooze_ends_each_snooze(responder, alert):
    alert_snooze(alert=alert, body={"minutes": 60}, actor=None)
    response = responder.post("/api/v1/alerts/bulk", {"action": "unsnooze", "ids": [alert.pk]}, format="json")
    assert response.json()["updated"] == [alert.pk]
    assert Alert.objects.get(pk=alert.pk).snoozed_until is None


# -- the list filter --------------------------------------------------------------------------


def test_the_list_filters_snoozed_and_not_snoozed_alerts(responder, raise_alert):
    snoozed, awake = raise_alert(LOGIN), raise_alert(LOGIN)
    alert_snooze(alert=snoozed, body={"minutes": 60}, actor=None)
    only_snoozed = responder.get("/api/v1/alerts?snoozed=true").json()["results"]
    not_snoozed = responder.get("/api/v1/alerts?snoozed=false").json()["results"]
    assert [a["id"] for a in only_snoozed] == [snoozed.pk]
    assert [a["id"] for a in not_snoozed] == [awake.pk]


def test_the_bell_leads_to_the_open_alerts_that_are_not_snoozed(login, responder, raise_alert):
    snoozed, awake = raise_alert(LOGIN), raise_alert(LOGIN)
    alert_snooze(alert=snoozed, body={"minutes": 60}, actor=None)
    console = login("viewer")
    assert "?status=open&amp;snoozed=false" in console.get("/bell/").content.decode()
    page = console.get("/insights/alerts/?status=open&snoozed=false").content.decode()
    assert awake.reference in page and snoozed.reference not in page
