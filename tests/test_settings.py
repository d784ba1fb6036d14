"""alertsite.settings.base read from the environment, checked in fresh interpreters with a clean environment."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from alertsite import local_secrets

REPO = Path(__file__).resolve().parent.parent

PRINT_SETTINGS = """
import json
from alertsite.settings import base as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SECRET_KEY": s.SECRET_KEY,
    "ENGINE": s.DATABASES["default"]["ENGINE"],
    "DB_NAME": str(s.DATABASES["default"]["NAME"]),
    "EAGER": s.CELERY_TASK_ALWAYS_EAGER,
    "BROKER": s.CELERY_BROKER_URL,
    "EMAIL_BACKEND": s.EMAIL_BACKEND,
    "EMAIL_HOST": getattr(s, "EMAIL_HOST", None),
    "EMAIL_PORT": getattr(s, "EMAIL_PORT", None),
    "ENCRYPTION_KEY": s.ALERTSITE_ENCRYPTION_KEY,
}))
"""


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` with the project's interpreter and only `env` (plus what Python needs to start)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def load_settings(**env: str) -> dict:
    result = python(PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def secrets_file(tmp_path) -> Path:
    return tmp_path / ".alertsite-secrets.json"


@pytest.fixture(scope="module")
def embedded_secrets_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedded") / ".alertsite-secrets.json"


@pytest.fixture(scope="module")
def embedded(embedded_secrets_file) -> dict:
    """The settings with no environment at all, except where the generated keys go (one start per module)."""
    return load_settings(ALERTSITE_LOCAL_SECRETS_FILE=str(embedded_secrets_file))


def test_production_without_secret_key_refuses_to_start(secrets_file):
    result = python(
        "import alertsite.settings.base",
        DATABASE_URL="postgres://alertsite@db.example.com/alertsite",
        ALERTSITE_LOCAL_SECRETS_FILE=str(secrets_file),
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert not secrets_file.exists()


def test_production_with_debug_explicitly_on_may_use_a_generated_key(secrets_file):
    settings = load_settings(
        DATABASE_URL="postgres://alertsite@db.example.com/alertsite",
        DEBUG="true",
        ALERTSITE_LOCAL_SECRETS_FILE=str(secrets_file),
    )
    assert settings["DEBUG"] is True
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert secrets_file.exists()


def test_production_with_secret_key_starts_with_debug_off(secrets_file):
    settings = load_settings(
        DATABASE_URL="postgres://alertsite@db.example.com/alertsite",
        SECRET_KEY="from-the-environment",
        ALERTSITE_LOCAL_SECRETS_FILE=str(secrets_file),
    )
    assert settings["DEBUG"] is False
    assert settings["SECRET_KEY"] == "from-the-environment"
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert settings["ENCRYPTION_KEY"] == ""  # never generated into a file in production
    assert not secrets_file.exists()


def test_embedded_default_is_debug_with_sqlite_in_the_repo_root(embedded):
    assert embedded["DEBUG"] is True
    assert embedded["ENGINE"] == "django.db.backends.sqlite3"
    assert embedded["DB_NAME"] == str(REPO / "db.sqlite3")


def test_embedded_default_runs_tasks_in_process(embedded):
    assert embedded["EAGER"] is True
    assert embedded["BROKER"] == "memory://localhost/"


def test_embedded_default_prints_email_to_the_console(embedded):
    assert embedded["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_embedded_default_generates_keys_into_a_private_file(embedded, embedded_secrets_file):
    secrets_file = embedded_secrets_file
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    stored = json.loads(secrets_file.read_text())
    assert stored["SECRET_KEY"] == embedded["SECRET_KEY"]
    assert stored["ENCRYPTION_KEY"] == embedded["ENCRYPTION_KEY"]
    assert len(embedded["SECRET_KEY"]) >= 50
    assert not list(secrets_file.parent.glob("*.tmp"))


def test_embedded_default_reuses_the_generated_keys_on_the_next_start(embedded, embedded_secrets_file):
    again = load_settings(ALERTSITE_LOCAL_SECRETS_FILE=str(embedded_secrets_file))
    assert again["SECRET_KEY"] == embedded["SECRET_KEY"]
    assert again["ENCRYPTION_KEY"] == embedded["ENCRYPTION_KEY"]


def test_generated_encryption_key_is_a_fernet_key(embedded):
    assert len(base64.urlsafe_b64decode(embedded["ENCRYPTION_KEY"])) == 32


def test_email_url_sets_the_smtp_host_and_port(secrets_file):
    settings = load_settings(EMAIL_URL="smtp://mail.example.com:2525", ALERTSITE_LOCAL_SECRETS_FILE=str(secrets_file))
    assert settings["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (settings["EMAIL_HOST"], settings["EMAIL_PORT"]) == ("mail.example.com", 2525)


def test_broker_url_turns_off_in_process_tasks(secrets_file):
    settings = load_settings(
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0", ALERTSITE_LOCAL_SECRETS_FILE=str(secrets_file)
    )
    assert settings["EAGER"] is False
    assert settings["BROKER"] == "redis://127.0.0.1:6379/0"


def test_generated_keys_are_never_readable_by_others(tmp_path, monkeypatch):
    """Regression: the file was written with the umask's mode and only then chmodded to 0600."""
    modes: list[int] = []  # the file's mode each time the code sets one, before it does
    real_chmod, real_fchmod = os.chmod, os.fchmod

    def spy_chmod(path, mode, *args, **kwargs):
        modes.append(stat.S_IMODE(os.stat(path).st_mode))
        return real_chmod(path, mode, *args, **kwargs)

    def spy_fchmod(fd, mode):
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_fchmod(fd, mode)

    monkeypatch.setattr(local_secrets.os, "chmod", spy_chmod)
    monkeypatch.setattr(local_secrets.os, "fchmod", spy_fchmod)
    path = tmp_path / "secrets.json"
    previous_umask = os.umask(0o022)
    try:
        local_secrets.local_secret(path, "SECRET_KEY")
        local_secrets.local_secret(path, "ENCRYPTION_KEY")  # rewrites the file
    finally:
        os.umask(previous_umask)
    assert all(mode & 0o077 == 0 for mode in modes), [oct(mode) for mode in modes]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())) == {"SECRET_KEY", "ENCRYPTION_KEY"}
