from __future__ import annotations

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from alertsite.accounts.permissions import CanActOnAlerts, CanIngestEvents, IsAdminRole, ReadOnlyRoles

pytestmark = pytest.mark.django_db

factory = APIRequestFactory()


def _status(permission: type, method: str, user) -> int:
    """Answer one request through a bare view guarded only by ``permission``."""

    class Probe(APIView):
        permission_classes = [permission]

        def get(self, request):
            return Response({})

        post = patch = delete = get

    request = getattr(factory, method)("/probe")
    if user is not None:
        force_authenticate(request, user=user)
    return Probe.as_view()(request).status_code


@pytest.mark.parametrize(
    ("role", "method", "expected"),
    [
        ("viewer", "get", 200),
        ("responder", "get", 200),
        ("admin", "get", 200),
        ("ingest", "get", 403),
        ("admin", "post", 200),
        ("responder", "post", 403),
        ("viewer", "delete", 403),
    ],
)
def test_read_only_roles_lets_readers_read_and_only_admin_write(make_user, role, method, expected):
    assert _status(ReadOnlyRoles, method, make_user(role)) == expected


@pytest.mark.parametrize(("role", "expected"), [("admin", 200), ("responder", 403), ("viewer", 403), ("ingest", 403)])
def test_is_admin_role_allows_only_admin(make_user, role, expected):
    assert _status(IsAdminRole, "get", make_user(role)) == expected


@pytest.mark.parametrize(
    ("role", "method", "expected"),
    [
        ("ingest", "post", 200),
        ("admin", "post", 200),
        ("responder", "post", 403),
        ("viewer", "post", 403),
        ("ingest", "get", 403),
        ("viewer", "get", 200),
        ("ingest", "delete", 403),
        ("admin", "delete", 200),
    ],
)
def test_can_ingest_events_lets_ingest_only_post(make_user, role, method, expected):
    assert _status(CanIngestEvents, method, make_user(role)) == expected


@pytest.mark.parametrize(
    ("role", "method", "expected"),
    [
        ("responder", "post", 200),
        ("admin", "patch", 200),
        ("viewer", "post", 403),
        ("viewer", "get", 200),
        ("ingest", "get", 403),
        ("ingest", "post", 403),
    ],
)
def test_can_act_on_alerts_lets_responders_act_and_viewers_read(make_user, role, method, expected):
    assert _status(CanActOnAlerts, method, make_user(role)) == expected


@pytest.mark.parametrize("permission", [ReadOnlyRoles, IsAdminRole, CanIngestEvents, CanActOnAlerts])
def test_anonymous_caller_is_not_authenticated(permission):
    assert _status(permission, "get", None) == 401
