"""Evaluate stored events against the rules and record each (rule, event) match exactly once.

One call handles a batch: load the events, match them in memory, insert the new
`RuleMatch` rows with ON CONFLICT DO NOTHING RETURNING, hand only the newly inserted ones
to the alerts service with their rules' policies (rules.alerting), and end the events'
pending rows (events.progress) — all in one transaction, so a re-delivered task or a
re-queued event finds nothing pending, and the RuleMatch unique key would stop a second
match anyway.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from alerts.policy import NewMatch
from alerts.services import matches_handle
from events.models import AuditEvent
from events.progress import (
    pending_claim_listed,
    pending_claim_oldest,
    pending_done,
    pending_rows,
    pending_stale,
)
from rules.alerting import RuleMatchHistory, alert_policies
from rules.detections import DetectionEvent
from rules.detections.live import detections_decide
from rules.engine import RuleEngine
from rules.models import Rule, RuleMatch
from rules.selectors import engine_current, rules_stamp_pinned

logger = logging.getLogger(__name__)

MATCH_TABLE = RuleMatch._meta.db_table
RULE_TABLE = Rule._meta.db_table
MATCH_CHUNK = 300
EVENT_COLUMNS = ("pk", "timestamp", "payload")


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    events: int
    matches: int
    new_matches: int


@dataclass(frozen=True, slots=True)
class PendingMatch:
    rule_id: int
    event_id: int
    event_timestamp: datetime
    group_key: str
    # From a rule's detection: every event of the match in order (a sequence's steps) and why it counted.
    event_ids: tuple[int, ...] = ()
    explanation: str = ""


def events_evaluate(*, event_pks: Sequence[int], engine: RuleEngine | None = None) -> EvaluationResult:
    """Evaluate the still-pending events among `event_pks` against every enabled rule."""
    return _evaluate(lambda: pending_claim_listed(event_pks), engine=engine)


def events_pending(*, received_since: datetime, exclude: Collection[int] = (), limit: int | None = None) -> list[int]:
    """Pks of the events received since then and still waiting, oldest first (older ones are the sweep's)."""
    pks = pending_rows(received_since=received_since, exclude=exclude).values_list("event_id", flat=True)
    return list(pks[:limit] if limit is not None else pks)


def events_evaluate_pending(
    *, limit: int, received_since: datetime, exclude: Collection[int] = (), engine: RuleEngine | None = None
) -> EvaluationResult:
    """Evaluate the oldest `limit` events still waiting, whoever queued them (the coalesced drain)."""
    return _evaluate(
        lambda: pending_claim_oldest(received_since=received_since, exclude=exclude, limit=limit), engine=engine
    )


def events_evaluate_stored(events: list[AuditEvent]) -> EvaluationResult:
    """Evaluate events the caller's transaction just stored without pending rows (a request's
    own, see rules.tasks.evaluation_in_request), in that transaction: they commit with their
    matches, alerts and outbox rows, or not at all. No claim: nobody else can see them yet.

    The statement that stored them counted them evaluated (events.storage, `evaluated_now`), in
    its `IngestCount` row: a row no transaction ever waits for (taken with SKIP LOCKED), so holding
    it through the evaluation cannot meet the drain's locks, as an `EvaluationCount` shard could."""
    return _evaluate(lambda: events, engine=None, end=_counted_when_stored, savepoint=False)


def _counted_when_stored(pks: list[int]) -> None:
    """`_evaluate`'s end for events counted evaluated by the statement that stored them."""


def _evaluate(
    claim: Callable[[], list[AuditEvent]],
    *,
    engine: RuleEngine | None,
    end: Callable[[list[int]], object] = pending_done,
    savepoint: bool = True,
) -> EvaluationResult:
    """Claim a batch (in the transaction: another worker evaluating some keeps them), match it,
    record what it matched and end its pending rows (`end`), all in one transaction."""
    with rules_stamp_pinned(), transaction.atomic(savepoint=savepoint):
        engine = engine or engine_current()
        events = claim()
        if not events:
            return EvaluationResult(events=0, matches=0, new_matches=0)
        pks = [event.pk for event in events]
        if engine.detections:
            pending = matches_detected(engine, events)
        else:
            pending = []
            for position, rule_id in engine.match_batch([event.payload for event in events]):
                event = events[position]
                pending.append(
                    PendingMatch(rule_id, event.pk, event.timestamp, engine.group_key(rule_id, event.payload))
                )
        new = matches_record(pending, events={event.pk: event for event in events})
        end(pks)
    return EvaluationResult(events=len(events), matches=len(pending), new_matches=len(new))


def matches_detected(engine: RuleEngine, events: Sequence[AuditEvent]) -> list[PendingMatch]:
    """The batch's matches when some rules have a detection: plain rules' matches as they are, the
    detection rules' through their detection (rules.detections.live) first. Call inside the batch's transaction."""
    pending: list[PendingMatch] = []
    hits: dict[int, dict[int, set[int]]] = defaultdict(dict)  # rule id -> event index -> condition positions
    for index, event in enumerate(events):
        for rule_id, position in engine.matching_positions(event.payload):
            if rule_id in engine.detections:
                hits[rule_id].setdefault(index, set()).add(position)
            else:
                pending.append(
                    PendingMatch(rule_id, event.pk, event.timestamp, engine.group_key(rule_id, event.payload))
                )
    if not hits:
        return pending
    decided = detections_decide(
        engine.detections,
        {
            rule_id: [
                DetectionEvent(events[index].pk, events[index].timestamp, events[index].payload, frozenset(positions))
                for index, positions in by_event.items()
            ]
            for rule_id, by_event in hits.items()
        },
        learning=engine.learning,
        step_labels=engine.step_labels,
    )
    by_pk = {event.pk: event for event in events}
    missing = {decision.event_pk for _, decision in decided} - set(by_pk)
    if missing:  # a sequence completed by a late step: its last step was stored by an earlier batch
        by_pk.update({event.pk: event for event in AuditEvent.objects.filter(pk__in=missing).only(*EVENT_COLUMNS)})
    for rule_id, decision in decided:
        found = by_pk.get(decision.event_pk)
        if found is None:
            continue  # purged meanwhile
        event = found
        pending.append(
            PendingMatch(
                rule_id,
                event.pk,
                event.timestamp,
                engine.group_key(rule_id, event.payload),
                event_ids=decision.event_pks if len(decision.event_pks) > 1 else (),
                explanation=decision.explanation,
            )
        )
    return pending


def matches_record(
    pending: Sequence[PendingMatch], *, events: Mapping[int, AuditEvent] | None = None
) -> list[RuleMatch]:
    """Insert matches that don't exist yet and hand the new ones on. Call inside a transaction.

    `events`: the matched events already loaded (with alerts.services.EVENT_FIELDS), if any.
    """
    if not pending:
        return []
    now = timezone.now()
    new = matches_insert_new(pending, matched_at=now)
    if new:
        by_pair = {(m.rule_id, m.event_id): m for m in pending}
        policies = alert_policies({m.rule_id for m in new})
        opened = matches_handle(
            matches=[
                NewMatch(
                    match_id=m.pk,
                    rule_id=m.rule_id,
                    event_id=m.event_id,
                    event_timestamp=m.event_timestamp,
                    group_key=m.group_key,
                    event_ids=by_pair[(m.rule_id, m.event_id)].event_ids,
                    explanation=by_pair[(m.rule_id, m.event_id)].explanation,
                )
                for m in new
            ],
            policies=policies,
            history=RuleMatchHistory(),
            events=events,
        )
        counted = {rule_id for rule_id, policy in policies.items() if policy.threshold and policy.generate_alerts}
        rules_mark_triggered(new, at=now, alerts_opened=opened, threshold_rules=counted)
    return new


def matches_insert_new(pending: Sequence[PendingMatch], *, matched_at: datetime) -> list[RuleMatch]:
    """Insert the matches not stored yet; answer the new ones, by primary key."""
    ops = connection.ops
    at = ops.adapt_datetimefield_value(matched_at)
    by_pair = {(m.rule_id, m.event_id): m for m in pending}
    items = list(by_pair.values())
    found: list[tuple[int, int, int]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(items) > 1:
            # One array per column: the same statement text for any number of matches, converted
            # and prepared once (a VALUES list over 50 parameters is parsed anew on every call).
            cursor.execute(MATCHES_UNNEST_INSERT, _match_columns(items, at))
            found.extend(cursor.fetchall())
        else:
            for start in range(0, len(items), MATCH_CHUNK):
                chunk = items[start : start + MATCH_CHUNK]
                params: list[Any] = []
                for m in chunk:
                    params.extend(
                        (m.rule_id, m.event_id, ops.adapt_datetimefield_value(m.event_timestamp), m.group_key, at)
                    )
                values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
                cursor.execute(
                    f"INSERT INTO {MATCH_TABLE} (rule_id, event_id, event_timestamp, group_key, matched_at) "
                    f"VALUES {values} ON CONFLICT (rule_id, event_id) DO NOTHING RETURNING id, rule_id, event_id",
                    params,
                )
                found.extend(cursor.fetchall())
    new = []
    for pk, rule_id, event_id in found:
        source = by_pair[(rule_id, event_id)]
        new.append(
            RuleMatch(
                pk=pk,
                rule_id=rule_id,
                event_id=event_id,
                event_timestamp=source.event_timestamp,
                group_key=source.group_key,
                matched_at=matched_at,
            )
        )
    new.sort(key=lambda match: match.pk)
    return new


MATCHES_UNNEST_INSERT = (
    f"INSERT INTO {MATCH_TABLE} (rule_id, event_id, event_timestamp, group_key, matched_at) "
    "SELECT m.rule_id, m.event_id, m.event_timestamp, m.group_key, %s::timestamptz "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::text[]) "
    "AS m(rule_id, event_id, event_timestamp, group_key) "
    "ON CONFLICT (rule_id, event_id) DO NOTHING RETURNING id, rule_id, event_id"
)


def _match_columns(items: Sequence[PendingMatch], at: object) -> list[Any]:
    return [
        at,
        [m.rule_id for m in items],
        [m.event_id for m in items],
        [m.event_timestamp for m in items],
        [m.group_key for m in items],
    ]


def rules_mark_triggered(
    matches: Sequence[RuleMatch],
    *,
    at: datetime,
    alerts_opened: dict[int, int],
    threshold_rules: Collection[int] = (),
) -> None:
    """Add the batch's matches and alerts to each rule's counters: one UPDATE for all the rules
    (plain SQL: built by the ORM, its CASE expressions cost more than the statement itself).

    Every match moves `last_matched_at`. `last_triggered_at` moves with it, except for a rule in
    `threshold_rules` (a threshold that raises alerts): that one triggers only when an alert opened,
    so a match below the threshold, or one joining the alert already open, leaves it.
    """
    counts: dict[int, int] = {}
    for match in matches:
        counts[match.rule_id] = counts.get(match.rule_id, 0) + 1
    if not counts:
        return
    ids = sorted(counts)
    fired = [rule_id for rule_id in ids if rule_id not in threshold_rules or alerts_opened.get(rule_id, 0)]
    when = " ".join(["WHEN %s THEN %s"] * len(ids))
    stamp = connection.ops.adapt_datetimefield_value(at)
    triggered = (
        f"CASE WHEN id IN ({', '.join(['%s'] * len(fired))}) THEN %s ELSE last_triggered_at END"
        if fired
        else "last_triggered_at"
    )
    params: list[Any] = [stamp, *fired, stamp] if fired else [stamp]
    params += [value for rule_id in ids for value in (rule_id, counts[rule_id])]
    params += [value for rule_id in ids for value in (rule_id, alerts_opened.get(rule_id, 0))]
    params += ids
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {RULE_TABLE} SET last_matched_at = %s, last_triggered_at = {triggered}, "
            f"match_count = match_count + CASE id {when} ELSE 0 END, "
            f"alert_count = alert_count + CASE id {when} ELSE 0 END "
            f"WHERE id IN ({', '.join(['%s'] * len(ids))})",
            params,
        )


def events_unevaluated(*, older_than: timedelta, limit: int) -> list[int]:
    """Events accepted a while ago and still not evaluated (broker down after commit, worker died)."""
    return pending_stale(older_than=older_than, limit=limit)


def evaluation_batches(pks: Sequence[int]) -> list[list[int]]:
    size = settings.ALERTSITE_EVALUATION_BATCH_SIZE
    return [list(pks[start : start + size]) for start in range(0, len(pks), size)]
