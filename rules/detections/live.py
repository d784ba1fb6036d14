"""Detections on the live path: a batch's matches of detection rules against the stored state.

Set-based, whatever the batch size: per kind one query reads the state of every (rule, key) the
batch touches and one statement writes it back (plus, for sequences, one DELETE of the
consumed steps and, on PostgreSQL, one statement taking the per-key locks).

- new_value (rules.models.DetectionValue): the read locks the existing rows (FOR UPDATE, in
  one order), so a value seen again after `history_days` is decided by one worker at a time.
  A value nobody had stored is inserted by the write (INSERT ... ON CONFLICT, with a random
  claim): a batch whose insert lost the race to another worker reads what that worker stored
  (one more statement, only then) and decides after it, as if its batch had gone first; so
  two workers seeing one new value at once raise one alert, and the loser's events beyond
  `history_days` of the winner's still count.
- sequence (rules.models.DetectionStep): a transaction-level advisory lock per (rule, by key)
  serializes workers on one key. Each stored step records the partial sequence it went into,
  so a batch resumes them as they stood before its first event and feeds that event and every
  later one, stored or new, to the same state machine as replay (rules.detections.sequence),
  in event-time order (a late step still completes a sequence). Only when a late step changed
  where stored steps went, one more statement records it.
"""

from __future__ import annotations

import secrets
import zlib
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from alertsite.registry import Registry
from rules.detections.base import Decision, DetectionEvent, event_order
from rules.detections.new_value import ValueKey, history_span, is_new, value_key
from rules.detections.new_value import explanation as value_explanation
from rules.detections.sequence import SequenceRun, by_key, window
from rules.detections.sequence import explanation as sequence_explanation
from rules.models import DetectionStep, DetectionValue

VALUE_TABLE = DetectionValue._meta.db_table
CHUNK = 300

# (detections by rule id, the batch's events by rule id, learning rule ids, step labels by rule id)
LiveKind = Callable[
    [Mapping[int, dict[str, Any]], Mapping[int, Sequence[DetectionEvent]], set[int], Mapping[int, Sequence[str]]],
    list[tuple[int, Decision]],
]
live_kinds: Registry[LiveKind] = Registry("live detection kind")


def detections_decide(
    detections: Mapping[int, dict[str, Any]],
    hits: Mapping[int, Sequence[DetectionEvent]],
    *,
    learning: set[int] | frozenset[int] = frozenset(),
    step_labels: Mapping[int, Sequence[str]] | None = None,
) -> list[tuple[int, Decision]]:
    """(rule id, decision) for the batch's matches that count. Call inside the batch's transaction."""
    by_kind: dict[str, dict[int, Sequence[DetectionEvent]]] = defaultdict(dict)
    for rule_id, events in hits.items():
        if events:
            by_kind[detections[rule_id]["type"]][rule_id] = events
    decided: list[tuple[int, Decision]] = []
    for kind, kind_hits in sorted(by_kind.items()):
        decided.extend(live_kinds.get(kind)(detections, kind_hits, set(learning), step_labels or {}))
    return decided


# -- new_value ---------------------------------------------------------------------------------------


