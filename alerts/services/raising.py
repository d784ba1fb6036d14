"""From rule matches to alerts: open, group, count towards thresholds, notify.

`matches_handle` takes the new matches with their rules' policies (alerts.policy) and turns
them into alerts, or into notifications without alerts. Maintenance windows are loaded once
per batch and decide each match in memory by the event's timestamp (mute=alerts: the match
only; mute=notifications: the alert, `suppressed_by` the window, and nothing sent). Grouping
and thresholds are made race-free by a transaction-level advisory lock per (rule, group key)
on PostgreSQL and by SQLite's single writer otherwise. What later moves need (channels, notify flags, whether the
alert groups) is stored on the alert, so nothing here looks rules up again.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from alerts.maintenance import MUTE_ALERTS, WindowCalendar, WindowSpec
from alerts.models import Alert, AlertEvent
from alerts.policy import AlertPolicy, MatchHistory, NewMatch
from alerts.services.audit import alert_created_payload
from alerts.services.maintenance import maintenance_calendar, maintenance_counts_add
from alerts.services.notify import alert_notification, match_notification
from alerts.services.reminders import alerts_reminders_update, reminder_fields
from alerts.states import UNRESOLVED, AlertStatus
from alerts.subjects import alert_category_for, alert_source_for
from alertsite.sqlbulk import insert_all, insert_new, insert_statement, written
from channels.services import NotificationOrder, notifications_enqueue
from events.models import AuditEvent
from events.services import audit_events_record

# What raising an alert reads of each matched event (its title, subject, depth and payload).
EVENT_FIELDS = (
    "pk",
    "event_id",
    "event_type",
    "timestamp",
    "initiator",
    "resource",
    "client_ip",
    "causal_depth",
    "payload",
)


def matches_handle(
    *,
    matches: Sequence[NewMatch],
    policies: Mapping[int, AlertPolicy],
    history: MatchHistory,
    events: Mapping[int, AuditEvent] | None = None,
) -> dict[int, int]:
    """Raise alerts (or notify without alerts) for new rule matches. Call inside the match's transaction.

    `events`: the matched events, when the caller already loaded them with EVENT_FIELDS (the
    evaluation batch does); read here otherwise. Returns the number of alerts opened per rule id.
    """
    if not matches:
        return {}
    wanted = {pk for match in matches for pk in match.all_event_ids}  # a sequence's every step
    known = dict(events or {})
    missing = wanted - known.keys()
    if missing:
        known.update({event.pk: event for event in AuditEvent.objects.filter(pk__in=missing).only(*EVENT_FIELDS)})
    events = known
    audit: list[tuple[dict[str, Any], int]] = []
    orders: list[NotificationOrder] = []
    opened: dict[int, int] = defaultdict(int)
    ungrouped: list[tuple[AlertPolicy, AuditEvent, NewMatch, list[AuditEvent], int | None]] = []
    quiet = Quiet(calendar=maintenance_calendar(*_time_range(events.values())) if events else WindowCalendar())
    for match in sorted(matches, key=lambda m: (m.event_timestamp, m.match_id)):
        policy, event = policies.get(match.rule_id), events.get(match.event_id)
        if policy is None or event is None:
            continue
        window = quiet.window_for(policy, event)
        if window is not None and window.mute == MUTE_ALERTS:
            quiet.count(window.id, alerts=policy.generate_alerts, notifications=policy.notifies_now)
            continue  # the match stays recorded; no alert, nothing sent
        suppressed_by = window.id if window is not None else None
        if not policy.generate_alerts:
            if suppressed_by is not None:
                quiet.count(suppressed_by, alerts=False, notifications=policy.notifies_now)
            elif policy.notifies_now:
                orders.append(
                    NotificationOrder(
                        notification=match_notification(
                            rule_id=policy.rule_id, rule_name=policy.rule_name, event=event.payload
                        ),
                        channel_ids=policy.channel_ids,
                        source=f"match:{match.match_id}",
                        causal_depth=event.causal_depth,
                    )
                )
            continue
        steps = [events[pk] for pk in match.all_event_ids if pk in events]
        if not policy.grouped:
            ungrouped.append(
                (policy, event, match, steps, suppressed_by)
            )  # independent of each other: opened together below
            continue
        alert = _alert_for_match(policy, match, event, history, steps, suppressed_by)
        if alert is not None:
            _alert_opened(policy, alert, event, opened, audit, orders, quiet)
    for policy, alert, event in _alerts_open_ungrouped(ungrouped):
        _alert_opened(policy, alert, event, opened, audit, orders, quiet)
    maintenance_counts_add(quiet.muted)
    if audit:
        audit_events_record(payloads=audit)
    if orders:
        notifications_enqueue(orders)
    return dict(opened)


def _time_range(events: Iterable[AuditEvent]) -> tuple[datetime, datetime]:
    stamps = [event.timestamp for event in events]
    return min(stamps), max(stamps)


@dataclass
class Quiet:
    """The batch's maintenance windows (loaded once) and what each muted, counted for one UPDATE."""

    calendar: WindowCalendar
    muted: dict[int, tuple[int, int]] = field(default_factory=dict)

    def window_for(self, policy: AlertPolicy, event: AuditEvent) -> WindowSpec | None:
        """The window covering the event's timestamp in this rule's scope (so previews agree), if any."""
        if not self.calendar:
            return None
        return self.calendar.suppressing(
            rule_id=policy.rule_id, priority=policy.priority, event_type=event.event_type, at=event.timestamp
        )

    def count(self, window_id: int, *, alerts: bool, notifications: bool) -> None:
        muted_alerts, muted_notifications = self.muted.get(window_id, (0, 0))
        self.muted[window_id] = (muted_alerts + int(alerts), muted_notifications + int(notifications))


