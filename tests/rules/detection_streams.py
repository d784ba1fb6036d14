"""Random event streams for the detection properties (issue 16), and the model they are held to.

The live path decides a batch as `detection_replay` of its events after what earlier batches
left (`arrival_replay`): new_value after every event evaluated before, sequence together with
the key's step events no alert has used yet. With one key's events arriving in event-time
order that is the replay of the whole stream; a late event is where they can differ.
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from hypothesis import strategies as st

from alerts.models import Alert, AlertEvent
from events.models import AuditEvent
from events.services import event_batch_ingest
from events.validation import Limits, event_validate
from rules import evaluation
from rules.detections import Decision, DetectionEvent, detection_replay
from rules.models import BackfillStatus, DetectionStep, DetectionValue, Rule, RuleMatch
from rules.services import rule_create, rules_version_bump
from tests.factories import make_event

BASE = timezone.now().replace(microsecond=0) - timedelta(days=20)
USERS = ["alice@example.com", "bob@example.com", "carol@example.com"]
COUNTRIES = ["DE", "FR", "BR"]
NEW_VALUE = {"type": "new_value", "fields": ["initiated_by.email", "geoip.country_code"], "history_days": 1}
SEQUENCE = {"type": "sequence", "steps": [0, 1], "by": ["initiated_by.email"], "within_minutes": 10}
STEP_TYPES = ["admin_totp_disable", "admin_password_change"]
LOGIN_CONDITIONS = [{"event_type": "user_login_attempt"}]
STEP_CONDITIONS = [{"event_type": STEP_TYPES[0]}, {"event_type": STEP_TYPES[1]}]
# "Two failed logins, then a successful one": the first two steps match the same events.
FAILED = {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
SUCCEEDED = {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": True}]}
OVERLAPPING_CONDITIONS = [FAILED, FAILED, SUCCEEDED]
OVERLAPPING = {"type": "sequence", "steps": [0, 1, 2], "by": ["initiated_by.email"], "within_minutes": 10}

Key = Hashable
Batches = list[list[int]]


def login(n: int, user: str, country: str, at: datetime) -> dict[str, Any]:
    return make_event(
        id=f"l{n}",
        success=True,
        timestamp=at.isoformat(),
        initiated_by={"type": "user", "email": user},
        geoip={"country_code": country},
    )


def attempt(n: int, user: str, success: bool, at: datetime) -> dict[str, Any]:
    return make_event(
        id=f"a{n}", success=success, timestamp=at.isoformat(), initiated_by={"type": "user", "email": user}
    )


def attempt_positions(event: AuditEvent) -> frozenset[int]:
    """Which of OVERLAPPING_CONDITIONS a login attempt matches: a failure is step 1 and step 2."""
    return frozenset({2}) if event.payload["success"] else frozenset({0, 1})


def step(n: int, user: str, index: int, at: datetime) -> dict[str, Any]:
    return make_event(
        id=f"s{n}",
        event_type=STEP_TYPES[index],
        timestamp=at.isoformat(),
        initiated_by={"type": "admin", "email": user},
        success=...,
        geoip=...,
    )


def value_of(event: AuditEvent | DetectionEvent) -> Key:
    """A login's new_value key: (user, country)."""
    return (event.payload["initiated_by"]["email"], event.payload["geoip"]["country_code"])


def admin_of(event: AuditEvent | DetectionEvent) -> Key:
    """A step's sequence key: the admin."""
    return event.payload["initiated_by"]["email"]


def setup_rule(name: str, conditions: list[dict[str, Any]], detection: dict[str, Any]) -> Rule:
    """The rule, created once per test (examples reuse it), with nothing to learn."""
    rule = Rule.objects.filter(name=name).first()
    if rule is None:
        rule = rule_create(
            data={"name": name, "priority": "low", "conditions": conditions, "detection": detection}, actor=None
        )
        Rule.objects.filter(pk=rule.pk).update(learn_status=BackfillStatus.DONE)
        rules_version_bump()
    return rule


def clean_slate() -> None:
    for model in (AlertEvent, Alert, RuleMatch, DetectionValue, DetectionStep, AuditEvent):
        model.objects.all().delete()


def ingest_in_time_order(payloads: list[dict[str, Any]]) -> list[AuditEvent]:
    """Store the stream oldest first, so pks follow (timestamp, stream order): the replay's tie-break."""
    limits = Limits.from_settings()
    records = [event_validate(p, index=n, limits=limits) for n, p in enumerate(payloads)]
    event_batch_ingest(records=records)  # type: ignore[arg-type]
    return list(AuditEvent.objects.order_by("timestamp", "pk"))


def as_detected(
    events: Iterable[AuditEvent], positions: Callable[[AuditEvent], frozenset[int]]
) -> list[DetectionEvent]:
    return [DetectionEvent(e.pk, e.timestamp, e.payload, positions(e)) for e in events]


def cut(data: st.DataObject, order: Sequence[int], *, largest: int = 6) -> Batches:
    """Cut an arrival order into batches of random sizes, each shuffled (inside a batch any order goes)."""
    batches, rest = [], list(order)
    while rest:
        size = data.draw(st.integers(1, largest))
        batches.append(data.draw(st.permutations(rest[:size])))
        rest = rest[size:]
    return batches


