from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alertsite.accounts.api.serializers import UserRefSerializer
from alertsite.snooze import snooze_active
from rules.models import Rule, RuleVersion
from rules.validation import RULE_FIELDS
from rules.versions import version_changes, version_previous


class RuleSerializer(serializers.ModelSerializer):
    """A rule as api.md section 4 shows it (writes go through rules.services, not this serializer)."""

    channels = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    created_by = UserRefSerializer(read_only=True)
    updated_by = UserRefSerializer(read_only=True)
    existing_conditions_progress = serializers.SerializerMethodField()
    learning_progress = serializers.SerializerMethodField()
    snoozed_until = serializers.SerializerMethodField()
    snoozed_by = serializers.SerializerMethodField()
    snooze_note = serializers.SerializerMethodField()

    class Meta:
        model = Rule
        fields = [
            "id",
            *RULE_FIELDS,
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
            "last_triggered_at",
            "last_matched_at",
            "alert_count",
            "match_count",
            "existing_conditions_progress",
            "learning_progress",
            "snoozed_until",
            "snoozed_by",
            "snooze_note",
        ]
        read_only_fields = fields

    # A snooze whose time has passed reads as none, even before the periodic job clears it.
    def get_snoozed_until(self, rule: Rule) -> datetime | None:
        return rule.snoozed_until if snooze_active(rule.snoozed_until, timezone.now()) else None

    @extend_schema_field(UserRefSerializer(allow_null=True))
    def get_snoozed_by(self, rule: Rule) -> dict | None:
        if not snooze_active(rule.snoozed_until, timezone.now()) or rule.snoozed_by is None:
            return None
        return UserRefSerializer(rule.snoozed_by).data

    def get_snooze_note(self, rule: Rule) -> str:
        return rule.snooze_note if snooze_active(rule.snoozed_until, timezone.now()) else ""

    def get_learning_progress(self, rule: Rule) -> dict:
        """A new_value detection learning its history from stored events (idle for other rules)."""
        return {
            "status": rule.learn_status,
            "total": rule.learn_total,
            "done": rule.learn_done,
            "error": rule.learn_error or None,
        }

    def get_existing_conditions_progress(self, rule: Rule) -> dict:
        return {
            "status": rule.backfill_status,
            "total": rule.backfill_total,
            "done": rule.backfill_done,
            "matched": rule.backfill_matched,
            "error": rule.backfill_error or None,
        }


