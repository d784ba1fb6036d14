"""Notification channels. The delivery outbox and transports come with the channels issue."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class Channel(models.Model):
    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="channel_name_unique_ci")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"
