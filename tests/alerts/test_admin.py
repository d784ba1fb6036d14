"""The alerts admin: read-only pages, operator filters, bulk actions through the services, escaped event JSON."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from django.contrib.messages import WARNING
from django.utils import timezone

from alerts.models import Alert, AlertEvent, AlertNote, AlertTransition
from alerts.services import alert_acknowledge, alert_note_add, alert_resolve
from alertsite.accounts.roles import Role
from events.models import AuditEvent
from events.services import event_batch_ingest
from events.validation import Limits, events_validate
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/alerts/alert/"
LOGINS = {"name": "Login attempts", "priority": "high", "conditions": [{"event_type": "user_login_attempt"}]}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def raise_alerts(auth_client, django_capture_on_commit_callbacks):
    """Return `raise_alerts(*events)`: ingest through the API so the rule engine opens the alerts."""
    ingester = auth_client(Role.ADMIN)

    def raise_(*events: dict) -> list[Alert]:
        before = set(Alert.objects.values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            response = ingester.post("/api/v1/events", data=orjson.dumps(list(events)), content_type="application/json")
        assert response.status_code == 202, response.content
        return list(Alert.objects.exclude(pk__in=before).order_by("pk"))

    return raise_


@pytest.fixture
def login_rule(db):
    return rule_create(data=LOGINS, actor=None)


def make_alert(*, status: str = "open", age: timedelta = timedelta(minutes=5), **fields) -> Alert:
    created = timezone.now() - age
    values = {
        "rule_name": "Hand-made",
        "priority": "medium",
        "status": status,
        "title": "Hand-made alert",
        "event_type": "user_login_attempt",
        "first_seen_at": created,
        "last_seen_at": created,
        "created_at": created,
        **fields,
    }
    return Alert.objects.create(**values)


def listed(response) -> list[int]:
    assert response.status_code == 200
    return [alert.pk for alert in response.context["cl"].result_list]


def run_action(client, action: str, alerts: list[Alert]):
    data = {"action": action, "_selected_action": [alert.pk for alert in alerts]}
    return client.post(CHANGELIST, data, follow=True)


def action_messages(response) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in response.context["messages"]]


def test_changelist_renders_with_every_filter_newest_first(admin_client, login_rule, make_user):
    responder = make_user(Role.RESPONDER, username="rita")
    make_user(Role.VIEWER, username="victor")
    older = make_alert(rule=login_rule, age=timedelta(hours=3), assignee=responder)
    newer = make_alert(rule=login_rule, title="Newer <b>bold</b>")
    response = admin_client.get(CHANGELIST)
    assert listed(response) == [newer.pk, older.pk]
    body = response.content.decode()
    assert older.reference in body and "Newer &lt;b&gt;bold&lt;/b&gt;" in body
    specs = {spec.title: spec for spec in response.context["cl"].filter_specs}
    assert set(specs) == {"status", "priority", "rule", "assignee", "needs attention"}
    assert ("rule", [str(login_rule.pk), "deleted"]) == (
        "rule",
        [value for value, _label in specs["rule"].lookup_choices],
    )
    assignees = [label for _value, label in specs["assignee"].lookup_choices]
    assert assignees == ["Assigned to me", "Unassigned", "admin", "rita"]  # viewers cannot hold alerts
    assert "Add alert" not in body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "acknowledged"}, ["acked", "high"]),
        ({"priority__exact": "high"}, ["high"]),
        ({"assignee": "none"}, ["old-open", "acked", "high", "fresh-open"]),
        ({"assignee": "me"}, ["mine"]),
        ({"waiting": "unassigned"}, ["old-open", "acked", "high", "fresh-open"]),
    ],
)
def test_filters_select_the_asked_alerts(admin_client, admin_user, params, expected):
    alerts = {
        "mine": make_alert(status="resolved", age=timedelta(hours=9), assignee=admin_user),
        "old-open": make_alert(age=timedelta(hours=2)),
        "acked": make_alert(status="acknowledged", age=timedelta(hours=2)),
        "high": make_alert(priority="high", status="acknowledged", age=timedelta(minutes=50)),
        "fresh-open": make_alert(age=timedelta(minutes=5)),
    }
    names = {alert.pk: name for name, alert in alerts.items()}
    assert sorted(names[pk] for pk in listed(admin_client.get(CHANGELIST, params))) == sorted(expected)


def test_open_for_more_than_an_hour_selects_only_old_open_alerts(admin_client):
    old_open = make_alert(age=timedelta(hours=2))
    make_alert(age=timedelta(minutes=59))
    make_alert(status="acknowledged", age=timedelta(hours=5))
    make_alert(status="resolved", age=timedelta(hours=5))
    assert listed(admin_client.get(CHANGELIST, {"waiting": "open_1h"})) == [old_open.pk]


def test_rule_filter_lists_rules_by_name_and_finds_alerts_of_deleted_rules(admin_client, login_rule):
    other = rule_create(data={**LOGINS, "name": "Another rule"}, actor=None)
    mine = make_alert(rule=login_rule)
    make_alert(rule=other)
    orphan = make_alert(rule=None)
    response = admin_client.get(CHANGELIST, {"rule": str(login_rule.pk)})
    assert listed(response) == [mine.pk]
    spec = next(spec for spec in response.context["cl"].filter_specs if spec.title == "rule")
    assert [label for _value, label in spec.lookup_choices] == ["Another rule", "Login attempts", "(deleted rule)"]
    assert listed(admin_client.get(CHANGELIST, {"rule": "deleted"})) == [orphan.pk]
    assert admin_client.get(CHANGELIST, {"rule": "nonsense"}).status_code == 200


def test_search_by_reference_title_and_rule_name(admin_client):
    target = make_alert(title="Admin TOTP disabled: ana@example.com", rule_name="TOTP watch")
    make_alert(title="Failed login: bob@example.com", rule_name="Failed logins")
    assert listed(admin_client.get(CHANGELIST, {"q": target.reference})) == [target.pk]
    assert listed(admin_client.get(CHANGELIST, {"q": f"alr-{target.pk}"})) == [target.pk]
    assert listed(admin_client.get(CHANGELIST, {"q": "ana@example"})) == [target.pk]
    assert listed(admin_client.get(CHANGELIST, {"q": "totp watch"})) == [target.pk]
    assert listed(admin_client.get(CHANGELIST, {"q": "ALR-999999"})) == []


@pytest.mark.parametrize("count", [3, 30])
def test_changelist_query_count_does_not_grow_with_alerts(
    admin_client, login_rule, make_user, count, django_assert_max_num_queries
):
    users = [make_user(Role.RESPONDER) for _ in range(3)]
    for n in range(count):
        user = users[n % 3]
        make_alert(rule=login_rule, status="resolved", assignee=user, acknowledged_by=user, resolved_by=user)
    with django_assert_max_num_queries(10):
        response = admin_client.get(CHANGELIST, {"status__exact": "resolved"})
    assert len(listed(response)) == count


def test_acknowledge_action_moves_open_alerts_and_names_the_skipped(admin_client, admin_user, login_rule, raise_alerts):
    alerts = raise_alerts(*(make_event(id=f"login-{n}") for n in range(5)))
    assert len(alerts) == 5
    resolved = alert_resolve(alert=alerts[2], actor=None)
    response = run_action(admin_client, "acknowledge_alerts", alerts)
    assert action_messages(response) == [
        (WARNING, f"Acknowledged 4 alerts, 1 skipped ({resolved.reference} is already resolved).")
    ]
    statuses = dict(Alert.objects.values_list("pk", "status"))
    assert [statuses[alert.pk] for alert in alerts] == ["acknowledged"] * 2 + ["resolved"] + ["acknowledged"] * 2
    assert set(Alert.objects.filter(status="acknowledged").values_list("acknowledged_by", flat=True)) == {admin_user.pk}
    assert AlertTransition.objects.filter(to_status="acknowledged", actor=admin_user).count() == 4


def test_resolve_action_resolves_open_and_acknowledged_alerts(admin_client, admin_user, login_rule, raise_alerts):
    first, second = raise_alerts(make_event(id="a"), make_event(id="b"))
    alert_acknowledge(alert=first, actor=None)
    response = run_action(admin_client, "resolve_alerts", [first, second])
    assert action_messages(response)[0][1] == "Resolved 2 alerts."
    assert set(Alert.objects.values_list("status", "resolved_by")) == {("resolved", admin_user.pk)}
    again = run_action(admin_client, "resolve_alerts", [first])
    assert action_messages(again)[0][1] == f"Resolved 0 alerts, 1 skipped ({first.reference} is already resolved)."


def test_reopen_action_reopens_resolved_alerts(admin_client, login_rule, raise_alerts):
    first, second = raise_alerts(make_event(id="a"), make_event(id="b"))
    alert_resolve(alert=first, actor=None)
    response = run_action(admin_client, "reopen_alerts", [first, second])
    assert action_messages(response)[0][1] == f"Reopened 1 alert, 1 skipped ({second.reference} is already open)."
    first.refresh_from_db()
    assert (first.status, first.resolved_at) == ("open", None)


def test_assign_to_me_action(admin_client, admin_user):
    alert = make_alert()
    response = run_action(admin_client, "assign_to_me", [alert])
    assert action_messages(response)[0][1] == "Assigned 1 alert to you."
    alert.refresh_from_db()
    assert alert.assignee == admin_user


def test_change_page_is_read_only_and_status_cannot_be_posted(admin_client, login_rule, raise_alerts):
    (alert,) = raise_alerts(make_event(id="only"))
    url = f"{CHANGELIST}{alert.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="status"' not in body and 'name="_save"' not in body
    response = admin_client.post(url, {"status": "resolved", "title": "changed"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert (alert.status, alert.title) == ("open", "Login attempts: bob.smith@example.com from 198.51.100.77")
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{alert.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_change_page_shows_history_notes_and_events(admin_client, admin_user, login_rule, raise_alerts):
    (alert,) = raise_alerts(make_event(id="evt-history"))
    alert_acknowledge(alert=alert, actor=admin_user, note="Looking into it")
    alert_note_add(alert=alert, author=admin_user, text="Called the user <b>Bob</b>")
    alert_resolve(alert=alert, actor=admin_user, note="False alarm")
    response = admin_client.get(f"{CHANGELIST}{alert.pk}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    for text in ["Looking into it", "False alarm", "Called the user &lt;b&gt;Bob&lt;/b&gt;", "evt-history"]:
        assert text in body
    formsets = {formset.formset.prefix: formset for formset in response.context["inline_admin_formsets"]}
    assert len(formsets["transitions"].formset.forms) == 2
    assert len(formsets["notes"].formset.forms) == 1
    assert len(formsets["alert_events"].formset.forms) == 1
    assert all(not formset.has_add_permission for formset in formsets.values())


def test_event_inline_shows_only_the_newest_fifty(admin_client, login_rule):
    alert = make_alert(rule=login_rule)
    start = timezone.now() - timedelta(hours=2)
    stamps = [(start + timedelta(seconds=n)).isoformat().replace("+00:00", "Z") for n in range(60)]
    records, errors = events_validate(
        [make_event(id=f"grouped-{n}", timestamp=stamp) for n, stamp in enumerate(stamps)],
        limits=Limits.from_settings(),
    )
    assert not errors, errors
    event_batch_ingest(records=records)
    events = AuditEvent.objects.filter(event_id__startswith="grouped-")
    AlertEvent.objects.bulk_create(
        [AlertEvent(alert=alert, event=event, event_timestamp=event.timestamp) for event in events]
    )
    response = admin_client.get(f"{CHANGELIST}{alert.pk}/change/")
    formset = next(f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "alert_events")
    shown = [form.instance.event.event_id for form in formset.formset.forms]
    assert shown == [f"grouped-{n}" for n in range(59, 9, -1)]


def test_triggering_event_json_is_escaped(admin_client, login_rule, raise_alerts):
    (alert,) = raise_alerts(make_event(id="xss", resource={"type": "user", "name": "<script>alert(1)</script>"}))
    body = admin_client.get(f"{CHANGELIST}{alert.pk}/change/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)</script>" not in body


def test_transition_and_note_logs_are_read_only_and_searchable(admin_client, admin_user):
    alert = make_alert()
    other = make_alert()
    alert_acknowledge(alert=alert, actor=admin_user, note="mine")
    alert_acknowledge(alert=other, actor=None, note="system")
    alert_note_add(alert=alert, author=admin_user, text="first note")
    transitions = admin_client.get("/admin/alerts/alerttransition/", {"q": alert.reference})
    assert [t.alert_id for t in transitions.context["cl"].result_list] == [alert.pk]
    assert [
        t.note for t in admin_client.get("/admin/alerts/alerttransition/", {"actor": "none"}).context["cl"].result_list
    ] == ["system"]
    notes = admin_client.get("/admin/alerts/alertnote/", {"q": "first"})
    assert [n.text for n in notes.context["cl"].result_list] == ["first note"]
    transition = AlertTransition.objects.get(alert=alert)
    note = AlertNote.objects.get()
    assert admin_client.get(f"/admin/alerts/alerttransition/{transition.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/alerts/alerttransition/{transition.pk}/change/", {"note": "x"}).status_code == 403
    assert admin_client.get("/admin/alerts/alertnote/add/").status_code == 403
    assert admin_client.post(f"/admin/alerts/alertnote/{note.pk}/delete/", {"post": "yes"}).status_code == 403