class RuleWriteSerializer(serializers.Serializer):
    """Documents the writable fields for the OpenAPI schema; validation is rules.validation's."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    priority = serializers.ChoiceField(choices=["low", "medium", "high"], required=False)
    template = serializers.CharField(required=False)
    conditions = serializers.ListField(child=serializers.DictField())
    generate_alerts = serializers.BooleanField(required=False)
    send_notifications = serializers.BooleanField(required=False)
    channels = serializers.ListField(child=serializers.IntegerField(), required=False)
    notify_on_acknowledge = serializers.BooleanField(required=False)
    notify_on_resolve = serializers.BooleanField(required=False)
    existing_conditions = serializers.BooleanField(required=False)
    group_by = serializers.ListField(child=serializers.CharField(), required=False)
    group_window_minutes = serializers.IntegerField(required=False)
    threshold = serializers.DictField(required=False, allow_null=True)
    detection = serializers.DictField(
        required=False,
        allow_null=True,
        help_text='null (every matching event counts), {"type": "new_value", "fields": [keys], "history_days": N} '
        'or {"type": "sequence", "steps": [condition indexes], "by": [keys], "within_minutes": N}.',
    )
    remind_every_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10080)
    remind_max = serializers.IntegerField(required=False, min_value=1, max_value=100)
    escalation = serializers.DictField(
        required=False, allow_null=True, help_text='{"after_minutes": N, "channels": [ids]} or null.'
    )


class RuleCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500, help_text="The change note.")


class RuleVersionSerializer(serializers.ModelSerializer):
    """One version of a rule (api.md section 10): who saved it, when, why, and the rule as it was."""

    author = UserRefSerializer(read_only=True, allow_null=True)
    rule = serializers.JSONField(source="snapshot", read_only=True)

    class Meta:
        model = RuleVersion
        fields = ["version", "created_at", "author", "comment", "rule"]
        read_only_fields = fields


class RuleVersionChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    # "from" is a keyword: declared through the fields mapping below.
    to = serializers.JSONField(allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.JSONField(allow_null=True)
        return fields


class RuleVersionDetailSerializer(RuleVersionSerializer):
    """A version with what changed since the version before it (none for version 1)."""

    previous_version = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()

    class Meta(RuleVersionSerializer.Meta):
        fields = [*RuleVersionSerializer.Meta.fields, "previous_version", "changes"]
        read_only_fields = fields

    def _previous(self, version: RuleVersion) -> RuleVersion | None:
        cache = self.context.setdefault("previous", {})
        if version.pk not in cache:
            cache[version.pk] = version_previous(version)
        return cache[version.pk]

    def get_previous_version(self, version: RuleVersion) -> int | None:
        previous = self._previous(version)
        return previous.version if previous is not None else None

    @extend_schema_field(RuleVersionChangeSerializer(many=True))
    def get_changes(self, version: RuleVersion) -> list[dict]:
        previous = self._previous(version)
        return version_changes(previous.snapshot if previous is not None else None, version.snapshot)


class RuleTestInputSerializer(serializers.Serializer):
    event = serializers.DictField()
    history = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        max_length=1000,
        help_text="Earlier events (as sent to POST /events) that prime the rule's detection; each needs a timestamp.",
    )


class RuleTestFilterSerializer(serializers.Serializer):
    key = serializers.CharField()
    operator = serializers.CharField()
    value = serializers.JSONField(required=False, allow_null=True)
    matched = serializers.BooleanField()


class RuleTestActionSerializer(serializers.Serializer):
    slug = serializers.CharField()
    matched = serializers.BooleanField()


class RuleTestExpressionSerializer(serializers.Serializer):
    source = serializers.CharField()
    matched = serializers.BooleanField(help_text="The expression's own outcome.")


class RuleTestConditionSerializer(serializers.Serializer):
    event_type = serializers.CharField()
    type_matched = serializers.BooleanField(help_text="Whether the event is of this condition's event_type.")
    action = RuleTestActionSerializer(required=False, help_text="Only for an association action condition.")
    match = serializers.ChoiceField(
        choices=["all", "any"],
        required=False,
        help_text="How the filters combine; absent for an expression that has no field-filter form.",
    )
    filters = RuleTestFilterSerializer(
        many=True,
        help_text="Each filter's outcome; for an expression, those of its field-filter form (empty when it has none).",
    )
    expression = RuleTestExpressionSerializer(required=False, help_text="Only for an expression condition.")
    matched = serializers.BooleanField()


class RuleTestDetectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["new_value", "sequence"])
    counts = serializers.BooleanField(help_text="Whether the event would count (fire, or complete the sequence).")
    explanation = serializers.CharField(help_text="Which prior value or which step decided, in plain words.")


class RuleTestResultSerializer(serializers.Serializer):
    """Documents the answer of POST /rules/{id}/test for the OpenAPI schema."""

    matched = serializers.BooleanField(
        help_text="Whether the event matches the rule's conditions (any one of them), whether or not the rule is enabled."
    )
    enabled = serializers.BooleanField(help_text="Whether the rule is enabled: a disabled rule raises nothing.")
    conditions = RuleTestConditionSerializer(many=True)
    detection = RuleTestDetectionSerializer(
        allow_null=True, help_text="For a rule with a detection: whether the event counts, and why; else null."
    )


class RulePreviewInputSerializer(RuleWriteSerializer):
    name = serializers.CharField(max_length=100, required=False)
    since = serializers.DateTimeField(required=False)
    sample_size = serializers.IntegerField(required=False, min_value=0, max_value=100)


class ChangeSideSerializer(serializers.Serializer):
    before = serializers.IntegerField(help_text="How many the rule as it is matches (events) or opens (alerts).")
    after = serializers.IntegerField(help_text="How many the changed rule would.")
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    added_sample = serializers.ListField(child=serializers.DictField())
    removed_sample = serializers.ListField(child=serializers.DictField())


class RuleChangePreviewSerializer(serializers.Serializer):
    """Documents the answer of POST /rules/{id}/preview-change for the OpenAPI schema."""

    since = serializers.DateTimeField()
    scanned = serializers.IntegerField()
    truncated = serializers.BooleanField()
    changes = RuleVersionChangeSerializer(many=True, help_text="The fields the body changes.")
    events = ChangeSideSerializer(help_text="Samples are events.")
    alerts = ChangeSideSerializer(help_text='Samples are {"opened_at", "last_seen_at", "event_count", "event"}.')


class RuleTemplateSerializer(serializers.Serializer):
    slug = serializers.CharField()
    tab = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    rule = serializers.DictField()


class SnoozeInputSerializer(serializers.Serializer):
    """Documents a snooze body for the OpenAPI schema; alertsite.snooze checks it."""

    minutes = serializers.IntegerField(required=False, min_value=1, max_value=43200, help_text="How long, from now.")
    until = serializers.DateTimeField(required=False, help_text="When it ends (RFC 3339); not with minutes.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
