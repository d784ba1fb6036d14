"""`manage.py demo_setup`: a demo admin with a fresh password, printed, for the embedded default."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from alertsite.accounts.roles import Role
from alertsite.accounts.services import role_set


class Command(BaseCommand):
    help = "Create (or reset) the demo admin account and print its login."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default=None, help="Default: a new random password each run.")

    def handle(self, *args, username: str, password: str | None, **options) -> None:
        password = password or secrets.token_urlsafe(12)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        role_set(user=user, role=Role.ADMIN)
        self.stdout.write(self.style.SUCCESS("Console: http://127.0.0.1:8000/  (API docs: /api/docs/)"))
        self.stdout.write(self.style.SUCCESS(f"Login:   {username} / {password}"))
