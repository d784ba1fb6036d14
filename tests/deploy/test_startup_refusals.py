"""A production start that cannot work says why in one line and exits non-zero, no traceback.

DATABASE_URL points at a closed port on 127.0.0.1; the keys are the example environment's,
filled in, unless a test spoils one.
"""

from __future__ import annotations

import socket

import pytest

from tests.deploy.conftest import VENV_BIN, production_env, run


@pytest.fixture(scope="module")
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


@pytest.fixture
def unreachable_database(closed_port, tmp_path) -> dict[str, str]:
    return production_env(
        DATABASE_URL=f"postgres://alertsite:secret@127.0.0.1:{closed_port}/alertsite",
        ALERTSITE_SCHEDULER_LOCK_FILE=str(tmp_path / "scheduler.lock"),
    )


def assert_one_line_refusal(result, *words: str) -> None:
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    refusals = [line for line in result.stderr.splitlines() if line.startswith("alertsite: refusing to start: ")]
    assert refusals, result.stderr
    for word in words:
        assert word in refusals[0]


@pytest.mark.parametrize("command", [["migrate"], ["runserver", "127.0.0.1:0"], ["serve", "127.0.0.1:0"]])
def test_manage_py_with_an_unreachable_database_says_so_in_one_line(unreachable_database, closed_port, command):
    result = run([str(VENV_BIN / "python"), "manage.py", *command], env=unreachable_database, timeout=60)
    assert_one_line_refusal(result, "DATABASE_URL: cannot connect to the database at", f"127.0.0.1:{closed_port}")


def test_gunicorn_with_an_unreachable_database_stops_instead_of_respawning_workers(unreachable_database, closed_port):
    result = run(
        [str(VENV_BIN / "gunicorn"), "alertsite.wsgi", "-w", "2", "-b", "127.0.0.1:0", "--no-control-socket"],
        env=unreachable_database,
        timeout=60,
    )
    assert_one_line_refusal(result, f"127.0.0.1:{closed_port}")
    assert "Booting worker" not in result.stderr  # the master checked (gunicorn.conf.py) before forking any


def test_manage_py_commands_that_need_no_database_still_run(unreachable_database):
    result = run([str(VENV_BIN / "python"), "manage.py", "check"], env=unreachable_database, timeout=60)
    assert result.returncode == 0, result.stderr


def test_manage_py_with_a_weak_secret_key_says_how_to_make_one(unreachable_database):
    result = run(
        [str(VENV_BIN / "python"), "manage.py", "migrate"], env={**unreachable_database, "SECRET_KEY": "x" * 60}
    )
    assert_one_line_refusal(result, "SECRET_KEY has 1 different characters", "secrets.token_urlsafe(50)")


def test_gunicorn_without_an_encryption_key_says_how_to_make_one(unreachable_database):
    result = run(
        [str(VENV_BIN / "gunicorn"), "alertsite.wsgi", "-w", "1", "-b", "127.0.0.1:0", "--no-control-socket"],
        env={**unreachable_database, "ALERTSITE_ENCRYPTION_KEY": ""},
        timeout=60,
    )
    assert_one_line_refusal(result, "ALERTSITE_ENCRYPTION_KEY must be set", "os.urandom(32)")
