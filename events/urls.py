"""Console URLs of the events app: the event log and Settings > Data Sources."""

from __future__ import annotations

from alertsite.urlhelpers import slash_optional
from events import views
from events.sources import views as sources

urlpatterns = [
    *slash_optional("insights/events/", views.event_list, name="console-events"),
    *slash_optional("settings/data-sources/", sources.source_list, name="console-sources"),
    *slash_optional("settings/data-sources/new/", sources.source_new, name="console-source-new"),
    *slash_optional("settings/data-sources/<int:pk>/edit/", sources.source_edit, name="console-source-edit"),
    *slash_optional("settings/data-sources/<int:pk>/delete/", sources.source_remove, name="console-source-delete"),
    *slash_optional("settings/data-sources/<int:pk>/test/", sources.source_test_view, name="console-source-test"),
    *slash_optional("settings/data-sources/<int:pk>/poll/", sources.source_poll_view, name="console-source-poll"),
    *slash_optional("settings/data-sources/<int:pk>/pause/", sources.source_pause_view, name="console-source-pause"),
]
