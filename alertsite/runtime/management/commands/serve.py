"""`manage.py serve`: the embedded default's web server plus its periodic-job scheduler."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from alertsite.runtime.scheduler import embedded_scheduler_start


class Command(BaseCommand):
    help = "Run the console on 127.0.0.1:8000 with the periodic jobs (when no Celery broker is configured)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options) -> None:
        if embedded_scheduler_start() is not None:
            self.stdout.write("Periodic jobs run in-process (no CELERY_BROKER_URL set).")
        elif settings.CELERY_TASK_ALWAYS_EAGER:
            self.stdout.write("Periodic jobs are off (ALERTSITE_EMBEDDED_SCHEDULER=false).")
        else:
            self.stdout.write(
                "CELERY_BROKER_URL is set: run `celery -A alertsite worker` and `celery -A alertsite beat`."
            )
        call_command("runserver", addrport, use_reloader=False)
