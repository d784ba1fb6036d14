from __future__ import annotations

from django.urls import re_path

from alerts.api.integrations import PagerDutyWebhookView
from alerts.api.maintenance import MaintenanceWindowViewSet
from alerts.api.views import AlertViewSet
from alertsite.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("alerts", AlertViewSet, basename="alert")
router.register("maintenance-windows", MaintenanceWindowViewSet, basename="maintenance-window")

urlpatterns = [
    *router.urls,
    re_path(
        r"^integrations/pagerduty/(?P<channel_id>[0-9]{1,18})/?$",
        PagerDutyWebhookView.as_view(),
        name="integration-pagerduty",
    ),
]
