"""Reads of channels and deliveries for other apps' pages (rules' channel pickers, an alert's notifications)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.functions import Lower

from channels.models import Channel, Delivery


def channels_by_name() -> QuerySet[Channel]:
    """Every channel, by name ignoring case, with only what a picker or a list shows."""
    return Channel.objects.only("pk", "name", "kind", "enabled").order_by(Lower("name"))


def deliveries_of_alert(alert_pk: int, *, limit: int) -> list[Delivery]:
    """The newest `limit` notifications about one alert, each with its channel."""
    return list(Delivery.objects.filter(alert_id=alert_pk).select_related("channel").order_by("-created_at")[:limit])