def _alert_opened(
    policy: AlertPolicy,
    alert: Alert,
    event: AuditEvent,
    opened: dict[int, int],
    audit: list[tuple[dict[str, Any], int]],
    orders: list[NotificationOrder],
    quiet: Quiet,
) -> None:
    """What every new alert sets off, collected for the batch: its audit event, its notification
    (none for an alert raised inside a mute=notifications window: that window counts it)."""
    opened[policy.rule_id] += 1
    audit.append((alert_created_payload(alert, event), alert.causal_depth + 1))
    if alert.suppressed_by_id is not None:
        quiet.count(alert.suppressed_by_id, alerts=True, notifications=policy.notifies_now)
        return
    if policy.notifies_now:
        orders.append(
            NotificationOrder(
                notification=alert_notification("alert.created", alert, event.payload),
                channel_ids=policy.channel_ids,
                source=f"alert:{alert.pk}",
                causal_depth=alert.causal_depth,
            )
        )


def _alerts_open_ungrouped(
    ungrouped: Sequence[tuple[AlertPolicy, AuditEvent, NewMatch, list[AuditEvent], int | None]],
) -> list[tuple[AlertPolicy, Alert, AuditEvent]]:
    """One alert per match of a rule that neither groups nor counts: two INSERTs for all of them."""
    if not ungrouped:
        return []
    alerts = [
        _alert_new(
            policy,
            event,
            steps,
            group_key=match.group_key,
            collecting=False,
            explanation=match.explanation,
            suppressed_by=suppressed,
        )
        for policy, event, match, steps, suppressed in ungrouped
    ]
    if not _alerts_insert_linked(alerts, [(steps, match) for _, _, match, steps, _ in ungrouped]):
        insert_all(alerts)
        insert_new(
            [
                link
                for alert, (_, _, match, steps, _) in zip(alerts, ungrouped, strict=True)
                for link in _alert_links(alert, steps, match)
            ]
        )
    return [(policy, alert, event) for alert, (policy, event, _, _, _) in zip(alerts, ungrouped, strict=True)]


LINKED_INSERT = """
WITH a AS ({insert}), linked AS (
    INSERT INTO {links} (alert_id, event_id, event_timestamp, joined_at, step)
    SELECT a.id, l.event_id, l.event_timestamp, %s::timestamptz, l.step
    FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[], %s::smallint[])
        AS l(rule_id, alert_event_id, event_id, event_timestamp, step)
    JOIN a ON a.rule_id = l.rule_id AND a.event_id = l.alert_event_id
    ON CONFLICT (alert_id, event_id) DO NOTHING
)
SELECT id, rule_id, event_id FROM a
"""


