"""Reminders and escalation (api.md section 10): re-notify open alerts, then tell other channels.

Time travels by handing the job a later `now`; nothing sleeps.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from alerts.models import Alert
from alerts.services import alert_acknowledge, alert_reopen, alert_resolve, reminders_run
from channels.models import Channel, Delivery
from rules.models import RuleVersion
from rules.services import rule_create, rule_update
from tests.factories import make_event

pytestmark = pytest.mark.django_db

FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


def webhook(name: str) -> Channel:
    return Channel.objects.create(kind="webhook", name=name, config={"url": f"http://127.0.0.1:9/{name}"})


@pytest.fixture
def soc() -> Channel:
    return webhook("soc")


@pytest.fixture
def oncall() -> Channel:
    return webhook("oncall")


@pytest.fixture
def alert_of(ingest):
    """Raise one alert of a rule with these extra fields; returns the alert."""
    made = iter(range(1, 1000))

    def make(**rule_fields) -> Alert:
        rule_create(data={**FAILED_LOGINS, **rule_fields}, actor=None)
        ingest(make_event(id=f"remind-{next(made)}", success=False))
        return Alert.objects.get()

    return make


def sent(kind: str) -> list[tuple[str, int]]:
    return sorted(Delivery.objects.filter(kind=kind).values_list("source", "channel_id"))


def after(alert: Alert, minutes: float):
    return alert.created_at + timedelta(minutes=minutes)


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"remind_every_minutes": 0}, "remind_every_minutes"),
        ({"remind_every_minutes": 10081}, "remind_every_minutes"),
        ({"remind_every_minutes": "5"}, "remind_every_minutes"),
        ({"remind_every_minutes": 5, "remind_max": 101}, "remind_max"),
        ({"remind_every_minutes": 5, "remind_max": 0}, "remind_max"),
        ({"escalation": {"after_minutes": 0, "channels": ["CH"]}}, "escalation.after_minutes"),
        ({"escalation": {"after_minutes": 30, "channels": [987654]}}, "escalation.channels"),
        ({"escalation": {"after_minutes": 30, "channels": []}}, "escalation.channels"),
        ({"escalation": {"minutes": 30}}, "escalation"),
    ],
)
def test_bad_reminder_settings_answer_400_naming_the_field(auth_client, soc, fields, path):
    fields = {
        key: ({**value, "channels": [soc.pk]} if isinstance(value, dict) and value.get("channels") == ["CH"] else value)
        for key, value in fields.items()
    }
    body = {**FAILED_LOGINS, "send_notifications": True, "channels": [soc.pk], **fields}
    response = auth_client("admin").post("/api/v1/rules", body, format="json")
    assert response.status_code == 400, response.content
    assert path in str(response.json()), response.json()


def test_escalation_to_a_deleted_channel_is_refused(auth_client, soc, oncall):
    oncall_id = oncall.pk
    oncall.delete()
    body = {**FAILED_LOGINS, "escalation": {"after_minutes": 30, "channels": [oncall_id]}}
    response = auth_client("admin").post("/api/v1/rules", body, format="json")
    assert response.status_code == 400
    assert f"Unknown channel ids: {oncall_id}" in str(response.json())


def test_reminders_need_notifications(auth_client):
    response = auth_client("admin").post("/api/v1/rules", {**FAILED_LOGINS, "remind_every_minutes": 5}, format="json")
    assert response.status_code == 400
    assert "remind_every_minutes" in str(response.json())


def test_the_api_shows_the_settings_and_versions_keep_them(auth_client, soc, oncall):
    body = {
        **FAILED_LOGINS,
        "send_notifications": True,
        "channels": [soc.pk],
        "remind_every_minutes": 15,
        "remind_max": 4,
        "escalation": {"after_minutes": 60, "channels": [oncall.pk]},
    }
    response = auth_client("admin").post("/api/v1/rules", body, format="json")
    assert response.status_code == 201, response.content
    rule = response.json()
    assert (rule["remind_every_minutes"], rule["remind_max"]) == (15, 4)
    assert rule["escalation"] == {"after_minutes": 60, "channels": [oncall.pk]}
    snapshot = RuleVersion.objects.get(rule_id=rule["id"]).snapshot
    assert snapshot["remind_every_minutes"] == 15
    assert snapshot["escalation"] == {"after_minutes": 60, "channels": [oncall.pk]}


def test_a_rule_without_reminders_defaults_to_none(auth_client):
    rule = auth_client("admin").post("/api/v1/rules", FAILED_LOGINS, format="json").json()
    assert (rule["remind_every_minutes"], rule["remind_max"], rule["escalation"]) == (None, 3, None)


# -- due computation --------------------------------------------------------------------------


def test_reminders_go_every_n_minutes_at_most_m_times(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10, remind_max=2)
    assert reminders_run(now=after(alert, 9)).reminders == 0
    assert reminders_run(now=after(alert, 10)).reminders == 1
    assert reminders_run(now=after(alert, 15)).reminders == 0
    assert reminders_run(now=after(alert, 20)).reminders == 1
    assert reminders_run(now=after(alert, 90)).reminders == 0
    assert sent("alert.reminder") == [(f"reminder:{alert.pk}:1", soc.pk), (f"reminder:{alert.pk}:2", soc.pk)]


def test_the_reminder_carries_the_alert_like_its_creation(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10)
    reminders_run(now=after(alert, 10))
    payload = Delivery.objects.get(kind="alert.reminder").payload
    assert payload["alert"]["reference"] == alert.reference
    assert payload["alert"]["status"] == "open"
    assert payload["event"]["id"] == "remind-1"


def test_no_reminder_after_acknowledgement(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10, remind_max=5)
    reminders_run(now=after(alert, 10))
    alert_acknowledge(alert=alert, actor=None)
    assert reminders_run(now=after(alert, 60)).reminders == 0
    assert len(sent("alert.reminder")) == 1


def test_no_reminder_after_resolution(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10)
    alert_resolve(alert=alert, actor=None)
    assert reminders_run(now=after(alert, 60)).reminders == 0
    assert sent("alert.reminder") == []


def test_no_reminder_while_the_alert_is_snoozed_and_the_due_one_goes_when_it_ends(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10, remind_max=5)
    Alert.objects.filter(pk=alert.pk).update(snoozed_until=after(alert, 45))
    assert reminders_run(now=after(alert, 10)).reminders == 0
    assert reminders_run(now=after(alert, 40)).reminders == 0
    assert reminders_run(now=after(alert, 46)).reminders == 1
    assert sent("alert.reminder") == [(f"reminder:{alert.pk}:1", soc.pk)]


def test_a_reopened_alert_takes_up_its_reminders_again(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10, remind_max=3)
    alert_resolve(alert=alert, actor=None)
    reminders_run(now=after(alert, 30))
    alert_reopen(alert=alert, actor=None)
    assert reminders_run(now=after(alert, 31)).reminders == 1
    assert sent("alert.reminder") == [(f"reminder:{alert.pk}:1", soc.pk)]


def test_after_an_outage_overdue_reminders_do_not_burst(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10, remind_max=5)
    assert reminders_run(now=after(alert, 55)).reminders == 1
    assert reminders_run(now=after(alert, 56)).reminders == 0
    assert reminders_run(now=after(alert, 65)).reminders == 1


def test_a_rule_without_reminders_sends_none(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk])
    assert reminders_run(now=after(alert, 10_000)).reminders == 0


def test_turning_reminders_on_reminds_alerts_already_open(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk])
    rule_update(rule=alert.rule, data={"remind_every_minutes": 5}, actor=None)
    assert reminders_run(now=after(alert, 5)).reminders == 1


def test_turning_reminders_off_stops_them(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=5)
    rule_update(rule=alert.rule, data={"remind_every_minutes": None}, actor=None)
    assert reminders_run(now=after(alert, 60)).reminders == 0


# -- escalation -------------------------------------------------------------------------------


def test_escalation_tells_other_channels_once_after_n_minutes(alert_of, soc, oncall):
    alert = alert_of(
        send_notifications=True, channels=[soc.pk], escalation={"after_minutes": 30, "channels": [oncall.pk]}
    )
    assert reminders_run(now=after(alert, 29)).escalations == 0
    assert reminders_run(now=after(alert, 30)).escalations == 1
    assert reminders_run(now=after(alert, 300)).escalations == 0
    assert sent("alert.escalated") == [(f"escalation:{alert.pk}", oncall.pk)]
    alert.refresh_from_db()
    assert alert.escalated_at == after(alert, 30)


def test_an_acknowledged_alert_is_not_escalated(alert_of, oncall):
    alert = alert_of(escalation={"after_minutes": 30, "channels": [oncall.pk]})
    alert_acknowledge(alert=alert, actor=None)
    assert reminders_run(now=after(alert, 60)).escalations == 0
    assert sent("alert.escalated") == []


def test_escalation_works_without_the_rule_notifying(alert_of, oncall):
    alert = alert_of(escalation={"after_minutes": 30, "channels": [oncall.pk]})
    assert reminders_run(now=after(alert, 30)).escalations == 1


# -- idempotency ------------------------------------------------------------------------------


def test_running_the_job_twice_writes_each_reminder_once(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10)
    reminders_run(now=after(alert, 10))
    reminders_run(now=after(alert, 10))
    assert Delivery.objects.filter(kind="alert.reminder").count() == 1


def test_two_runs_that_read_the_same_due_alert_write_its_reminder_once(alert_of, soc, oncall):
    """A second beat that read the alert before the first moved its clocks: the outbox key holds."""
    alert = alert_of(
        send_notifications=True,
        channels=[soc.pk],
        remind_every_minutes=10,
        escalation={"after_minutes": 10, "channels": [oncall.pk]},
    )
    clocks = Alert.objects.filter(pk=alert.pk).values("reminders_sent", "next_reminder_at", "escalate_at").get()
    reminders_run(now=after(alert, 10))
    Alert.objects.filter(pk=alert.pk).update(**clocks, escalated_at=None)  # as the second run saw it
    reminders_run(now=after(alert, 10))
    assert Delivery.objects.filter(kind="alert.reminder").count() == 1
    assert Delivery.objects.filter(kind="alert.escalated").count() == 1


def test_the_due_alerts_are_found_with_a_constant_number_of_queries(alert_of, soc, django_assert_max_num_queries):
    rule_fields = {"send_notifications": True, "channels": [soc.pk], "remind_every_minutes": 10}
    alert = alert_of(**rule_fields)
    for _ in range(2, 30):
        Alert.objects.create(
            **{
                field.attname: getattr(alert, field.attname)
                for field in Alert._meta.concrete_fields
                if field.attname != "id"
            }
        )
    with django_assert_max_num_queries(12):
        run = reminders_run(now=after(alert, 10))
    assert run.reminders == 29


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_runs_write_each_reminder_once(soc, ingest):
    rule_create(
        data={**FAILED_LOGINS, "send_notifications": True, "channels": [soc.pk], "remind_every_minutes": 10},
        actor=None,
    )
    ingest(*[make_event(id=f"race-{n}", success=False) for n in range(40)])
    assert Alert.objects.count() == 40
    moment = Alert.objects.order_by("-created_at").first().created_at + timedelta(minutes=10)
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            reminders_run(now=moment)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Delivery.objects.filter(kind="alert.reminder").count() == 40
    assert set(Alert.objects.values_list("reminders_sent", flat=True)) == {1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_embedded_scheduler_sends_due_reminders(soc, ingest):
    """Without a broker the web process's scheduler runs the reminder job like beat would."""
    import time

    from django.utils import timezone

    from alertsite.runtime.scheduler import EmbeddedScheduler

    rule_create(
        data={**FAILED_LOGINS, "send_notifications": True, "channels": [soc.pk], "remind_every_minutes": 10},
        actor=None,
    )
    ingest(make_event(id="scheduled-1", success=False))
    Alert.objects.update(next_reminder_at=timezone.now() - timedelta(seconds=1))
    scheduler = EmbeddedScheduler(
        schedule={"alert-reminders": {"task": "alerts.tasks.reminders_task", "schedule": timedelta(seconds=0.01)}}
    )
    time.sleep(0.03)
    assert scheduler.run_due() == ["alert-reminders"]
    assert Delivery.objects.filter(kind="alert.reminder").count() == 1


