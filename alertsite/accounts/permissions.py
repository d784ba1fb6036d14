"""DRF permissions decided by role (roles.py), not by Django model permissions.

Each class answers False for anonymous callers, which DRF turns into 401 because token
authentication comes first; an authenticated caller whose role may not do this gets 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission

from alertsite.accounts.roles import READER_ROLES, Role, user_role

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class RolePermission(BasePermission):
    """Allow safe methods to ``read_roles`` and every other method to ``write_roles``."""

    read_roles: frozenset[Role] = frozenset()
    write_roles: frozenset[Role] = frozenset()

    def has_permission(self, request: Request, view: APIView) -> bool:
        role = user_role(request.user)
        if role is None:
            return False
        allowed = self.read_roles if request.method in SAFE_METHODS else self.write_roles
        return role in allowed


class ReadOnlyRoles(RolePermission):
    """The API default: admin, responder and viewer read; only admin writes."""

    read_roles = READER_ROLES
    write_roles = frozenset({Role.ADMIN})


class IsAdminRole(RolePermission):
    """Admin only, for every method (users API, configuration that readers must not see)."""

    read_roles = frozenset({Role.ADMIN})
    write_roles = frozenset({Role.ADMIN})


class CanIngestEvents(RolePermission):
    """Readers may read events; admin and ingest may POST them. Ingest may do nothing else."""

    read_roles = READER_ROLES
    write_roles = frozenset({Role.ADMIN})
    post_roles: frozenset[Role] = frozenset({Role.ADMIN, Role.INGEST})

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method == "POST":
            return user_role(request.user) in self.post_roles
        return super().has_permission(request, view)


class CanActOnAlerts(RolePermission):
    """Readers may read alerts; admin and responder may act on them (acknowledge, note, ...)."""

    read_roles = READER_ROLES
    write_roles = frozenset({Role.ADMIN, Role.RESPONDER})


class AnyReader(RolePermission):
    """Admin, responder and viewer, whatever the method: for POSTs that only compute (conversions)."""

    read_roles = READER_ROLES
    write_roles = READER_ROLES