def _alerts_insert_linked(alerts: Sequence[Alert], links: Sequence[tuple[Sequence[AuditEvent], NewMatch]]) -> bool:
    """Insert new alerts and their event links in one statement (PostgreSQL): a round trip less
    per alerting batch than the two INSERTs. Each alert's links find it by (rule, event), unique
    among one batch's new ungrouped alerts (one per match), so nothing relies on the order of
    RETURNING. False (nothing written) where it does not apply: the caller sends the two."""
    if connection.vendor != "postgresql":
        return False
    keys = [(alert.rule_id, alert.event_id) for alert in alerts]
    if len(set(keys)) != len(keys):
        return False
    statement = insert_statement(alerts, ["id", "rule_id", "event_id"])
    if statement is None:
        return False
    insert, params = statement
    rows = [
        (alert.rule_id, alert.event_id, link.event_id, link.event_timestamp, link.step)
        for alert, (steps, match) in zip(alerts, links, strict=True)
        for link in _alert_links(alert, steps, match)
    ]
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[], [], [], [], []]
    with connection.cursor() as cursor:
        cursor.execute(
            LINKED_INSERT.format(insert=insert, links=AlertEvent._meta.db_table),
            [*params, timezone.now(), *columns],
        )
        found = {(rule_id, event_id): pk for pk, rule_id, event_id in cursor.fetchall()}
    for alert, key in zip(alerts, keys, strict=True):
        written(alert, found[key])
    return True


def _alert_links(alert: Alert, events: Sequence[AuditEvent], match: NewMatch | None = None) -> list[AlertEvent]:
    """The alert's event rows; a sequence's steps are numbered so its events list reads in step order."""
    numbered = match is not None and len(match.event_ids) > 1
    return [
        AlertEvent(alert=alert, event_id=e.pk, event_timestamp=e.timestamp, step=index + 1 if numbered else None)
        for index, e in enumerate(events)
    ]


def alerts_policy_update(*, policy: AlertPolicy) -> int:
    """A rule's channels, notify flags, grouping, reminders or escalation changed: its alerts
    notify, group and remind by the new ones."""
    updated = Alert.objects.filter(rule_id=policy.rule_id).update(**_policy_fields(policy))
    alerts_reminders_update(policy=policy)
    return updated


def _policy_fields(policy: AlertPolicy) -> dict[str, Any]:
    return {
        "notify_channel_ids": list(policy.channel_ids),
        "notify_on_acknowledge": policy.notifies_acknowledge,
        "notify_on_resolve": policy.notifies_resolve,
        "grouped": policy.grouped,
    }


