"""Reads of channels and deliveries for other apps: rules validates its channel ids here, and
other apps' pages list channels (rules' pickers) and an alert's notifications."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet, Sum
from django.db.models.functions import Lower

from channels.models import Channel, Delivery, DeliveryCount, DeliveryStatus


def channel_ids_existing(ids: Iterable[int]) -> set[int]:
    """Which of these channel ids exist (enabled or not): one query."""
    wanted = list(ids)
    if not wanted:
        return set()
    return set(Channel.objects.filter(pk__in=wanted).values_list("pk", flat=True))


def channel_names(ids: Iterable[int], *, enabled_only: bool = False) -> dict[int, str]:
    """The names of those of these channel ids that exist (and are enabled, if asked): one query."""
    wanted = list(ids)
    if not wanted:
        return {}
    channels = Channel.objects.filter(pk__in=wanted)
    if enabled_only:
        channels = channels.filter(enabled=True)
    return dict(channels.values_list("pk", "name"))


def channels_by_name() -> QuerySet[Channel]:
    """Every channel, by name ignoring case, with only what a picker or a list shows."""
    return Channel.objects.only("pk", "name", "kind", "enabled").order_by(Lower("name"))


def deliveries_of_alert(alert_pk: int, *, limit: int) -> list[Delivery]:
    """The newest `limit` notifications about one alert, each with its channel."""
    return list(Delivery.objects.filter(alert_id=alert_pk).select_related("channel").order_by("-created_at")[:limit])


def delivery_attempts_by_kind_outcome() -> dict[tuple[str, str], int]:
    """Delivery attempts since install by (channel kind, outcome): one query over the counter rows."""
    rows = DeliveryCount.objects.values("kind", "outcome").annotate(total=Sum("attempts")).order_by("kind", "outcome")
    return {(row["kind"], row["outcome"]): int(row["total"] or 0) for row in rows}


def deliveries_pending_count() -> int:
    """Outbox rows not yet done (pending, or being sent): the (status, next_attempt_at) index answers."""
    return Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]).count()


def pagerduty_signature_check(channel_id: int, body: bytes, header: str | None) -> str:
    """Whether a PagerDuty v3 webhook for this channel is genuine, for alerts' back-sync endpoint:
    `ok`, `unknown` (no such channel, or not a PagerDuty one), `no_secret` (the channel has no
    `webhook_secret`), `unsigned` (no signature header) or `bad` (no signature matches)."""
    from channels.transports.pagerduty_signature import signature_valid

    config = Channel.objects.filter(pk=channel_id, kind="pagerduty").values_list("config", flat=True).first()
    if config is None:
        return "unknown"
    if not config.get("webhook_secret"):
        return "no_secret"
    if not header or not header.strip():
        return "unsigned"
    return "ok" if signature_valid(config, body, header) else "bad"