@live_kinds.register("new_value")
def new_values_decide(
    detections: Mapping[int, dict[str, Any]],
    hits: Mapping[int, Sequence[DetectionEvent]],
    learning: set[int],
    step_labels: Mapping[int, Sequence[str]],
) -> list[tuple[int, Decision]]:
    by_pair: dict[tuple[int, str], list[tuple[DetectionEvent, ValueKey]]] = defaultdict(list)
    for rule_id, events in hits.items():
        for event in events:
            key = value_key(detections[rule_id], event.payload)
            if key is not None:
                by_pair[(rule_id, key.hash)].append((event, key))
    if not by_pair:
        return []
    state = values_read(set(by_pair), lock=True)
    seen = {
        pair: (min(event.timestamp for event, _ in found), max(event.timestamp for event, _ in found))
        for pair, found in by_pair.items()
    }
    lost = values_write(seen, fresh=set(by_pair) - set(state))
    if lost:
        # Another worker stored these values after our read: decide after its batch, as if it
        # had gone first (it may have fired on them; our later events can still be new).
        state.update(values_read(lost))
        values_write({pair: seen[pair] for pair in lost})
    decided: list[tuple[tuple[datetime, int], int, Decision]] = []
    for pair, found in by_pair.items():
        rule_id = pair[0]
        if rule_id in learning:
            continue
        detection = detections[rule_id]
        last = state.get(pair)
        for event, key in sorted(found, key=lambda item: event_order(item[0])):
            if is_new(last, event.timestamp, history_span(detection)):
                decision = Decision(event.pk, (event.pk,), value_explanation(detection, key))
                decided.append((event_order(event), rule_id, decision))
            last = event.timestamp if last is None else max(last, event.timestamp)
    return [(rule_id, decision) for _, rule_id, decision in sorted(decided, key=lambda item: item[0])]


def values_read(pairs: set[tuple[int, str]], *, lock: bool = False) -> dict[tuple[int, str], datetime]:
    """The last time each stored value was seen; `lock` holds the rows (FOR UPDATE, in one order)."""
    rows = DetectionValue.objects.filter(
        rule_id__in={rule_id for rule_id, _ in pairs}, value_hash__in={value for _, value in pairs}
    ).order_by("rule_id", "value_hash")
    if lock:
        rows = rows.select_for_update()
    return {
        (rule_id, value): last
        for rule_id, value, last in rows.values_list("rule_id", "value_hash", "last_seen")
        if (rule_id, value) in pairs
    }


def values_write(
    seen: Mapping[tuple[int, str], tuple[datetime, datetime]], *, fresh: Collection[tuple[int, str]] = frozenset()
) -> set[tuple[int, str]]:
    """Upsert the values seen (first/last seen widened); answers the `fresh` pairs it did not insert.

    `fresh` pairs were absent when the caller read them: they are inserted, and one another
    writer stored meanwhile is left as it is (locked until our commit) and answered as lost,
    so the caller can read what that writer stored and decide after it. Other pairs are merged.
    """
    claim = secrets.randbits(62) + 1  # marks our fresh rows; 0 asks to merge with a stored row
    items = [(pair, span, claim if pair in fresh else 0) for pair, span in sorted(seen.items())]
    if connection.vendor == "postgresql":
        inserted = _values_write_postgres(items)
    else:
        inserted = _values_write_other(items)
    return {pair for pair in fresh if pair in seen} - {pair for pair, got in inserted if got == claim}


def _values_write_other(
    items: Sequence[tuple[tuple[int, str], tuple[datetime, datetime], int]],
) -> list[tuple[tuple[int, str], int]]:
    """SQLite: a statement a chunk (a single writer, so no other batch can insert meanwhile)."""
    ops = connection.ops
    inserted: list[tuple[tuple[int, str], int]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            params: list[Any] = []
            for (rule_id, value), (first, last), claim in chunk:
                params.extend(
                    (rule_id, value, ops.adapt_datetimefield_value(first), ops.adapt_datetimefield_value(last), claim)
                )
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {VALUE_TABLE} (rule_id, value_hash, first_seen, last_seen, claim) VALUES {values} "
                f"ON CONFLICT (rule_id, value_hash) DO UPDATE SET "
                f"first_seen = MIN({VALUE_TABLE}.first_seen, excluded.first_seen), "
                f"last_seen = MAX({VALUE_TABLE}.last_seen, excluded.last_seen) "
                f"WHERE excluded.claim = 0 "
                f"RETURNING rule_id, value_hash, claim",
                params,
            )
            inserted.extend(((rule_id, value), got) for rule_id, value, got in cursor.fetchall())
    return inserted


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(at: datetime) -> int:
    """Microseconds since the epoch, exactly (a float of seconds would round the last digit)."""
    return (at - EPOCH) // timedelta(microseconds=1)


