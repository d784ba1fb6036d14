"""`manage.py login_unlock`: lift login locks from a shell (an admin locked out of the console, say)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from alertsite.accounts import throttle
from alertsite.accounts.login import login_unlock


class Command(BaseCommand):
    help = "Forget failed logins so a locked username and/or address may log in again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="", help="Unlock this username (any case).")
        parser.add_argument("--address", default="", help="Unlock this client IP address.")
        parser.add_argument("--all", action="store_true", help="Unlock every username and address.")

    def handle(self, *args, username: str, address: str, all: bool, **options) -> None:
        if all:
            cleared = throttle.login_failures_clear_all()
        elif username or address:
            if address and not throttle.address_key(address):
                raise CommandError(f"--address: {address!r} is not an IP address.")
            cleared = login_unlock(username=username, address=address)
        else:
            raise CommandError("Say what to unlock: --username NAME, --address IP, or --all.")
        self.stdout.write(self.style.SUCCESS(f"Unlocked; {cleared} failed attempts forgotten."))
