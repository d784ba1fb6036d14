"""Console URLs of the alerts app (pages are filled in by the console issue)."""

from __future__ import annotations

from django.urls import path

from alerts import views

urlpatterns = [
    path("insights/alerts/", views.alert_list, name="console-alerts"),
    path("insights/alerts/new-rows/", views.alert_rows_new, name="console-alerts-new-rows"),
    path("insights/alerts/bulk/", views.alert_bulk, name="console-alerts-bulk"),
    path("insights/alerts/<int:pk>/", views.alert_detail, name="console-alert-detail"),
    path("insights/alerts/<int:pk>/<str:action>/", views.alert_action, name="console-alert-action"),
]
