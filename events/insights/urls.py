"""The vendor's paths, mounted by alertsite/urls.py at `insights/directory/v1/` (with or without a trailing slash)."""

from __future__ import annotations

from django.urls import re_path

from events.insights import views

urlpatterns = [
    re_path(r"^events/?$", views.EventsView.as_view(), name="insights-events"),
    re_path(r"^events/count/?$", views.CountView.as_view(), name="insights-events-count"),
    re_path(r"^events/distinct/?$", views.DistinctView.as_view(), name="insights-events-distinct"),
    re_path(r"^events/interval/?$", views.IntervalView.as_view(), name="insights-events-interval"),
]
