"""The database half of bench/rules.py (`--db`): rule evaluation with and without detections
through `rules.evaluation.events_evaluate` over stored events, and new_value learning.

Run through bench/rules.py, which sets up Django on DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/alertsite_bench_rules): the database is created when missing
and migrated. The bench empties the rules, matches, alerts and events tables it uses first.

For each rule count: the plain rules are written (bulk, enabled, Generate Alerts off: the matches
are recorded, no alert is raised, since raising is the same code for both sets), every stored
event is made pending again, and the events are evaluated in batches of
ALERTSITE_EVALUATION_BATCH_SIZE on this process; then the same with the detection rules (the
same rules, 10% new_value, 5% sequence). Events/s of each, and the share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from alerts.models import Alert
from events.models import AuditEvent, PendingEvaluation
from rules.engine import RuleSpec
from rules.evaluation import events_evaluate
from rules.models import DetectionValue, Rule, RuleMatch
from rules.selectors import engine_current
from rules.services import rules_version_bump

INSERT_CHUNK = 5_000
DETECTION_TARGET = 0.5
LEARN_TARGET_SECONDS = 10.0


def database_ready() -> None:
    """Create the bench database when missing, then migrate it."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("--db needs PostgreSQL: set DATABASE_URL=postgres://...")
    params = {"host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432, "user": db.get("USER")}
    with psycopg.connect(dbname="postgres", autocommit=True, password=db.get("PASSWORD") or None, **params) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", "--noinput", verbosity=0)


def tables_empty() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {Alert._meta.db_table}, {RuleMatch._meta.db_table}, {PendingEvaluation._meta.db_table}, "
            f"{AuditEvent._meta.db_table}, {Rule._meta.db_table} CASCADE"
        )


def events_store(events: Sequence[dict[str, Any]], *, shift: timedelta = timedelta(0)) -> list[int]:
    """Store the events as they are (no ingestion listeners, so nothing is evaluated), oldest first."""
    now = datetime.now(UTC)
    pks: list[int] = []
    for start in range(0, len(events), INSERT_CHUNK):
        rows = []
        for event in events[start : start + INSERT_CHUNK]:
            moment = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")) + shift
            rows.append(
                AuditEvent(
                    event_id=f"{event['id']}-{shift.days}"[:64],
                    event_type=event["event_type"],
                    service=str(event.get("service") or ""),
                    timestamp=moment,
                    received_at=now,
                    payload=event,
                )
            )
        pks.extend(row.pk for row in AuditEvent.objects.bulk_create(rows))
    return pks


def rules_store(specs: Sequence[RuleSpec]) -> None:
    """Write the rules as enabled rows (ids as in the specs; matches recorded, no alerts), and move the rules version."""
    Rule.objects.all().delete()
    rows = [
        Rule(
            id=spec.id,
            name=f"bench {spec.id}",
            conditions=[condition.as_dict() for condition in spec.conditions],
            selected_event_types=" " + " ".join(sorted({c.event_type for c in spec.conditions})) + " ",
            detection=spec.detection,
            # Matches only: raising alerts is the same code on both sides and would drown the difference.
            generate_alerts=False,
        )
        for spec in specs
    ]
    Rule.objects.bulk_create(rows, batch_size=1_000)
    rules_version_bump()


def evaluate_all(pks: Sequence[int]) -> tuple[float, int]:
    """Make every event pending again and evaluate them in batches: (seconds, matches recorded)."""
    with transaction.atomic():
        PendingEvaluation.objects.all().delete()
        now = datetime.now(UTC)
        PendingEvaluation.objects.bulk_create(
            [PendingEvaluation(event_id=pk, received_at=now) for pk in pks], batch_size=INSERT_CHUNK
        )
    engine = engine_current()  # built before the clock starts, as a warm worker has it
    size = settings.ALERTSITE_EVALUATION_BATCH_SIZE
    started = time.perf_counter()
    matches = 0
    for start in range(0, len(pks), size):
        matches += events_evaluate(event_pks=pks[start : start + size], engine=engine).new_matches
    return time.perf_counter() - started, matches


LEARN_BASE = 20_000  # events stored through the ORM; the rest are copies made by SQL, a day apart
# (1,000,000 events: 50 copies, 50 days, well inside the rule's 365 days of history)


