from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from alertsite.accounts import services
from alertsite.accounts.roles import Role, user_role

pytestmark = pytest.mark.django_db

User = get_user_model()


def test_superuser_counts_as_admin_without_any_group():
    superuser = User.objects.create_superuser(username="root", password="x", email="")

    assert user_role(superuser) == Role.ADMIN


def test_anonymous_user_has_no_role():
    assert user_role(AnonymousUser()) is None


def test_user_without_a_role_group_has_no_role():
    assert user_role(User.objects.create_user(username="plain", password="x")) is None


def test_inactive_user_acts_with_no_role(make_user):
    user = make_user("admin")
    services.user_deactivate(user=user)

    assert user_role(user) is None


def test_setting_a_role_replaces_the_previous_one(make_user):
    user = make_user("admin")

    services.role_set(user=user, role=Role.INGEST)

    assert list(user.groups.values_list("name", flat=True)) == ["ingest"]
    assert user_role(user) == Role.INGEST
    assert not user.is_staff


def test_admin_role_grants_django_admin_access(make_user):
    assert make_user("admin").is_staff


def test_non_admin_role_demotes_a_superuser():
    superuser = User.objects.create_superuser(username="root", password="x", email="")

    services.role_set(user=superuser, role=Role.VIEWER)

    superuser.refresh_from_db()
    assert user_role(superuser) == Role.VIEWER
    assert not superuser.is_superuser
    assert not superuser.is_staff


def test_reactivating_a_user_restores_their_role(make_user):
    user = make_user("responder")
    services.user_deactivate(user=user)

    services.user_update(user=user, is_active=True)

    assert user_role(User.objects.get(pk=user.pk)) == Role.RESPONDER
