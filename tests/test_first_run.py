"""The first run, as README's first command (scripts/console.sh) does it: the demo raises alerts from
several rules at every priority, the login is printed on its own highlighted lines once the server
answers, and /favicon.ico answers."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import OutputWrapper
from django.core.management.color import no_style

from alerts.models import Alert
from alertsite.runtime.management.commands.serve import DEMO_LOGIN_ENV, RULE, announce_when_ready
from tests.deploy.conftest import ENCRYPTION_KEY, SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
CONSOLE_SH = ROOT / "scripts" / "console.sh"


def console_sh_simulation() -> list[str]:
    """The arguments scripts/console.sh gives `simulate_events` (so this test loads what a user sees)."""
    for line in CONSOLE_SH.read_text().splitlines():
        if "manage.py simulate_events" in line:
            return shlex.split(line.split("manage.py", 1)[1])[1:]
    raise AssertionError("scripts/console.sh no longer simulates events")


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_demo_raises_alerts_from_several_rules_at_every_priority(
    seed: int, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_setup", password="demo-password-1", stdout=StringIO())
    with django_capture_on_commit_callbacks(execute=True):
        call_command("simulate_events", *console_sh_simulation(), "--seed", str(seed), stdout=StringIO())
    by_rule = Counter(Alert.objects.values_list("rule_name", flat=True))
    priorities = set(Alert.objects.values_list("priority", flat=True))
    assert len(by_rule) >= 5, by_rule
    assert priorities == {"high", "medium", "low"}, by_rule
    assert max(by_rule.values()) <= 0.6 * sum(by_rule.values()), by_rule  # no rule drowns the others


def test_the_login_is_announced_once_the_server_answers() -> None:
    out = StringIO()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        # Not listening yet: nothing is printed until it does.
        assert not announce_when_ready("127.0.0.1", port, "admin / pw", OutputWrapper(out), no_style(), timeout=0.5)
        assert out.getvalue() == ""
        server.listen()
        assert announce_when_ready("127.0.0.1", port, "admin / pw", OutputWrapper(out), no_style(), timeout=5)
    lines = out.getvalue().strip().splitlines()
    assert lines == [RULE, f"  alertsite is ready: http://127.0.0.1:{port}/", "  Login:  admin / pw", RULE]


def test_console_sh_hands_the_demo_login_to_serve() -> None:
    script = CONSOLE_SH.read_text()
    assert re.search(rf"{DEMO_LOGIN_ENV}=.*demo_setup|{DEMO_LOGIN_ENV}=\"\$\(printf .*SETUP", script)
    assert re.search(rf"{DEMO_LOGIN_ENV}=[^\n]*\\\n\s*exec \.venv/bin/python manage\.py serve", script)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_prints_the_login_after_the_servers_own_start_up_lines(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "alertsite.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DEBUG": "true",
        "SECRET_KEY": SECRET_KEY,
        "ALERTSITE_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "ALERTSITE_EMBEDDED_SCHEDULER": "false",
        "ALERTSITE_SCHEDULER_LOCK_FILE": str(tmp_path / "scheduler.lock"),
        DEMO_LOGIN_ENV: "admin / s3cret-demo",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(line.rstrip("\n") for line in process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(line.startswith("  Login:") for line in list(output)):
            time.sleep(0.2)
        time.sleep(0.3)  # the banner's closing line
    finally:
        process.terminate()
        process.wait(timeout=10)
        reader.join(timeout=5)
    text = "\n".join(output)
    assert "  Login:  admin / s3cret-demo" in output, text
    login_at = output.index("  Login:  admin / s3cret-demo")
    assert output[login_at - 1] == f"  alertsite is ready: http://127.0.0.1:{port}/"
    assert output[login_at + 1 :] in ([], [RULE])
    started = next(i for i, line in enumerate(output) if line.startswith("Starting development server"))
    assert started < login_at  # after runserver's own lines, not buried above them


@pytest.mark.django_db
def test_favicon_ico_answers_without_signing_in(client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith(".svg") and "/static/console/favicon" in response["Location"]
    assert "max-age=86400" in response["Cache-Control"]
