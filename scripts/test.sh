#!/usr/bin/env bash
# Install and run the whole test suite (lint included).
# With no environment it runs on SQLite and skips the tests that need PostgreSQL, Redis
# or a real worker; .ci/run sets DATABASE_URL and CELERY_BROKER_URL so everything runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
