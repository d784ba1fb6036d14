"""Console routes that answer with and without a trailing slash (api.md: "Every path answers with
and without a trailing slash").

Without this, Django's APPEND_SLASH answers a slashless GET with a 301 and a slashless POST with a
RuntimeError under DEBUG (or a redirect that drops the form data). The API gets the same effect from
``OptionalSlashRouter``; console routes use :func:`slash_optional` instead of ``path()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path


def slash_optional(
    route: str, view: Callable[..., Any], kwargs: dict[str, Any] | None = None, name: str | None = None
) -> tuple[URLPattern, URLPattern]:
    """Return two ``path()`` patterns for ``route`` (which ends in "/"): without the slash, then with it.

    Use it unpacked in ``urlpatterns``: ``*slash_optional("insights/alerts/", views.alert_list, name=...)``.
    Converters (``<int:pk>``) behave exactly as in ``path()``. Only the slashed pattern carries the
    name and it comes last, so ``reverse()`` (by name or by view) and ``{% url %}`` still give the
    canonical slashed URL.
    """
    if not route.endswith("/") or route == "/":
        raise ValueError(f"slash_optional() needs a non-root route ending in '/', not {route!r}")
    return path(route[:-1], view, kwargs), path(route, view, kwargs, name=name)
