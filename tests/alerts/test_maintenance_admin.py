"""The Django admin writes maintenance windows through the service: same checks, same audit trail."""

from __future__ import annotations

import pytest

from alerts.models import MaintenanceWindow
from events.models import AuditEvent

pytestmark = pytest.mark.django_db

ADD = "/admin/alerts/maintenancewindow/add/"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def form(**overrides) -> dict:
    return {
        "name": "Patching",
        "reason": "",
        "starts_at_0": "2026-03-21",
        "starts_at_1": "21:00:00",
        "ends_at_0": "2026-03-22",
        "ends_at_1": "01:00:00",
        "timezone": "Europe/Berlin",
        "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=SA",
        "mute": "notifications",
        "scope_rules": "[]",
        "scope_priorities": "[]",
        "scope_event_types": "[]",
        **overrides,
    }


def test_admin_adds_a_window_with_an_audit_event(admin_client):
    assert admin_client.get(ADD).status_code == 200
    response = admin_client.post(ADD, form())
    assert response.status_code == 302, response.content.decode()[:2000]
    window = MaintenanceWindow.objects.get()
    assert window.recurrence == "RRULE:FREQ=WEEKLY;BYDAY=SA"
    assert AuditEvent.objects.filter(event_type="maintenance_window_create").count() == 1
    changelist = admin_client.get("/admin/alerts/maintenancewindow/").content.decode()
    assert "Patching" in changelist


def test_the_admin_form_names_bad_fields(admin_client):
    response = admin_client.post(ADD, form(recurrence="RRULE:FREQ=NEVER", scope_rules="[424242]"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "invalid &#x27;FREQ&#x27;" in page or "invalid 'FREQ'" in page
    assert "No rule with id 424242" in page
    assert not MaintenanceWindow.objects.exists()


def test_admin_deletes_a_window_with_an_audit_event(admin_client):
    admin_client.post(ADD, form())
    window = MaintenanceWindow.objects.get()
    response = admin_client.post(f"/admin/alerts/maintenancewindow/{window.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not MaintenanceWindow.objects.exists()
    assert AuditEvent.objects.filter(event_type="maintenance_window_delete").count() == 1
