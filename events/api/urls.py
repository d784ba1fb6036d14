from __future__ import annotations

from alertsite.routers import OptionalSlashRouter
from events.api.views import AuditEventViewSet, EventTypeViewSet
from events.sources.api import SourceViewSet

router = OptionalSlashRouter()
router.register("events", AuditEventViewSet, basename="event")
router.register("event-types", EventTypeViewSet, basename="event-type")
router.register("sources", SourceViewSet, basename="source")

urlpatterns = router.urls
