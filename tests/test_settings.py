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


GOOD_SECRET_KEY = "a-production-secret-key-for-the-settings-tests-0123456789-xyz"
GOOD_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
PRODUCTION = {"DATABASE_URL": "postgres://alertsite@db.example.com/alertsite"}


def production_start(**env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings the way a production process does (DEBUG off), with good keys unless `env` says otherwise."""
    return python(
        "import alertsite.settings.base",
        **{**PRODUCTION, "SECRET_KEY": GOOD_SECRET_KEY, "ALERTSITE_ENCRYPTION_KEY": GOOD_ENCRYPTION_KEY, **env},
    )


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "StartupRefused" in last_line
    for word in words:
        assert word in last_line


def test_production_without_secret_key_refuses_to_start(secrets_file):
    result = production_start(SECRET_KEY="", ALERTSITE_LOCAL_SECRETS_FILE=str(secrets_file))
    assert_refused(result, "SECRET_KEY must be set", "secrets.token_urlsafe(50)")
    assert not secrets_file.exists()


def test_production_refuses_a_secret_key_shorter_than_50_characters():
    assert_refused(production_start(SECRET_KEY="from-the-environment"), "SECRET_KEY is 20 characters long")


def test_production_refuses_a_secret_key_of_fewer_than_5_different_characters():
    assert_refused(production_start(SECRET_KEY="abab" * 20), "SECRET_KEY has 2 different characters")


def test_production_refuses_a_secret_key_django_generated_for_development():
    key = "django-insecure-" + "x1y2z3w4v5" * 5
    assert_refused(production_start(SECRET_KEY=key), "SECRET_KEY starts with 'django-insecure-'")


def test_production_without_encryption_key_refuses_to_start(secrets_file):
    result = production_start(ALERTSITE_ENCRYPTION_KEY="", ALERTSITE_LOCAL_SECRETS_FILE=str(secrets_file))
    assert_refused(result, "ALERTSITE_ENCRYPTION_KEY must be set", "base64.urlsafe_b64encode(os.urandom(32))")
    assert not secrets_file.exists()


def test_production_refuses_an_encryption_key_that_is_not_a_fernet_key():
    assert_refused(
        production_start(ALERTSITE_ENCRYPTION_KEY="not-a-key"), "ALERTSITE_ENCRYPTION_KEY is not a Fernet key"
    )


def test_production_refuses_an_old_encryption_key_that_is_not_a_fernet_key():
    result = production_start(ALERTSITE_ENCRYPTION_KEYS_OLD=f"{GOOD_ENCRYPTION_KEY},oops")
    assert_refused(result, "ALERTSITE_ENCRYPTION_KEYS_OLD (item 2) is not a Fernet key")


def test_debug_starts_with_a_weak_secret_key(secrets_file):
    settings = load_settings(SECRET_KEY="dev", ALERTSITE_LOCAL_SECRETS_FILE=str(secrets_file))
    assert (settings["DEBUG"], settings["SECRET_KEY"]) == (True, "dev")


def test_production_with_debug_explicitly_on_may_use_a_generated_key(secrets_file):
    settings = load_settings(
        DATABASE_URL="postgres://alertsite@db.example.com/alertsite",
        DEBUG="true",
        ALERTSITE_LOCAL_SECRETS_FILE=str(secrets_file),
    )
    assert settings["DEBUG"] is True
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert secrets_file.exists()


def test_production_with_good_keys_starts_with_debug_off(secrets_file):
    settings = load_settings(
        **PRODUCTION,
        SECRET_KEY=GOOD_SECRET_KEY,
        ALERTSITE_ENCRYPTION_KEY=GOOD_ENCRYPTION_KEY,
        ALERTSITE_LOCAL_SECRETS_FILE=str(secrets_file),
    )
    assert settings["DEBUG"] is False
    assert settings["SECRET_KEY"] == GOOD_SECRET_KEY
    assert settings["ENCRYPTION_KEY"] == GOOD_ENCRYPTION_KEY
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert not secrets_file.exists()  # nothing is generated into a file in production


PRINT_SECURITY = """
import json
from alertsite.settings import base as s
print(json.dumps({
    name: getattr(s, name, None)
    for name in (
        "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "CSRF_TRUSTED_ORIGINS",
    )
}))
"""


def security_settings(**env: str) -> dict:
    result = python(
        PRINT_SECURITY,
        **{**PRODUCTION, "SECRET_KEY": GOOD_SECRET_KEY, "ALERTSITE_ENCRYPTION_KEY": GOOD_ENCRYPTION_KEY, **env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_does_not_trust_x_forwarded_proto_unless_told_a_tls_proxy_sets_it():
    assert security_settings()["SECURE_PROXY_SSL_HEADER"] is None


def test_behind_a_tls_proxy_x_forwarded_proto_https_marks_requests_secure():
    settings = security_settings(ALERTSITE_BEHIND_TLS_PROXY="true")
    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_hsts_and_the_https_redirect_are_off_unless_configured():
    settings = security_settings()
    assert (settings["SECURE_HSTS_SECONDS"], settings["SECURE_SSL_REDIRECT"]) == (0, False)


def test_hsts_and_the_https_redirect_come_from_the_environment():
    settings = security_settings(
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
        SECURE_SSL_REDIRECT="true",
    )
    assert settings["SECURE_HSTS_SECONDS"] == 31536000
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert settings["SECURE_HSTS_PRELOAD"] is True
    assert settings["SECURE_SSL_REDIRECT"] is True


def test_production_cookies_are_secure_by_default():
    settings = security_settings()
    assert (settings["SESSION_COOKIE_SECURE"], settings["CSRF_COOKIE_SECURE"]) == (True, True)


def test_csrf_trusted_origins_come_from_the_environment():
    settings = security_settings(CSRF_TRUSTED_ORIGINS="https://alerts.example.com,https://ops.example.com")
    assert settings["CSRF_TRUSTED_ORIGINS"] == ["https://alerts.example.com", "https://ops.example.com"]


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
