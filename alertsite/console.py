"""What every console page needs: the user's role, and decorators that enforce it on the server."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme

from alertsite.accounts.roles import Role, user_role
from alertsite.snooze import SnoozeInputError

READERS = frozenset({Role.ADMIN, Role.RESPONDER, Role.VIEWER})
RESPONDERS = frozenset({Role.ADMIN, Role.RESPONDER})
ADMINS = frozenset({Role.ADMIN})


def open_alert_count() -> int:
    """The bell: open alerts, snoozed ones left out (alerts.selectors)."""
    from alerts.selectors import alerts_open_count

    return alerts_open_count()


def next_url(request: HttpRequest, default: str) -> str:
    """Where a form asks to go back to (`next`), when it is a page of this site; else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def console_context(request: HttpRequest) -> dict[str, Any]:
    """Lazy values: pages that don't show them (the Django admin, say) pay no query for them."""

    def role() -> Role | None:
        return user_role(request.user) if getattr(request, "user", None) is not None else None

    def role_name() -> str:
        current = role()
        return current.value if current else ""

    return {
        # Counted only when a page renders the bell (one indexed COUNT).
        "bell_count": SimpleLazyObject(open_alert_count),
        "role": SimpleLazyObject(role_name),
        "can_act_on_alerts": SimpleLazyObject(lambda: role() in RESPONDERS),
        "can_edit_rules": SimpleLazyObject(lambda: role() in ADMINS),
        "is_admin": SimpleLazyObject(lambda: role() in ADMINS),
    }


def snooze_body(post: Any) -> dict[str, Any]:
    """A console snooze form as the API's body: `snooze` is a preset's minutes or `custom` with
    `until_local` (a datetime-local input, read as UTC like every time the console shows)."""
    choice = (post.get("snooze") or "").strip()
    body: dict[str, Any] = {"note": post.get("note", "")}
    if choice == "custom":
        until = (post.get("until_local") or "").strip()
        if not until:
            raise SnoozeInputError("until", "Pick the date and time (UTC) the snooze ends.")
        body["until"] = until if until.endswith("Z") else until + "Z"
    else:
        body["minutes"] = choice
    return body


def role_required(roles: frozenset[Role]) -> Callable:
    """Log in first; then 403 unless the user's role is one of `roles` (the templates only hide buttons)."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any):
            if user_role(request.user) not in roles:
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


readers_only = role_required(READERS)
responders_only = role_required(RESPONDERS)
admins_only = role_required(ADMINS)
