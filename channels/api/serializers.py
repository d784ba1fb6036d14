from __future__ import annotations

from rest_framework import serializers

from channels.models import Channel, Delivery, DeliveryAttempt, channel_kinds
from channels.services import channel_public, health_state, paused_until


class ChannelSerializer(serializers.ModelSerializer):
    """A channel as api.md section 5 shows it: secrets are write-only and shown as ********."""

    config = serializers.SerializerMethodField()
    health = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = ["id", "kind", "name", "enabled", "config", "health", "created_at", "updated_at"]
        read_only_fields = fields

    def get_config(self, channel: Channel) -> dict:
        return channel_public(channel)

    def get_health(self, channel: Channel) -> dict:
        until = paused_until(channel)
        return {
            "last_delivery_at": channel.last_delivery_at,
            "last_success_at": channel.last_success_at,
            "last_error": channel.last_error or None,
            "consecutive_failures": channel.consecutive_failures,
            # Set while the channel waits out a 429 or repeated failures: nothing is sent to it before then.
            "paused_until": until,
            "state": health_state(channel),
        }


class ChannelWriteSerializer(serializers.Serializer):
    """Documents the writable fields; validation is the transports' (channels.services.channel_validate)."""

    kind = serializers.ChoiceField(choices=channel_kinds())
    name = serializers.CharField(max_length=100)
    enabled = serializers.BooleanField(required=False)
    config = serializers.DictField()


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "at", "duration_ms", "status_code", "error", "response_snippet", "outcome"]


class DeliverySerializer(serializers.ModelSerializer):
    delivery_id = serializers.UUIDField(source="uuid", read_only=True)
    channel = serializers.SerializerMethodField()
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "delivery_id",
            "channel",
            "kind",
            "status",
            "alert",
            "rule",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "sent_at",
            "response_code",
            "last_error",
            "response_snippet",
            "duration_ms",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields

    def get_channel(self, delivery: Delivery) -> dict:
        return {"id": delivery.channel_id, "name": delivery.channel.name, "kind": delivery.channel.kind}
