"""What crosses from rules to alerts with each match: the boundary, typed.

rules owns rules; alerts owns alerts. A new match crosses as a `NewMatch` with the
`AlertPolicy` of its rule (what to raise, grouping, threshold, channels, notify flags), and a
`MatchHistory` through which alerts may count earlier matches of one group for thresholds.
alerts stores on each alert what it needs later (channels, notify flags, whether it groups)
and never imports or queries rules' models; when a rule's policy changes, rules hands the new
one over (`alerts.services.alerts_policy_update`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Threshold:
    """Raise only when `count` matches of one group fall inside `window_minutes`."""

    count: int
    window_minutes: int


@dataclass(frozen=True, slots=True)
class Escalation:
    """Tell these other channels when an alert is still open (unacknowledged) after N minutes."""

    after_minutes: int
    channel_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """A rule's actions as alerts needs them, copied when the match is handed over."""

    rule_id: int
    rule_name: str
    priority: str
    generate_alerts: bool
    send_notifications: bool
    notify_on_acknowledge: bool = False
    notify_on_resolve: bool = False
    group_window_minutes: int = 0
    threshold: Threshold | None = None
    channel_ids: tuple[int, ...] = ()
    remind_every_minutes: int | None = None
    remind_max: int = 3
    escalation: Escalation | None = None

    @property
    def reminds(self) -> int | None:
        """Minutes between reminders, when this rule's alerts are reminded of at all."""
        if self.generate_alerts and self.send_notifications and self.channel_ids:
            return self.remind_every_minutes
        return None

    # The rule is snoozed for this batch: matches still record and raise alerts, nothing is sent.
    snoozed: bool = False

    @property
    def notifies_now(self) -> bool:
        """Whether this batch's matches are told to the rule's channels (sending on, not snoozed)."""
        return self.send_notifications and not self.snoozed

    @property
    def grouped(self) -> bool:
        """Whether matches of one group key join one alert (grouping window or threshold)."""
        return self.threshold is not None or self.group_window_minutes > 0

    @property
    def notifies_acknowledge(self) -> bool:
        return self.generate_alerts and self.send_notifications and self.notify_on_acknowledge

    @property
    def notifies_resolve(self) -> bool:
        return self.generate_alerts and self.send_notifications and self.notify_on_resolve


@dataclass(frozen=True, slots=True)
class NewMatch:
    """A (rule, event) match recorded for the first time: the exactly-once gate has passed."""

    match_id: int
    rule_id: int
    event_id: int  # the AuditEvent's primary key
    event_timestamp: datetime
    group_key: str
    # A rule with a detection (api.md section 12): every event of the match in order (a sequence's
    # steps, ending with `event_id`), and why it counted. Empty for plain matches.
    event_ids: tuple[int, ...] = ()
    explanation: str = ""

    @property
    def all_event_ids(self) -> tuple[int, ...]:
        return self.event_ids or (self.event_id,)


class MatchHistory(Protocol):
    """Earlier matches, for threshold windows: rules answers from its match table."""

    def matches_between(
        self, *, rule_id: int, group_key: str, start: datetime, end: datetime
    ) -> Sequence[tuple[datetime, int]]:
        """(event timestamp, event pk) of the rule's matches of the group with start <= timestamp <= end."""
        ...
