"""`manage.py demo_setup`: a demo admin with a fresh password, printed, for the embedded default."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from alertsite.accounts.roles import Role
from alertsite.accounts.services import role_set
from alertsite.demo.rules import DEMO_RULES


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
        self._demo_rules(user)
        self.stdout.write(self.style.SUCCESS("Console: http://127.0.0.1:8000/  (API docs: /api/docs/)"))
        self.stdout.write(self.style.SUCCESS(f"Login:   {username} / {password}"))

    def _demo_rules(self, user) -> None:
        """A few ready-made rules on a fresh install (alertsite.demo.rules), so simulated traffic
        raises alerts from several rules at every priority."""
        from rules.models import Rule
        from rules.selectors import template_get
        from rules.services import rule_create

        if Rule.objects.exists():
            return
        created = 0
        for body in DEMO_RULES:
            slug = body.get("template")
            if slug and template_get(slug) is None:
                continue  # an admin removed the template; the demo goes without
            rule_create(data=dict(body), actor=user)
            created += 1
        self.stdout.write(f"Created {created} demo rules.")
