from __future__ import annotations

from rest_framework import serializers

from events.catalog import ASSOCIATION_ACTIONS
from events.models import AuditEvent, EventType


class AuditEventSerializer(serializers.ModelSerializer):
    """An event as stored: its indexed columns, and `event` exactly as it was sent."""

    id = serializers.CharField(source="event_id")
    event = serializers.JSONField(source="payload")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "event_type",
            "service",
            "timestamp",
            "initiator",
            "resource",
            "client_ip",
            "success",
            "received_at",
            "evaluated_at",
            "causal_depth",
            "event",
        ]


class EventTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = EventType
        fields = ["name", "description", "category", "known", "keys"]

    def to_representation(self, instance: EventType) -> dict:
        data = super().to_representation(instance)
        if instance.name == "association_change":
            data["actions"] = [action.as_dict() for action in ASSOCIATION_ACTIONS]
        return data


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.CharField())


class EventErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True)
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    line = serializers.IntegerField(required=False)


class IngestErrorsSerializer(serializers.Serializer):
    errors = EventErrorSerializer(many=True)
