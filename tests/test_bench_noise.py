"""bench/noise.py still runs: a tiny run on PostgreSQL, in its own database, so the script cannot rot.

Not a timed test: it checks that every part ran and printed its figures, never how fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

import alerts.models

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent


def bench_database_url() -> str:
    """The test database's server, a database of the bench's own (dropped afterwards)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_bench_smoke"))


def test_noise_bench_runs_every_part_on_tiny_sizes():
    url = bench_database_url()
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    args = ["--events", "3000", "--rules", "150", "--days", "10", "--pairs", "1", "--eval-events", "300"]
    try:
        result = subprocess.run(
            [sys.executable, "bench/noise.py", *args, "--snoozed", "10", "--windows", "3"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        parts = urlsplit(url)
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parts.path.lstrip("/")))
            )
    output = result.stdout
    assert result.returncode == 0, f"{output}\n{result.stderr}"
    assert "seeding 3,000 events over 10 days and 150 rules" in output
    assert "(a) median events/s: none" in output
    assert output.count("  none  ") == 1 and output.count("  snoozed  ") == 1
    assert "(b) preview-change of rule" in output
    assert output.count("service ") == 2 and "API " in output
    assert hasattr(alerts.models, "MaintenanceWindow")
    assert "with 3 maintenance windows (windows_seed)" in output
    assert "(c) maintenance window preview over the last 7 days" in output
    assert output.count("target under 2 s); would have muted") == 2
