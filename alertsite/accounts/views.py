"""Console login: Django's LoginView with the throttled form; a lock answers 429 on the login page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from alertsite.accounts.forms import LoginForm


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if form.lock is not None:
            # The page still renders (the message says when to come back); the status and header
            # tell scripts the same.
            response.status_code = 429
            response["Retry-After"] = str(form.lock.seconds_left())
        return response
