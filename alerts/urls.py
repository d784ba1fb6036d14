"""Console URLs of the alerts app (pages are filled in by the console issue)."""

from __future__ import annotations

from alerts import metrics_views, views
from alertsite.urlhelpers import slash_optional

urlpatterns = [
    *slash_optional("insights/alerts/", views.alert_list, name="console-alerts"),
    *slash_optional("insights/alerts/metrics/", metrics_views.alert_metrics, name="console-alert-metrics"),
    *slash_optional(
        "insights/alerts/metrics/csv/<slug:chart>/", metrics_views.alert_metrics_csv, name="console-alert-metrics-csv"
    ),
    *slash_optional("insights/alerts/new-rows/", views.alert_rows_new, name="console-alerts-new-rows"),
    *slash_optional("insights/alerts/bulk/", views.alert_bulk, name="console-alerts-bulk"),
    *slash_optional("insights/alerts/<int:pk>/", views.alert_detail, name="console-alert-detail"),
    *slash_optional("insights/alerts/<int:pk>/<str:action>/", views.alert_action, name="console-alert-action"),
]
