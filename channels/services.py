"""Channels services. Delivery (outbox, transports, retries) lands with the channels issue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def notification_enqueue(*, kind: str, channel_ids: Sequence[int], payload: dict[str, Any], source: str) -> int:
    """Queue one notification of `kind` per channel for `source`; returns how many were queued.

    Called inside the transaction that causes the notification. A no-op until the channels
    issue adds the delivery outbox.
    """
    return 0
