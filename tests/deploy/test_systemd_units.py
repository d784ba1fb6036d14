"""deploy/systemd: the units pass `systemd-analyze verify` and keep a low exposure score.

The units name the installed layout (/opt/alertsite/venv, /opt/alertsite/app,
/etc/alertsite/alertsite.env), which this machine does not have. They are verified as copies
with only those three paths pointed at this checkout, its virtualenv and the example
environment file; verify then also checks that every ExecStart binary exists and is executable.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, ENV_EXAMPLE, REPO, VENV_BIN

UNITS = DEPLOY / "systemd"
SERVICES = ("alertsite-web.service", "alertsite-worker.service", "alertsite-beat.service")

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is missing: apt-get install systemd (Debian) to verify the units",
)


@pytest.fixture
def units_here(tmp_path) -> Path:
    """Copies of the units with the installed layout's paths pointed at this checkout."""
    for unit in [*UNITS.glob("*.service"), *UNITS.glob("*.target")]:
        text = (
            unit.read_text()
            .replace("/opt/alertsite/venv/bin", str(VENV_BIN))
            .replace("/opt/alertsite/app", str(REPO))
            .replace("/etc/alertsite/alertsite.env", str(ENV_EXAMPLE))
        )
        (tmp_path / unit.name).write_text(text)
    return tmp_path


def verify(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, paths)], capture_output=True, text=True, timeout=60
    )


def test_units_pass_systemd_analyze_verify_without_a_warning(units_here):
    result = verify(*sorted(units_here.iterdir()))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_verify_catches_a_misspelt_directive(units_here):
    """The check above is worth something: verify reports what systemd would ignore."""
    web = units_here / "alertsite-web.service"
    web.write_text(web.read_text().replace("ProtectSystem=strict", "ProtectSytem=strict"))
    assert "Unknown key 'ProtectSytem'" in verify(web).stderr


def test_verify_catches_a_missing_binary(units_here):
    web = units_here / "alertsite-web.service"
    web.write_text(web.read_text().replace(str(VENV_BIN), "/nonexistent/bin"))
    result = verify(web)
    assert result.returncode != 0
    assert "/nonexistent/bin/gunicorn is not executable" in result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_exposed_little_by_systemd_analyze_security(units_here, service):
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", "--threshold=25", str(units_here / service)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-400:]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_as_alertsite_with_the_environment_file_and_restarts(service):
    text = (UNITS / service).read_text()
    for line in (
        "User=alertsite",
        "EnvironmentFile=/etc/alertsite/alertsite.env",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "WantedBy=alertsite.target",
    ):
        assert re.search(rf"^{re.escape(line)}$", text, re.MULTILINE), line


def test_the_three_services_start_gunicorn_a_celery_worker_and_one_celery_beat():
    commands = {
        service: re.search(r"^ExecStart=(.*)$", (UNITS / service).read_text(), re.MULTILINE)[1] for service in SERVICES
    }
    assert commands["alertsite-web.service"] == "/opt/alertsite/venv/bin/gunicorn alertsite.wsgi"
    assert commands["alertsite-worker.service"].startswith("/opt/alertsite/venv/bin/celery -A alertsite worker")
    assert commands["alertsite-beat.service"].startswith("/opt/alertsite/venv/bin/celery -A alertsite beat")
    assert "--schedule /var/lib/alertsite/" in commands["alertsite-beat.service"]  # StateDirectory, writable
