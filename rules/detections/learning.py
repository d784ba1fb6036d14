"""Keeping the detection stores: learn a new_value rule's history, prune what has aged out.

Learning runs when a new_value rule is saved or enabled: stored events of the last
`history_days` that match the rule are read in chunks and their value combinations upserted
(one statement a chunk), with progress on the rule (`learn_status`, `learn_total`,
`learn_done`). Until it is done the rule records values live but fires on none, so it does not
fire on everything at start. The periodic prune drops values unseen for `history_days` and
partial sequences past their window (plus a grace for late events).
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import F, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from events.models import AuditEvent
from events.services import MAX_EVALUATED_CAUSAL_DEPTH
from rules.detections.live import values_write
from rules.detections.new_value import history_span, value_key
from rules.engine import RuleEngine
from rules.models import BackfillStatus, DetectionStep, DetectionValue, Rule
from rules.selectors import rule_spec

logger = logging.getLogger(__name__)

LEARN_CHUNK = 5000


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


def rule_learn(*, rule_id: int) -> int:
    """Learn the rule's value combinations from stored events; answers how many events matched."""
    from rules.services import rules_version_bump

    rule = Rule.objects.filter(pk=rule_id).first()
    if rule is None:
        return 0
    spec = rule_spec(rule)
    if not learns(rule) or spec is None or spec.detection is None:
        Rule.objects.filter(pk=rule_id).update(learn_status=BackfillStatus.IDLE)
        rules_version_bump()
        return 0
    detection = spec.detection
    engine = RuleEngine([spec])
    types = sorted({condition.event_type for condition in spec.conditions})
    events = AuditEvent.objects.filter(
        event_type__in=types,
        timestamp__gte=timezone.now() - history_span(detection),
        causal_depth__lte=MAX_EVALUATED_CAUSAL_DEPTH,
    )
    Rule.objects.filter(pk=rule_id).update(learn_status=BackfillStatus.RUNNING, learn_total=events.count())
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
    try:
        while chunk := list(itertools.islice(rows, LEARN_CHUNK)):
            seen: dict[tuple[int, str], tuple[datetime, datetime]] = {}
            for at, text in chunk:
                payload = orjson.loads(text)
                if not engine.matching_rules(payload):
                    continue
                key = value_key(detection, payload)
                if key is None:
                    continue
                matched += 1
                first, last = seen.get((rule_id, key.hash), (at, at))
                seen[(rule_id, key.hash)] = (min(first, at), max(last, at))
            with transaction.atomic():
                if seen:
                    values_write(seen)
                Rule.objects.filter(pk=rule_id).update(learn_done=F("learn_done") + len(chunk))
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