# The values travel as comma-joined text parameters, split by the server: binding them as
# arrays had the driver quote every element (a third of learning's time). A conflicting row
# is merged only when our claim is 0 (a value the caller read, and locked, as stored); a
# fresh one stays as the other writer stored it, locked by the conflict, and is not returned.
POSTGRES_VALUES_UPSERT = f"""
INSERT INTO {VALUE_TABLE} (rule_id, value_hash, first_seen, last_seen, claim)
SELECT rule_id::bigint, value_hash,
    'epoch'::timestamptz + first_seen::bigint * interval '1 microsecond',
    'epoch'::timestamptz + last_seen::bigint * interval '1 microsecond', claim::bigint
FROM unnest(
    string_to_array(%s, ','), string_to_array(%s, ','), string_to_array(%s, ','), string_to_array(%s, ','),
    string_to_array(%s, ',')
) AS v(rule_id, value_hash, first_seen, last_seen, claim)
ON CONFLICT (rule_id, value_hash) DO UPDATE SET
    first_seen = LEAST({VALUE_TABLE}.first_seen, excluded.first_seen),
    last_seen = GREATEST({VALUE_TABLE}.last_seen, excluded.last_seen)
WHERE excluded.claim = 0
RETURNING rule_id, value_hash, claim
"""


def _values_write_postgres(
    items: Sequence[tuple[tuple[int, str], tuple[datetime, datetime], int]],
) -> list[tuple[tuple[int, str], int]]:
    """One statement, whatever the number of values (hashes are hex, so commas cannot clash)."""
    with connection.cursor() as cursor:
        cursor.execute(
            POSTGRES_VALUES_UPSERT,
            [
                ",".join(str(rule_id) for (rule_id, _), _, _ in items),
                ",".join(value for (_, value), _, _ in items),
                ",".join(str(_micros(first)) for _, (first, _), _ in items),
                ",".join(str(_micros(last)) for _, (_, last), _ in items),
                ",".join(str(claim) for _, _, claim in items),
            ],
        )
        return [((rule_id, value), got) for rule_id, value, got in cursor.fetchall()]


# -- sequence ----------------------------------------------------------------------------------------


def mask_of(positions: frozenset[int]) -> int:
    return sum(1 << position for position in positions if 0 <= position < 31)


def positions_of(mask: int) -> frozenset[int]:
    return frozenset(position for position in range(31) if mask >> position & 1)


def keys_lock(pairs: Sequence[tuple[int, str]]) -> None:
    """Transaction-level advisory locks on (rule, by key), taken in one order by one statement."""
    if connection.vendor != "postgresql" or not pairs:
        return
    keys = sorted({(rule_id, zlib.crc32(key.encode()) - (1 << 31)) for rule_id, key in pairs})
    values = ", ".join(["(%s, %s)"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k.rule_id, k.key_id)) FROM "
            f"(SELECT rule_id, key_id FROM (VALUES {values}) AS v(rule_id, key_id) ORDER BY rule_id, key_id) AS k",
            [part for key in keys for part in key],
        )


