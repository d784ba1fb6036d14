"""Reads of channels and deliveries for other apps' pages (an alert's notifications)."""

from __future__ import annotations

from channels.models import Delivery


def deliveries_of_alert(alert_pk: int, *, limit: int) -> list[Delivery]:
    """The newest `limit` notifications about one alert, each with its channel."""
    return list(Delivery.objects.filter(alert_id=alert_pk).select_related("channel").order_by("-created_at")[:limit])