def arrival_in_key_order(data: st.DataObject, events: list[AuditEvent], key_of: Callable[[AuditEvent], Key]) -> Batches:
    """Random batches: keys interleave at random (one key's events stay in event-time order)."""
    queues: dict[Key, list[AuditEvent]] = defaultdict(list)
    for event in events:
        queues[key_of(event)].append(event)
    order: list[int] = []
    while queues:
        key = data.draw(st.sampled_from(sorted(queues, key=repr)))
        order.append(queues[key].pop(0).pk)
        if not queues[key]:
            del queues[key]
    return cut(data, order)


def arrival_late(data: st.DataObject, events: list[AuditEvent], *, late: timedelta) -> Batches:
    """Random batches where any event may arrive up to `late` after its timestamp, so one key's
    events overtake each other whenever they lie less than `late` apart."""
    minutes = int(late / timedelta(minutes=1))
    arrived = sorted(events, key=lambda e: (e.timestamp + timedelta(minutes=data.draw(st.integers(0, minutes))), e.pk))
    return cut(data, [event.pk for event in arrived])


def arrival_replay(detection: dict[str, Any], batches: Iterable[Sequence[DetectionEvent]]) -> list[Decision]:
    """What the live path decides, batch after batch (README "Detections", "Live decisions").

    new_value: a batch is the replay of its events after every event evaluated before it.
    sequence: a batch is the replay of its events with the key's step events no alert used yet.
    That is the live path's resuming of the recorded partial sequences when each event is one
    step; an event that is two steps can go elsewhere (OVERLAPPING is held to the replay).
    """
    decided: list[Decision] = []
    before: list[DetectionEvent] = []
    for batch in batches:
        if detection["type"] == "new_value":
            decisions = detection_replay(detection, batch, history=before)
            before.extend(batch)
        else:
            decisions = detection_replay(detection, [*before, *batch])
            used = {pk for decision in decisions for pk in decision.event_pks}
            before = [event for event in [*before, *batch] if event.pk not in used]
        decided.extend(decisions)
    return decided


def serial_outcomes(
    detection: dict[str, Any], rounds: Sequence[Sequence[Sequence[DetectionEvent]]], key: Key, key_of: Callable
) -> set[tuple[tuple[int, ...], ...]]:
    """The alerts of one key for every order in which the batches of each round could go one after
    the other: what two workers deciding at once may raise (each key is decided serially)."""
    per_round = [
        [mine for batch in batches if (mine := [event for event in batch if key_of(event) == key])]
        for batches in rounds
    ]
    outcomes = set()
    for orders in itertools.product(*(itertools.permutations(batches) for batches in per_round)):
        flat = [batch for order in orders for batch in order]
        outcomes.add(tuple(sorted(decision.event_pks for decision in arrival_replay(detection, flat))))
    return outcomes


def by_key(
    alerts: Iterable[tuple[int, ...]], key_of_pk: Callable[[int], Key]
) -> dict[Key, tuple[tuple[int, ...], ...]]:
    grouped: dict[Key, list[tuple[int, ...]]] = defaultdict(list)
    for pks in alerts:
        grouped[key_of_pk(pks[0])].append(pks)
    return {key: tuple(sorted(found)) for key, found in grouped.items()}


def live_alerts(rule: Rule) -> list[tuple[int, ...]]:
    """Each alert of the rule as its events' pks in step order."""
    found = []
    for alert in Alert.objects.filter(rule=rule).order_by("event__timestamp", "event_id"):
        links = AlertEvent.objects.filter(alert=alert).order_by("step", "event_timestamp", "event_id")
        found.append(tuple(links.values_list("event_id", flat=True)))
    return sorted(found)


class TwoWorkers:
    """Evaluates the batches of a round at once, each on its own thread and database connection,
    through the real entry point (`events_evaluate`: claim, decide, record, in one transaction).

    The threads meet at a barrier once each has claimed its batch, just before the detections
    decide, so both read the detection state before either has written it: the collision the
    live path must survive. Install with `TwoWorkers(monkeypatch)`; the threads are named
    worker-0, worker-1, ... in the order of the batches.
    """

    def __init__(self, monkeypatch: Any) -> None:
        self.barrier: threading.Barrier | None = None
        decide = evaluation.matches_detected

        def meeting(engine: Any, events: Any) -> Any:
            if self.barrier is not None:
                self.barrier.wait(timeout=30)
            return decide(engine, events)

        monkeypatch.setattr(evaluation, "matches_detected", meeting)

    def run(self, batches: Sequence[Sequence[int]]) -> None:
        self.barrier = threading.Barrier(len(batches))
        errors: list[BaseException] = []

        def work(pks: Sequence[int]) -> None:
            try:
                evaluation.events_evaluate(event_pks=pks)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                if self.barrier is not None:
                    self.barrier.abort()
            finally:
                connection.close()

        threads = [threading.Thread(target=work, args=(pks,), name=f"worker-{n}") for n, pks in enumerate(batches)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.barrier = None
        assert not errors, errors


def rounds_of(batches: Batches, workers: int = 2) -> list[Batches]:
    return [batches[start : start + workers] for start in range(0, len(batches), workers)]
