"""The rule form's Advanced section and the rules admin carry reminders and escalation."""

from __future__ import annotations

import json

import pytest

from channels.models import Channel
from rules.models import Rule
from tests.console.test_rules_pages import NEW, form_post, html
from tests.rules.test_rules_admin import ADD, form_data

pytestmark = pytest.mark.django_db


def webhook(name: str) -> Channel:
    return Channel.objects.create(kind="webhook", name=name, config={"url": f"http://127.0.0.1:9/{name}"})


def test_the_console_form_saves_reminders_and_escalation(login):
    soc, oncall = webhook("soc"), webhook("oncall")
    post = form_post(
        send_notifications="on",
        channels=[str(soc.pk)],
        remind_every_minutes="15",
        remind_max="4",
        escalation_after_minutes="60",
        escalation_channels=[str(oncall.pk)],
    )
    response = login("admin").post(NEW + "?template=event_based", post)
    assert response.status_code == 302, html(response)[:3000]
    rule = Rule.objects.get()
    assert (rule.remind_every_minutes, rule.remind_max) == (15, 4)
    assert rule.escalation == {"after_minutes": 60, "channels": [oncall.pk]}


def test_the_console_form_leaves_reminders_off_when_blank(login):
    response = login("admin").post(NEW + "?template=event_based", form_post())
    assert response.status_code == 302
    rule = Rule.objects.get()
    assert (rule.remind_every_minutes, rule.remind_max, rule.escalation) == (None, 3, None)


def test_the_console_form_shows_a_bad_interval_next_to_its_field_and_opens_advanced(login):
    soc = webhook("soc")
    post = form_post(send_notifications="on", channels=[str(soc.pk)], remind_every_minutes="0")
    page = html(login("admin").post(NEW + "?template=event_based", post))
    assert 'id="remind-every-error"' in page
    assert '<details class="panel advanced" id="advanced" open>' in page
    assert Rule.objects.count() == 0


def test_the_console_form_wants_a_delay_for_escalation_channels(login):
    oncall = webhook("oncall")
    post = form_post(escalation_channels=[str(oncall.pk)])
    page = html(login("admin").post(NEW + "?template=event_based", post))
    assert 'id="escalation-after-error"' in page
    assert Rule.objects.count() == 0


def test_the_admin_saves_escalation_and_refuses_an_unknown_channel(client, admin_user):
    client.force_login(admin_user)
    oncall = webhook("oncall")
    bad = client.post(ADD, form_data(escalation=json.dumps({"after_minutes": 30, "channels": [oncall.pk + 99]})))
    assert bad.status_code == 200
    assert "Unknown channel ids" in str(bad.context["adminform"].form.errors["escalation"])
    good = client.post(ADD, form_data(escalation=json.dumps({"after_minutes": 30, "channels": [oncall.pk]})))
    assert good.status_code == 302, good.content.decode()[:2000]
    assert Rule.objects.get().escalation == {"after_minutes": 30, "channels": [oncall.pk]}
