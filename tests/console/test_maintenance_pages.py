"""Settings > Maintenance Windows in the console: list, add/edit/delete for admins, preview, alert page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, MaintenanceWindow
from events.models import AuditEvent
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

LIST = "/settings/maintenance-windows/"
FAILED_LOGINS = {
    "name": "Failed logins",
    "priority": "high",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


def make_window(**fields) -> MaintenanceWindow:
    now = timezone.now()
    values = {"name": "Weekend patching", "starts_at": now - timedelta(hours=1), "ends_at": now + timedelta(hours=1)}
    return MaintenanceWindow.objects.create(**{**values, **fields})


def form(**overrides) -> dict:
    return {
        "name": "Weekend patching",
        "reason": "OS updates",
        "timezone": "Europe/Berlin",
        "starts_local": "2026-03-21T22:00",
        "ends_local": "2026-03-22T02:00",
        "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=SA",
        "recurrence_custom": "",
        "mute": "notifications",
        "scope_priorities": ["low", "medium"],
        **overrides,
    }


def test_the_settings_menu_links_the_page(login):
    page = login("viewer").get("/insights/alerts/").content.decode()
    assert f'href="{LIST}"' in page


def test_an_empty_list_says_so_and_offers_add_to_admins(login):
    admin_page = login("admin").get(LIST).content.decode()
    assert "No maintenance windows yet" in admin_page
    assert "+Add" in admin_page
    viewer_page = login("viewer").get(LIST).content.decode()
    assert "No maintenance windows yet" in viewer_page
    assert "+Add" not in viewer_page


def test_the_list_shows_active_upcoming_and_ended_windows_with_what_they_muted(login):
    make_window(name="Now", muted_alerts=4, muted_notifications=3)
    later = timezone.now() + timedelta(days=2)
    make_window(name="Later", starts_at=later, ends_at=later + timedelta(hours=2))
    make_window(name="Gone", starts_at=timezone.now() - timedelta(days=3), ends_at=timezone.now() - timedelta(days=2))
    page = login("responder").get(LIST).content.decode()
    current, ended = page.split('data-testid="windows-ended"')
    assert "Now" in current and "Later" in current and "Gone" in ended
    assert "4 alerts, 3 notifications" in current
    assert "Active" in current and "Upcoming" in current
    assert "Edit" not in page  # responders read only


def test_admin_adds_a_window_read_in_its_time_zone(login):
    response = login("admin").post(f"{LIST}new/", form())
    assert response.status_code == 302
    window = MaintenanceWindow.objects.get()
    assert window.starts_at == datetime(2026, 3, 21, 21, tzinfo=UTC)  # 22:00 in Berlin (CET)
    assert window.ends_at == datetime(2026, 3, 22, 1, tzinfo=UTC)
    assert (window.recurrence, window.scope_priorities, window.mute) == (
        "RRULE:FREQ=WEEKLY;BYDAY=SA",
        ["low", "medium"],
        "notifications",
    )
    assert AuditEvent.objects.filter(event_type="maintenance_window_create").count() == 1


def test_a_custom_rrule_wins_and_a_bad_one_is_named(login):
    client = login("admin")
    response = client.post(f"{LIST}new/", form(recurrence_custom="RRULE:FREQ=SOMETIMES"))
    assert response.status_code == 400
    assert "invalid &#x27;FREQ&#x27;" in response.content.decode() or "invalid 'FREQ'" in response.content.decode()
    assert not MaintenanceWindow.objects.exists()
    client.post(f"{LIST}new/", form(recurrence_custom="RRULE:FREQ=MONTHLY;BYDAY=-1SA"))
    assert MaintenanceWindow.objects.get().recurrence == "RRULE:FREQ=MONTHLY;BYDAY=-1SA"


def test_ends_before_start_and_unknown_zone_are_named_on_the_form(login):
    response = login("admin").post(f"{LIST}new/", form(ends_local="2026-03-21T21:00", timezone="Mars/Base"))
    page = response.content.decode()
    assert response.status_code == 400
    assert "Unknown time zone" in page
    assert not MaintenanceWindow.objects.exists()


def test_admin_edits_and_deletes_a_window(login):
    window = make_window()
    client = login("admin")
    page = client.get(f"{LIST}{window.pk}/edit/").content.decode()
    assert 'value="Weekend patching"' in page
    client.post(f"{LIST}{window.pk}/edit/", form(name="Patch night", timezone="UTC", recurrence=""))
    window.refresh_from_db()
    assert window.name == "Patch night"
    assert client.post(f"{LIST}{window.pk}/delete/").status_code == 302
    assert not MaintenanceWindow.objects.exists()


@pytest.mark.parametrize("role", ["responder", "viewer"])
def test_only_admins_add_edit_or_delete(login, role):
    window = make_window()
    client = login(role)
    assert client.get(f"{LIST}new/").status_code == 403
    assert client.post(f"{LIST}new/", form()).status_code == 403
    assert client.post(f"{LIST}{window.pk}/edit/", form(name="x")).status_code == 403
    assert client.post(f"{LIST}{window.pk}/delete/").status_code == 403
    assert MaintenanceWindow.objects.get().name == "Weekend patching"


def test_the_preview_shows_what_the_form_would_have_muted(login, ingest):
    rule_create(data=FAILED_LOGINS, actor=None)
    now = timezone.now()
    ingest(make_event(id="yesterday", timestamp=(now - timedelta(days=1)).isoformat()))
    start = (now - timedelta(days=1, hours=1)).astimezone(UTC)
    response = login("admin").post(
        f"{LIST}preview/",
        form(
            timezone="UTC",
            starts_local=start.strftime("%Y-%m-%dT%H:%M"),
            ends_local=(start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            recurrence="",
            scope_priorities=[],
        ),
    )
    page = response.content.decode()
    assert "raised <strong>1</strong> alert silently" in page
    assert Alert.objects.get().reference in page
    assert not MaintenanceWindow.objects.exists()


def test_the_preview_names_bad_fields(login):
    page = login("admin").post(f"{LIST}preview/", form(timezone="Nowhere")).content.decode()
    assert "Time zone: Unknown time zone" in page


def test_the_alert_page_says_which_window_suppressed_it(login, ingest):
    rule_create(data=FAILED_LOGINS, actor=None)
    window = make_window()
    ingest(make_event(id="now", timestamp=timezone.now().isoformat()))
    alert = Alert.objects.get()
    page = login("viewer").get(f"/insights/alerts/{alert.pk}/").content.decode()
    assert "Suppressed by" in page
    assert f"#window-{window.pk}" in page
