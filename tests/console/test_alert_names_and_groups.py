"""The alerts pages name things as people do: the source by e-mail or hostname (not its hex id), the
group key as the values grouped on (not their SHA-1), one remark box for Acknowledge and Resolve,
and the names read for a whole page in one query."""

from __future__ import annotations

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert
from alerts.subjects import alert_source_name_for
from rules.models import Rule
from rules.services import rule_create
from tests.factories import make_event

pytestmark = pytest.mark.django_db

USER_ID = "61c0ffee0000000000000a02"


@pytest.fixture
def raise_alerts(auth_client, django_capture_on_commit_callbacks):
    def send(*events: dict) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = auth_client("admin").post(
                "/api/v1/events", data=orjson.dumps(list(events)), content_type="application/json"
            )
        assert response.status_code == 202, response.content

    return send


@pytest.fixture
def viewer(client, make_user):
    client.force_login(make_user("viewer"))
    return client


def test_the_source_name_is_the_users_email_not_the_id():
    event = make_event()
    assert alert_source_name_for(event, "user", USER_ID) == "bob.smith@example.com"


def test_the_source_name_of_a_device_is_its_hostname():
    event = make_event(system={"id": "5c9a0fd2e0c8b71d9a000001", "hostname": "build-01"}, initiated_by=...)
    assert alert_source_name_for(event, "device", "5c9a0fd2e0c8b71d9a000001") == "build-01"


def test_the_source_name_falls_back_to_the_id_when_the_event_names_nobody():
    assert alert_source_name_for({"initiated_by": {"id": USER_ID, "type": "user"}}, "user", USER_ID) == USER_ID
    assert alert_source_name_for(None, "user", USER_ID) == USER_ID


def test_the_alerts_table_shows_the_source_by_name(viewer, raise_alerts):
    rule_create(data={"name": "Failed logins", "conditions": [{"event_type": "user_login_attempt"}]}, actor=None)
    raise_alerts(make_event())
    page = viewer.get("/insights/alerts/").content.decode()
    assert "User · bob.smith@example.com" in page
    assert f"<code>{USER_ID}" not in page


def test_the_alerts_table_reads_the_names_of_a_page_in_one_query(viewer, raise_alerts):
    rule_create(data={"name": "Failed logins", "conditions": [{"event_type": "user_login_attempt"}]}, actor=None)
    raise_alerts(make_event(id="only-one"))
    with CaptureQueriesContext(connection) as one:
        viewer.get("/insights/alerts/")
    raise_alerts(
        *(
            make_event(id=f"many-{n}", initiated_by={"id": f"u{n}", "type": "user", "email": f"u{n}@example.com"})
            for n in range(20)
        )
    )
    with CaptureQueriesContext(connection) as many:
        page = viewer.get("/insights/alerts/").content.decode()
    assert "User · u19@example.com" in page
    assert len(many) == len(one)


def grouped_rule() -> Rule:
    return rule_create(
        data={
            "name": "Failed logins per user and address",
            "conditions": [{"event_type": "user_login_attempt"}],
            "group_by": ["initiated_by.email", "client_ip"],
            "group_window_minutes": 60,
        },
        actor=None,
    )


def test_the_alert_page_shows_the_grouped_values_instead_of_the_hash(viewer, raise_alerts):
    grouped_rule()
    raise_alerts(make_event(initiated_by={"id": USER_ID, "type": "user", "email": "Bob.Smith@Example.com"}))
    alert = Alert.objects.get()
    assert len(alert.group_key) == 40
    page = viewer.get(f"/insights/alerts/{alert.pk}/").content.decode()
    assert "Grouped by" in page
    assert "<code>initiated_by.email</code> = bob.smith@example.com" in page
    assert "<code>client_ip</code> = 198.51.100.77" in page
    assert alert.group_key not in page


def test_the_alert_page_keeps_the_key_when_the_rules_grouping_changed_since(viewer, raise_alerts):
    rule = grouped_rule()
    raise_alerts(make_event())
    alert = Alert.objects.get()
    Rule.objects.filter(pk=rule.pk).update(group_by=["resource.id"])
    page = viewer.get(f"/insights/alerts/{alert.pk}/").content.decode()
    assert alert.group_key in page  # no values that would mislead


def test_one_remark_box_serves_acknowledge_and_resolve(client, make_user, raise_alerts):
    rule_create(data={"name": "Failed logins", "conditions": [{"event_type": "user_login_attempt"}]}, actor=None)
    raise_alerts(make_event())
    alert = Alert.objects.get()
    client.force_login(make_user("responder"))
    page = client.get(f"/insights/alerts/{alert.pk}/").content.decode()
    assert page.count("<label>Remark ") == 1
    assert f'formaction="/insights/alerts/{alert.pk}/acknowledge/"' in page
    assert f'formaction="/insights/alerts/{alert.pk}/resolve/"' in page
    client.post(f"/insights/alerts/{alert.pk}/resolve/", {"note": "False alarm"})
    assert Alert.objects.get().transitions.get().note == "False alarm"
