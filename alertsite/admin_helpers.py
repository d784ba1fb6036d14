"""Pieces every app's admin shares: read-only logs and inlines, JSON edited as indented text."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html
from django.utils.safestring import SafeString

# Badge tones of static/console/admin.css (green, red, orange, blue, grey, slate). Classes, never a
# style="" attribute: the Content-Security-Policy allows no inline style, the admin's included.
BADGE_TONES = ("ok", "bad", "warn", "info", "idle", "neutral")


class PrettyJSONField(forms.JSONField):
    """A JSON form field shown indented, so people can read and edit it."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class ReadOnlyMixin:
    """Logs are written by services only: nobody adds, changes or deletes them in the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False


def newest_formset(limit: int) -> type[BaseInlineFormSet]:
    """An inline formset showing only the first `limit` rows of its (newest-first) queryset:
    a grouped alert or a busy channel has thousands."""

    class NewestFormSet(BaseInlineFormSet):
        def get_queryset(self):
            if not hasattr(self, "_newest"):
                self._newest = super().get_queryset()[:limit]
            return self._newest

    return NewestFormSet


def admin_badge(tone: str, label: str) -> SafeString:
    """A coloured label (one of BADGE_TONES) styled by the admin's stylesheet."""
    if tone not in BADGE_TONES:
        raise ValueError(f"unknown badge tone {tone!r}; use one of {', '.join(BADGE_TONES)}")
    return format_html('<span class="as-badge as-badge-{}">{}</span>', tone, label)


def admin_pre(text: str) -> SafeString:
    """Preformatted text (JSON, a response body) that wraps inside the admin's narrow columns."""
    return format_html('<pre class="as-pre">{}</pre>', text)
