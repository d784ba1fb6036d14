"""Reads of users: the users API list, and who holds which roles (the one role query)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Q

from alertsite.accounts.roles import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet


def user_list() -> QuerySet[User]:
    """Return all users by username, with groups prefetched so each row's role costs no query."""
    return get_user_model().objects.prefetch_related("groups").order_by("username")


def users_with_roles(roles: Iterable[str]) -> QuerySet[User]:
    """The active users holding one of the roles, by username (superusers count as admin)."""
    roles = [str(role) for role in roles]
    users = get_user_model().objects.filter(is_active=True)
    if not roles:
        return users.none()
    query = Q(groups__name__in=roles)
    if Role.ADMIN in roles:
        query |= Q(is_superuser=True)
    return users.filter(query).distinct().order_by("username")


def responders() -> QuerySet[User]:
    """Users who may hold alerts: active, with the admin or responder role."""
    return users_with_roles([Role.ADMIN, Role.RESPONDER])
