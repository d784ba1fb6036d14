from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from alertsite.health import healthz
from alertsite.observability.views import metrics
from alertsite.urlhelpers import slash_optional
from alertsite.views import bell, favicon, home

urlpatterns = [
    re_path(r"^healthz/?$", healthz, name="healthz"),
    re_path(r"^metrics/?$", metrics, name="metrics"),  # api.md section 13
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include("alertsite.accounts.urls")),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's set-up script as a file (?script), not inline: the CSP allows no inline script.
    re_path(
        r"^api/docs/?$",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs/swagger_ui.html"),
        name="api-docs",
    ),
    path("api/v1/", include("alertsite.api")),
    path("insights/directory/v1/", include("events.insights.urls")),  # api.md section 9
    path("", home, name="home"),  # "/" is the only spelling of the root
    *slash_optional("bell/", bell, name="console-bell"),
    path("", include("alerts.urls")),
    path("", include("rules.urls")),
    path("", include("channels.urls")),
    path("", include("events.urls")),
]
