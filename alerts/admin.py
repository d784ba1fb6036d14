"""Admin for alerts (read-only pages; status moves only through actions calling the services) and their logs."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from alerts.models import (
    Alert,
    AlertEvent,
    AlertNote,
    AlertTransition,
    MaintenanceWindow,
    reference_for,
    reference_parse,
)
from alerts.selectors import window_status
from alerts.services import (
    AlertInputError,
    alert_assign,
    alerts_bulk_snooze,
    alerts_bulk_transition,
    alerts_bulk_unsnooze,
)
from alerts.services.maintenance import window_create, window_delete, window_update, window_validate
from alerts.states import AlertStatus, transition_verb
from alertsite.accounts.selectors import responders
from alertsite.admin_helpers import ReadOnlyInline, ReadOnlyMixin, admin_badge, admin_pre, newest_formset
from alertsite.errors import FieldErrors
from alertsite.ids import id_or_none
from alertsite.paginators import CappedCountPaginator
from alertsite.priority import PRIORITY_TONES
from rules.selectors import rule_choices, rule_ids_existing

if TYPE_CHECKING:
    from django.http import HttpRequest

STATUS_TONES = {AlertStatus.OPEN: "bad", AlertStatus.ACKNOWLEDGED: "warn", AlertStatus.RESOLVED: "ok"}
NEWEST_EVENTS = 50
SKIPPED_NAMED = 5  # skipped alerts named one by one in an action's message; the rest are counted
OPEN_TOO_LONG = timedelta(hours=1)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _reference_search(queryset: QuerySet[Any], search_term: str, field: str) -> QuerySet[Any] | None:
    """`ALR-000123` -> the rows of alert 123; None when the term is not a reference."""
    pk = reference_parse(search_term)
    return None if pk is None else queryset.filter(**{field: pk})


# -- list filters ---------------------------------------------------------------------


class RuleListFilter(admin.SimpleListFilter):
    """Rules from the rules table by name: a related-field filter would scan the alerts."""

    title = "rule"
    parameter_name = "rule"
    DELETED = "deleted"

    def lookups(self, request, model_admin):
        rules = [(str(pk), name) for pk, name in rule_choices()]
        return [*rules, (self.DELETED, "(deleted rule)")]

    def queryset(self, request, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        value = self.value()
        if value == self.DELETED:
            return queryset.filter(rule__isnull=True)
        if id_or_none(value) is not None:
            return queryset.filter(rule_id=id_or_none(value))
        return queryset


class UserListFilter(admin.SimpleListFilter):
    """Pick one admin or responder (or "me", or nobody) for the user field named by `field`."""

    field = "assignee"
    NOBODY = "none"
    ME = "me"
    nobody_label = "Unassigned"
    me_label = "Assigned to me"

    def lookups(self, request, model_admin):
        users = [(str(pk), username) for pk, username in responders().values_list("pk", "username")]
        return [(self.ME, self.me_label), (self.NOBODY, self.nobody_label), *users]

    def queryset(self, request, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == self.NOBODY:
            return queryset.filter(**{f"{self.field}__isnull": True})
        if value == self.ME:
            return queryset.filter(**{f"{self.field}_id": request.user.pk})
        if id_or_none(value) is not None:
            return queryset.filter(**{f"{self.field}_id": id_or_none(value)})
        return queryset


class AssigneeListFilter(UserListFilter):
    title = "assignee"
    parameter_name = "assignee"


class ActorListFilter(UserListFilter):
    title = "actor"
    parameter_name = "actor"
    field = "actor"
    nobody_label = "System"
    me_label = "Me"


class AuthorListFilter(UserListFilter):
    title = "author"
    parameter_name = "author"
    field = "author"
    nobody_label = "Unknown (deleted user)"
    me_label = "Me"


class WaitingListFilter(admin.SimpleListFilter):
    """Operator questions about alerts nobody has picked up."""

    title = "needs attention"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [("open_1h", "Open for more than 1 hour"), ("unassigned", "Unresolved and unassigned")]

    def queryset(self, request, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        if self.value() == "open_1h":
            return queryset.filter(status=AlertStatus.OPEN, created_at__lt=timezone.now() - OPEN_TOO_LONG)
        if self.value() == "unassigned":
            return queryset.filter(status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED], assignee__isnull=True)
        return queryset


# -- inlines (read-only history) ------------------------------------------------------


class AlertTransitionInline(ReadOnlyInline):
    model = AlertTransition
    verbose_name = "history entry"
    verbose_name_plural = "history"
    fields = ["kind", "from_status", "to_status", "actor", "external_actor", "note", "at"]
    readonly_fields = fields
    ordering = ["at", "id"]

    def get_queryset(self, request) -> QuerySet[AlertTransition]:
        return super().get_queryset(request).select_related("actor")


class AlertNoteInline(ReadOnlyInline):
    model = AlertNote
    verbose_name_plural = "notes"
    fields = ["author", "text", "created_at"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def get_queryset(self, request) -> QuerySet[AlertNote]:
        return super().get_queryset(request).select_related("author")


NewestEventsFormSet = newest_formset(NEWEST_EVENTS)


class AlertEventInline(ReadOnlyInline):
    model = AlertEvent
    formset = NewestEventsFormSet
    verbose_name = "event"
    verbose_name_plural = f"events (newest {NEWEST_EVENTS})"
    fields = ["event_link", "event_timestamp", "joined_at"]
    readonly_fields = fields
    ordering = ["-event_timestamp", "-id"]

    def get_queryset(self, request) -> QuerySet[AlertEvent]:
        return super().get_queryset(request).select_related("event").defer("event__payload")

    @admin.display(description="Event")
    def event_link(self, link: AlertEvent):
        return _event_link(link.event)


def _event_link(event: Any):
    if event is None:
        return "—"
    url = reverse("admin:events_auditevent_change", args=[event.pk])
    return format_html('<a href="{}">{} {}</a>', url, event.event_type, event.event_id)


# -- alerts ---------------------------------------------------------------------------


@admin.register(Alert)
class AlertAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Alerts are never edited through a form: status changes go through the actions (services)."""

    list_display = [
        "reference_display",
        "status_badge",
        "priority_badge",
        "title",
        "rule_name",
        "event_count",
        "assignee",
        "created_at",
        "last_seen_at",
        "snoozed_until",
    ]
    list_display_links = ["reference_display"]
    list_filter = ["status", "priority", RuleListFilter, AssigneeListFilter, WaitingListFilter]
    search_fields = ["title", "rule_name"]
    search_help_text = "A reference such as ALR-000123, or words from the title or the rule name."
    list_select_related = ["assignee", "acknowledged_by", "resolved_by"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    actions = [
        "acknowledge_alerts",
        "resolve_alerts",
        "reopen_alerts",
        "assign_to_me",
        "snooze_alerts_1h",
        "snooze_alerts_4h",
        "snooze_alerts_1d",
        "unsnooze_alerts",
    ]
    inlines = [AlertTransitionInline, AlertNoteInline, AlertEventInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reference_display",
                    "title",
                    "status_badge",
                    "priority_badge",
                    "rule_link",
                    "event_type",
                    "event_count",
                    "group_key",
                    "explanation",
                    "assignee",
                ]
            },
        ),
        (
            "Timeline",
            {
                "fields": [
                    "first_seen_at",
                    "last_seen_at",
                    "created_at",
                    "acknowledged_at",
                    "acknowledged_by",
                    "seconds_to_acknowledge",
                    "resolved_at",
                    "resolved_by",
                    "seconds_to_resolve",
                ]
            },
        ),
        ("Snooze and maintenance", {"fields": ["snoozed_until", "snoozed_by", "snooze_note", "suppressed_by"]}),
        ("Triggering event", {"fields": ["event_display", "event_json"]}),
    ]
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]

    def has_transition_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("alerts.change_alert")

    def get_search_results(self, request, queryset: QuerySet[Alert], search_term: str):
        found = _reference_search(queryset, search_term, "pk")
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)

    # -- columns and fields

    @admin.display(description="Reference", ordering="id")
    def reference_display(self, alert: Alert) -> str:
        return alert.reference

    @admin.display(description="Status", ordering="status")
    def status_badge(self, alert: Alert):
        return admin_badge(STATUS_TONES.get(alert.status, "neutral"), alert.get_status_display())

    @admin.display(description="Priority", ordering="priority")
    def priority_badge(self, alert: Alert):
        return admin_badge(PRIORITY_TONES.get(alert.priority, "neutral"), alert.get_priority_display())

    @admin.display(description="Rule")
    def rule_link(self, alert: Alert):
        if alert.rule_id is None:
            return f"{alert.rule_name} (deleted)"
        url = reverse("admin:rules_rule_change", args=[alert.rule_id])
        return format_html('<a href="{}">{}</a>', url, alert.rule_name)

    @admin.display(description="Event")
    def event_display(self, alert: Alert):
        return _event_link(alert.event)

    @admin.display(description="Event JSON")
    def event_json(self, alert: Alert):
        if alert.event is None:
            return "— (the event is no longer stored)"
        text = orjson.dumps(alert.event.payload, option=orjson.OPT_INDENT_2).decode()
        return admin_pre(text)

    # -- actions

    @admin.action(description="Acknowledge selected alerts", permissions=["transition"])
    def acknowledge_alerts(self, request, queryset: QuerySet[Alert]) -> None:
        self._transition(request, queryset, AlertStatus.ACKNOWLEDGED)

    @admin.action(description="Resolve selected alerts", permissions=["transition"])
    def resolve_alerts(self, request, queryset: QuerySet[Alert]) -> None:
        self._transition(request, queryset, AlertStatus.RESOLVED)

    @admin.action(description="Reopen selected alerts", permissions=["transition"])
    def reopen_alerts(self, request, queryset: QuerySet[Alert]) -> None:
        self._transition(request, queryset, AlertStatus.OPEN)

    @admin.action(description="Assign selected alerts to me", permissions=["transition"])
    def assign_to_me(self, request, queryset: QuerySet[Alert]) -> None:
        changed = skipped = 0
        for alert in queryset.select_related(None).select_related("assignee"):
            if alert.assignee_id == request.user.pk:
                skipped += 1
                continue
            try:
                alert_assign(alert=alert, assignee=request.user, actor=request.user)
            except AlertInputError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
            changed += 1
        note = f", {skipped} skipped (already yours)" if skipped else ""
        self.message_user(request, f"Assigned {_plural(changed, 'alert')} to you{note}.", messages.SUCCESS)

    @admin.action(description="Snooze selected alerts for 1 hour", permissions=["transition"])
    def snooze_alerts_1h(self, request, queryset: QuerySet[Alert]) -> None:
        self._snooze(request, queryset, 60)

    @admin.action(description="Snooze selected alerts for 4 hours", permissions=["transition"])
    def snooze_alerts_4h(self, request, queryset: QuerySet[Alert]) -> None:
        self._snooze(request, queryset, 240)

    @admin.action(description="Snooze selected alerts for 1 day", permissions=["transition"])
    def snooze_alerts_1d(self, request, queryset: QuerySet[Alert]) -> None:
        self._snooze(request, queryset, 1440)

    @admin.action(description="End the snooze of selected alerts", permissions=["transition"])
    def unsnooze_alerts(self, request, queryset: QuerySet[Alert]) -> None:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        result = alerts_bulk_unsnooze(ids=ids, actor=request.user)
        self.message_user(request, f"Ended the snooze of {_plural(len(result.updated), 'alert')}.", messages.SUCCESS)

    def _snooze(self, request, queryset: QuerySet[Alert], minutes: int) -> None:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        result = alerts_bulk_snooze(ids=ids, body={"minutes": minutes}, actor=request.user)
        text = f"Snoozed {_plural(len(result.updated), 'alert')}"
        if result.skipped:
            reasons = "; ".join(skip["reason"] for skip in result.skipped[:SKIPPED_NAMED])
            self.message_user(request, f"{text}, {len(result.skipped)} skipped ({reasons}).", messages.WARNING)
            return
        self.message_user(request, f"{text}.", messages.SUCCESS)

    def _transition(self, request, queryset: QuerySet[Alert], to: AlertStatus) -> None:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        result = alerts_bulk_transition(ids=ids, to=to, actor=request.user)
        text = f"{transition_verb(to).capitalize()} {_plural(len(result.updated), 'alert')}"
        if not result.skipped:
            self.message_user(request, f"{text}.", messages.SUCCESS)
            return
        reasons = _skip_reasons(result.skipped, to)
        if len(reasons) > SKIPPED_NAMED:
            reasons = [*reasons[:SKIPPED_NAMED], f"and {len(reasons) - SKIPPED_NAMED} more"]
        level = messages.WARNING if result.updated else messages.ERROR
        self.message_user(request, f"{text}, {len(result.skipped)} skipped ({'; '.join(reasons)}).", level)


