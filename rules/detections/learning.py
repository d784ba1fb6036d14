"""Keeping the detection stores: learn a new_value rule's history, prune what has aged out.

Learning runs when a new_value rule is saved or enabled: stored events of the last
`history_days` that match the rule are read in chunks and their value combinations upserted
(one statement a chunk), with progress on the rule (`learn_status`, `learn_total`,
`learn_done`). On PostgreSQL the chunks are slices of days whose events the database groups on
the values the rule reads (rules.detections.learning_sql), so Python sees one row per distinct
combination; conditions with a real expression are read event by event. Until it is done the
rule records values live but fires on none, so it does not fire on everything at start. The
periodic prune drops values unseen for `history_days` and partial sequences past their window
(plus a grace for late events).
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, QuerySet, TextField
from django.db.models.functions import Cast, TruncDay
from django.utils import timezone

from events.models import AuditEvent
from events.services import MAX_EVALUATED_CAUSAL_DEPTH
from rules.detections.learning_sql import groups, projection_paths
from rules.detections.live import values_write
from rules.detections.new_value import history_span, value_key
from rules.engine import RuleEngine, RuleSpec
from rules.models import BackfillStatus, DetectionStep, DetectionValue, Rule
from rules.paths import Path
from rules.prefilter import conditions_prefilter
from rules.selectors import rule_spec

logger = logging.getLogger(__name__)

LEARN_CHUNK = 5000
LEARN_SLICE = 100_000  # events per grouping query on the SQL path: progress moves at least this often


def learns(rule: Rule) -> bool:
    """Whether the rule has history to learn: an enabled new_value rule."""
    return rule.enabled and isinstance(rule.detection, dict) and rule.detection.get("type") == "new_value"


def detection_state_clear(*, rule_id: int) -> None:
    """Forget what the rule's detection stored (its detection or conditions changed: the keys mean something else)."""
    DetectionValue.objects.filter(rule_id=rule_id).delete()
    DetectionStep.objects.filter(rule_id=rule_id).delete()


def rule_learn_schedule(*, rule: Rule) -> None:
    """Queue learning after commit; the rule fires on no new value until it is done."""
    Rule.objects.filter(pk=rule.pk).update(
        learn_status=BackfillStatus.QUEUED, learn_total=0, learn_done=0, learn_error=""
    )
    rule.learn_status = BackfillStatus.QUEUED
    from rules.tasks import rule_learn_task

    rule_id = rule.pk
    transaction.on_commit(lambda: rule_learn_task.delay(rule_id))


def rule_learn(*, rule_id: int, in_python: bool = False) -> int:
    """Learn the rule's value combinations from stored events; answers how many events matched.

    On PostgreSQL, when the rule's conditions name every path they read, the events are
    grouped in SQL (rules.detections.learning_sql) and Python decides once per group; else,
    or with `in_python` (tests and the bench compare the two), every event is parsed here.
    """
    from rules.services import rules_version_bump

    rule = Rule.objects.filter(pk=rule_id).first()
    if rule is None:
        return 0
    spec = rule_spec(rule)
    if not learns(rule) or spec is None or spec.detection is None:
        Rule.objects.filter(pk=rule_id).update(learn_status=BackfillStatus.IDLE)
        rules_version_bump()
        return 0
    read = AuditEvent.objects.filter(
        event_type__in=sorted({condition.event_type for condition in spec.conditions}),
        timestamp__gte=timezone.now() - history_span(spec.detection),
    )
    events = read.filter(causal_depth__lte=MAX_EVALUATED_CAUSAL_DEPTH)
    paths = None
    if not in_python and connection.vendor == "postgresql":
        paths = projection_paths(spec.conditions, spec.detection["fields"])
    try:
        if paths is None:
            Rule.objects.filter(pk=rule_id).update(learn_status=BackfillStatus.RUNNING, learn_total=events.count())
            matched = _learn_events(spec, events)
        else:
            matched = _learn_groups(spec, read, events, paths)
    except Exception as exc:
        logger.exception("learning failed", extra={"rule_id": rule_id})
        # Failed: the rule goes live on what it learned rather than stay silent forever.
        Rule.objects.filter(pk=rule_id).update(learn_status=BackfillStatus.FAILED, learn_error=str(exc)[:500])
        rules_version_bump()
        raise
    with transaction.atomic():
        Rule.objects.filter(pk=rule_id).update(learn_status=BackfillStatus.DONE)
        rules_version_bump()  # engines drop the learning flag: the rule fires from now on
    return matched


Seen = dict[tuple[int, str], tuple[datetime, datetime]]


