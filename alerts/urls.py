"""Console URLs of the alerts app (pages are filled in by the console issue)."""

from __future__ import annotations

from alerts import maintenance_views, metrics_views, views
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
    *slash_optional("settings/maintenance-windows/", maintenance_views.window_list, name="console-maintenance"),
    *slash_optional("settings/maintenance-windows/new/", maintenance_views.window_new, name="console-maintenance-new"),
    *slash_optional(
        "settings/maintenance-windows/preview/",
        maintenance_views.window_preview_fragment,
        name="console-maintenance-preview",
    ),
    *slash_optional(
        "settings/maintenance-windows/<int:pk>/edit/", maintenance_views.window_edit, name="console-maintenance-edit"
    ),
    *slash_optional(
        "settings/maintenance-windows/<int:pk>/delete/",
        maintenance_views.window_remove,
        name="console-maintenance-delete",
    ),
]