def _skip_reasons(skipped: list[dict[str, Any]], to: str) -> list[str]:
    """Name each skipped alert: `ALR-000007 is already resolved` where the status says it all, else the service reason."""
    statuses = dict(Alert.objects.filter(pk__in=[s["id"] for s in skipped]).values_list("pk", "status"))
    reasons = []
    for skip in skipped:
        status = statuses.get(skip["id"])
        reference = reference_for(skip["id"]) if isinstance(skip["id"], int) else str(skip["id"])
        if status == to or (to == AlertStatus.ACKNOWLEDGED and status == AlertStatus.RESOLVED):
            reasons.append(f"{reference} is already {status}")
        elif to == AlertStatus.OPEN and status == AlertStatus.ACKNOWLEDGED:
            reasons.append(f"{reference} is not resolved")
        else:
            reasons.append(str(skip["reason"]).rstrip("."))
    return reasons


# -- logs -----------------------------------------------------------------------------


class ReadOnlyLogAdmin(ReadOnlyMixin, admin.ModelAdmin):
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 100

    def get_search_results(self, request, queryset, search_term: str):
        found = _reference_search(queryset, search_term, "alert_id")
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Alert", ordering="alert_id")
    def alert_link(self, row: AlertTransition | AlertNote):
        url = reverse("admin:alerts_alert_change", args=[row.alert_id])
        return format_html('<a href="{}">{}</a> {}', url, reference_for(row.alert_id), row.alert.title)


