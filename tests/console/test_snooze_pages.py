"""Snooze in the console: 1 h / 4 h / 1 day / custom with a note, on rules and alerts, the badge, Unsnooze."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from django.utils import timezone

from alerts.models import Alert
from rules.models import Rule
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

FAILED_LOGINS = {"name": "Failed logins", "priority": "high", "conditions": [{"event_type": "user_login_attempt"}]}


@pytest.fixture
def rule() -> Rule:
    return rule_create(data=FAILED_LOGINS, actor=None)


@pytest.fixture
def raise_alerts(rule, auth_client, django_capture_on_commit_callbacks):
    def make(count: int) -> list[Alert]:
        events = [make_event(id=f"e{Alert.objects.count()}-{n}") for n in range(count)]
        with django_capture_on_commit_callbacks(execute=True):
            auth_client("admin").post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
        return list(Alert.objects.order_by("-pk")[:count])

    return make


def minutes_left(until) -> float:
    return (until - timezone.now()).total_seconds() / 60


@pytest.mark.parametrize(("choice", "minutes"), [("60", 60), ("240", 240), ("1440", 1440)])
def test_an_admin_snoozes_a_rule_for_a_preset_from_the_dashboard(login, rule, choice, minutes):
    response = login("admin").post(
        f"/insights/alerts/rules/{rule.pk}/snooze/",
        {"snooze": choice, "note": "Pen test", "next": "/insights/alerts/rules/"},
    )
    assert response.status_code == 302 and response["Location"] == "/insights/alerts/rules/"
    rule.refresh_from_db()
    assert minutes - 1 < minutes_left(rule.snoozed_until) <= minutes
    assert rule.snooze_note == "Pen test"


def test_a_custom_snooze_ends_at_the_chosen_utc_time(login, rule):
    until = (timezone.now() + timedelta(hours=5)).replace(second=0, microsecond=0)
    login("admin").post(
        f"/insights/alerts/rules/{rule.pk}/snooze/",
        {"snooze": "custom", "until_local": until.strftime("%Y-%m-%dT%H:%M")},
    )
    assert Rule.objects.get(pk=rule.pk).snoozed_until == until


def test_a_custom_snooze_without_a_time_says_what_is_missing(login, rule):
    response = login("admin").post(
        f"/insights/alerts/rules/{rule.pk}/snooze/", {"snooze": "custom", "until_local": ""}, follow=True
    )
    assert "Pick the date and time (UTC) the snooze ends." in response.content.decode()
    assert Rule.objects.get(pk=rule.pk).snoozed_until is None


def test_the_rules_dashboard_shows_the_snoozed_badge_and_unsnooze(login, rule):
    admin = login("admin")
    admin.post(f"/insights/alerts/rules/{rule.pk}/snooze/", {"snooze": "240"})
    page = admin.get("/insights/alerts/rules/").content.decode()
    assert 'data-testid="snoozed-badge"' in page
    assert "left</span>" in page
    assert f"/insights/alerts/rules/{rule.pk}/unsnooze/" in page
    admin.post(f"/insights/alerts/rules/{rule.pk}/unsnooze/")
    assert Rule.objects.get(pk=rule.pk).snoozed_until is None


def test_the_rule_page_offers_snooze_to_admins(login, rule):
    page = login("admin").get(f"/insights/alerts/rules/{rule.pk}/edit/").content.decode()
    assert 'data-testid="rule-snooze"' in page
    assert f"/insights/alerts/rules/{rule.pk}/snooze/" in page


def test_readers_see_the_snooze_but_cannot_snooze_rules(login, rule):
    admin = login("admin")
    admin.post(f"/insights/alerts/rules/{rule.pk}/snooze/", {"snooze": "60"})
    responder = login("responder")
    page = responder.get(f"/insights/alerts/rules/{rule.pk}/edit/").content.decode()
    assert 'data-testid="snoozed-badge"' in page
    assert f"/insights/alerts/rules/{rule.pk}/unsnooze/" not in page
    assert responder.post(f"/insights/alerts/rules/{rule.pk}/unsnooze/").status_code == 403
    assert Rule.objects.get(pk=rule.pk).snoozed_until is not None


def test_a_responder_snoozes_an_alert_from_its_page(login, raise_alerts):
    (alert,) = raise_alerts(1)
    responder = login("responder")
    page = responder.get(f"/insights/alerts/{alert.pk}/").content.decode()
    assert f"/insights/alerts/{alert.pk}/snooze/" in page
    responder.post(f"/insights/alerts/{alert.pk}/snooze/", {"snooze": "60", "note": "Known noise"})
    alert.refresh_from_db()
    assert alert.snoozed and alert.snooze_note == "Known noise" and alert.status == "open"
    page = responder.get(f"/insights/alerts/{alert.pk}/").content.decode()
    assert 'data-testid="alert-snoozed"' in page and "Unsnooze" in page
    responder.post(f"/insights/alerts/{alert.pk}/unsnooze/")
    assert Alert.objects.get(pk=alert.pk).snoozed_until is None


def test_a_viewer_cannot_snooze_an_alert(login, raise_alerts):
    (alert,) = raise_alerts(1)
    assert login("viewer").post(f"/insights/alerts/{alert.pk}/snooze/", {"snooze": "60"}).status_code == 403


def test_bulk_snooze_from_the_alerts_dashboard(login, raise_alerts):
    alerts = raise_alerts(3)
    responder = login("responder")
    response = responder.post(
        "/insights/alerts/bulk/", {"ids": [a.pk for a in alerts[:2]], "snooze": "1440", "note": "Weekend"}, follow=True
    )
    assert "Snoozed 2 alerts." in response.content.decode()
    assert Alert.objects.filter(snoozed_until__isnull=False).count() == 2
    assert 'data-testid="snoozed-badge"' in responder.get("/insights/alerts/").content.decode()
    responder.post("/insights/alerts/bulk/", {"ids": [alerts[0].pk], "action": "unsnooze"})
    assert Alert.objects.filter(snoozed_until__isnull=False).count() == 1


def test_the_open_alerts_widget_counts_snoozed_apart(login, raise_alerts):
    first, _ = raise_alerts(2)
    responder = login("responder")
    responder.post(f"/insights/alerts/{first.pk}/snooze/", {"snooze": "60"})
    page = responder.get("/").content.decode()
    assert 'data-testid="widget-open">1<' in page
    assert 'data-testid="widget-snoozed">1<' in page


# -- the Django admin -------------------------------------------------------------------------


def admin_action(client, url: str, action: str, pks: list[int]):
    return client.post(url, {"action": action, "_selected_action": pks}, follow=True)


def test_the_admin_snoozes_and_unsnoozes_rules_with_actions(client, admin_user, rule):
    client.force_login(admin_user)
    admin_action(client, "/admin/rules/rule/", "snooze_rules_4h", [rule.pk])
    assert 239 < minutes_left(Rule.objects.get(pk=rule.pk).snoozed_until) <= 240
    assert "Snooze" in client.get(f"/admin/rules/rule/{rule.pk}/change/").content.decode()
    admin_action(client, "/admin/rules/rule/", "unsnooze_rules", [rule.pk])
    assert Rule.objects.get(pk=rule.pk).snoozed_until is None


def test_the_admin_snoozes_and_unsnoozes_alerts_with_actions(client, admin_user, raise_alerts):
    (alert,) = raise_alerts(1)
    client.force_login(admin_user)
    response = admin_action(client, "/admin/alerts/alert/", "snooze_alerts_1d", [alert.pk])
    assert "Snoozed 1 alert." in response.content.decode()
    assert 1439 < minutes_left(Alert.objects.get(pk=alert.pk).snoozed_until) <= 1440
    admin_action(client, "/admin/alerts/alert/", "unsnooze_alerts", [alert.pk])
    assert Alert.objects.get(pk=alert.pk).snoozed_until is None
