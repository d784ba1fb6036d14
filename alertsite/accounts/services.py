"""Every write to users, their roles and their API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from alertsite.accounts.roles import Role, user_role_forget

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def role_set(*, user: User, role: Role | str) -> User:
    """Put the user in exactly one role group and align the admin flags with it.

    - admin gets ``is_staff`` so it can use the Django admin; every other role loses it.
    - A non-admin role also clears ``is_superuser``: otherwise the superuser flag would keep
      the user an admin and the role we just set would be a lie.
    """
    role = Role(role)
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=role.value)
        others = Group.objects.filter(name__in=Role.values).exclude(pk=group.pk)
        user.groups.remove(*others)
        user.groups.add(group)
        user.is_staff = role == Role.ADMIN
        if role != Role.ADMIN:
            user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser"])
    user_role_forget(user)
    return user


def user_create(*, username: str, password: str, email: str = "", role: Role | str) -> User:
    """Create an active user with a checked password and one role."""
    UserModel = get_user_model()
    candidate = UserModel(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    with transaction.atomic():
        user = UserModel.objects.create_user(username=username, email=email, password=password)
        role_set(user=user, role=role)
    return user


def user_update(
    *, user: User, role: Role | str | None = None, email: str | None = None, is_active: bool | None = None
) -> User:
    """Change the given fields only; deactivating also revokes the user's tokens."""
    with transaction.atomic():
        fields: list[str] = []
        if email is not None and email != user.email:
            user.email = email
            fields.append("email")
        if is_active is not None and is_active != user.is_active:
            user.is_active = is_active
            fields.append("is_active")
        if fields:
            user.save(update_fields=fields)
        if role is not None:
            role_set(user=user, role=role)
        if not user.is_active:
            token_revoke(user=user)
    return user


def user_deactivate(*, user: User) -> User:
    """Deactivate instead of deleting, so alerts and notes keep their authors."""
    return user_update(user=user, is_active=False)


def token_issue(*, user: User) -> str:
    """Return the user's API token, creating it on first use (one token per user)."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def token_revoke(*, user: User) -> None:
    """Delete the user's API token; the next call with it answers 401."""
    Token.objects.filter(user=user).delete()


def password_change(*, user: User, old_password: str, new_password: str) -> User:
    """Change the user's own password after checking the old one and the validators.

    The API token is kept: there is one token per user and it is the one the caller is using.
    Revoke it explicitly to log out scripts. Sessions other than the caller's stop working
    because Django ties sessions to the password hash (the view keeps the caller's alive).
    """
    if not user.check_password(old_password):
        raise ValidationError({"old_password": ["The old password is not correct."]})
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user
