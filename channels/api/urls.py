from __future__ import annotations

from alertsite.routers import OptionalSlashRouter
from channels.api.views import ChannelViewSet, DeliveryViewSet

router = OptionalSlashRouter()
router.register("channels", ChannelViewSet, basename="channel")
router.register("deliveries", DeliveryViewSet, basename="delivery")

urlpatterns = router.urls