# -- history and payload ----------------------------------------------------------------------


def history(alert: Alert) -> list[tuple[str, str]]:
    return list(alert.transitions.order_by("at", "pk").values_list("kind", "note"))


def test_each_reminder_sent_is_an_entry_of_the_alerts_history(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10, remind_max=3)
    reminders_run(now=after(alert, 10))
    reminders_run(now=after(alert, 20))
    assert history(alert) == [("reminder", "Reminder 1 of 3 sent to soc"), ("reminder", "Reminder 2 of 3 sent to soc")]
    entry = alert.transitions.first()
    assert (entry.from_status, entry.to_status, entry.actor, entry.at) == ("open", "open", None, after(alert, 10))


def test_the_escalation_is_an_entry_of_the_alerts_history(alert_of, soc, oncall):
    pager = webhook("pager")
    alert = alert_of(escalation={"after_minutes": 30, "channels": [pager.pk, oncall.pk]})
    reminders_run(now=after(alert, 30))
    assert history(alert) == [("escalation", "Escalated to oncall, pager after 30 minutes unacknowledged")]


def test_a_reminder_to_disabled_channels_says_it_was_not_sent(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10)
    Channel.objects.filter(pk=soc.pk).update(enabled=False)
    reminders_run(now=after(alert, 10))
    assert history(alert) == [("reminder", "Reminder 1 of 3 not sent: none of its channels is enabled")]


