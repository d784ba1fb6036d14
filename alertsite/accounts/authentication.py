"""API token authentication in one prepared-once statement: the token, its user and the user's role.

DRF's TokenAuthentication builds `Token.objects.select_related("user").get(key=...)` for every
request, and compiling that join of two wide tables costs more CPU than anything else in a
single-event POST (about half of the web process's time at 50 events/s), then the role costs a
second query. Here the SQL is written once per process and the role group comes in the same
row, so a request pays one short statement. Same answers and errors as DRF's class.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from alertsite.accounts.roles import ROLE_NAMES, Role, role_from_group_names, user_role_remember
from alertsite.sqlread import instances


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's, read with one plain statement."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, group_names = _token_user(key)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        user_role_remember(user, Role.ADMIN if user.is_superuser else role_from_group_names(group_names))
        return user, Token(key=key, user=user)


@cache
def _statement() -> str:
    """SELECT the user's columns and its role group names for a token key (a row per role group)."""
    user_model = get_user_model()
    quote = connection.ops.quote_name
    columns = ", ".join(f"u.{quote(str(field.column))}" for field in user_model._meta.concrete_fields)
    user_pk = quote(str(user_model._meta.pk.column))
    names = ", ".join(["%s"] * len(ROLE_NAMES))
    return (
        f"SELECT {columns}, g.name AS role_group FROM {quote(Token._meta.db_table)} t "
        f"JOIN {quote(user_model._meta.db_table)} u ON u.{user_pk} = t.user_id "
        f"LEFT JOIN {quote(user_model.groups.through._meta.db_table)} ug ON ug.user_id = u.{user_pk} "
        f"LEFT JOIN {quote(Group._meta.db_table)} g ON g.id = ug.group_id AND g.name IN ({names}) "
        f"WHERE t.{quote('key')} = %s"
    )


def _token_user(key: str) -> tuple[Any, set[str]]:
    """The token's user (None if no such token) and the names of its role groups (a row per
    role group, each carrying it as `role_group`). Built by alertsite.sqlread: a raw queryset's
    column mapping, worked out anew per request, cost more than the statement."""
    found = instances(get_user_model(), _statement(), [*ROLE_NAMES, key])
    if not found:
        return None, set()
    groups = {getattr(row, "role_group", None) for row in found}
    return found[0], {name for name in groups if name is not None}
