"""Admin for sources: the same checks as the API (events.sources.services), the key masked."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.text import Truncator

from alertsite.admin_helpers import PrettyJSONField, admin_badge, admin_pre
from events.sources.config import source_config_public
from events.sources.models import Source, SourceState
from events.sources.services import (
    SourceValidationError,
    source_create,
    source_delete,
    source_lag_seconds,
    source_pause,
    source_poll_now,
    source_status,
    source_update,
    source_validate,
)

SERVICE_FIELDS = ("kind", "name", "enabled", "config")
STATE_TONES = {
    SourceState.OK: "ok",
    SourceState.FAILING: "bad",
    SourceState.PAUSED: "idle",
    SourceState.NEVER_RUN: "info",
}
CONFIG_HELP = (
    "base_url, api_key (shown as ********: leave it so to keep the stored key), org_ids (empty: the key's "
    "own organisation), services, start_time (at most 90 days back), poll_interval_seconds, page_limit "
    "(1-10,000), overlap_seconds, timeout_seconds."
)


class SourceAdminForm(forms.ModelForm):
    """Every check lives in events.sources.services: the form only maps its errors onto fields."""

    config = PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 14, "cols": 100, "class": "as-monospace"}),
        help_text=CONFIG_HELP,
    )

    class Meta:
        model = Source
        fields = list(SERVICE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["config"] = source_config_public(self.instance.config)
        else:
            self.initial.setdefault("config", {"base_url": "https://api.jumpcloud.com", "api_key": ""})
        self.service_data: dict[str, Any] = {}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        editing = self.instance.pk is not None
        data = {name: cleaned[name] for name in SERVICE_FIELDS if name in cleaned}
        try:
            source_validate(data, instance=self.instance if editing else None)
        except SourceValidationError as exc:
            for path, message in exc.errors.items():
                field = path.split("[")[0].split(".")[0]
                if field not in self.errors:
                    self.add_error(
                        field if field in self.fields else None, message if path == field else f"{path}: {message}"
                    )
        self.service_data = data
        return cleaned


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceAdminForm
    list_display = ["name", "enabled", "state_badge", "lag", "events_ingested", "skipped", "last_run_at", "error_short"]
    list_filter = ["enabled", "failing", "stopped"]
    search_fields = ["name"]
    actions = ["poll_now", "pause", "resume"]
    readonly_fields = [
        "state_badge",
        "status_json",
        "last_run_at",
        "last_success_at",
        "consecutive_failures",
        "last_error",
        "events_ingested",
        "skipped",
        "created_at",
        "updated_at",
    ]
    fieldsets = [(None, {"fields": list(SERVICE_FIELDS)}), ("Status", {"fields": readonly_fields})]

    def get_fieldsets(self, request, obj: Source | None = None):
        return self.fieldsets if obj is not None else self.fieldsets[:1]

    @admin.display(description="State")
    def state_badge(self, source: Source):
        return admin_badge(STATE_TONES[SourceState(source.state)], SourceState(source.state).label)

    @admin.display(description="Lag")
    def lag(self, source: Source) -> str:
        seconds = source_lag_seconds(source)  # not source_status: no cursor query a row
        return "—" if seconds is None else f"{seconds / 60:,.1f} min"

    @admin.display(description="Last error")
    def error_short(self, source: Source) -> str:
        return Truncator(source.last_error).chars(80) or "—"

    @admin.display(description="Status (as the API shows it)")
    def status_json(self, source: Source):
        import orjson

        text = orjson.dumps(source_status(source), option=orjson.OPT_INDENT_2).decode()
        return admin_pre(text)

    def save_model(self, request, obj: Source, form: SourceAdminForm, change: bool) -> None:
        data = form.service_data
        saved = (
            source_update(source=obj, data=data, actor=request.user)
            if change
            else source_create(data=data, actor=request.user)
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj: Source) -> None:
        source_delete(source=obj, actor=request.user)

    def delete_queryset(self, request, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            source_delete(source=source, actor=request.user)

    @admin.action(description="Poll now (at most 30 s each)")
    def poll_now(self, request, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            result = source_poll_now(source=source)
            if result.busy:
                self.message_user(request, f"{source.name}: another poll is running.", messages.WARNING)
            elif result.error:
                self.message_user(request, f"{source.name}: {result.error}", messages.ERROR)
            else:
                more = " (more in the background)" if result.more else ""
                self.message_user(
                    request, f"{source.name}: {result.accepted} new events from {result.pages} pages{more}."
                )

    @admin.action(description="Pause")
    def pause(self, request, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            source_pause(source=source, paused=True, actor=request.user)
        self.message_user(request, f"Paused {queryset.count()} source(s).")

    @admin.action(description="Resume")
    def resume(self, request, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            source_pause(source=source, paused=False, actor=request.user)
        self.message_user(request, f"Resumed {queryset.count()} source(s).")
