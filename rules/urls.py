"""Console URLs of the rules app: the Rules dashboard, Rule Management and the rule form."""

from __future__ import annotations

from alertsite.urlhelpers import slash_optional
from rules import views

urlpatterns = [
    *slash_optional("insights/alerts/rules/", views.rule_list, name="console-rules"),
    *slash_optional("insights/alerts/rules/templates/", views.rule_templates, name="console-rule-templates"),
    *slash_optional("insights/alerts/rules/new/", views.rule_new, name="console-rule-new"),
    *slash_optional("insights/alerts/rules/preview/", views.rule_preview_fragment, name="console-rule-preview"),
    *slash_optional("insights/alerts/rules/<int:pk>/edit/", views.rule_edit, name="console-rule-edit"),
    *slash_optional(
        "insights/alerts/rules/<int:pk>/preview-change/",
        views.rule_preview_change_fragment,
        name="console-rule-preview-change",
    ),
    *slash_optional("insights/alerts/rules/<int:pk>/history/", views.rule_history, name="console-rule-history"),
    *slash_optional(
        "insights/alerts/rules/<int:pk>/history/<int:version>/restore/",
        views.rule_restore_version,
        name="console-rule-restore",
    ),
    *slash_optional("insights/alerts/rules/<int:pk>/enabled/", views.rule_toggle, name="console-rule-toggle"),
    *slash_optional("insights/alerts/rules/<int:pk>/snooze/", views.rule_snooze_view, name="console-rule-snooze"),
    *slash_optional("insights/alerts/rules/<int:pk>/unsnooze/", views.rule_unsnooze_view, name="console-rule-unsnooze"),
    *slash_optional("insights/alerts/rules/<int:pk>/duplicate/", views.rule_duplicate, name="console-rule-duplicate"),
    *slash_optional("insights/alerts/rules/<int:pk>/delete/", views.rule_delete_confirm, name="console-rule-delete"),
]
