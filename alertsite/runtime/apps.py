from __future__ import annotations

from django.apps import AppConfig


class RuntimeConfig(AppConfig):
    """Commands that run the product: the embedded server with its scheduler, the demo set-up."""

    name = "alertsite.runtime"
    label = "runtime"
    verbose_name = "Runtime"

    def ready(self) -> None:
        from alertsite import dbfresh

        dbfresh.connect()
