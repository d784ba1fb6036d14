#!/usr/bin/env bash
# Install and run the console on the embedded default (SQLite, in-process tasks).
# Creates .venv, installs pinned dependencies, migrates (catalog loaded), creates the
# demo admin (and a few demo rules) and prints its login, loads a little simulated traffic,
# serves on 127.0.0.1:8000 and, once the server answers, prints the login again on its own
# highlighted lines (the set-up's output above would have scrolled it away).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py collectstatic --noinput --verbosity 0
SETUP="$(.venv/bin/python manage.py demo_setup)"
printf '%s\n' "$SETUP"
.venv/bin/python manage.py simulate_events --count 600 --backfill-hours 24
ALERTSITE_DEMO_LOGIN="$(printf '%s\n' "$SETUP" | sed -n 's/^Login: *//p')" \
  exec .venv/bin/python manage.py serve 127.0.0.1:8000