def events_copy(wanted: int, base: int) -> int:
    """Copy the stored events in SQL, each copy a day earlier, until `wanted` more are stored."""
    table = AuditEvent._meta.db_table
    columns = [f.column for f in AuditEvent._meta.concrete_fields if f.column not in ("id", "event_id", "timestamp")]
    listed = ", ".join(columns)
    copies = -(-wanted // base) if wanted > 0 else 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, timestamp, {listed}) "
            f"SELECT left(event_id, 50) || '-c' || n, timestamp - n * interval '1 day', {listed} "
            f"FROM {table}, generate_series(1, %s) AS n ORDER BY n, id LIMIT %s",
            [copies, wanted],
        )
        return cursor.rowcount if wanted > 0 else 0


def database_bench(
    *,
    factory: Any,
    rule_counts: Sequence[int],
    events: Sequence[dict[str, Any]],
    learn_events: int,
    learn_pool: Sequence[dict[str, Any]],
    detected: Callable[[Sequence[RuleSpec]], list[RuleSpec]],
) -> None:
    database_ready()
    tables_empty()
    pks = events_store(events)
    print(
        f"\ndatabase path ({connection.vendor}, {settings.DATABASES['default']['NAME']}): {len(pks):,} stored events, "
        f"batches of {settings.ALERTSITE_EVALUATION_BATCH_SIZE}, matches recorded (alerts off)"
    )
    header = (
        f"{'rules':>7}  {'plain ev/s':>11}  {'detect ev/s':>11}  {'share':>6}  {'plain matches':>13}  {'detect':>9}"
    )
    print(header)
    print("-" * len(header))
    rules, _ = factory.rules(max(rule_counts), 0.10)
    for count in rule_counts:
        with_detection = detected(rules[:count])
        plain = [RuleSpec(spec.id, spec.conditions, spec.group_by) for spec in with_detection]
        figures = []
        for specs in (plain, with_detection):
            Alert.objects.all().delete()
            RuleMatch.objects.all().delete()
            rules_store(specs)
            seconds, matches = evaluate_all(pks)
            figures.append((len(pks) / seconds, matches))
        (plain_rate, plain_matches), (detect_rate, detect_matches) = figures
        share = detect_rate / plain_rate
        verdict = "meets" if share >= DETECTION_TARGET else "MISSES"
        print(
            f"{count:>7,}  {plain_rate:>11,.0f}  {detect_rate:>11,.0f}  {share:>6.0%}  {plain_matches:>13,}  "
            f"{detect_matches:>9,}   {verdict} target >= {DETECTION_TARGET:.0%} of plain"
        )
    if learn_events:
        learning_bench(factory, learn_pool, learn_events)


def learning_bench(factory: Any, events: Sequence[dict[str, Any]], count: int) -> None:
    """One new_value rule over the logins of `count` stored events: how long learning takes."""
    try:
        from rules.detections.learning import rule_learn
    except ImportError:
        print("\nlearning: rules.detections.learning.rule_learn is not in this tree (det's learning): skipped")
        return
    tables_empty()
    newest = max(datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")) for event in events)
    recent = datetime.now(UTC) - timedelta(days=1) - newest  # inside the rule's year of history
    started = time.perf_counter()
    base = events_store(events[: min(len(events), count, LEARN_BASE)], shift=recent)
    stored = len(base) + events_copy(count - len(base), len(base))
    # A year of history has long been visited by autovacuum (statistics, visibility map); rows
    # copied a moment ago have not, and every query would plan blind and visit the heap.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {AuditEvent._meta.db_table}")
    print(f"\nlearning: {stored:,} stored events (vacuumed) in {time.perf_counter() - started:.0f}s; ", end="")
    rule = Rule.objects.create(
        name="bench new country",
        conditions=[{"event_type": "user_login_attempt", "match": "all", "filters": []}],
        selected_event_types=" user_login_attempt ",
        detection={"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"], "history_days": 365},
    )
    figures = []
    for label, in_python in (("event by event (Python)", True), ("grouped in SQL", False)):
        DetectionValue.objects.filter(rule_id=rule.pk).delete()
        started = time.perf_counter()
        matched = rule_learn(rule_id=rule.pk, in_python=in_python)
        seconds = time.perf_counter() - started
        values = set(
            DetectionValue.objects.filter(rule_id=rule.pk).values_list("value_hash", "first_seen", "last_seen")
        )
        figures.append(values)
        verdict = "meets" if seconds < LEARN_TARGET_SECONDS else "MISSES"
        print(
            f"\n  {label:<24} one new_value rule learned {matched:,} matching events "
            f"({len(values):,} values) in {seconds:.1f}s ({stored / seconds:,.0f} stored events/s)   "
            f"{verdict} target < {LEARN_TARGET_SECONDS:.0f} s",
            end="",
        )
    print(f"\n  values learned: {'the same' if figures[0] == figures[1] else 'DIFFERENT'} on both paths")
