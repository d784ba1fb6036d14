from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts.selectors import events_of_unresolved_alerts
        from alerts.services.notify import alert_preview_notification
        from channels.hooks import alert_notification_register
        from events.hooks import retention_guard_register

        retention_guard_register(events_of_unresolved_alerts)
        alert_notification_register(alert_preview_notification)
