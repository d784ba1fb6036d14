"""Admin for channels (validated and saved through channels.services) and the delivery log.

Secrets are write-only here as in the API: the config is edited as JSON showing
`channel_public(channel)`, where every secret reads "********"; sending "********" back keeps
the stored (sealed) value, anything else replaces it.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import orjson
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.timezone import localtime

from alerts.selectors import alert_reference
from alertsite.admin_helpers import (
    PrettyJSONField,
    ReadOnlyInline,
    ReadOnlyMixin,
    admin_badge,
    admin_pre,
    newest_formset,
)
from alertsite.paginators import CappedCountPaginator
from channels.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus
from channels.services import (
    ChannelInUse,
    ChannelValidationError,
    channel_create,
    channel_delete,
    channel_public,
    channel_resume,
    channel_test,
    channel_update,
    channel_validate,
    delivery_retry,
)
from rules.selectors import channel_rule_count, rules_using_channel

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

HEALTH_OK, HEALTH_FAILING, HEALTH_UNUSED = "ok", "bad", "idle"
STATUS_TONES = {
    DeliveryStatus.PENDING: "info",
    DeliveryStatus.SENDING: "warn",
    DeliveryStatus.SENT: "ok",
    DeliveryStatus.FAILED: "bad",
}
NEWEST_DELIVERIES = 20
TEST_LIMIT = 10  # channels tested per action run: each test is a synchronous send with a timeout
ERROR_CHARS = 80
NAMED = 5  # channels named one by one in an action's message; the rest are counted
SERVICE_FIELDS = ("kind", "name", "enabled", "config")
CONFIG_HELP = (
    'JSON. Email: {"recipients": ["soc@example.com", {"name": "SOC desk", "email": "desk@example.com"}], '
    '"roles": ["admin"]}. '
    'Webhook: {"url": "https://hooks.example.com/alertsite/{{TOKEN}}", "verify_ssl": true, "secret": "...", '
    '"headers": [{"name": "X-Team", "value": "soc", "sensitive": false}], "auth": {"type": "none"}, '
    '"url_secrets": [{"name": "TOKEN", "value": "..."}]}. '
    'Slack / Teams: {"webhook_url": "https://hooks.slack.com/services/..."} (write-only). '
    'PagerDuty: {"routing_key": "...", "events_url": "https://events.pagerduty.com/v2/enqueue", '
    '"webhook_secret": "..."}. '
    'Secrets show as "********": leave them so to keep the stored value, or type a new one.'
)


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word}" if count == 1 else f"{count} {plural or word + 's'}"


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:NAMED])
    return shown if len(names) <= NAMED else f"{shown} and {len(names) - NAMED} more"


# -- channels -------------------------------------------------------------------------


class ChannelAdminForm(forms.ModelForm):
    """Every check lives in channels.services: the form only maps its errors onto fields.

    The config is shown masked; `service_data` (set by `clean`) is what save_model hands to
    channel_create / channel_update, which keep a secret sent back as "********".
    """

    config = PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 18, "cols": 100, "class": "as-monospace"}),
        help_text=CONFIG_HELP,
    )

    class Meta:
        model = Channel
        fields = list(SERVICE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["config"] = channel_public(self.instance)
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = "The kind of a channel cannot change; create a new channel."
        else:
            self.initial.setdefault("config", {})
        self.service_data: dict[str, Any] = {}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        editing = self.instance.pk is not None
        data = {name: cleaned[name] for name in SERVICE_FIELDS if name in cleaned and name in self.fields}
        if editing:
            data.pop("kind", None)  # unchanged (the field is disabled); the service refuses a change anyway
        try:
            # clean() runs before the submitted values are copied onto the instance: it is the stored row.
            channel_validate(data, instance=self.instance if editing else None)
        except ChannelValidationError as exc:
            for path, message in exc.errors.items():
                field = path.split("[")[0].split(".")[0]
                if field in self.errors:
                    continue  # the field's own error (bad JSON, missing value) already says it
                text = message if path == field else f"{path}: {message}"
                self.add_error(field if field in self.fields else None, text)
        self.service_data = data
        return cleaned


class FailingListFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [("failing", "Failing channels"), ("ok", "Healthy"), ("unused", "Never used")]

    def queryset(self, request, queryset: QuerySet[Channel]) -> QuerySet[Channel]:
        if self.value() == "failing":
            return queryset.filter(consecutive_failures__gt=0)
        if self.value() == "ok":
            return queryset.filter(consecutive_failures=0, last_delivery_at__isnull=False)
        if self.value() == "unused":
            return queryset.filter(last_delivery_at__isnull=True)
        return queryset


NewestDeliveriesFormSet = newest_formset(NEWEST_DELIVERIES)


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    formset = NewestDeliveriesFormSet
    verbose_name = "delivery"
    verbose_name_plural = f"deliveries (newest {NEWEST_DELIVERIES})"
    fields = ["created_at", "kind", "status_badge", "attempts", "response_code", "error_short", "source"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    show_change_link = True

    def get_queryset(self, request) -> QuerySet[Delivery]:
        return super().get_queryset(request).defer("payload")

    @admin.display(description="Status")
    def status_badge(self, delivery: Delivery):
        return _status_badge(delivery)

    @admin.display(description="Last error")
    def error_short(self, delivery: Delivery) -> str:
        return Truncator(delivery.last_error).chars(ERROR_CHARS) or "—"


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelAdminForm
    list_display = [
        "name",
        "kind",
        "enabled",
        "health_badge",
        "last_delivery_at",
        "error_short",
        "rule_count",
    ]
    list_filter = ["kind", "enabled", FailingListFilter]
    search_fields = ["name"]
    list_select_related = []
    actions = ["send_test", "resume_channels", "enable_channels", "disable_channels", "delete_selected"]
    readonly_fields = [
        "health_badge",
        "last_delivery_at",
        "last_success_at",
        "consecutive_failures",
        "paused_until",
        "last_error",
        "rules_using",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "kind", "enabled", "config"]}),
        ("Health", {"fields": readonly_fields}),
    ]

    def get_queryset(self, request) -> QuerySet[Channel]:
        return super().get_queryset(request).annotate(rule_count=channel_rule_count())

    def get_inlines(self, request, obj: Channel | None):
        return [DeliveryInline] if obj is not None else []

    def get_fieldsets(self, request, obj: Channel | None = None):
        return self.fieldsets if obj is not None else self.fieldsets[:1]

    # -- columns and fields

    @admin.display(description="Health", ordering="consecutive_failures")
    def health_badge(self, channel: Channel):
        if channel.paused and channel.paused_until is not None:
            return admin_badge(HEALTH_FAILING, f"Paused until {localtime(channel.paused_until):%Y-%m-%d %H:%M:%S}")
        if channel.consecutive_failures:
            failures = _plural(channel.consecutive_failures, "consecutive failure")
            return admin_badge(HEALTH_FAILING, f"failing: {failures}")
        if channel.last_delivery_at is None:
            return admin_badge(HEALTH_UNUSED, "never used")
        return admin_badge(HEALTH_OK, "ok")

    @admin.display(description="Last error")
    def error_short(self, channel: Channel) -> str:
        return Truncator(channel.last_error).chars(ERROR_CHARS) or "—"

    @admin.display(description="Rules using it", ordering="rule_count")
    def rule_count(self, channel: Channel) -> int:
        return channel.rule_count

    @admin.display(description="Rules using it")
    def rules_using(self, channel: Channel):
        rules = rules_using_channel(channel.pk)
        if not rules:
            return "—"
        return format_html_join(
            ", ", '<a href="{}">{}</a>', ((reverse("admin:rules_rule_change", args=[pk]), name) for pk, name in rules)
        )

    # -- saving and deleting through the services (audit events)

    def save_model(self, request, obj: Channel, form: ChannelAdminForm, change: bool) -> None:
        data = form.service_data
        saved = (
            channel_update(channel=obj, data=data, actor=request.user)
            if change
            else channel_create(data=data, actor=request.user)
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj: Channel) -> None:
        """A channel rules still use is kept: say why, and undo the admin's deletion log entry."""
        try:
            channel_delete(channel=obj, actor=request.user)
        except ChannelInUse as exc:
            if transaction.get_connection().in_atomic_block:
                transaction.set_rollback(True)  # delete_view runs in a transaction: drop its deletion LogEntry
            request._channel_delete_refused = True
            self.message_user(request, f"“{obj.name}” was not deleted. {exc}", messages.ERROR)

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> HttpResponse:
        if getattr(request, "_channel_delete_refused", False):
            return HttpResponseRedirect(reverse("admin:channels_channel_change", args=[obj_id]))
        return super().response_delete(request, obj_display, obj_id)

    def delete_queryset(self, request, queryset: QuerySet[Channel]) -> None:
        """Delete each channel no rule uses (logged one by one); report the others."""
        deleted, refused = [], []
        for channel in queryset.order_by("name"):
            name = channel.name
            try:
                with transaction.atomic():
                    self.log_deletions(request, [channel])
                    channel_delete(channel=channel, actor=request.user)
            except ChannelInUse as exc:
                refused.append(f"{name} (used by {_names(exc.rule_names)})")
                continue
            deleted.append(name)
        text = f"Deleted {_plural(len(deleted), 'channel')}"
        if not refused:
            self.message_user(request, f"{text}.", messages.SUCCESS)
            return
        level = messages.WARNING if deleted else messages.ERROR
        self.message_user(
            request,
            f"{text}, {len(refused)} kept because rules use them: {'; '.join(refused[:NAMED])}"
            + (f"; and {len(refused) - NAMED} more" if len(refused) > NAMED else "")
            + ". Remove them from the rules first, or disable the channels.",
            level,
        )

    @admin.action(description="Delete selected channels", permissions=["delete"])
    def delete_selected(self, request, queryset: QuerySet[Channel]):
        """Django's confirmation page, then deletion through the service (channels in use are kept)."""
        if not request.POST.get("post"):
            return admin_actions.delete_selected(self, request, queryset)
        self.delete_queryset(request, queryset)
        return None

    # -- actions

    @admin.action(description="Send a test notification", permissions=["change"])
    def send_test(self, request, queryset: QuerySet[Channel]) -> None:
        selected = list(queryset.order_by("name")[: TEST_LIMIT + 1])
        if len(selected) > TEST_LIMIT:
            self.message_user(
                request,
                f"Tested the first {TEST_LIMIT} channels by name only: each test waits for the destination.",
                messages.WARNING,
            )
        for channel in selected[:TEST_LIMIT]:
            delivery = channel_test(channel=channel, actor=request.user)
            code = f", status {delivery.response_code}" if delivery.response_code is not None else ""
            if delivery.status == DeliveryStatus.SENT:
                self.message_user(request, f"Test to “{channel.name}”: delivered{code}.", messages.SUCCESS)
            else:
                error = delivery.last_error or delivery.status
                self.message_user(request, f"Test to “{channel.name}”: failed{code}: {error}", messages.ERROR)

    @admin.action(description="Resume selected paused channels now", permissions=["change"])
    def resume_channels(self, request, queryset: QuerySet[Channel]) -> None:
        resumed = [channel for channel in queryset.order_by("name") if channel.paused]
        due = sum(len(channel_resume(channel=channel, actor=request.user)) for channel in resumed)
        self.message_user(
            request, f"Resumed {_plural(len(resumed), 'channel')}; {_plural(due, 'delivery', 'deliveries')} queued."
        )

    @admin.action(description="Enable selected channels", permissions=["change"])
    def enable_channels(self, request, queryset: QuerySet[Channel]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected channels", permissions=["change"])
    def disable_channels(self, request, queryset: QuerySet[Channel]) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request, queryset: QuerySet[Channel], enabled: bool) -> None:
        changed, already, invalid = 0, 0, []
        for channel in queryset.order_by("name"):
            if channel.enabled == enabled:
                already += 1
                continue
            try:
                channel_update(channel=channel, data={"enabled": enabled}, actor=request.user)
            except ChannelValidationError as exc:
                # The stored config no longer passes (e.g. its host stopped resolving): fix it in the form.
                invalid.append(f"{channel.name}: {exc}")
                continue
            changed += 1
        verb = "Enabled" if enabled else "Disabled"
        skipped = []
        if already:
            skipped.append(f"{already} skipped (already {'enabled' if enabled else 'disabled'})")
        if invalid:
            skipped.append(f"{len(invalid)} not changed ({'; '.join(invalid[:NAMED])})")
        text = ", ".join([f"{verb} {_plural(changed, 'channel')}", *skipped]) + "."
        level = messages.SUCCESS if not invalid else (messages.WARNING if changed else messages.ERROR)
        self.message_user(request, text, level)