def test_status_changes_and_reminders_share_the_history(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10, remind_max=3)
    reminders_run(now=after(alert, 10))
    alert_acknowledge(alert=alert, actor=None)
    assert sorted(kind for kind, _ in history(alert)) == ["reminder", "status"]


def test_a_second_run_that_read_the_same_due_alert_adds_no_second_entry(alert_of, soc, oncall):
    alert = alert_of(
        send_notifications=True,
        channels=[soc.pk],
        remind_every_minutes=10,
        escalation={"after_minutes": 10, "channels": [oncall.pk]},
    )
    clocks = Alert.objects.filter(pk=alert.pk).values("reminders_sent", "next_reminder_at", "escalate_at").get()
    reminders_run(now=after(alert, 10))
    Alert.objects.filter(pk=alert.pk).update(**clocks, escalated_at=None)
    reminders_run(now=after(alert, 10))
    assert sorted(kind for kind, _ in history(alert)) == ["escalation", "reminder"]


def test_the_api_and_the_console_show_reminders_in_the_history(alert_of, soc, oncall, auth_client, client, make_user):
    alert = alert_of(
        send_notifications=True,
        channels=[soc.pk],
        remind_every_minutes=10,
        escalation={"after_minutes": 15, "channels": [oncall.pk]},
    )
    reminders_run(now=after(alert, 10))
    reminders_run(now=after(alert, 15))
    body = auth_client("viewer").get(f"/api/v1/alerts/{alert.pk}").json()
    assert [(entry["kind"], entry["note"]) for entry in body["history"]] == [
        ("reminder", "Reminder 1 of 3 sent to soc"),
        ("escalation", "Escalated to oncall after 15 minutes unacknowledged"),
    ]
    client.force_login(make_user("viewer"))
    page = client.get(f"/insights/alerts/{alert.pk}/").content.decode()
    assert "system: Reminder 1 of 3 sent to soc" in page
    assert "system: Escalated to oncall after 15 minutes unacknowledged" in page


