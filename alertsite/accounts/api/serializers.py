from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from alertsite.accounts.login import LoginLocked, login_authenticate
from alertsite.accounts.roles import Role, user_role_assigned
from alertsite.accounts.throttle import LoginLock

User = get_user_model()


class UserRefSerializer(serializers.ModelSerializer):
    """How other resources show a user (an alert's assignee, a note's author): ``{"id", "username"}``."""

    class Meta:
        model = User
        fields = ["id", "username"]
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "is_active", "date_joined", "last_login"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices, allow_null=True))
    def get_role(self, user: User) -> str | None:
        role = user_role_assigned(user)
        return role.value if role else None


class UserCreateSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = User
        fields = ["username", "password", "email", "role"]


class UserUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


BAD_CREDENTIALS_MESSAGE = (
    "Unable to log in with the provided credentials: wrong username or password, or the account is deactivated."
)


class LoginLockedError(exceptions.Throttled):
    """429 with Retry-After (DRF sets it from ``wait``) and a body saying until when."""

    def __init__(self, lock: LoginLock) -> None:
        wait = lock.seconds_left()
        super().__init__(wait=wait)
        until = lock.until.isoformat().replace("+00:00", "Z")
        self.detail = {
            "detail": exceptions.ErrorDetail(
                "Too many failed logins for this username or from this address. "
                f"Try again in {wait} seconds (after {until}), or ask an admin to unlock the account.",
                code=self.default_code,
            ),
            "retry_after": wait,
            "locked_until": until,
        }


class TokenObtainSerializer(serializers.Serializer):
    """A missing or blank field is a 400 naming it; credentials that do not log in are a 401; a lock is a 429."""

    username = serializers.CharField(write_only=True)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs: dict) -> dict:
        try:
            user = login_authenticate(
                request=self.context["request"], username=attrs["username"], password=attrs["password"], interface="api"
            )
        except LoginLocked as exc:
            raise LoginLockedError(exc.lock) from exc
        if user is None:
            # One message for every case: telling them apart would reveal which usernames exist.
            # AuthenticationFailed is not a ValidationError, so it leaves is_valid() as a 401.
            raise exceptions.AuthenticationFailed(BAD_CREDENTIALS_MESSAGE)
        attrs["user"] = user
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})
    new_password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})


class UnlockSerializer(serializers.Serializer):
    """What ``POST /api/v1/users/{id}/unlock`` answers."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    failures_cleared = serializers.IntegerField(read_only=True)
