"""CPU per alerting event on the web path, in one process: the web side and its PostgreSQL backend apart.

Run from the repository root: `.venv/bin/python bench/hotpath.py [--events 1000] [--profile]`.

bench/e2e.py (e) times a steady 50 events/s through gunicorn, where every event raises an alert
and sends a webhook, and reads whole-process CPU: honest, but the machine's noise moves it by a
fifth between runs. This bench drives the same path in-process and counts only CPU that path
spends, so two versions of the code can be compared to a few percent:

- one event per request through `alertsite.wsgi.application` (middleware, DRF, token
  authentication, ingest), closed as gunicorn closes it, so the evaluation, the alert, the
  outbox row and the webhook send run after the response as in production;
- the webhook goes to bench/hookreceiver.py in a thread of this process (its CPU is not counted);
- "web" is this thread's CPU (`time.thread_time`), "postgres" the backend's utime + stime read
  from /proc/<pid>/stat, both divided by the events measured.

With `--profile`, cProfile's top functions by own and by cumulative CPU time (this thread's,
not the time it waited for PostgreSQL) follow the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from delivery import bench_env, login_event  # noqa: E402
from hookreceiver import HookReceiver  # noqa: E402
from ingest import database_ensure, manage  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alertsite_bench_hotpath")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """utime + stime of one PostgreSQL backend, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Web:
    """Requests straight into the WSGI application, closed as a server closes them."""

    def __init__(self, token: str) -> None:
        from alertsite.wsgi import application

        self.application = application
        self.authorization = f"Token {token}"

    def post(self, path: str, body: bytes) -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": self.authorization,
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        status: list[str] = []
        result = self.application(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            data = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # the deferred evaluation and send run here, as after gunicorn's last byte
        return status[0], data


def setup(receiver_url: str) -> str:
    """Empty tables, one webhook channel, one rule every login attempt matches; return a token."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from channels.models import Channel
    from rules.services import rule_create

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE events_auditevent, rules_rule, channels_channel, alerts_alert RESTART IDENTITY CASCADE"
        )
    user = get_user_model().objects.filter(username="hotpath").first() or get_user_model().objects.create_superuser(
        "hotpath", "hotpath@example.com", secrets.token_urlsafe(16)
    )
    channel = Channel.objects.create(kind="webhook", name="hotpath", config={"url": receiver_url})
    rule_create(
        actor=user,
        data={
            "name": "hotpath",
            "conditions": [{"event_type": "user_login_attempt"}],
            "send_notifications": True,
            "channels": [channel.pk],
            "generate_alerts": True,
        },
    )
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)


def run(web: Web, receiver: HookReceiver, prefix: str, count: int) -> None:
    for n in range(count):
        status, data = web.post("/api/v1/events", login_event(f"{prefix}-{n}"))
        if not status.startswith("202"):
            raise SystemExit(f"POST /api/v1/events answered {status}: {data[:300]!r}")
    if not receiver.wait_for(count, timeout=30):
        raise SystemExit(f"only {receiver.count()} of {count} webhooks arrived")
    receiver.reset()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="Events measured (default 1000).")
    parser.add_argument("--rounds", type=int, default=3, help="Measured rounds; the best is kept (default 3).")
    parser.add_argument("--profile", action="store_true", help="Print cProfile's top functions of one round.")
    args = parser.parse_args()

    env = bench_env(DATABASE_URL)
    env["ALERTSITE_WEBHOOK_ALLOW_PRIVATE"] = "true"
    database_ensure(DATABASE_URL)
    manage(env, "migrate", "--noinput", "-v", "0")
    env["CELERY_BROKER_URL"] = BROKER_URL  # production's settings; nothing here should queue a task
    os.environ.update(env)
    redis.Redis.from_url(BROKER_URL).flushdb()

    import django

    django.setup()
    from django.db import connection

    with HookReceiver() as receiver:
        token = setup(receiver.url)
        web = Web(token)
        run(web, receiver, "warm", 300)
        connection.ensure_connection()
        with connection.cursor() as cursor:
            # Statistics as a deployment's autovacuum keeps them: the TRUNCATE above left the tables
            # looking empty, and plans made for empty tables scan them whole as they grow.
            cursor.execute("ANALYZE")
        backend = connection.connection.info.backend_pid
        results: list[tuple[float, float]] = []
        for round_number in range(args.rounds):
            web_start, pg_start = time.thread_time(), backend_cpu(backend)
            run(web, receiver, f"r{round_number}", args.events)
            results.append(
                (
                    (time.thread_time() - web_start) / args.events * 1000,
                    (backend_cpu(backend) - pg_start) / args.events * 1000,
                )
            )
        location = urlsplit(DATABASE_URL)
        print(
            f"{args.events:,} alerting events a round on {location.hostname}{location.path}, python {sys.version.split()[0]}"
        )
        for web_ms, pg_ms in results:
            print(f"  web {web_ms:.2f} ms + postgres {pg_ms:.2f} ms = {web_ms + pg_ms:.2f} ms CPU per event")
        best = min(results, key=sum)
        print(f"best: web {best[0]:.2f} ms, postgres {best[1]:.2f} ms, together {sum(best):.2f} ms per event")
        if args.profile:
            profiler = cProfile.Profile(time.thread_time)  # CPU, not time spent waiting for PostgreSQL
            profiler.enable()
            run(web, receiver, "profile", args.events)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(35)
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
            print(out.getvalue())


if __name__ == "__main__":
    main()
