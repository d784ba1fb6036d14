from __future__ import annotations

from django.urls import re_path

from alertsite.routers import OptionalSlashRouter
from rules.api.views import ConditionConvertView, OperatorListView, RuleTemplateListView, RuleViewSet

router = OptionalSlashRouter()
router.register("rules", RuleViewSet, basename="rule")

urlpatterns = [
    re_path(r"^rule-templates/?$", RuleTemplateListView.as_view(), name="rule-template-list"),
    re_path(r"^operators/?$", OperatorListView.as_view(), name="operator-list"),
    re_path(r"^conditions/convert/?$", ConditionConvertView.as_view(), name="condition-convert"),
    *router.urls,
]
