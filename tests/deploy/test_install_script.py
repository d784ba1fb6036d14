"""deploy/install-debian.sh and deploy/alertsite-manage: valid bash, and the example environment passes `check --deploy`.

The install script changes the machine (packages, a user, /opt, systemd), so it is only
parsed here. alertsite-manage, which the script installs and runs, is run for real against
a stand-in of /opt/alertsite (links to this checkout and its virtualenv).
"""

from __future__ import annotations

import os

import pytest

from tests.deploy.conftest import DEPLOY, ENCRYPTION_KEY, ENV_EXAMPLE, REPO, SECRET_KEY, VENV_BIN, run

SCRIPTS = ["install-debian.sh", "alertsite-manage"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_valid_bash(script):
    result = run(["bash", "-n", str(DEPLOY / script)], env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_executable(script):
    assert os.access(DEPLOY / script, os.X_OK)


@pytest.fixture
def installed(tmp_path):
    """/opt/alertsite and /etc/alertsite/alertsite.env as install-debian.sh lays them out, keys filled in."""
    prefix = tmp_path / "opt-alertsite"
    prefix.mkdir()
    (prefix / "app").symlink_to(REPO)
    (prefix / "venv").symlink_to(VENV_BIN.parent)
    env_file = tmp_path / "alertsite.env"
    env_file.write_text(
        ENV_EXAMPLE.read_text()
        .replace("\nSECRET_KEY=\n", f"\nSECRET_KEY={SECRET_KEY}\n")
        .replace("\nALERTSITE_ENCRYPTION_KEY=\n", f"\nALERTSITE_ENCRYPTION_KEY={ENCRYPTION_KEY}\n")
    )
    return {
        "PATH": "/usr/bin:/bin",
        "ALERTSITE_PREFIX": str(prefix),
        "ALERTSITE_ENV_FILE": str(env_file),
        "ALERTSITE_RUN_AS_ROOT": "1",  # no alertsite user on this machine
    }


def test_example_environment_passes_the_deploy_check_with_only_documented_silences(installed):
    result = run(
        ["bash", str(DEPLOY / "alertsite-manage"), "check", "--deploy", "--fail-level", "WARNING"], env=installed
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_example_environment_file_keeps_values_with_spaces_and_angle_brackets(installed):
    code = "from django.conf import settings; print(settings.DEFAULT_FROM_EMAIL)"
    result = run(["bash", str(DEPLOY / "alertsite-manage"), "shell", "-c", code], env=installed)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "alertsite <alertsite@example.com>"


def test_example_environment_file_refuses_to_start_until_the_keys_are_filled_in(installed):
    result = run(
        ["bash", str(DEPLOY / "alertsite-manage"), "check"], env={**installed, "ALERTSITE_ENV_FILE": str(ENV_EXAMPLE)}
    )
    assert result.returncode == 4
    assert "SECRET_KEY must be set" in result.stderr
