from __future__ import annotations

from django.apps import AppConfig


class RuntimeConfig(AppConfig):
    """Commands that run the product: the embedded server with its scheduler, the demo set-up."""

    name = "alertsite.runtime"
    label = "runtime"
    verbose_name = "Runtime"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from alertsite import dbfresh
        from alertsite.runtime.stamp_triggers import stamps_after_migrate

        dbfresh.connect()
        post_migrate.connect(stamps_after_migrate, sender=self, dispatch_uid="alertsite.stamps.after_migrate")
