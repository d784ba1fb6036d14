from __future__ import annotations

from alertsite.routers import OptionalSlashRouter
from events.api.views import AuditEventViewSet, EventTypeViewSet

router = OptionalSlashRouter()
router.register("events", AuditEventViewSet, basename="event")
router.register("event-types", EventTypeViewSet, basename="event-type")

urlpatterns = router.urls
