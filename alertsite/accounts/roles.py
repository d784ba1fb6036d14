"""The four roles. A role is a Django group of the same name; a user belongs to exactly one.

Superusers (``createsuperuser``) count as admin whatever their groups, so bootstrapping works
before anyone has assigned a role.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, cast

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# Cached on the user object; a request loads its user afresh, so the cache lives for one request.
_CACHE_ATTR = "_alertsite_role"
_MISSING = object()


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    RESPONDER = "responder", "Responder"
    VIEWER = "viewer", "Viewer"
    INGEST = "ingest", "Ingest"


ROLE_NAMES: tuple[str, ...] = tuple(Role.values)  # the role groups' names (Role.values builds a list per read)

# Roles that may read the console and the API (ingest is a write-only service account).
READER_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.RESPONDER, Role.VIEWER})


def user_role(user: AbstractBaseUser | AnonymousUser | None) -> Role | None:
    """Return the role the user acts with now: None for anonymous, inactive or role-less users."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return user_role_assigned(user)


def user_role_assigned(user: AbstractBaseUser) -> Role | None:
    """Return the role the user holds, even while deactivated (for showing, not for deciding)."""
    cached = getattr(user, _CACHE_ATTR, _MISSING)
    if cached is not _MISSING:
        return cast("Role | None", cached)
    role = _role_from_db(user)
    setattr(user, _CACHE_ATTR, role)
    return role


def user_role_forget(user: AbstractBaseUser) -> None:
    """Drop the cached role after the user's groups or superuser flag changed."""
    user.__dict__.pop(_CACHE_ATTR, None)
    prefetched = getattr(user, "_prefetched_objects_cache", None)
    if prefetched:
        prefetched.pop("groups", None)


def _role_from_db(user: Any) -> Role | None:
    if user.is_superuser:
        return Role.ADMIN
    prefetched = getattr(user, "_prefetched_objects_cache", {})
    if "groups" in prefetched:
        # A list endpoint prefetched the groups: read them without a query per row.
        names = [group.name for group in user.groups.all() if group.name in ROLE_NAMES]
    else:
        names = list(user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True))
    return role_from_group_names(names)


def role_from_group_names(names: Collection[str]) -> Role | None:
    """The role of a (non-superuser) user in these groups.

    Services keep one role group per user; if someone added more by hand, the strongest wins.
    """
    for role in Role:
        if role.value in names:
            return role
    return None


def user_role_remember(user: AbstractBaseUser, role: Role | None) -> None:
    """Keep the role read with the user (token authentication reads both in one query)."""
    setattr(user, _CACHE_ATTR, role)
