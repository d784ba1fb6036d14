from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "alertsite.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from alertsite.accounts.groups import role_groups_sync_on_migrate

        # No sender: the receiver acts on the last app's signal, when every app's permissions exist.
        post_migrate.connect(role_groups_sync_on_migrate, dispatch_uid="accounts.role_groups_sync")