@admin.register(AlertTransition)
class AlertTransitionAdmin(ReadOnlyLogAdmin):
    list_display = ["at", "alert_link", "kind", "from_status", "to_status", "actor", "note"]
    list_filter = ["kind", "to_status", "from_status", ActorListFilter]
    search_fields = ["note", "=actor__username"]
    search_help_text = "An alert reference such as ALR-000123, a word from the note, or a username."
    list_select_related = ["alert", "actor"]
    fields = ["alert", "kind", "from_status", "to_status", "actor", "note", "at"]
    readonly_fields = fields
    ordering = ["-at", "-id"]


@admin.register(AlertNote)
class AlertNoteAdmin(ReadOnlyLogAdmin):
    list_display = ["created_at", "alert_link", "author", "text"]
    list_filter = [AuthorListFilter]
    search_fields = ["text", "=author__username"]
    search_help_text = "An alert reference such as ALR-000123, a word from the note, or a username."
    list_select_related = ["alert", "author"]
    fields = ["alert", "author", "text", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]


class MaintenanceWindowAdminForm(forms.ModelForm):
    """Checks the window as the API does (alerts.services.maintenance), errors on their fields."""

    class Meta:
        model = MaintenanceWindow
        fields = [
            "name",
            "reason",
            "starts_at",
            "ends_at",
            "timezone",
            "recurrence",
            "mute",
            "scope_rules",
            "scope_priorities",
            "scope_event_types",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            window_validate(_admin_body(cleaned), rules_known=rule_ids_existing)
        except FieldErrors as exc:
            for path, message in exc.errors.items():
                field = ADMIN_ERROR_FIELDS.get(path, path)
                self.add_error(field if field in self.fields else None, message)
        return cleaned


ADMIN_ERROR_FIELDS = {
    "scope.rules": "scope_rules",
    "scope.priorities": "scope_priorities",
    "scope.event_types": "scope_event_types",
}


def _admin_body(cleaned: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": cleaned.get("name"),
        "reason": cleaned.get("reason"),
        "starts_at": cleaned.get("starts_at"),
        "ends_at": cleaned.get("ends_at"),
        "timezone": cleaned.get("timezone"),
        "recurrence": cleaned.get("recurrence") or None,
        "mute": cleaned.get("mute"),
        "scope": {
            "rules": cleaned.get("scope_rules") or [],
            "priorities": cleaned.get("scope_priorities") or [],
            "event_types": cleaned.get("scope_event_types") or [],
        },
    }


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    """Windows are written through alerts.services.maintenance, so the audit trail is the same."""

    form = MaintenanceWindowAdminForm
    list_display = [
        "name",
        "state",
        "starts_at",
        "timezone",
        "recurrence",
        "mute",
        "muted_alerts",
        "muted_notifications",
    ]
    list_filter = ["mute"]
    search_fields = ["name", "reason"]
    readonly_fields = ["state", "muted_alerts", "muted_notifications", "created_by", "created_at", "updated_at"]

    @admin.display(description="Now")
    def state(self, window: MaintenanceWindow) -> str:
        if not window.pk:
            return "-"
        status = window_status(window.spec())
        if status["active_now"]:
            return f"Active until {status['active_until']:%Y-%m-%d %H:%M} UTC"
        if status["next_start"] is not None:
            return f"Next {status['next_start']:%Y-%m-%d %H:%M} UTC"
        return "Ended"

    def save_model(self, request: HttpRequest, obj: MaintenanceWindow, form: forms.ModelForm, change: bool) -> None:
        body = _admin_body(form.cleaned_data)
        if change:
            window_update(window=obj, data=body, actor=request.user, rules_known=rule_ids_existing)
        else:
            obj.pk = window_create(data=body, actor=request.user, rules_known=rule_ids_existing).pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: MaintenanceWindow) -> None:
        window_delete(window=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MaintenanceWindow]) -> None:
        for window in queryset:
            window_delete(window=window, actor=request.user)
