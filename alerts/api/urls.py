from __future__ import annotations

from alerts.api.views import AlertViewSet
from alertsite.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = router.urls
