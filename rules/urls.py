"""Console URLs of the rules app: the Rules dashboard, Rule Management and the rule form."""

from __future__ import annotations

from django.urls import path

from rules import views

urlpatterns = [
    path("insights/alerts/rules/", views.rule_list, name="console-rules"),
    path("insights/alerts/rules/templates/", views.rule_templates, name="console-rule-templates"),
    path("insights/alerts/rules/new/", views.rule_new, name="console-rule-new"),
    path("insights/alerts/rules/preview/", views.rule_preview_fragment, name="console-rule-preview"),
    path("insights/alerts/rules/<int:pk>/edit/", views.rule_edit, name="console-rule-edit"),
    path("insights/alerts/rules/<int:pk>/enabled/", views.rule_toggle, name="console-rule-toggle"),
    path("insights/alerts/rules/<int:pk>/duplicate/", views.rule_duplicate, name="console-rule-duplicate"),
    path("insights/alerts/rules/<int:pk>/delete/", views.rule_delete_confirm, name="console-rule-delete"),
]
