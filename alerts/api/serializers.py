from __future__ import annotations

from rest_framework import serializers

from alerts.models import Alert, AlertEvent, AlertNote, AlertTransition
from alerts.states import ACTIONS
from alertsite.accounts.api.serializers import UserRefSerializer


class AlertTransitionSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(read_only=True)

    class Meta:
        model = AlertTransition
        fields = ["from_status", "to_status", "actor", "external_actor", "note", "at"]


class AlertNoteSerializer(serializers.ModelSerializer):
    author = UserRefSerializer(read_only=True)

    class Meta:
        model = AlertNote
        fields = ["id", "author", "text", "created_at"]


class AlertSerializer(serializers.ModelSerializer):
    """An alert as api.md section 6 shows it, the same in the list and in the detail.

    `notes` and `history` need the queryset to prefetch `notes__author` and `transitions__actor`
    (see `alert_queryset` in alerts/api/views.py), or every alert costs two more queries.
    """

    reference = serializers.CharField(read_only=True)
    rule = serializers.SerializerMethodField()
    event = serializers.SerializerMethodField()
    acknowledged_by = UserRefSerializer(read_only=True)
    resolved_by = UserRefSerializer(read_only=True)
    assignee = UserRefSerializer(read_only=True)
    time_to_acknowledge = serializers.IntegerField(source="seconds_to_acknowledge", read_only=True)
    time_to_resolve = serializers.IntegerField(source="seconds_to_resolve", read_only=True)
    notes = AlertNoteSerializer(many=True, read_only=True)
    history = AlertTransitionSerializer(source="transitions", many=True, read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "reference",
            "rule",
            "priority",
            "status",
            "title",
            "category",
            "source_type",
            "source_id",
            "event_type",
            "event",
            "event_count",
            "group_key",
            "first_seen_at",
            "last_seen_at",
            "created_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "assignee",
            "time_to_acknowledge",
            "time_to_resolve",
            "notes",
            "history",
        ]
        read_only_fields = fields

    def get_rule(self, alert: Alert) -> dict:
        return {"id": alert.rule_id, "name": alert.rule_name}

    def get_event(self, alert: Alert) -> dict | None:
        return alert.event.payload if alert.event_id and alert.event is not None else None


class AlertEventRefSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="event.event_id")
    event_type = serializers.CharField(source="event.event_type")
    initiator = serializers.CharField(source="event.initiator")
    client_ip = serializers.CharField(source="event.client_ip")

    class Meta:
        model = AlertEvent
        fields = ["id", "event_type", "event_timestamp", "initiator", "client_ip"]


class AlertDetailSerializer(AlertSerializer):
    """The list item plus `events`, the linked events (one query per alert, so the detail only)."""

    events = serializers.SerializerMethodField()

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "events"]
        read_only_fields = fields

    def get_events(self, alert: Alert) -> list[dict]:
        """The events that raised or joined the alert, newest first (at most 100 here)."""
        links = alert.alert_events.select_related("event").defer("event__payload").order_by("-event_timestamp")[:100]
        return AlertEventRefSerializer(links, many=True).data


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class NoteTextSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class AssignInputSerializer(serializers.Serializer):
    user = serializers.IntegerField(allow_null=True, help_text="A user id, or null to unassign.")


class BulkInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(ACTIONS))
    ids = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=1000)
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)
