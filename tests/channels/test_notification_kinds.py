"""Every notification kind has its own words in every message, reminders and escalations included."""

from __future__ import annotations

import pytest

from channels.models import NotificationKind
from channels.transports.chat_message import HEADINGS
from channels.transports.email import KIND_WORDS
from channels.transports.pagerduty import ACTIONS


@pytest.mark.parametrize("kind", NotificationKind.values)
def test_every_kind_has_a_chat_heading_and_email_words(kind):
    assert kind in HEADINGS
    assert kind in KIND_WORDS


def test_reminders_and_escalations_say_what_they_are():
    assert HEADINGS["alert.reminder"].startswith("Reminder")
    assert HEADINGS["alert.escalated"].startswith("Escalated")
    assert (KIND_WORDS["alert.reminder"], KIND_WORDS["alert.escalated"]) == ("reminder", "escalated")


def test_pagerduty_re_triggers_on_reminders_and_escalations():
    assert "alert.reminder" not in ACTIONS and "alert.escalated" not in ACTIONS


def test_the_beat_schedule_runs_the_reminder_job(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["alert-reminders"]
    assert entry["task"] == "alerts.tasks.reminders_task"
    assert 30 <= entry["schedule"].total_seconds() <= 60
