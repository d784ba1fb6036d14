"""`manage.py serve`: the embedded default's web server plus its periodic-job scheduler.

With `ALERTSITE_DEMO_LOGIN` set (scripts/console.sh passes what `demo_setup` printed), the login is
printed again on its own highlighted lines once the server answers, after runserver's own start-up
lines, so it is the last thing on the screen and not scrolled away by the set-up's output.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, OutputWrapper
from django.core.management.color import Style

from alertsite.runtime.scheduler import embedded_scheduler_start

DEMO_LOGIN_ENV = "ALERTSITE_DEMO_LOGIN"
READY_TIMEOUT_SECONDS = 120.0
RULE = "=" * 64


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
        login = os.environ.pop(DEMO_LOGIN_ENV, "").strip()  # not handed on to anything the server starts
        if login:
            host, _, port = addrport.rpartition(":")
            threading.Thread(
                target=announce_when_ready,
                args=(host or "127.0.0.1", int(port), login, self.stdout, self.style),
                name="demo-login-banner",
                daemon=True,
            ).start()
        call_command("runserver", addrport, use_reloader=False)


def banner_lines(url: str, login: str) -> list[str]:
    return [RULE, f"  alertsite is ready: {url}", f"  Login:  {login}", RULE]


def announce_when_ready(
    host: str, port: int, login: str, out: OutputWrapper, style: Style, timeout: float = READY_TIMEOUT_SECONDS
) -> bool:
    """Wait until the server accepts connections, then print the login banner; False if it never did."""
    deadline = time.monotonic() + timeout
    address = host.strip("[]")
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    else:
        return False
    url = f"http://{host}:{port}/"
    out.write("\n" + "\n".join(style.SUCCESS(line) for line in banner_lines(url, login)) + "\n")
    out.flush()
    return True
