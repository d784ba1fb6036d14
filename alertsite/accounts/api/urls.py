from __future__ import annotations

from django.urls import re_path

from alertsite.accounts.api.views import PasswordChangeView, TokenObtainView, TokenRevokeView, UserViewSet
from alertsite.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    re_path(r"^auth/token/?$", TokenObtainView.as_view(), name="auth-token"),
    re_path(r"^auth/token/revoke/?$", TokenRevokeView.as_view(), name="auth-token-revoke"),
    re_path(r"^auth/password/?$", PasswordChangeView.as_view(), name="auth-password"),
    *router.urls,
]
