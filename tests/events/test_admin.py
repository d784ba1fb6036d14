"""The Django admin of the event log (read-only, capped counts) and of the event-type catalog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

import alertsite.paginators
from alertsite.paginators import CappedCountPaginator
from events.models import AuditEvent, EventType
from events.services import event_batch_ingest
from events.validation import Limits, events_validate
from tests.factories import make_event

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/events/auditevent/"


def store(*events: dict) -> None:
    records, errors = events_validate(list(events), limits=Limits.from_settings())
    assert not errors, errors
    event_batch_ingest(records=records)


def hours_ago(hours: float) -> str:
    return (timezone.now() - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def listed(response) -> list[str]:
    assert response.status_code == 200
    return [event.event_id for event in response.context["cl"].result_list]


@pytest.fixture
def admin_client(client, admin_user):
    """A console session of a user with the admin role (staff, not necessarily superuser)."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def sample(db):
    store(
        make_event(id="login-dir", event_type="user_login_attempt", service="directory", timestamp=hours_ago(1)),
        make_event(
            id="login-sso", event_type="user_login_attempt", service="sso", success=True, timestamp=hours_ago(2)
        ),
        make_event(
            id="create-old",
            event_type="user_create",
            service="directory",
            initiated_by={"email": "carol@example.com"},
            timestamp=hours_ago(48),
        ),
    )


def test_changelist_renders_newest_first_for_the_admin_role(admin_client, sample):
    assert listed(admin_client.get(CHANGELIST)) == ["login-dir", "login-sso", "create-old"]


def test_changelist_offers_event_types_from_the_catalog(admin_client, sample):
    response = admin_client.get(CHANGELIST)
    event_type_filter = next(
        spec for spec in response.context["cl"].filter_specs if spec.parameter_name == "event_type"
    )
    offered = [value for value, _label in event_type_filter.lookup_choices]
    assert offered == list(EventType.objects.values_list("name", flat=True))
    assert "association_change" in offered  # from the catalog, though no such event is stored


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"event_type": "user_create"}, ["create-old"]),
        ({"service": "sso"}, ["login-sso"]),
        ({"success__exact": "1"}, ["login-sso"]),
        ({"within": "24h"}, ["login-dir", "login-sso"]),
        ({"within": "1h"}, []),
        ({"q": "carol@"}, ["create-old"]),
        ({"q": "login-sso"}, ["login-sso"]),
    ],
    ids=["event_type", "service", "success", "within-24h", "within-1h", "search-initiator", "search-id"],
)
def test_changelist_filters_and_search_narrow_the_list(admin_client, sample, params, expected):
    assert listed(admin_client.get(CHANGELIST, params)) == expected


def test_changelist_query_count_is_bounded(admin_client, django_assert_max_num_queries):
    store(*[make_event(id=f"e{n}", timestamp=hours_ago(n)) for n in range(60)])
    with django_assert_max_num_queries(8):
        response = admin_client.get(CHANGELIST, {"within": "7d", "service": "directory"})
    assert len(response.context["cl"].result_list) == 50


def test_change_view_shows_the_event_json_escaped(admin_client):
    store(make_event(id="xss", resource={"name": "<script>alert(1)</script>"}))
    pk = AuditEvent.objects.get().pk
    response = admin_client.get(f"{CHANGELIST}{pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;event_type&quot;: &quot;user_login_attempt&quot;" in html  # pretty-printed, two-space indent


def test_add_view_is_forbidden(admin_client):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403


def test_change_view_is_read_only(admin_client):
    store(make_event(id="fixed", service="directory"))
    event = AuditEvent.objects.get()
    response = admin_client.post(f"{CHANGELIST}{event.pk}/change/", {"service": "changed"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.service == "directory"


def test_delete_view_is_forbidden(admin_client):
    store(make_event(id="kept"))
    pk = AuditEvent.objects.get().pk
    assert admin_client.post(f"{CHANGELIST}{pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=pk).exists()


def test_changelist_offers_no_delete_action(admin_client, sample):
    response = admin_client.get(CHANGELIST)
    assert "delete_selected" not in response.content.decode()


def test_viewer_without_staff_access_is_sent_to_login(client, make_user):
    client.force_login(make_user("viewer"))
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_event_type_changelist_renders(admin_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = admin_client.get("/admin/events/eventtype/", {"known__exact": "1", "q": "login"})
    assert response.status_code == 200
    assert "user_login_attempt" in response.content.decode()


def test_event_type_change_view_renders(admin_client):
    pk = EventType.objects.get(name="user_login_attempt").pk
    response = admin_client.get(f"/admin/events/eventtype/{pk}/change/")
    assert response.status_code == 200


def test_capped_paginator_counts_at_most_one_past_the_cap(monkeypatch):
    store(*[make_event(id=f"e{n}") for n in range(10)])
    monkeypatch.setattr(alertsite.paginators, "COUNT_CAP", 3)
    paginator = CappedCountPaginator(AuditEvent.objects.order_by("pk"), 2)
    assert paginator.count == 4
    assert paginator.num_pages == 2


def test_capped_paginator_counts_exactly_below_the_cap(monkeypatch):
    store(*[make_event(id=f"e{n}") for n in range(3)])
    monkeypatch.setattr(alertsite.paginators, "COUNT_CAP", 5)
    assert CappedCountPaginator(AuditEvent.objects.order_by("pk"), 2).count == 3


def test_capped_paginator_counts_with_one_query(monkeypatch, django_assert_num_queries):
    store(*[make_event(id=f"e{n}") for n in range(5)])
    monkeypatch.setattr(alertsite.paginators, "COUNT_CAP", 2)
    with django_assert_num_queries(1):
        assert CappedCountPaginator(AuditEvent.objects.order_by("pk"), 2).count == 3