def _seen_add(seen: Seen, key: tuple[int, str], first: datetime, last: datetime) -> None:
    known = seen.get(key)
    seen[key] = (first, last) if known is None else (min(known[0], first), max(known[1], last))


def _chunk_write(rule_id: int, seen: Seen, done: int) -> None:
    """One chunk's values (one upsert) and its progress, together."""
    with transaction.atomic():
        if seen:
            values_write(seen)
        Rule.objects.filter(pk=rule_id).update(learn_done=F("learn_done") + done)


def _learn_events(spec: RuleSpec, events: QuerySet[AuditEvent]) -> int:
    """The Python path: every event parsed and run through the engine."""
    assert spec.detection is not None
    detection, engine, rule_id = spec.detection, RuleEngine([spec]), spec.id
    matched = 0
    # One scan, streamed (a server-side cursor on PostgreSQL): order does not matter for learning,
    # and keyset chunks would re-plan (and re-sort) the filtered rows for every chunk. The payload
    # comes as text, parsed with orjson: several times faster than the JSONField's json.loads.
    rows = (
        events.order_by()
        .annotate(text=Cast("payload", output_field=TextField()))
        .values_list("timestamp", "text")
        .iterator(chunk_size=LEARN_CHUNK)
    )
    while chunk := list(itertools.islice(rows, LEARN_CHUNK)):
        seen: Seen = {}
        for at, text in chunk:
            payload = orjson.loads(text)
            if not engine.matching_rules(payload):
                continue
            key = value_key(detection, payload)
            if key is None:
                continue
            matched += 1
            _seen_add(seen, (rule_id, key.hash), at, at)
        _chunk_write(rule_id, seen, len(chunk))
    return matched


def _learn_groups(spec: RuleSpec, read: QuerySet[AuditEvent], events: QuerySet[AuditEvent], paths: list[Path]) -> int:
    """The SQL path: per slice of days (~LEARN_SLICE events, for progress), one grouping query.

    `read` are the events of the rule's types and history, `events` those of them it may match.
    """
    assert spec.detection is not None
    detection, engine, rule_id = spec.detection, RuleEngine([spec]), spec.id
    # Counted without the causal-depth filter, so the count reads the (type, time) index alone:
    # `total` and `done` count the events of the rule's types read, eligible or not.
    days = list(
        read.order_by()
        .annotate(day=TruncDay("timestamp"))
        .values("day")
        .annotate(n=Count("*"))  # not the pk: it is not in the index
        .order_by("day")
        .values_list("day", "n")
    )
    Rule.objects.filter(pk=rule_id).update(
        learn_status=BackfillStatus.RUNNING, learn_total=sum(count for _, count in days)
    )
    narrowed = events.filter(conditions_prefilter(spec.conditions))  # a superset of the matches
    matched = 0
    for start, end, count in _slices(days):
        in_slice = narrowed.filter(timestamp__gte=start) if start is not None else narrowed
        if end is not None:
            in_slice = in_slice.filter(timestamp__lt=end)
        seen: Seen = {}
        for group in groups(in_slice, paths):
            if not engine.matching_rules(group.payload):
                continue
            key = value_key(detection, group.payload)
            if key is None:
                continue
            matched += group.count
            _seen_add(seen, (rule_id, key.hash), group.first, group.last)
        _chunk_write(rule_id, seen, count)
    return matched


def _slices(days: list[tuple[datetime, int]]) -> list[tuple[datetime | None, datetime | None, int]]:
    """Consecutive days joined into slices of at least LEARN_SLICE events: (from, before, events).

    The first slice is open below and the last open above, so no event falls between slices.
    """
    slices: list[tuple[datetime | None, datetime | None, int]] = []
    start: datetime | None = None
    count = 0
    for index, (_day, events) in enumerate(days):
        count += events
        if count >= LEARN_SLICE and index + 1 < len(days):
            end = days[index + 1][0]
            slices.append((start, end, count))
            start, count = end, 0
    slices.append((start, None, count))
    return slices


def detections_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Drop values unseen for their rule's `history_days` and step events past window and grace."""
    now = now or timezone.now()
    values = 0
    for rule_id, detection in Rule.objects.filter(detection__type="new_value").values_list("pk", "detection"):
        cutoff = now - history_span(detection or {})
        values += DetectionValue.objects.filter(rule_id=rule_id, last_seen__lt=cutoff).delete()[0]
    grace = timedelta(minutes=settings.ALERTSITE_DETECTION_LATE_MINUTES)
    steps = DetectionStep.objects.filter(expires_at__lt=now - grace).delete()[0]
    return {"values": values, "steps": steps}
