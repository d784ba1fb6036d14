"""The Rules dashboard and the rule page say the same things as the API (issue 17, part 4):

- the template a rule came from by the name Rule Management gives it ("Rule For Event Based
  Alerts", never "Blank"), on the dashboard, on the rule page and in `GET /api/v1/rule-templates`;
- "Last triggered" of a threshold rule is the last time it raised an alert, or says "matched ...,
  not yet over the threshold".
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rules.models import Rule
from rules.services import rule_create

pytestmark = pytest.mark.django_db

RULES = "/insights/alerts/rules/"
CONDITIONS = [{"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}]


def make_rule(name: str, **overrides: Any) -> Rule:
    return rule_create(data={"name": name, "priority": "high", "conditions": CONDITIONS, **overrides}, actor=None)


def text_of(page: str) -> str:
    """The page's words, tags dropped and whitespace collapsed (no space before a comma)."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split()).replace(" ,", ",")


def row_text(page: str, rule: Rule) -> str:
    match = re.search(rf'<tr id="rule-row-{rule.pk}"[^>]*>(.*?)</tr>', page, re.S)
    assert match is not None
    return text_of(match[1])


def test_the_dashboard_rule_page_and_api_name_the_event_based_template_alike(login, auth_client) -> None:
    rule = make_rule("Failed logins", template="event_based")
    templates = {t["slug"]: t["name"] for t in auth_client("viewer").get("/api/v1/rule-templates").json()}
    assert auth_client("viewer").get(f"/api/v1/rules/{rule.pk}").json()["template"] == "event_based"
    name = templates["event_based"]
    assert name == "Rule For Event Based Alerts"

    viewer = login("viewer")
    row = row_text(viewer.get(RULES).content.decode(), rule)
    assert name in row and "Blank" not in row
    detail = text_of(viewer.get(f"{RULES}{rule.pk}/edit/").content.decode())
    assert f"Template {name} (Insights)" in detail


def test_a_threshold_rule_that_only_matched_says_not_yet_over_the_threshold(login) -> None:
    rule = make_rule("Five failures", threshold={"count": 5, "window_minutes": 10}, group_by=["initiated_by.email"])
    Rule.objects.filter(pk=rule.pk).update(last_matched_at=timezone.now() - timedelta(minutes=4))
    viewer = login("viewer")
    row = row_text(viewer.get(RULES).content.decode(), rule)
    assert "Never" in row
    assert "matched 4 minutes ago, not yet over the threshold" in row
    detail = text_of(viewer.get(f"{RULES}{rule.pk}/edit/").content.decode())
    assert "Last triggered Never matched 4 minutes ago, not yet over the threshold" in detail


def test_a_threshold_rule_that_raised_an_alert_shows_when(login) -> None:
    rule = make_rule("Five failures", threshold={"count": 5, "window_minutes": 10}, group_by=["initiated_by.email"])
    now = timezone.now()
    Rule.objects.filter(pk=rule.pk).update(
        last_triggered_at=now - timedelta(hours=2), last_matched_at=now - timedelta(minutes=3)
    )
    row = row_text(login("viewer").get(RULES).content.decode(), rule)
    assert "2 hours ago" in row
    assert "last matched 3 minutes ago" in row
    assert "not yet over the threshold" not in row


def test_a_rule_without_threshold_says_only_when_it_last_triggered(login) -> None:
    rule = make_rule("Every failure")
    now = timezone.now() - timedelta(minutes=5)
    Rule.objects.filter(pk=rule.pk).update(last_triggered_at=now, last_matched_at=now)
    row = row_text(login("viewer").get(RULES).content.decode(), rule)
    assert "5 minutes ago" in row
    assert "matched" not in row
