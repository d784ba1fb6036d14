"""The console's rule History: versions with who, when and the note, changes in words, Restore for admins."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from channels.models import Channel
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules.models import Rule, RuleVersion
from rules.services import rule_create, rule_update
from tests.factories import make_event

pytestmark = pytest.mark.django_db

FAILED_LOGIN = {
    "event_type": "admin_login_attempt",
    "match": "all",
    "filters": [{"key": "success", "operator": "eq", "value": False}],
}
LOCKOUT = {"event_type": "user_lockout", "match": "all", "filters": []}


def stored_rule(**overrides: Any) -> Rule:
    data: dict[str, Any] = {"name": "Failed admin logins", "priority": "high", "conditions": [FAILED_LOGIN]}
    return rule_create(data={**data, **overrides}, actor=None)


def history_url(rule: Rule) -> str:
    return f"/insights/alerts/rules/{rule.pk}/history/"


def text(response) -> str:
    """The page's visible text, tags stripped and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def form_post(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Failed admin logins",
        "enabled": "on",
        "priority": "high",
        "conditions": json.dumps([FAILED_LOGIN]),
        "generate_alerts": "on",
        "group_window_minutes": "0",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_change_note_on_the_rule_form_is_stored_with_the_version(login):
    rule = stored_rule()
    response = login("admin").post(
        f"/insights/alerts/rules/{rule.pk}/edit/", form_post(priority="low", comment="Too noisy at night")
    )
    assert response.status_code == 302
    assert RuleVersion.objects.get(rule=rule, version=2).comment == "Too noisy at night"


def test_too_long_change_note_is_shown_next_to_the_field(login):
    rule = stored_rule()
    response = login("admin").post(f"/insights/alerts/rules/{rule.pk}/edit/", form_post(comment="x" * 501))
    assert response.status_code == 400
    assert 'id="comment-error"' in response.content.decode()
    assert "Change note" in text(response)


def test_history_lists_versions_newest_first_with_author_and_note(login, admin_user):
    rule = stored_rule()
    rule_update(rule=rule, data={"priority": "low"}, actor=admin_user, comment="Too noisy")
    page = text(login("viewer").get(history_url(rule)))
    assert page.index("Version 2") < page.index("Version 1")
    assert f"by {admin_user.username}" in page
    assert "Too noisy" in page
    assert "by the system" in page


def test_history_says_what_changed_in_words(login, admin_user):
    channel = Channel.objects.create(kind="webhook", name="Ops hook", config={"url": "http://127.0.0.1:9/"})
    rule = stored_rule()
    rule_update(
        rule=rule,
        data={
            "priority": "low",
            "conditions": [LOCKOUT],
            "send_notifications": True,
            "channels": [channel.pk],
            "threshold": {"count": 5, "window_minutes": 10},
        },
        actor=admin_user,
    )
    page = text(login("viewer").get(history_url(rule)))
    assert "Priority High → changed to Low" in page
    assert "Removed: admin_login_attempt 1 filter, All All of these filters must match: success equals false" in page
    assert "Added: user_lockout No filters Every user_lockout event matches." in page
    assert "Channels None → changed to Ops hook" in page
    assert "Threshold Off → changed to 5 events within 10 minutes" in page
    assert '"filters"' not in page


def test_only_admins_see_restore_and_not_on_the_current_version(login, admin_user):
    rule = stored_rule()
    rule_update(rule=rule, data={"priority": "low"}, actor=admin_user)
    assert 'data-testid="restore-version"' not in login("responder").get(history_url(rule)).content.decode()
    page = login("admin").get(history_url(rule)).content.decode()
    assert page.count('data-testid="restore-version"') == 1
    assert f'action="/insights/alerts/rules/{rule.pk}/history/1/restore/"' in page
    assert 'data-confirm="Restore version 1 of Failed admin logins?' in page


