"""Admin for rules (validated by rules.validation, saved through rules.services) and the match log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet

from alertsite.admin_helpers import PrettyJSONField, ReadOnlyInline, ReadOnlyMixin, admin_badge, newest_formset
from alertsite.paginators import CappedCountPaginator
from alertsite.priority import PRIORITY_TONES
from rules.models import Rule, RuleMatch, RuleTemplate, RuleVersion
from rules.services import rule_create, rule_set_enabled, rule_update
from rules.snooze import rule_snooze, rule_unsnooze
from rules.templates_catalog import TEMPLATE_TABS
from rules.validation import RULE_FIELDS, RuleValidationError, rule_validate
from rules.versions import MAX_COMMENT, version_changes, version_previous

JSON_FIELDS = ("conditions", "group_by", "threshold", "escalation")
NEWEST_VERSIONS = 50


class RuleAdminForm(forms.ModelForm):
    """Every check lives in rules.validation: the form only maps its errors onto fields."""

    conditions = PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 16, "cols": 100, "class": "as-monospace"}),
        help_text='A list such as [{"event_type": "user_login_attempt", "match": "all", "filters": '
        '[{"key": "success", "operator": "eq", "value": false}]}] or with an "expression".',
    )
    group_by = PrettyJSONField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))
    threshold = PrettyJSONField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))
    detection = PrettyJSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text='Empty: every matching event counts. {"type": "new_value", "fields": ["initiated_by.email", '
        '"geoip.country_code"], "history_days": 30} or {"type": "sequence", "steps": [0, 1], '
        '"by": ["initiated_by.email"], "within_minutes": 10}.',
    )
    escalation = PrettyJSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text='{"after_minutes": 30, "channels": [channel ids]}: tell these channels once when an alert is '
        "still unacknowledged after that many minutes. Empty: no escalation.",
    )
    comment = forms.CharField(
        label="Change note",
        required=False,
        max_length=MAX_COMMENT,
        help_text="Why you make this change; kept with the version this save makes (the rule's History).",
    )

    class Meta:
        model = Rule
        fields = list(RULE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "remind_max" in self.fields:
            self.fields["remind_max"].required = False  # empty: the default, like the API

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        data = {name: cleaned.get(name) for name in RULE_FIELDS if name in self.fields}
        if data.get("remind_max") is None:
            data["remind_max"] = 3
        data["channels"] = [channel.pk for channel in cleaned.get("channels") or []]
        data["group_by"] = data.get("group_by") or []
        data["description"] = data.get("description") or ""
        try:
            self.validated = rule_validate(data, instance=self.instance if self.instance.pk else None)
        except RuleValidationError as exc:
            for path, message in exc.errors.items():
                field = path.split("[")[0].split(".")[0]
                text = message if path == field else f"{path}: {message}"
                self.add_error(field if field in self.fields else None, text)
        return cleaned


class NeverFiredFilter(admin.SimpleListFilter):
    title = "activity"
    parameter_name = "activity"

    def lookups(self, request, model_admin):
        return [("never", "Never fired"), ("fired", "Has fired")]

    def queryset(self, request, queryset: QuerySet[Rule]) -> QuerySet[Rule]:
        if self.value() == "never":
            return queryset.filter(last_triggered_at__isnull=True)
        if self.value() == "fired":
            return queryset.filter(last_triggered_at__isnull=False)
        return queryset


class RuleVersionInline(ReadOnlyInline):
    """The rule's history, newest first, read-only: versions are written by rules.services only."""

    model = RuleVersion
    formset = newest_formset(NEWEST_VERSIONS)
    verbose_name_plural = f"history (newest {NEWEST_VERSIONS} versions; restore them in the console)"
    fields = ["version", "created_at", "author", "comment", "changed_fields"]
    readonly_fields = fields
    ordering = ["-version"]

    def get_queryset(self, request) -> QuerySet[RuleVersion]:
        return super().get_queryset(request).select_related("author")

    @admin.display(description="Changed")
    def changed_fields(self, version: RuleVersion) -> str:
        previous = version_previous(version)
        if previous is None:
            return "first version"
        fields = [change["field"] for change in version_changes(previous.snapshot, version.snapshot)]
        return ", ".join(fields) or "nothing (a restore)"


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleAdminForm
    inlines = [RuleVersionInline]
    list_display = [
        "name",
        "enabled",
        "priority_badge",
        "event_types",
        "alert_count",
        "match_count",
        "last_triggered_at",
        "updated_at",
        "snoozed_until",
    ]
    list_filter = ["enabled", "priority", NeverFiredFilter, "generate_alerts", "send_notifications"]
    search_fields = ["name", "description"]
    list_select_related = ["created_by", "updated_by"]
    filter_horizontal = ["channels"]
    actions = [
        "enable_rules",
        "disable_rules",
        "snooze_rules_1h",
        "snooze_rules_4h",
        "snooze_rules_1d",
        "unsnooze_rules",
    ]
    readonly_fields = [
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
        "last_triggered_at",
        "last_matched_at",
        "alert_count",
        "match_count",
        "backfill_progress",
        "learning_progress",
    ]
    snooze_fields = ["snoozed_until", "snoozed_by", "snooze_note"]
    fieldsets = [
        (None, {"fields": ["enabled", "name", "description", "priority", "template"]}),
        ("Conditions", {"fields": ["conditions"]}),
        (
            "Alert Actions",
            {
                "fields": [
                    "generate_alerts",
                    "send_notifications",
                    "channels",
                    "notify_on_acknowledge",
                    "notify_on_resolve",
                    "existing_conditions",
                ]
            },
        ),
        ("Advanced: grouping and threshold", {"fields": ["group_by", "group_window_minutes", "threshold"]}),
        ("Detection: first-seen values or a sequence", {"fields": ["detection"]}),
        ("Reminders and escalation", {"fields": ["remind_every_minutes", "remind_max", "escalation"]}),
        ("Change note", {"fields": ["comment"]}),
        ("Activity", {"fields": readonly_fields}),
        ("Snooze (raises alerts, sends nothing; use the actions)", {"fields": snooze_fields}),
    ]

    def get_inlines(self, request, obj: Rule | None = None) -> list:
        """A new rule has no history yet."""
        return super().get_inlines(request, obj) if obj is not None else []

    @admin.display(description="Priority", ordering="priority")
    def priority_badge(self, rule: Rule):
        return admin_badge(PRIORITY_TONES.get(rule.priority, "neutral"), rule.get_priority_display())

    @admin.display(description="Event types")
    def event_types(self, rule: Rule) -> str:
        return ", ".join(rule.selected_event_types.split()) or "—"

    @admin.display(description="Existing Conditions progress")
    def backfill_progress(self, rule: Rule) -> str:
        if rule.backfill_status == "idle":
            return "—"
        text = f"{rule.get_backfill_status_display()}: {rule.backfill_done}/{rule.backfill_total} events"
        text += f", {rule.backfill_matched} matched"
        return f"{text} ({rule.backfill_error})" if rule.backfill_error else text

    @admin.display(description="Learning progress (new value)")
    def learning_progress(self, rule: Rule) -> str:
        if rule.learn_status == "idle":
            return "—"
        text = f"{rule.get_learn_status_display()}: {rule.learn_done}/{rule.learn_total} events"
        return f"{text} ({rule.learn_error})" if rule.learn_error else text

    def save_model(self, request, obj: Rule, form: RuleAdminForm, change: bool) -> None:
        data = {name: form.validated[name] for name in RULE_FIELDS}
        comment = form.cleaned_data.get("comment") or ""
        saved = (
            rule_update(rule=obj, data=data, actor=request.user, comment=comment)
            if change
            else rule_create(data=data, actor=request.user, comment=comment)
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change: bool) -> None:
        """Channels were set by the service; only inline formsets (none today) would remain."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj: Rule) -> None:
        from rules.services import rule_delete

        rule_delete(rule=obj, actor=request.user)

    def delete_queryset(self, request, queryset: QuerySet[Rule]) -> None:
        from rules.services import rule_delete

        for rule in queryset:
            rule_delete(rule=rule, actor=request.user)

    @admin.action(description="Enable selected rules")
    def enable_rules(self, request, queryset: QuerySet[Rule]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected rules")
    def disable_rules(self, request, queryset: QuerySet[Rule]) -> None:
        self._set_enabled(request, queryset, False)

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return [*self.readonly_fields, *self.snooze_fields]

    @admin.action(description="Snooze selected rules for 1 hour")
    def snooze_rules_1h(self, request, queryset: QuerySet[Rule]) -> None:
        self._snooze(request, queryset, 60)

    @admin.action(description="Snooze selected rules for 4 hours")
    def snooze_rules_4h(self, request, queryset: QuerySet[Rule]) -> None:
        self._snooze(request, queryset, 240)

    @admin.action(description="Snooze selected rules for 1 day")
    def snooze_rules_1d(self, request, queryset: QuerySet[Rule]) -> None:
        self._snooze(request, queryset, 1440)

    @admin.action(description="End the snooze of selected rules")
    def unsnooze_rules(self, request, queryset: QuerySet[Rule]) -> None:
        for rule in queryset:
            rule_unsnooze(rule=rule, actor=request.user)
        self.message_user(request, f"Ended the snooze of {queryset.count()} rules.", messages.SUCCESS)

    def _snooze(self, request, queryset: QuerySet[Rule], minutes: int) -> None:
        for rule in queryset:
            rule_snooze(rule=rule, body={"minutes": minutes}, actor=request.user)
        self.message_user(
            request, f"Snoozed {queryset.count()} rules: they raise alerts but send nothing.", messages.SUCCESS
        )

    def _set_enabled(self, request, queryset: QuerySet[Rule], enabled: bool) -> None:
        changed = skipped = 0
        for rule in queryset:
            if rule.enabled == enabled:
                skipped += 1
                continue
            rule_set_enabled(rule=rule, enabled=enabled, actor=request.user)
            changed += 1
        verb = "Enabled" if enabled else "Disabled"
        self.message_user(request, f"{verb} {changed} rules, {skipped} skipped (already so).", messages.SUCCESS)


@admin.register(RuleMatch)
class RuleMatchAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["matched_at", "rule", "event_type", "event_timestamp", "group_key"]
    list_filter = ["rule"]
    search_fields = ["=event__event_id", "rule__name"]
    list_select_related = ["rule", "event"]
    readonly_fields = ["rule", "event", "event_timestamp", "group_key", "matched_at"]
    ordering = ["-matched_at", "-id"]
    show_full_result_count = False
    paginator = CappedCountPaginator

    def get_queryset(self, request) -> QuerySet[RuleMatch]:
        return super().get_queryset(request).defer("event__payload")

    @admin.display(description="Event type")
    def event_type(self, match: RuleMatch) -> str:
        return match.event.event_type


class RuleTemplateAdminForm(forms.ModelForm):
    """An admin's own template: its rule body is checked like a rule (its name may stay blank)."""

    tab = forms.ChoiceField(choices=TEMPLATE_TABS)
    rule = PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 20, "cols": 100, "class": "as-monospace"}),
        help_text='The rule fields a new rule starts from, e.g. {"priority": "high", "conditions": '
        '[{"event_type": "user_lockout"}], "generate_alerts": true}.',
    )

    class Meta:
        model = RuleTemplate
        fields = ["slug", "tab", "name", "description", "rule", "position"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        body = cleaned.get("rule")
        if body is None:
            return cleaned
        if not isinstance(body, dict):
            self.add_error("rule", "Must be a JSON object of rule fields.")
            return cleaned
        body = {key: value for key, value in body.items() if key != "template"}
        if not isinstance(body.get("name", ""), str):
            self.add_error("rule", "name: Must be text (or leave it out: the admin names each rule).")
            return cleaned
        try:
            validated = rule_validate(body, check_name=False)
        except RuleValidationError as exc:
            for path, message in exc.errors.items():
                self.add_error("rule", f"{path}: {message}")
            return cleaned
        cleaned["rule"] = {
            **{key: value for key, value in validated.items() if key in RULE_FIELDS},
            "name": body.get("name") or "",
            "template": cleaned.get("slug") or "",
        }
        return cleaned


@admin.register(RuleTemplate)
class RuleTemplateAdmin(admin.ModelAdmin):
    """Rule Management's catalog: the built-ins are read-only (the code keeps them current)."""

    form = RuleTemplateAdminForm
    list_display = ("name", "tab", "slug", "built_in", "position")
    list_filter = ("tab", "built_in")
    search_fields = ("name", "slug", "description")

    def has_change_permission(self, request, obj: RuleTemplate | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and obj.built_in)

    def has_delete_permission(self, request, obj: RuleTemplate | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.built_in)
