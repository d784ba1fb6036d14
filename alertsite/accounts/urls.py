"""Console session login and logout (the API uses tokens, see api/urls.py)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import re_path

from alertsite.accounts.views import LoginView

urlpatterns = [
    re_path(r"^login/?$", LoginView.as_view(), name="login"),
    # Django's LogoutView answers POST only, so a stray link or image cannot log anyone out.
    re_path(r"^logout/?$", auth_views.LogoutView.as_view(), name="logout"),
]
