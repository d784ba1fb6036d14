"""Transport registry: one module per channel kind. Adding a kind = one module, one template, one test file."""

from __future__ import annotations

from channels.transports import email, pagerduty, slack, teams, webhook  # noqa: F401 - registers the transports
from channels.transports.base import ConfigError, DeliveryError, Outgoing, SendResult, Transport, transports

__all__ = ["ConfigError", "DeliveryError", "Outgoing", "SendResult", "Transport", "transports"]
