from __future__ import annotations

from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    # Our own app; never install the Django Channels package beside it.
    name = "channels"
    label = "channels"
    verbose_name = "Notification channels"
