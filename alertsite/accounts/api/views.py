from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from alertsite.accounts import login, selectors, services
from alertsite.accounts.api.serializers import (
    LoginLockedError,
    PasswordChangeSerializer,
    TokenObtainSerializer,
    TokenSerializer,
    UnlockSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from alertsite.accounts.permissions import IsAdminRole
from alertsite.accounts.roles import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet
    from rest_framework.request import Request


@contextmanager
def django_errors_as_400() -> Iterator[None]:
    """Let services raise Django's ValidationError and still answer a DRF 400 with field errors."""
    try:
        yield
    except DjangoValidationError as exc:
        raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc


class TokenObtainView(APIView):
    """Exchange a username and password for the user's API token."""

    # No authentication: a stale token or session must not get in the way of logging in.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        # Without authentication classes DRF would turn the 401 for bad credentials into a 403;
        # a 401 needs a challenge, and the token is what this endpoint hands out.
        return "Token"

    @extend_schema(
        request=TokenObtainSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="A field is missing or blank; the answer names it."),
            401: OpenApiResponse(description='Wrong username or password, or a deactivated account: {"detail"}.'),
            429: OpenApiResponse(
                description="Too many failed logins for this username or address: "
                '{"detail", "retry_after", "locked_until"} and a Retry-After header.'
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenObtainSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token = services.token_issue(user=serializer.validated_data["user"])
        return Response(TokenSerializer({"token": token}).data)


class TokenRevokeView(APIView):
    """Revoke the caller's API token."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        services.token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    """Change the caller's own password."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={
            204: None,
            429: OpenApiResponse(description="Too many wrong passwords for this user or address (see auth/token)."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with django_errors_as_400():
                login.password_change_checked(request=request, user=request.user, **serializer.validated_data)
        except login.LoginLocked as exc:
            raise LoginLockedError(exc.lock) from exc
        if isinstance(request.successful_authenticator, SessionAuthentication):
            # The session is tied to the password hash; keep the caller's own session alive.
            update_session_auth_hash(request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserPagination(CursorPagination):
    ordering = "username"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@extend_schema_view(
    create=extend_schema(request=UserCreateSerializer, responses={201: UserSerializer}),
    partial_update=extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer}),
    destroy=extend_schema(
        description="Deactivate the user and revoke their token; the row stays so history keeps its authors.",
        responses={204: OpenApiResponse(description="Deactivated.")},
    ),
)
class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Manage users and their roles (admin only)."""

    permission_classes = [IsAdminRole]
    serializer_class = UserSerializer
    pagination_class = UserPagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[User]:
        return selectors.user_list()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"create": UserCreateSerializer, "partial_update": UserUpdateSerializer}.get(self.action, UserSerializer)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with django_errors_as_400():
            user = services.user_create(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if user.pk == request.user.pk and (
            data.get("is_active") is False or data.get("role", Role.ADMIN) != Role.ADMIN
        ):
            # Guard against the last way in disappearing by accident; another admin can do it.
            raise serializers.ValidationError("You cannot deactivate yourself or give up your own admin role.")
        user = services.user_update(user=user, **data)
        return Response(UserSerializer(user).data)

    @extend_schema(request=None, responses={200: UnlockSerializer})
    @action(detail=True, methods=["post"])
    def unlock(self, request: Request, pk: str) -> Response:
        """Lift this user's login lock now: forget the failed logins of their username.

        Those failures leave their addresses' counts too, so a user who locked out their own address
        is free; an address locked by guesses at other usernames stays locked (manage.py login_unlock).
        """
        user = self.get_object()
        cleared = login.login_unlock(username=user.get_username())
        return Response(
            UnlockSerializer({"id": user.pk, "username": user.get_username(), "failures_cleared": cleared}).data
        )

    def destroy(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        if user.pk == request.user.pk:
            raise serializers.ValidationError("You cannot deactivate yourself.")
        services.user_deactivate(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
