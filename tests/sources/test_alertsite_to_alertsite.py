"""One alertsite feeds another: a source pulls everything from a second, running alertsite's
Directory Insights compatible API (api.md §8 and §9), every event exactly once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from events.models import AuditEvent
from events.sources.models import SourceCursor
from events.sources.poller import source_poll
from events.sources.services import source_create

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db

SEED = """
import django, sys; django.setup()
from datetime import datetime, timedelta, UTC
from rest_framework.authtoken.models import Token
from alertsite.accounts import services
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
user = services.user_create(username="reader", password="long-enough-password-1", email="", role="viewer")
start = datetime.now(UTC) - timedelta(hours=6)
events = []
for i in range({count}):
    # Half of them share one timestamp, so paging must be exact across page boundaries.
    moment = start if i % 2 else start + timedelta(seconds=i)
    events.append({{"id": f"evt-{{i:06d}}", "event_type": "user_login_attempt", "service": "directory",
                    "timestamp": moment.isoformat().replace("+00:00", "Z"), "success": bool(i % 3),
                    "organization": "org-a" if i % 4 else "org-b"}})
limits = Limits.from_settings()
records = [event_validate(e, index=i, limits=limits) for i, e in enumerate(events)]
for at in range(0, len(records), 1000):
    event_batch_ingest(records=records[at:at + 1000])
print(Token.objects.create(user=user).key)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def other_alertsite(tmp_path_factory):
    """A second alertsite (embedded default on its own SQLite file) serving 2,500 events; yields (url, token).

    Started once for the module: it only serves reads, so the tests cannot disturb each other.
    """
    tmp_path = tmp_path_factory.mktemp("other-alertsite")
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="alertsite.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}",
        ALERTSITE_EMBEDDED_SCHEDULER="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    run = {"capture_output": True, "text": True, "env": env, "cwd": ROOT, "timeout": 180}
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], **run)
    assert migrated.returncode == 0, migrated.stderr
    seeded = subprocess.run([sys.executable, "-c", SEED.format(count=2500)], **run)
    assert seeded.returncode == 0, seeded.stderr
    token = seeded.stdout.strip().splitlines()[-1]
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "alertsite.wsgi",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--no-control-socket",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        yield url, token
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def test_a_source_pulls_every_event_of_another_alertsite_once(other_alertsite):
    url, token = other_alertsite
    source = source_create(
        data={
            "name": "Upstream alertsite",
            "config": {
                "base_url": url,
                "api_key": token,
                "start_time": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                "page_limit": 400,
            },
        },
        actor=None,
    )
    for _ in range(10):
        result = source_poll(source.pk, max_seconds=60, manual=True)
        assert result.error is None
        if not result.more:
            break
    pulled = list(AuditEvent.objects.filter(event_id__startswith="evt-").values_list("event_id", flat=True))
    assert len(pulled) == 2500 and len(set(pulled)) == 2500
    assert SourceCursor.objects.get(source=source).checkpoint is not None
    # Again: nothing new, nothing doubled.
    again = source_poll(source.pk, max_seconds=60, manual=True)
    assert again.error is None and again.accepted == 0
    assert AuditEvent.objects.filter(event_id__startswith="evt-").count() == 2500


def test_msp_org_ids_pull_each_organisation_of_another_alertsite(other_alertsite):
    url, token = other_alertsite
    source = source_create(
        data={
            "name": "Upstream MSP",
            "config": {
                "base_url": url,
                "api_key": token,
                "org_ids": ["org-a", "org-b"],
                "start_time": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                "page_limit": 1000,
            },
        },
        actor=None,
    )
    result = source_poll(source.pk, max_seconds=60, manual=True)
    assert result.error is None and not result.more
    cursors = {c.org: c.events_ingested for c in SourceCursor.objects.filter(source=source)}
    assert cursors == {"org-a": 1875, "org-b": 625}
