"""Keep the four role groups and their model permissions in step with the installed models.

The groups are declarative: every ``migrate`` rewrites their permissions, so models added later
(alerts, channels, ...) are picked up, and hand edits to these four groups do not survive.
The permissions matter to the Django admin; the API decides by role (see permissions.py).
"""

from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS, router
from django.db.models import Q

from alertsite.accounts.roles import Role

logger = logging.getLogger(__name__)

# Apps whose objects every reader role may see.
READABLE_APPS: tuple[str, ...] = ("events", "rules", "alerts", "channels", "accounts")

# What a responder may do beyond reading: act on alerts. Missing codenames are skipped, so this
# list may name models that do not exist yet.
RESPONDER_EXTRA_PERMISSIONS: tuple[str, ...] = (
    "alerts.change_alert",
    "alerts.add_alertnote",
    "alerts.add_alerttransition",
)

INGEST_PERMISSIONS: tuple[str, ...] = ("events.add_auditevent",)


def _codenames_q(names: tuple[str, ...]) -> Q:
    q = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        q |= Q(content_type__app_label=app_label, codename=codename)
    return q


def role_groups_sync(*, using: str = DEFAULT_DB_ALIAS, apps: Any = global_apps) -> None:
    """Create the role groups if missing and set each one's permissions exactly."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.using(using)
    view = permissions.filter(content_type__app_label__in=READABLE_APPS, codename__startswith="view_")
    wanted = {
        Role.ADMIN: permissions.all(),
        Role.VIEWER: view,
        Role.RESPONDER: permissions.filter(Q(pk__in=view.values("pk")) | _codenames_q(RESPONDER_EXTRA_PERMISSIONS)),
        Role.INGEST: permissions.filter(_codenames_q(INGEST_PERMISSIONS)),
    }
    for role, perms in wanted.items():
        group, _ = Group.objects.using(using).get_or_create(name=role.value)
        group.permissions.set(list(perms))


def role_groups_sync_on_migrate(
    sender: AppConfig, *, using: str = DEFAULT_DB_ALIAS, apps: Any = global_apps, **kwargs: Any
) -> None:
    """Run the sync once per ``migrate``, on the last app's signal, after all permissions exist."""
    last = [config for config in global_apps.get_app_configs() if config.models_module is not None][-1]
    if sender.label != last.label:
        return
    try:
        apps.get_model("auth", "Permission")
        apps.get_model("auth", "Group")
    except LookupError:  # auth is not migrated in this database
        return
    if not router.allow_migrate_model(using, apps.get_model("auth", "Group")):
        return
    role_groups_sync(using=using, apps=apps)
    logger.debug("role groups synced", extra={"database": using})
