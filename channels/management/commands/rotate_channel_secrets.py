"""`manage.py rotate_channel_secrets`: re-seal every channel secret with the current encryption key.

Rotation: set the new ALERTSITE_ENCRYPTION_KEY, move the old key into
ALERTSITE_ENCRYPTION_KEYS_OLD, run this command, then drop the old key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from alertsite.crypto import secret_rotate
from channels.models import Channel


def config_rotate(value: Any) -> Any:
    if isinstance(value, dict):
        rotated = secret_rotate(value)
        if rotated is not value:
            return rotated
        return {key: config_rotate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [config_rotate(item) for item in value]
    return value


class Command(BaseCommand):
    help = "Re-encrypt every channel secret with the current ALERTSITE_ENCRYPTION_KEY."

    def handle(self, *args, **options) -> None:
        count = 0
        with transaction.atomic():
            for channel in Channel.objects.select_for_update().order_by("pk"):
                channel.config = config_rotate(channel.config)
                channel.save(update_fields=["config"])
                count += 1
        self.stdout.write(f"Re-sealed the secrets of {count} channel(s).")
