"""Maintenance windows API (api.md 10): every role reads, admins write, bad input names its field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, MaintenanceWindow
from channels.models import Channel
from events.models import AuditEvent
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/maintenance-windows"
FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def body(**overrides) -> dict:
    now = timezone.now()
    return {
        "name": "Weekend patching",
        "reason": "OS updates",
        "starts_at": iso(now - timedelta(hours=1)),
        "ends_at": iso(now + timedelta(hours=3)),
        "timezone": "Europe/Berlin",
        "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=SA,SU",
        "scope": {"rules": [], "priorities": ["low", "medium"], "event_types": []},
        "mute": "notifications",
        **overrides,
    }


@pytest.fixture
def admin(auth_client):
    return auth_client("admin")


def test_admin_creates_a_window_and_every_role_reads_it(admin, auth_client):
    created = admin.post(URL, body(recurrence=None), format="json")
    assert created.status_code == 201, created.content
    window = created.json()
    assert window["name"] == "Weekend patching"
    assert window["recurrence"] is None
    assert window["scope"] == {"rules": [], "priorities": ["low", "medium"], "event_types": []}
    assert window["active_now"] is True
    assert window["active_until"] is not None
    assert (window["muted_alerts"], window["muted_notifications"]) == (0, 0)
    assert window["created_by"]["username"]
    for role in ("admin", "responder", "viewer"):
        client = auth_client(role)
        assert [w["id"] for w in client.get(URL).json()] == [window["id"]]
        assert client.get(f"{URL}/{window['id']}").json()["name"] == "Weekend patching"


def test_a_recurring_window_shows_its_next_start(admin):
    now = timezone.now()
    start = now + timedelta(days=1)
    response = admin.post(
        URL,
        body(starts_at=iso(start), ends_at=iso(start + timedelta(hours=2)), timezone="UTC", recurrence="FREQ=DAILY"),
        format="json",
    )
    window = response.json()
    assert window["recurrence"] == "RRULE:FREQ=DAILY"
    assert window["active_now"] is False
    assert window["next_start"].startswith(start.strftime("%Y-%m-%dT%H:%M"))


@pytest.mark.parametrize("role", ["responder", "viewer", "ingest"])
def test_only_admins_write_windows(auth_client, admin, role):
    window = admin.post(URL, body(), format="json").json()
    client = auth_client(role)
    assert client.post(URL, body(), format="json").status_code == 403
    assert client.patch(f"{URL}/{window['id']}", {"name": "x"}, format="json").status_code == 403
    assert client.delete(f"{URL}/{window['id']}").status_code == 403
    assert MaintenanceWindow.objects.get().name == "Weekend patching"


def test_anonymous_callers_are_refused(api_client):
    assert api_client.get(URL).status_code == 401


def test_admin_changes_and_deletes_a_window_with_audit_events(admin):
    window = admin.post(URL, body(), format="json").json()
    changed = admin.patch(f"{URL}/{window['id']}", {"name": "Patch night", "mute": "alerts"}, format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["mute"]) == ("Patch night", "alerts")
    assert changed.json()["scope"]["priorities"] == ["low", "medium"]
    assert admin.delete(f"{URL}/{window['id']}").status_code == 204
    assert not MaintenanceWindow.objects.exists()
    kinds = list(
        AuditEvent.objects.filter(event_type__startswith="maintenance_window_")
        .order_by("pk")
        .values_list("event_type", flat=True)
    )
    assert kinds == ["maintenance_window_create", "maintenance_window_update", "maintenance_window_delete"]
    update = AuditEvent.objects.get(event_type="maintenance_window_update").payload
    assert {change["field"] for change in update["changes"]} == {"name", "mute"}
    assert update["resource"] == {"type": "maintenance_window", "id": str(window["id"]), "name": "Patch night"}


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"ends_at": "2026-01-01T00:00:00Z", "starts_at": "2026-01-01T00:00:00Z"}, "ends_at", "after starts_at"),
        ({"ends_at": "2025-12-31T00:00:00Z", "starts_at": "2026-01-01T00:00:00Z"}, "ends_at", "after starts_at"),
        ({"starts_at": "next monday"}, "starts_at", "RFC 3339"),
        ({"starts_at": "2026-01-01T00:00:00"}, "starts_at", "time zone"),
        ({"recurrence": "RRULE:FREQ=FORTNIGHTLY"}, "recurrence", "invalid 'FREQ'"),
        ({"recurrence": "RRULE:FREQ=WEEKLY;BYDAY=XX"}, "recurrence", "invalid 'BYDAY'"),
        ({"timezone": "Europe/Atlantis"}, "timezone", "Unknown time zone"),
        ({"scope": {"rules": [987654, 987655]}}, "scope.rules", "987654, 987655"),
        ({"scope": {"priorities": ["urgent"]}}, "scope.priorities", "urgent"),
        ({"scope": {"event_types": ["no_such_type"]}}, "scope.event_types", "no_such_type"),
        ({"scope": {"users": []}}, "scope.users", "Unknown scope"),
        ({"mute": "everything"}, "mute", "notifications"),
        ({"name": ""}, "name", "Required"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(admin, overrides, field, words):
    response = admin.post(URL, body(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert words in response.json()[field][0]
    assert not MaintenanceWindow.objects.exists()


def test_scope_names_existing_rules(admin):
    rule = rule_create(data=FAILED_LOGINS, actor=None)
    response = admin.post(URL, body(scope={"rules": [rule.pk], "event_types": ["user_login_attempt"]}), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["scope"]["rules"] == [rule.pk]


def test_a_patch_is_checked_as_the_whole_window(admin):
    window = admin.post(URL, body(), format="json").json()
    response = admin.patch(f"{URL}/{window['id']}", {"ends_at": "2000-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400
    assert "ends_at" in response.json()


def test_the_alerts_api_shows_suppressed_by(admin, ingest):
    channel = Channel.objects.create(kind="email", name="Ops", config={"recipients": ["ops@example.com"]})
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)
    window = admin.post(URL, body(scope={}, recurrence=None), format="json").json()
    ingest(make_event(id="in-window", timestamp=iso(timezone.now())))
    alert = Alert.objects.get()
    listed = admin.get("/api/v1/alerts").json()["results"][0]
    assert listed["suppressed_by"] == {"id": window["id"], "name": "Weekend patching"}
    assert admin.get(f"/api/v1/alerts/{alert.pk}").json()["suppressed_by"]["id"] == window["id"]


# -- preview ------------------------------------------------------------------------------


def test_preview_counts_what_the_window_would_have_muted_over_seven_days(auth_client, ingest):
    channel = Channel.objects.create(kind="email", name="Ops", config={"recipients": ["ops@example.com"]})
    rule_create(data={**FAILED_LOGINS, "send_notifications": True, "channels": [channel.pk]}, actor=None)
    now = timezone.now()
    ingest(
        make_event(id="two-days-ago", timestamp=iso(now - timedelta(days=2))),
        make_event(id="two-days-ago-2", timestamp=iso(now - timedelta(days=2, minutes=5))),
        make_event(id="five-days-ago", timestamp=iso(now - timedelta(days=5))),
        make_event(id="ten-days-ago", timestamp=iso(now - timedelta(days=10))),
    )
    assert Alert.objects.count() == 4
    start = now - timedelta(days=8, hours=1)
    preview = {
        "name": "Daily hour",
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(hours=2)),
        "timezone": "UTC",
        "recurrence": "RRULE:FREQ=DAILY;INTERVAL=3",
        "mute": "notifications",
    }
    response = auth_client("viewer").post(f"{URL}/preview", preview, format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    # Occurrences 8, 5 and 2 days back (an hour either side): the events two and five days ago; not ten.
    assert (result["alerts"], result["notifications"]) == (3, 3)
    assert len(result["sample"]) == 3
    assert len(result["occurrences"]) == 2  # the one 8 days back ended before the 7 days began
    assert result["sample"][0]["rule"]["name"] == "Failed logins"
    assert not MaintenanceWindow.objects.exists()


def test_preview_of_a_weekly_window_that_starts_next_week_replays_its_pattern(auth_client, ingest):
    rule_create(data=FAILED_LOGINS, actor=None)
    now = timezone.now()
    ingest(make_event(id="three-days-ago", timestamp=iso(now - timedelta(days=3))))
    first = now + timedelta(days=4, hours=-1)  # next week's occurrence of "three days ago, one hour either side"
    preview = {
        "name": "From next week",
        "starts_at": iso(first),
        "ends_at": iso(first + timedelta(hours=2)),
        "timezone": "UTC",
        "recurrence": "RRULE:FREQ=WEEKLY",
        "mute": "alerts",
    }
    result = auth_client("viewer").post(f"{URL}/preview", preview, format="json").json()
    assert result["alerts"] == 1
    assert len(result["occurrences"]) == 1


def test_preview_of_a_bad_window_is_a_400(admin):
    response = admin.post(f"{URL}/preview", body(timezone="Nowhere/Land"), format="json")
    assert response.status_code == 400
    assert "timezone" in response.json()


def test_preview_costs_a_few_queries_whatever_the_alerts(admin, ingest, django_assert_max_num_queries):
    rule_create(data=FAILED_LOGINS, actor=None)
    now = timezone.now()
    ingest(*[make_event(id=f"p{n}", timestamp=iso(now - timedelta(hours=n))) for n in range(40)])
    with django_assert_max_num_queries(8):
        response = admin.post(
            f"{URL}/preview",
            body(
                starts_at=iso(now - timedelta(days=7)),
                ends_at=iso(now - timedelta(days=7) + timedelta(hours=1)),
                timezone="UTC",
                recurrence="RRULE:FREQ=HOURLY",
                scope={},
            ),
            format="json",
        )
    assert response.json()["alerts"] == 40
