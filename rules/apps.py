from __future__ import annotations

from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "rules"
    verbose_name = "Rules"

    def ready(self) -> None:
        from events.hooks import evaluation_scope_register, ingest_listener_register
        from rules.selectors import types_selected_by_rules
        from rules.tasks import evaluation_enqueue

        ingest_listener_register(evaluation_enqueue)
        evaluation_scope_register(types_selected_by_rules)
