from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.models import Alert, AlertEvent, AlertNote, AlertTransition
from alerts.states import ACTIONS
from alertsite.accounts.api.serializers import UserRefSerializer
from alertsite.snooze import MAX_SNOOZE_NOTE_LENGTH, snooze_active

BULK_SNOOZE_ACTIONS = ("snooze", "unsnooze")


class AlertTransitionSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(read_only=True)

    class Meta:
        model = AlertTransition
        fields = ["kind", "from_status", "to_status", "actor", "external_actor", "note", "at"]


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
    snoozed_until = serializers.SerializerMethodField()
    snoozed_by = serializers.SerializerMethodField()
    snooze_note = serializers.SerializerMethodField()
    suppressed_by = serializers.SerializerMethodField()

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
            "explanation",
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
            "snoozed_until",
            "snoozed_by",
            "snooze_note",
            "suppressed_by",
            "notes",
            "history",
        ]
        read_only_fields = fields

    # A snooze whose time has passed reads as none, even before the periodic job clears it.
    def get_snoozed_until(self, alert: Alert) -> datetime | None:
        return alert.snoozed_until if snooze_active(alert.snoozed_until, timezone.now()) else None

    @extend_schema_field(UserRefSerializer(allow_null=True))
    def get_snoozed_by(self, alert: Alert) -> dict | None:
        if not snooze_active(alert.snoozed_until, timezone.now()) or alert.snoozed_by is None:
            return None
        return UserRefSerializer(alert.snoozed_by).data

    def get_snooze_note(self, alert: Alert) -> str:
        return alert.snooze_note if snooze_active(alert.snoozed_until, timezone.now()) else ""

    @extend_schema_field(serializers.DictField(allow_null=True, help_text="{id, name} of the maintenance window"))
    def get_suppressed_by(self, alert: Alert) -> dict | None:
        """The maintenance window inside which the alert was raised without notifications, or null."""
        window = alert.suppressed_by
        return {"id": window.pk, "name": window.name} if window is not None else None

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
        """The events that raised or joined the alert, newest first (at most 100 here); a sequence's
        steps come first, in step order."""
        links = (
            alert.alert_events.select_related("event")
            .defer("event__payload")
            .order_by(F("step").asc(nulls_last=True), "-event_timestamp")[:100]
        )
        return AlertEventRefSerializer(links, many=True).data


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class NoteTextSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class AssignInputSerializer(serializers.Serializer):
    user = serializers.IntegerField(allow_null=True, help_text="A user id, or null to unassign.")


class BulkInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[*ACTIONS, *BULK_SNOOZE_ACTIONS])
    ids = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=1000)
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    minutes = serializers.JSONField(required=False, help_text="For snooze: how long, from now (or until).")
    until = serializers.JSONField(required=False, help_text="For snooze: when it ends, RFC 3339 (or minutes).")


class SnoozeInputSerializer(serializers.Serializer):
    """Documents a snooze body for the OpenAPI schema; alertsite.snooze checks it."""

    minutes = serializers.IntegerField(required=False, min_value=1, max_value=43200, help_text="How long, from now.")
    until = serializers.DateTimeField(required=False, help_text="When it ends (RFC 3339); not with minutes.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_SNOOZE_NOTE_LENGTH)
