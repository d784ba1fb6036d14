"""PagerDuty back-sync (api.md section 11): an incident acknowledged or resolved in PagerDuty moves its alert.

PagerDuty v3 webhooks (`incident.acknowledged`, `incident.resolved`) arrive at
`POST /api/v1/integrations/pagerduty/{channel_id}`. channels says whether the signature is
the channel's (`channels.selectors.pagerduty_signature_check`); everything else is decided here:

- the incident's dedup key is read from `event.data.incident_key` (PagerDuty sets it to the
  `dedup_key` the Events API trigger carried, i.e. the alert's reference); the alert must be
  one whose rule notifies this channel, else the incident is unknown;
- `event.occurred_at` older than 5 minutes (or more than 5 minutes ahead) and an `event.id`
  already acted on are replays; seen ids are kept 15 minutes, then pruned;
- the move goes through the state machine with no acting user: the history reads
  "<event.agent.summary> in PagerDuty", with a note naming the incident; the channel it came
  through is not told of it (no loop), every other channel of the rule is as usual.

Refusals raise `BacksyncRefused` (status and detail for the answer) and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts.models import Alert, InboundWebhookSeen, reference_parse
from alerts.services.errors import InvalidTransition
from alerts.services.lifecycle import TransitionOrigin, alert_transition
from alerts.states import AlertStatus
from channels.selectors import pagerduty_signature_check

MAX_AGE = timedelta(minutes=5)
SEEN_KEEP = timedelta(minutes=15)
MOVES = {"incident.acknowledged": AlertStatus.ACKNOWLEDGED, "incident.resolved": AlertStatus.RESOLVED}
SYSTEM = "PagerDuty"
SIGNATURE_REFUSALS = {
    "unknown": (404, "No PagerDuty channel with id {channel_id}."),
    "no_secret": (403, "This PagerDuty channel has no webhook_secret: set one to accept PagerDuty webhooks."),
    "unsigned": (401, "X-PagerDuty-Signature is missing: PagerDuty webhooks must be signed."),
    "bad": (401, "X-PagerDuty-Signature does not match the body signed with the channel's webhook_secret."),
}


class BacksyncRefused(Exception):
    """A webhook refused as a whole: nothing was changed."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class BacksyncResult:
    outcome: str  # moved | unchanged | ignored
    detail: str
    alert: str = ""  # the alert's reference


@dataclass(frozen=True)
class _Webhook:
    event_id: str
    event_type: str
    occurred_at: datetime
    incident_key: str
    agent: str
    incident: str  # "#1234 https://acme.pagerduty.com/incidents/PT4KHLK", for the note


def _field(data: Any, path: str, key: str) -> Any:
    if not isinstance(data, dict):
        raise BacksyncRefused(400, f"{path} must be an object.")
    return data.get(key)


def _text(value: Any, path: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise BacksyncRefused(400, f"{path} is required (text).")
    return value


def webhook_parse(body: bytes) -> _Webhook:
    """The parts of a PagerDuty v3 webhook the back-sync reads; 400 naming the field otherwise."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BacksyncRefused(400, f"The body is not JSON: {exc}.") from None
    event = _field(document, "body", "event")
    event_id = _text(_field(event, "event", "id"), "event.id")[:100]
    event_type = _text(_field(event, "event", "event_type"), "event.event_type")
    raw_time = _text(_field(event, "event", "occurred_at"), "event.occurred_at")
    occurred_at = parse_datetime(raw_time)
    if occurred_at is None or occurred_at.tzinfo is None:
        raise BacksyncRefused(400, "event.occurred_at must be an ISO 8601 time with a time zone.")
    data = _field(event, "event", "data") or {}
    incident_key = _text(_field(data, "event.data", "incident_key"), "event.data.incident_key", required=False)
    agent = _field(event, "event", "agent")
    agent_name = agent.get("summary") if isinstance(agent, dict) else None
    number, url = _field(data, "event.data", "number"), _field(data, "event.data", "html_url")
    incident = " ".join(
        part for part in (f"#{number}" if isinstance(number, int) else "", url if isinstance(url, str) else "") if part
    )
    return _Webhook(
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        incident_key=incident_key,
        agent=agent_name if isinstance(agent_name, str) else "",
        incident=incident,
    )


def pagerduty_webhook_handle(
    *, channel_id: int, body: bytes, signature: str | None, now: datetime | None = None
) -> BacksyncResult:
    """Verify, parse and act on one PagerDuty v3 webhook; raise BacksyncRefused to refuse it."""
    verdict = pagerduty_signature_check(channel_id, body, signature)
    if verdict != "ok":
        status, detail = SIGNATURE_REFUSALS[verdict]
        raise BacksyncRefused(status, detail.format(channel_id=channel_id))
    webhook = webhook_parse(body)
    now = now or timezone.now()
    if abs(now - webhook.occurred_at) > MAX_AGE:
        raise BacksyncRefused(
            409,
            f"event.occurred_at {webhook.occurred_at.isoformat()} is more than 5 minutes from now: "
            "refused as a replay.",
        )
    target = MOVES.get(webhook.event_type)
    if target is None:
        return BacksyncResult("ignored", f"{webhook.event_type} does not move alerts.")
    alert = _alert_of(channel_id, webhook.incident_key)
    with transaction.atomic():
        InboundWebhookSeen.objects.filter(seen_at__lt=now - SEEN_KEEP).delete()
        try:
            with transaction.atomic():
                InboundWebhookSeen.objects.create(event_id=webhook.event_id, channel_id=channel_id, seen_at=now)
        except IntegrityError:
            raise BacksyncRefused(
                409, f"event.id {webhook.event_id} was already received: refused as a replay."
            ) from None
        verb = "Acknowledged" if target == AlertStatus.ACKNOWLEDGED else "Resolved"
        note = (
            f"{verb} in PagerDuty"
            + (f" by {webhook.agent}" if webhook.agent else "")
            + (f" (incident {webhook.incident})" if webhook.incident else "")
            + "."
        )
        try:
            alert_transition(
                alert=alert.pk,
                to=target,
                actor=None,
                note=note[:1000],
                origin=TransitionOrigin(system=SYSTEM, actor_name=webhook.agent, channel_id=channel_id),
            )
        except InvalidTransition as exc:
            return BacksyncResult("unchanged", str(exc), alert.reference)
    return BacksyncResult("moved", f"{alert.reference} {verb.lower()}.", alert.reference)


def _alert_of(channel_id: int, incident_key: str) -> Alert:
    """The alert whose reference is the incident's dedup key, notified through this channel."""
    pk = reference_parse(incident_key) if incident_key else None
    alert = Alert.objects.filter(pk=pk).only("pk", "notify_channel_ids").first() if pk else None
    if alert is None or channel_id not in (alert.notify_channel_ids or []):
        shown = incident_key[:100] or "(none)"
        raise BacksyncRefused(
            404,
            f"No alert notified through this channel has the incident's dedup key {shown} (event.data.incident_key).",
        )
    return alert
