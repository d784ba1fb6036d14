from __future__ import annotations

from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "rules"
    verbose_name = "Rules"

    def ready(self) -> None:
        from events.hooks import ingest_listener_register
        from rules.tasks import evaluation_enqueue

        ingest_listener_register(evaluation_enqueue)
