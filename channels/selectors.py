"""Reads of channels for other apps (rules validates its channel ids here) and for lists."""

from __future__ import annotations

from collections.abc import Iterable

from channels.models import Channel


def channel_ids_existing(ids: Iterable[int]) -> set[int]:
    """Which of these channel ids exist (enabled or not): one query."""
    wanted = list(ids)
    if not wanted:
        return set()
    return set(Channel.objects.filter(pk__in=wanted).values_list("pk", flat=True))
