from __future__ import annotations

from django.urls import re_path

from alertsite.routers import OptionalSlashRouter
from rules.api.views import RuleTemplateListView, RuleViewSet

router = OptionalSlashRouter()
router.register("rules", RuleViewSet, basename="rule")

urlpatterns = [
    re_path(r"^rule-templates/?$", RuleTemplateListView.as_view(), name="rule-template-list"),
    *router.urls,
]
