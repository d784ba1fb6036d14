"""Console URLs of the events app (pages are filled in by the console issue)."""

from __future__ import annotations

from alertsite.urlhelpers import slash_optional
from events import views

urlpatterns = [
    *slash_optional("insights/events/", views.event_list, name="console-events"),
]