@live_kinds.register("sequence")
def sequences_decide(
    detections: Mapping[int, dict[str, Any]],
    hits: Mapping[int, Sequence[DetectionEvent]],
    learning: set[int],
    step_labels: Mapping[int, Sequence[str]],
) -> list[tuple[int, Decision]]:
    fresh: dict[tuple[int, str], list[DetectionEvent]] = defaultdict(list)
    for rule_id, events in hits.items():
        for event in events:
            key = by_key(detections[rule_id], event.payload)
            if key is not None:
                fresh[(rule_id, key)].append(event)
    if not fresh:
        return []
    keys_lock(list(fresh))
    earliest = min(event.timestamp for events in fresh.values() for event in events)
    stored: dict[tuple[int, str], list[StoredStep]] = defaultdict(list)
    rows = DetectionStep.objects.filter(
        rule_id__in={rule_id for rule_id, _ in fresh},
        key_hash__in={key for _, key in fresh},
        expires_at__gte=earliest,
    ).values_list("pk", "rule_id", "key_hash", "event_id", "event_timestamp", "positions", "chain")
    for pk, rule_id, key, event_id, at, mask, placed in rows:
        if (rule_id, key) in fresh:
            stored[(rule_id, key)].append(StoredStep(pk, DetectionEvent(event_id, at, {}, positions_of(mask)), placed))

    decided: list[tuple[int, Decision]] = []
    consumed_rows: list[int] = []
    new_rows: list[DetectionStep] = []
    moved_rows: list[DetectionStep] = []
    for (rule_id, key), events in sorted(fresh.items()):
        detection = detections[rule_id]
        labels = step_labels.get(rule_id, ())
        steps = stored[(rule_id, key)]
        known = {step.event.pk: step.pk for step in steps}
        batch = [event for event in events if event.pk not in known]
        if not batch:
            continue  # delivered again: decided already
        # Resume the partial sequences as they stood before the batch's first event, then feed
        # that event and every later one, stored or new, in event-time order (from the first
        # step stored before chains were recorded, if any: those are fed again, as then).
        unplaced = [event_order(step.event) for step in steps if step.chain is None]
        start = min([event_order(event) for event in batch] + unplaced)
        run = SequenceRun.of(detection)
        run.resume(key, resumed_chains(steps, start))
        again = [step for step in steps if event_order(step.event) >= start]
        consumed: set[int] = set()
        for event in sorted([step.event for step in again] + batch, key=event_order):
            chain = run.feed(key, event)
            if chain is not None:
                consumed.update(step.pk for step in chain)
                decision = Decision(
                    event.pk, tuple(step.pk for step in chain), sequence_explanation(detection, chain, labels)
                )
                decided.append((rule_id, decision))
        consumed_rows.extend(known[pk] for pk in consumed if pk in known)
        moved_rows.extend(
            DetectionStep(pk=step.pk, chain=run.placed.get(step.event.pk, 0))
            for step in again
            if step.event.pk not in consumed and run.placed.get(step.event.pk, 0) != step.chain
        )
        span = window(detection)
        new_rows.extend(
            DetectionStep(
                rule_id=rule_id,
                key_hash=key,
                event_id=event.pk,
                event_timestamp=event.timestamp,
                positions=mask_of(event.positions),
                expires_at=event.timestamp + span,
                chain=run.placed.get(event.pk, 0),
            )
            for event in batch
            if event.pk not in consumed
        )
    if consumed_rows:
        DetectionStep.objects.filter(pk__in=consumed_rows).delete()
    if moved_rows:  # only when a late event changed where stored steps went
        DetectionStep.objects.bulk_update(moved_rows, ["chain"], batch_size=CHUNK * 3)
    if new_rows:
        DetectionStep.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=CHUNK * 3)
    return decided


@dataclass(frozen=True, slots=True)
class StoredStep:
    pk: int  # the DetectionStep row
    event: DetectionEvent
    chain: int | None  # DetectionStep.chain


def resumed_chains(steps: Sequence[StoredStep], start: tuple[datetime, int]) -> list[list[DetectionEvent]]:
    """The partial sequences of the stored steps before `start`, oldest first, as recorded when
    those steps were fed; a chain whose first step is no longer stored has expired."""
    chains: dict[int, list[DetectionEvent]] = {}
    for step in sorted(steps, key=lambda step: event_order(step.event)):
        if step.chain is None or event_order(step.event) >= start:
            continue  # fed again
        if step.chain == step.event.pk:
            chains[step.chain] = [step.event]
        elif step.chain in chains:
            chains[step.chain].append(step.event)
    return list(chains.values())
