from __future__ import annotations

from django.contrib.auth import authenticate, get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from alertsite.accounts.roles import Role, user_role_assigned

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


class TokenObtainSerializer(serializers.Serializer):
    """A missing or blank field is a 400 naming it; credentials that do not log in are a 401."""

    username = serializers.CharField(write_only=True)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs: dict) -> dict:
        user = authenticate(self.context.get("request"), username=attrs["username"], password=attrs["password"])
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
