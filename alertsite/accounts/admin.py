"""Show each user's role in the Django admin and let admins change it with an action."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Q

from alertsite.accounts import login, services
from alertsite.accounts.forms import AdminLoginForm
from alertsite.accounts.models import LoginFailure
from alertsite.accounts.roles import Role, user_role_assigned

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet
    from django.http import HttpRequest

User = get_user_model()
NO_ROLE = "none"


class RoleListFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*Role.choices, (NO_ROLE, "No role")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        value = self.value()
        if value is None:
            return queryset
        if value == NO_ROLE:
            return queryset.filter(is_superuser=False).exclude(groups__name__in=Role.values)
        if value == Role.ADMIN:
            return queryset.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN)).distinct()
        return queryset.filter(is_superuser=False, groups__name=value).distinct()


def _role_action(role: Role) -> Any:
    def set_role(modeladmin: UserAdmin, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = [user for user in queryset if user.pk != request.user.pk or role == Role.ADMIN]
        for user in users:
            services.role_set(user=user, role=role)
        skipped = queryset.count() - len(users)
        note = f", skipped {skipped} (you cannot give up your own admin role)" if skipped else ""
        modeladmin.message_user(request, f"Set role {role.label} on {len(users)} users{note}.", messages.SUCCESS)

    set_role.__name__ = f"set_role_{role.value}"
    return admin.action(description=f"Set role: {role.label}", permissions=["change"])(set_role)


@admin.action(description="Unlock login (forget failed attempts)", permissions=["change"])
def unlock_login(modeladmin: UserAdmin, request: HttpRequest, queryset: QuerySet[User]) -> None:
    cleared = sum(login.login_unlock(username=user.get_username()) for user in queryset)
    modeladmin.message_user(
        request, f"Unlocked {queryset.count()} users ({cleared} failed attempts forgotten).", messages.SUCCESS
    )


# The admin's own login page goes through the same throttle and audit trail as the console's.
admin.site.login_form = AdminLoginForm

admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "role", "is_active", "last_login", "date_joined"]
    list_filter = [RoleListFilter, "is_active"]
    actions = [*(_role_action(role) for role in Role), unlock_login]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Role")
    def role(self, user: User) -> str:
        role = user_role_assigned(user)
        return role.label if role else "—"


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """Failed logins still counted by the throttle; deleting a username's or an address's rows unlocks it."""

    list_display = ["failed_at", "username", "address"]
    search_fields = ["username", "address"]
    ordering = ["-failed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
