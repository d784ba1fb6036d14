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
            "causal_depth",
            "event",
        ]


class EvaluationProgressSerializer(serializers.Serializer):
    """Whether rule evaluation keeps up with ingestion (events.progress)."""

    pending = serializers.IntegerField(help_text="Events stored and still waiting for rule evaluation.")
    oldest_pending_received_at = serializers.DateTimeField(
        allow_null=True, help_text="When the longest-waiting of them was received; null when none waits."
    )
    evaluated_total = serializers.IntegerField(
        help_text="Events evaluated against the rules since install (not those no enabled rule looks at)."
    )


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
