"""PagerDuty transport: Events API v2 (trigger, acknowledge, resolve) keyed by the alert's reference.

- `alert.created` (and reminders, escalations, test sends) trigger an incident with
  `dedup_key` = the alert's reference, so PagerDuty folds repeats into one incident;
  `alert.acknowledged` / `alert.resolved` acknowledge / resolve it with the same key.
  `event.matched` (a rule without alerts) triggers with `<rule id>:<event id>`.
- Severity from priority: high -> critical, medium -> error, low -> warning, none (a match
  without an alert) -> info. PagerDuty's default urgency rules page at once for critical and
  error, and file warning and info as low urgency.
- Answers: 202 is sent (its body names the dedup_key); 400 is a permanent failure with the
  body's `errors`; 429 is retried after Retry-After (else the usual backoff); 408 and 5xx are
  retried; anything else fails for good.

Requests go over the same kept, pinned connections as webhooks (alertsite.httppool), to the
address the private-address guard checked (alertsite.netsafety).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from alertsite.crypto import secret_open
from alertsite.httppool import Destination, pool
from alertsite.netsafety import UnsafeDestination, addresses_resolve
from alertsite.retry_after import retry_after_seconds
from channels.transports.base import DeliveryError, Outgoing, SendResult, Transport, transports
from channels.transports.pagerduty_config import EVENTS_URL, PagerDutyConfig, events_url_problem

if TYPE_CHECKING:
    from channels.models import Channel
    from channels.notification import Notification

SNIPPET = 500
READ_LIMIT = 4096  # PagerDuty's answers are small JSON documents
USER_AGENT = "alertsite-pagerduty/1"
MAX_SUMMARY = 1024  # Events API v2 limit on payload.summary
RETRYABLE = frozenset({408, 429})

SEVERITY = {"high": "critical", "medium": "error", "low": "warning"}
DEFAULT_SEVERITY = "info"
ACTIONS = {"alert.acknowledged": "acknowledge", "alert.resolved": "resolve"}


def severity_for(priority: str) -> str:
    """PagerDuty's severity for an alertsite priority (see the module docstring)."""
    return SEVERITY.get(priority, DEFAULT_SEVERITY)


def dedup_key_for(notification: Notification, delivery_id: str) -> str:
    """The alert's reference; `<rule id>:<event id>` for a match; the delivery id for a test send."""
    if notification.kind == "test":
        return f"alertsite-test:{delivery_id}"
    if notification.alert is not None:
        return notification.alert.reference
    event_id = (notification.event or {}).get("id", "")
    return f"{notification.rule.id}:{event_id}"


def _source(event: dict[str, Any]) -> str:
    """payload.source: where it happened, as far as the event says (initiator, else address)."""
    initiator = event.get("initiated_by")
    if isinstance(initiator, dict):
        for key in ("email", "username", "id"):
            if isinstance(initiator.get(key), str) and initiator[key]:
                return str(initiator[key])
    if isinstance(event.get("client_ip"), str) and event["client_ip"]:
        return str(event["client_ip"])
    return "alertsite"


def event_body(routing_key: str, message: Outgoing) -> dict[str, Any]:
    """The Events API v2 body for one notification."""
    notification = message.notification
    dedup_key = dedup_key_for(notification, message.delivery_id)
    action = ACTIONS.get(notification.kind)
    if action is not None:
        return {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key}
    event = notification.event or {}
    summary = notification.title or notification.rule.name or "alertsite notification"
    if notification.alert is not None:
        summary = f"[{notification.alert.reference}] {summary}"
        if notification.alert.explanation:  # the incident's title says why a detection fired
            summary += f" ({notification.alert.explanation})"
    payload: dict[str, Any] = {
        "summary": summary[:MAX_SUMMARY],
        "source": _source(event)[:255],
        "severity": severity_for(notification.priority),
        "timestamp": str(event.get("timestamp") or message.sent_at),
        "custom_details": event,
    }
    if isinstance(event.get("service"), str) and event["service"]:
        payload["component"] = event["service"]
    if notification.rule.name:
        payload["group"] = notification.rule.name
    if isinstance(event.get("event_type"), str) and event["event_type"]:
        payload["class"] = event["event_type"]
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": payload,
        "client": "alertsite",
    }
    if notification.url:
        body["client_url"] = notification.url
        body["links"] = [{"href": notification.url, "text": f"{notification.reference or 'Alert'} in alertsite"}]
    return body


def _errors(head: bytes) -> str:
    """The `message` and `errors` of a PagerDuty error answer, as one line."""
    try:
        answer = orjson.loads(head)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(answer, dict):
        return ""
    parts = [str(answer.get("message") or "")] + [str(error) for error in answer.get("errors") or []]
    return "; ".join(part for part in parts if part)


class PagerDutyTransport(PagerDutyConfig, Transport):
    label = "PagerDuty"
    concurrent = True  # sending touches no database
    follows_alert = True  # acknowledges and resolves its incident whatever the rule's notify-on flags

    def send(self, channel: Channel, message: Outgoing, *, timeout: float) -> SendResult:
        config = channel.config
        if not config.get("routing_key"):
            raise DeliveryError("The channel has no routing key.", permanent=True)
        url = config.get("events_url") or EVENTS_URL
        problem = events_url_problem(url, resolve=False)  # resolved and checked just below
        if problem:
            raise DeliveryError(problem, permanent=True)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            address = addresses_resolve(parts.hostname or "", port)[0]
        except UnsafeDestination as exc:
            raise DeliveryError(str(exc), permanent=True) from None
        except socket.gaierror as exc:
            raise DeliveryError(f"Cannot resolve {parts.hostname}: {exc.strerror}", permanent=False) from exc
        body = orjson.dumps(event_body(secret_open(config["routing_key"]), message))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            # As on every outgoing request: what it is, and the id a retry repeats (PagerDuty ignores them).
            "X-Alertsite-Event": message.kind,
            "X-Alertsite-Delivery": message.delivery_id,
        }
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            reply = pool().post(
                Destination(parts.scheme, address, port, parts.hostname or ""),
                target,
                body=body,
                headers=headers,
                timeout=timeout,
                read_limit=READ_LIMIT,
            )
        except TimeoutError as exc:
            raise DeliveryError(f"Timed out after {timeout:g} s", permanent=False) from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"TLS certificate rejected: {exc}", permanent=True) from None
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"Connection failed: {exc.__class__.__name__}: {exc}", permanent=False) from None
        snippet = reply.head.decode("utf-8", errors="replace")[:SNIPPET]
        status = reply.status
        if 200 <= status < 300:
            return SendResult(status_code=status, snippet=snippet)
        detail = _errors(reply.head)
        text = f"HTTP {status}" + (f": {detail}" if detail else "")
        transient = status in RETRYABLE or status >= 500
        raise DeliveryError(
            text,
            permanent=not transient,
            status_code=status,
            retry_after=retry_after_seconds(reply.retry_after),
            snippet=snippet,
        )


transports.add("pagerduty", PagerDutyTransport())