def test_the_reminder_payload_says_which_reminder_it_is(alert_of, soc):
    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10, remind_max=4)
    reminders_run(now=after(alert, 10))
    reminders_run(now=after(alert, 20))
    payloads = [row.payload for row in Delivery.objects.filter(kind="alert.reminder").order_by("source")]
    assert [payload["reminder"] for payload in payloads] == [{"number": 1, "of": 4}, {"number": 2, "of": 4}]


def test_only_reminders_carry_a_reminder_number(alert_of, soc, oncall):
    alert = alert_of(
        send_notifications=True, channels=[soc.pk], escalation={"after_minutes": 10, "channels": [oncall.pk]}
    )
    reminders_run(now=after(alert, 10))
    assert "reminder" not in Delivery.objects.get(kind="alert.created").payload
    assert "reminder" not in Delivery.objects.get(kind="alert.escalated").payload


def test_message_templates_see_the_reminder_number(alert_of, soc):
    from channels.notification import Notification
    from channels.templating import TemplateField, context_of, render_field

    alert = alert_of(send_notifications=True, channels=[soc.pk], remind_every_minutes=10, remind_max=2)
    reminders_run(now=after(alert, 10))
    row = Delivery.objects.get(kind="alert.reminder")
    context = context_of(Notification.from_json(row.kind, row.payload))
    field = TemplateField(label="Subject", output="line", autoescape=False)
    text = render_field("Reminder {{ reminder.number }} of {{ reminder.of }}: {{ alert.reference }}", field, context)
    assert text == f"Reminder 1 of 2: {alert.reference}"