def group_lock(rule_id: int, group_key: str) -> None:
    """Serialize grouping/threshold decisions for one (rule, group key) until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = zlib.crc32(group_key.encode()) - (1 << 31)
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [rule_id, key])


def collecting_alert(rule_id: int, group_key: str) -> Alert | None:
    """The unresolved alert new matches of the group join, if any (locked)."""
    return (
        Alert.objects.select_for_update()
        .filter(rule_id=rule_id, group_key=group_key, collecting=True, status__in=UNRESOLVED)
        .first()
    )


def _alert_for_match(
    policy: AlertPolicy,
    match: NewMatch,
    event: AuditEvent,
    history: MatchHistory,
    steps: Sequence[AuditEvent],
    suppressed_by: int | None,
) -> Alert | None:
    """Open an alert for the match, or join the collecting one of its group; None when it only joined.

    `steps` are the match's events (one, or a sequence's steps ending with `event`).
    """
    threshold = policy.threshold
    window = policy.group_window_minutes
    if threshold is None and window == 0:
        return _alert_open(
            policy, event, steps, group_key=match.group_key, collecting=False, match=match, suppressed_by=suppressed_by
        )
    group_lock(policy.rule_id, match.group_key)
    current = collecting_alert(policy.rule_id, match.group_key)
    if threshold is not None:
        if current is not None:
            _alert_join(current, event)
            return None
        events = _threshold_events(policy, match, event, history)
        if len(events) < threshold.count:
            return None
        return _alert_open(
            policy, event, events, group_key=match.group_key, collecting=True, suppressed_by=suppressed_by
        )
    if current is not None:
        if event.timestamp - current.last_seen_at <= timedelta(minutes=window):
            for step in steps:
                _alert_join(current, step)
            return None
        current.collecting = False
        current.save(update_fields=["collecting"])
    return _alert_open(
        policy, event, steps, group_key=match.group_key, collecting=True, match=match, suppressed_by=suppressed_by
    )


def _threshold_events(
    policy: AlertPolicy, match: NewMatch, event: AuditEvent, history: MatchHistory
) -> list[AuditEvent]:
    """The unlinked matches of this group key that make a window of W minutes around this event, or fewer.

    Events may arrive out of order, so every window of width W that contains the event is
    tried, not only the one ending at it; the fullest wins.
    """
    assert policy.threshold is not None
    span = timedelta(minutes=policy.threshold.window_minutes)
    earlier = history.matches_between(
        rule_id=policy.rule_id,
        group_key=match.group_key,
        start=event.timestamp - span,
        end=event.timestamp + span,
    )
    linked = set(
        AlertEvent.objects.filter(
            alert__rule_id=policy.rule_id,
            alert__group_key=match.group_key,
            event_id__in=[event_id for _, event_id in earlier],
        ).values_list("event_id", flat=True)
    )
    candidates = [(at, event_id) for at, event_id in earlier if event_id not in linked]
    if event.pk not in {event_id for _, event_id in candidates}:
        candidates.append((event.timestamp, event.pk))
    candidates.sort()
    best: list[int] = []
    for start, _ in candidates:
        if start > event.timestamp:
            break
        if event.timestamp - start > span:
            continue
        in_window = [event_id for at, event_id in candidates if start <= at <= start + span]
        if len(in_window) > len(best):
            best = in_window
    return list(AuditEvent.objects.filter(pk__in=best).only("pk", "timestamp").order_by("timestamp", "pk"))


def _alert_new(
    policy: AlertPolicy,
    event: AuditEvent,
    events: Sequence[AuditEvent],
    *,
    group_key: str,
    collecting: bool,
    explanation: str = "",
    suppressed_by: int | None = None,
) -> Alert:
    """The alert row for these events, not saved yet."""
    source_type, source_id = alert_source_for(event.payload)
    created_at = timezone.now()
    return Alert(
        rule_id=policy.rule_id,
        rule_name=policy.rule_name,
        priority=policy.priority,
        status=AlertStatus.OPEN,
        title=alert_title(policy.rule_name, event),
        category=alert_category_for(event.payload),
        source_type=source_type,
        source_id=source_id,
        event=event,
        event_type=event.event_type,
        event_count=len(events),
        group_key=group_key,
        explanation=explanation[:1000],
        collecting=collecting,
        first_seen_at=min(e.timestamp for e in events),
        last_seen_at=max(e.timestamp for e in events),
        created_at=created_at,
        causal_depth=event.causal_depth,
        suppressed_by_id=suppressed_by,
        **_policy_fields(policy),
        **reminder_fields(policy, created_at),
    )


def _alert_open(
    policy: AlertPolicy,
    event: AuditEvent,
    events: Sequence[AuditEvent],
    *,
    group_key: str,
    collecting: bool,
    match: NewMatch | None = None,
    suppressed_by: int | None = None,
) -> Alert:
    explanation = match.explanation if match is not None else ""
    alert = _alert_new(
        policy,
        event,
        events,
        group_key=group_key,
        collecting=collecting,
        explanation=explanation,
        suppressed_by=suppressed_by,
    )
    alert.save(force_insert=True)
    AlertEvent.objects.bulk_create(_alert_links(alert, events, match), ignore_conflicts=True)
    return alert


def _alert_join(alert: Alert, event: AuditEvent) -> None:
    _, created = AlertEvent.objects.get_or_create(
        alert=alert, event_id=event.pk, defaults={"event_timestamp": event.timestamp}
    )
    if not created:
        return
    alert.event_count += 1
    alert.first_seen_at = min(alert.first_seen_at, event.timestamp)
    alert.last_seen_at = max(alert.last_seen_at, event.timestamp)
    alert.save(update_fields=["event_count", "first_seen_at", "last_seen_at"])


def alert_title(rule_name: str, event: AuditEvent) -> str:
    """Who did what: "Failed admin logins: ana@example.com from 203.0.113.7"."""
    who = event.initiator or event.resource or event.event_type
    title = f"{rule_name}: {who}"
    if event.client_ip:
        title += f" from {event.client_ip}"
    return title[:300]
