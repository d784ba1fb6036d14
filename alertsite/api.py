"""The `/api/v1/` URL space: every app's API routes in one place."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("alertsite.accounts.api.urls")),
    path("", include("events.api.urls")),
    path("", include("rules.api.urls")),
    path("", include("alerts.api.urls")),
    path("", include("channels.api.urls")),
]