def test_restore_from_the_console_makes_a_new_version(login, admin_user):
    rule = stored_rule()
    rule_update(rule=rule, data={"priority": "low"}, actor=admin_user)
    response = login("admin").post(f"/insights/alerts/rules/{rule.pk}/history/1/restore/", follow=True)
    rule.refresh_from_db()
    assert rule.priority == "high"
    assert "Restored version 1" in text(response)
    assert RuleVersion.objects.filter(rule=rule).count() == 3


def test_restore_refused_for_a_deleted_channel_says_which(login, admin_user):
    channel = Channel.objects.create(kind="webhook", name="Ops hook", config={"url": "http://127.0.0.1:9/"})
    rule = stored_rule(send_notifications=True, channels=[channel.pk])
    rule_update(rule=rule, data={"send_notifications": False, "channels": []}, actor=admin_user)
    channel.delete()
    response = login("admin").post(f"/insights/alerts/rules/{rule.pk}/history/1/restore/", follow=True)
    assert "Could not restore version 1" in text(response)
    assert "'Ops hook'" in response.content.decode().replace("&#x27;", "'")


@pytest.mark.parametrize("role", ["viewer", "responder"])
def test_readers_may_not_restore(login, role):
    rule = stored_rule()
    response = login(role).post(f"/insights/alerts/rules/{rule.pk}/history/1/restore/")
    assert response.status_code == 403


def test_rule_page_links_to_its_history(login):
    rule = stored_rule()
    for role in ("admin", "viewer"):
        page = login(role).get(f"/insights/alerts/rules/{rule.pk}/edit/").content.decode()
        assert f'href="{history_url(rule)}"' in page


# -- "What would change?" -------------------------------------------------------------------------


def store_failed_login(event_id: str, email: str) -> None:
    moment = (timezone.now() - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    payload = make_event(
        id=event_id,
        event_type="admin_login_attempt",
        timestamp=moment,
        initiated_by={"id": "u", "type": "admin", "email": email},
    )
    record = event_validate(payload, index=0, limits=Limits.from_settings())
    assert not isinstance(record, list), record
    event_batch_ingest(records=[record])


def test_what_would_change_counts_the_events_and_alerts_the_edit_adds_and_removes(login):
    store_failed_login("bob-1", "bob@example.com")
    store_failed_login("carol-1", "carol@example.com")
    rule = stored_rule()
    only_bob = {
        **FAILED_LOGIN,
        "filters": [
            *FAILED_LOGIN["filters"],
            {"key": "initiated_by.email", "operator": "eq", "value": "bob@example.com"},
        ],
    }
    response = login("admin").post(
        f"/insights/alerts/rules/{rule.pk}/preview-change/", form_post(conditions=json.dumps([only_bob]))
    )
    assert response.status_code == 200
    page = text(response)
    assert "You changed: Conditions." in page
    assert "Events 2 → 1: 0 added, 1 removed" in page
    assert "Alerts 2 → 1: 0 added, 1 removed" in page
    assert "Events it would no longer match" in page


def test_what_would_change_says_when_nothing_changed(login):
    rule = stored_rule()
    response = login("admin").post(f"/insights/alerts/rules/{rule.pk}/preview-change/", form_post())
    assert "Nothing changed yet" in text(response)


def test_what_would_change_lists_problems_instead_of_an_answer(login):
    rule = stored_rule()
    response = login("admin").post(f"/insights/alerts/rules/{rule.pk}/preview-change/", form_post(conditions="[1"))
    assert 'data-testid="change-problems"' in response.content.decode()


def test_the_rule_form_has_the_what_would_change_button_only_when_editing(login):
    rule = stored_rule()
    admin = login("admin")
    edit = admin.get(f"/insights/alerts/rules/{rule.pk}/edit/").content.decode()
    assert f'hx-post="/insights/alerts/rules/{rule.pk}/preview-change/"' in edit
    assert "What would change?" in edit
    assert "What would change?" not in admin.get("/insights/alerts/rules/new/?template=event_based").content.decode()
