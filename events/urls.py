"""Console URLs of the events app (pages are filled in by the console issue)."""

from __future__ import annotations

from django.urls import path

from events import views

urlpatterns = [
    path("insights/events/", views.event_list, name="console-events"),
]