# -- deliveries -----------------------------------------------------------------------


def _status_badge(delivery: Delivery):
    return admin_badge(STATUS_TONES.get(delivery.status, "neutral"), delivery.get_status_display())


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    verbose_name = "attempt"
    verbose_name_plural = "attempts"
    fields = ["number", "at", "outcome", "status_code", "duration_ms", "error", "response_snippet"]
    readonly_fields = fields
    ordering = ["number"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The outbox as a read-only log; failed deliveries can be sent again with the retry action."""

    list_display = [
        "created_at",
        "channel",
        "kind",
        "status_badge",
        "attempts",
        "response_code",
        "error_short",
        "alert_link",
        "uuid",
    ]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["uuid", "source"]
    search_help_text = "A delivery id (the X-Alertsite-Delivery UUID) or an exact source such as alert:7."
    list_select_related = ["channel"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 100
    actions = ["retry_deliveries"]
    inlines = [DeliveryAttemptInline]
    fieldsets = [
        (None, {"fields": ["uuid", "channel", "kind", "source", "status_badge", "alert_link", "rule"]}),
        (
            "Sending",
            {
                "fields": [
                    "attempts",
                    "created_at",
                    "claimed_at",
                    "last_attempt_at",
                    "next_attempt_at",
                    "sent_at",
                    "response_code",
                    "duration_ms",
                    "last_error",
                    "response_snippet",
                    "causal_depth",
                ]
            },
        ),
        ("Payload", {"fields": ["payload_json"]}),
    ]
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]

    def get_queryset(self, request) -> QuerySet[Delivery]:
        return super().get_queryset(request).defer("payload")

    def get_search_results(self, request, queryset: QuerySet[Delivery], search_term: str):
        """A UUID finds one delivery; anything else is an exact source (both indexed, unlike icontains)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(uuid=uuid.UUID(term)), False
        except ValueError:
            return queryset.filter(source=term), False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("channels.change_delivery")

    # -- columns and fields

    @admin.display(description="Status", ordering="status")
    def status_badge(self, delivery: Delivery):
        return _status_badge(delivery)

    @admin.display(description="Last error")
    def error_short(self, delivery: Delivery) -> str:
        return Truncator(delivery.last_error).chars(ERROR_CHARS) or "—"

    @admin.display(description="Alert", ordering="alert_id")
    def alert_link(self, delivery: Delivery):
        if delivery.alert_id is None:
            return "—"
        url = reverse("admin:alerts_alert_change", args=[delivery.alert_id])
        return format_html('<a href="{}">{}</a>', url, alert_reference(delivery.alert_id))

    @admin.display(description="Payload")
    def payload_json(self, delivery: Delivery):
        text = orjson.dumps(delivery.payload, option=orjson.OPT_INDENT_2).decode()
        return admin_pre(text)

    # -- actions

    @admin.action(description="Retry selected failed deliveries", permissions=["retry"])
    def retry_deliveries(self, request, queryset: QuerySet[Delivery]) -> None:
        retried = skipped = 0
        for delivery in queryset.select_related(None).defer("payload").order_by("pk"):
            if delivery.status != DeliveryStatus.FAILED:
                skipped += 1
                continue
            delivery_retry(delivery=delivery)  # only a row still failed is sent again (conditional update)
            retried += 1
        text = f"Retried {_plural(retried, 'delivery', 'deliveries')}"
        if skipped:
            text += f", {skipped} skipped (not failed)"
        self.message_user(request, f"{text}.", messages.SUCCESS if retried or not skipped else messages.WARNING)
