"""Reads of users, shaped for the users API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet


def user_list() -> QuerySet[User]:
    """Return all users by username, with groups prefetched so each row's role costs no query."""
    return get_user_model().objects.prefetch_related("groups").order_by("username")
