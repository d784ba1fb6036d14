from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts.selectors import events_of_unresolved_alerts
        from events.hooks import retention_guard_register

        retention_guard_register(events_of_unresolved_alerts)
