"""The console's and the Django admin's login forms, checking passwords through the throttle."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from alertsite.accounts.login import LoginLocked, login_authenticate
from alertsite.accounts.throttle import LoginLock


def lock_message(lock: LoginLock) -> str:
    """What a refused person reads: why, until when, and who can help sooner."""
    minutes = -(-lock.seconds_left() // 60)
    until = timezone.localtime(lock.until).strftime("%H:%M %Z")
    return (
        "Too many failed sign-in attempts for this account or from your address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''} (after {until}), "
        "or ask an alertsite admin to unlock the account."
    )


class ThrottledLoginMixin:
    """Replaces AuthenticationForm.clean's ``authenticate`` call with the throttled, audited one."""

    interface = "console"
    lock: LoginLock | None = None

    def clean(self) -> dict[str, Any]:
        form: Any = self
        username = form.cleaned_data.get("username")
        password = form.cleaned_data.get("password")
        if username is None or not password:
            return form.cleaned_data  # the field errors say what is missing
        try:
            form.user_cache = login_authenticate(
                request=form.request, username=username, password=password, interface=self.interface
            )
        except LoginLocked as exc:
            self.lock = exc.lock
            raise forms.ValidationError(lock_message(exc.lock), code="throttled") from exc
        if form.user_cache is None:
            raise form.get_invalid_login_error()
        form.confirm_login_allowed(form.user_cache)
        return form.cleaned_data


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    interface = "console"


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    interface = "admin"
