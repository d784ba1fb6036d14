"""The alerts dashboard and alert detail pages: filters, live rows, bulk moves, role-aware actions."""

from __future__ import annotations

import orjson
import pytest

from alerts.models import Alert
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def raise_alerts(auth_client, django_capture_on_commit_callbacks):
    rule_create(
        data={"name": "Failed logins", "priority": "high", "conditions": [{"event_type": "user_login_attempt"}]},
        actor=None,
    )

    def make(count: int, **overrides) -> list[Alert]:
        events = [make_event(id=f"e{Alert.objects.count()}-{n}", **overrides) for n in range(count)]
        with django_capture_on_commit_callbacks(execute=True):
            auth_client("admin").post("/api/v1/events", data=orjson.dumps(events), content_type="application/json")
        return list(Alert.objects.order_by("-pk")[:count])

    return make


def logged_in(client, make_user, role):
    client.force_login(make_user(role))
    return client


def test_dashboard_lists_open_and_acknowledged_alerts_by_default(client, make_user, raise_alerts):
    first, second = raise_alerts(2)
    Alert.objects.filter(pk=first.pk).update(status="resolved")
    page = logged_in(client, make_user, "viewer").get("/insights/alerts/").content.decode()
    assert second.reference in page
    assert first.reference not in page


def test_dashboard_search_by_reference(client, make_user, raise_alerts):
    first, second = raise_alerts(2)
    page = logged_in(client, make_user, "viewer").get(f"/insights/alerts/?search={first.reference}").content.decode()
    assert first.reference in page and second.reference not in page


def test_dashboard_shows_an_empty_state(client, make_user):
    page = logged_in(client, make_user, "viewer").get("/insights/alerts/").content.decode()
    assert "No alerts match these filters" in page


def test_viewer_sees_no_action_buttons(client, make_user, raise_alerts):
    (alert,) = raise_alerts(1)
    client = logged_in(client, make_user, "viewer")
    assert "Acknowledge</button>" not in client.get("/insights/alerts/").content.decode()
    assert "Acknowledge</button>" not in client.get(f"/insights/alerts/{alert.pk}/").content.decode()


def test_viewer_cannot_act_even_by_posting(client, make_user, raise_alerts):
    (alert,) = raise_alerts(1)
    response = logged_in(client, make_user, "viewer").post(f"/insights/alerts/{alert.pk}/acknowledge/", {"note": "x"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


def test_responder_acknowledges_then_resolves_with_remarks(client, make_user, raise_alerts):
    (alert,) = raise_alerts(1)
    client = logged_in(client, make_user, "responder")
    client.post(f"/insights/alerts/{alert.pk}/acknowledge/", {"note": "looking"})
    client.post(f"/insights/alerts/{alert.pk}/resolve/", {"note": "fixed"})
    alert.refresh_from_db()
    assert alert.status == "resolved"
    page = client.get(f"/insights/alerts/{alert.pk}/").content.decode()
    assert "looking" in page and "fixed" in page


def test_illegal_move_shows_an_error_message(client, make_user, raise_alerts):
    (alert,) = raise_alerts(1)
    client = logged_in(client, make_user, "responder")
    client.post(f"/insights/alerts/{alert.pk}/resolve/", {})
    response = client.post(f"/insights/alerts/{alert.pk}/acknowledge/", {}, follow=True)
    assert "cannot be acknowledged" in response.content.decode()


def test_bulk_move_never_sends_the_browser_to_another_site(client, make_user, raise_alerts):
    client.force_login(make_user("responder"))
    (alert,) = raise_alerts(1)
    for elsewhere in ("//evil.example/", "https://evil.example/insights/alerts/"):
        response = client.post(
            "/insights/alerts/bulk/", {"action": "acknowledge", "ids": [alert.pk], "next": elsewhere}
        )
        assert response.status_code == 302
        assert response["Location"] == "/insights/alerts/"


def test_bulk_acknowledge_with_one_remark(client, make_user, raise_alerts):
    alerts = raise_alerts(3)
    response = logged_in(client, make_user, "responder").post(
        "/insights/alerts/bulk/", {"action": "acknowledge", "ids": [a.pk for a in alerts], "note": "on it"}, follow=True
    )
    assert "Acknowledged 3 alerts" in response.content.decode()
    assert set(Alert.objects.values_list("status", flat=True)) == {"acknowledged"}


def test_new_rows_fragment_returns_only_newer_alerts(client, make_user, raise_alerts):
    (old,) = raise_alerts(1)
    (new,) = raise_alerts(1)
    fragment = logged_in(client, make_user, "viewer").get(f"/insights/alerts/new-rows/?after={old.pk}").content.decode()
    assert new.reference in fragment and old.reference not in fragment
    assert f"after={new.pk}" in fragment


def test_event_payload_is_escaped_on_the_detail_page(client, make_user, raise_alerts):
    (alert,) = raise_alerts(1, initiated_by={"email": "<script>alert(1)</script>@example.com"})
    page = logged_in(client, make_user, "viewer").get(f"/insights/alerts/{alert.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_dashboard_query_count_does_not_grow_with_alerts(
    client, make_user, raise_alerts, django_assert_max_num_queries
):
    raise_alerts(3)
    client = logged_in(client, make_user, "responder")
    with django_assert_max_num_queries(12):
        client.get("/insights/alerts/")
    raise_alerts(30)
    with django_assert_max_num_queries(12):
        client.get("/insights/alerts/")


def test_home_shows_the_open_alerts_widget(client, make_user, raise_alerts):
    raise_alerts(2)
    page = logged_in(client, make_user, "viewer").get("/").content.decode()
    assert "Open Alerts" in page and "Go To Alerts Dashboard" in page


def test_bell_fragment_counts_open_alerts(client, make_user, raise_alerts):
    raise_alerts(2)
    fragment = logged_in(client, make_user, "viewer").get("/bell/").content.decode()
    assert 'data-testid="bell-count">2<' in fragment


def test_pages_need_a_login(client):
    response = client.get("/insights/alerts/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_assigning_from_the_alert_page_stays_on_that_alert(client, make_user, raise_alerts):
    alerts = raise_alerts(3)
    target = alerts[2]
    responder = logged_in(client, make_user, "responder")
    someone = make_user("responder")
    response = responder.post(f"/insights/alerts/{target.pk}/assign/", {"user": str(someone.pk)})
    assert response.status_code == 302
    assert response["Location"] == f"/insights/alerts/{target.pk}/"
    target.refresh_from_db()
    assert target.assignee == someone


def test_unassigning_from_the_alert_page_stays_on_that_alert(client, make_user, raise_alerts):
    (alert,) = raise_alerts(1)
    responder = logged_in(client, make_user, "responder")
    response = responder.post(f"/insights/alerts/{alert.pk}/assign/", {"user": ""})
    assert response.status_code == 302
    assert response["Location"] == f"/insights/alerts/{alert.pk}/"
