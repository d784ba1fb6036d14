#!/usr/bin/env bash
# Install and run the whole test suite (lint included).
# With no environment it runs on SQLite and skips the tests that need PostgreSQL, Redis
# or a real worker; .ci/run sets DATABASE_URL and CELERY_BROKER_URL so everything runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# Browser tests drive Debian's Chromium (never a downloaded browser); without it they are skipped.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y -q chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
    || echo "chromium could not be installed: browser tests will be skipped"
fi
# The deploy tests verify the systemd units with systemd-analyze (Debian package systemd).
if ! command -v systemd-analyze >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y -q systemd >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q systemd >/dev/null 2>&1; } \
    || echo "systemd could not be installed: the unit checks will be skipped"
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# design.md's import rules (pyproject.toml [tool.importlinter]) and types over the domain code.
.venv/bin/lint-imports --no-cache
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
