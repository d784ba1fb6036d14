"""Alert category and source (spec 5.1, 6.1): set when an alert opens, shown and filtered in the API and console."""

from __future__ import annotations

import pytest

from alerts.subjects import alert_category_for, alert_source_for
from tests.factories import make_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/alerts"

# Shapes of the shared vendor samples (spec/event-samples), cut to what the derivation reads.
ADMIN_TOTP_DISABLE = make_event(
    event_type="admin_totp_disable",
    initiated_by={"id": "60a1b2c3d4e5f60718293a4b", "type": "admin", "email": "it.admin@example.com"},
    resource={"id": "60a1b2c3d4e5f60718293a4c", "type": "admin", "email": "helpdesk@example.com"},
)
USER_LOGIN_SYSTEMS = make_event(
    event_type="user_login",
    service="systems",
    initiated_by={"type": "systemuser", "id": "61c0ffee0000000000000a01", "username": "jane.doe"},
    system={"id": "63aa00000000000000000101", "hostname": "JDOE-MBP", "displayName": "JDOE-MBP"},
)
SYSTEM_CREATE = make_event(
    event_type="system_create",
    initiated_by={"id": "63aa00000000000000000102", "type": "system"},
    resource={"id": "63aa00000000000000000102", "type": "system", "hostname": "CNG-LAPTOP"},
)
MDM_COMMAND_RESULT = make_event(
    event_type="mdm_command_result", service="mdm", initiated_by=..., mdm_device_id="63aa00000000000000000101"
)
RADIUS_AUTH = make_event(
    event_type="radius_auth_attempt", service="radius", initiated_by={"type": "user", "username": "bob.smith"}
)
POLICY_CREATE = make_event(
    event_type="policy_create",
    initiated_by={"id": "60a1b2c3d4e5f60718293a4b", "type": "admin", "email": "it.admin@example.com"},
    resource={"id": "65dd00000000000000000401", "type": "policy"},
)


@pytest.mark.parametrize(
    ("event", "category", "source"),
    [
        (make_event(), "directory", ("user", "61c0ffee0000000000000a02")),
        (ADMIN_TOTP_DISABLE, "directory", ("user", "60a1b2c3d4e5f60718293a4c")),
        (USER_LOGIN_SYSTEMS, "devices", ("device", "63aa00000000000000000101")),
        (SYSTEM_CREATE, "directory", ("device", "63aa00000000000000000102")),
        (MDM_COMMAND_RESULT, "mdm", ("device", "63aa00000000000000000101")),
        (RADIUS_AUTH, "radius", ("user", "bob.smith")),
        (POLICY_CREATE, "directory", ("user", "60a1b2c3d4e5f60718293a4b")),
        (make_event(service="sso"), "sso", ("user", "61c0ffee0000000000000a02")),
        (make_event(service="password_manager"), "password_manager", ("user", "61c0ffee0000000000000a02")),
        (make_event(service="LDAP"), "ldap", ("user", "61c0ffee0000000000000a02")),
        (make_event(service="something_new", initiated_by=...), "other", ("", "")),
        (
            make_event(service=..., initiated_by={"type": "system", "id": "63aa00000000000000000103"}),
            "other",
            ("device", "63aa00000000000000000103"),
        ),
        (
            make_event(
                event_type="alert_created", service="alerts", initiated_by={"type": "system", "id": "alertsite"}
            ),
            "alerts",
            ("", ""),
        ),
    ],
    ids=[
        "user-initiator",
        "affected-admin",
        "systems-device",
        "system-resource",
        "mdm-device",
        "radius-username",
        "admin-changing-a-policy",
        "sso",
        "password-manager",
        "service-case",
        "unknown-service",
        "device-initiator-no-service",
        "alertsite-itself",
    ],
)
def test_category_and_source_of_each_kind_of_event(event, category, source):
    assert alert_category_for(event) == category
    assert alert_source_for(event) == source


def test_alert_on_an_alert_event_keeps_the_original_subject():
    event = make_event(
        event_type="alert_status_updated",
        service="alerts",
        initiated_by={"type": "admin", "id": "7", "username": "rita"},
        resource={"type": "alert", "id": "3", "source_type": "device", "source_id": "63aa00000000000000000101"},
    )
    assert alert_source_for(event) == ("device", "63aa00000000000000000101")


def test_alert_opened_from_a_device_event_is_about_the_device(raise_alert):
    alert = raise_alert(USER_LOGIN_SYSTEMS)
    assert (alert.category, alert.source_type, alert.source_id) == ("devices", "device", "63aa00000000000000000101")
    assert alert.get_category_display() == "Devices"


def test_alert_api_shows_category_and_source(raise_alert, auth_client):
    alert = raise_alert(make_event())
    body = auth_client("viewer").get(f"{URL}/{alert.pk}").json()
    assert (body["category"], body["source_type"], body["source_id"]) == (
        "directory",
        "user",
        "61c0ffee0000000000000a02",
    )
    listed = auth_client("viewer").get(URL).json()["results"][0]
    assert (listed["category"], listed["source_type"], listed["source_id"]) == (
        "directory",
        "user",
        "61c0ffee0000000000000a02",
    )


def test_alert_list_filters_by_category(raise_alert, auth_client):
    directory = raise_alert(make_event())
    radius = raise_alert(RADIUS_AUTH)
    raise_alert(make_event(service="sso"))
    body = auth_client("viewer").get(URL, {"category": "directory,radius"}).json()
    assert sorted(item["id"] for item in body["results"]) == [directory.pk, radius.pk]


def test_alert_list_filters_by_source_type(raise_alert, auth_client):
    raise_alert(make_event())
    device = raise_alert(USER_LOGIN_SYSTEMS)
    body = auth_client("viewer").get(URL, {"source_type": "device"}).json()
    assert [item["id"] for item in body["results"]] == [device.pk]


def test_unknown_category_filter_is_a_400(auth_client):
    response = auth_client("viewer").get(URL, {"category": "System"})
    assert response.status_code == 400
    assert "category" in response.json()


def test_dashboard_filters_by_category_and_source(client, make_user, raise_alert):
    user_alert = raise_alert(make_event())
    device_alert = raise_alert(USER_LOGIN_SYSTEMS)
    client.force_login(make_user("viewer"))
    page = client.get("/insights/alerts/", {"category": "devices"}).content.decode()
    assert device_alert.reference in page and user_alert.reference not in page
    page = client.get("/insights/alerts/", {"source_type": "user"}).content.decode()
    assert user_alert.reference in page and device_alert.reference not in page
    assert '<option value="devices" selected>' not in page  # filters don't leak between requests
    assert '<option value="user" selected>User</option>' in page


def test_dashboard_keeps_category_and_source_in_its_links(client, make_user, raise_alert):
    raise_alert(USER_LOGIN_SYSTEMS)
    client.force_login(make_user("viewer"))
    page = client.get("/insights/alerts/", {"category": "devices", "source_type": "device"}).content.decode()
    assert "category=devices" in page and "source_type=device" in page  # sort links and the live poller


def test_detail_page_shows_category_and_source(client, make_user, raise_alert):
    alert = raise_alert(USER_LOGIN_SYSTEMS)
    client.force_login(make_user("viewer"))
    page = client.get(f"/insights/alerts/{alert.pk}/").content.decode()
    assert "<dt>Category</dt><dd>Devices</dd>" in page
    # By name (the device's hostname), the id beside it.
    assert 'Device JDOE-MBP <code class="muted">63aa00000000000000000101</code>' in page
