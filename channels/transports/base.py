"""What every transport provides, and how it reports an attempt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alertsite.errors import FieldErrors
from alertsite.registry import Registry
from channels.templating import TemplateField, TemplateProblem, context_of, template_render

if TYPE_CHECKING:
    from collections.abc import Mapping

    from channels.models import Channel
    from channels.notification import Notification


class ConfigError(FieldErrors):
    """Invalid channel config: `errors` maps each bad field's path (`config.headers[1].name`) to a message."""


class DeliveryError(Exception):
    """A failed attempt. Transient ones (timeouts, 408, 429, 5xx) are retried; permanent ones are not."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status_code: int | None = None,
        retry_after: float | None = None,
        snippet: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message[:500]
        self.permanent = permanent
        self.status_code = status_code
        self.retry_after = retry_after
        self.snippet = snippet[:500]


@dataclass(frozen=True)
class SendResult:
    status_code: int | None = None
    snippet: str = ""


@dataclass(frozen=True)
class Outgoing:
    """One notification, ready to go: the typed notification, the delivery id receivers
    de-duplicate by, and the send time. Transports render from `notification` (or the
    `envelope`, the api.md webhook body built from it)."""

    delivery_id: str
    notification: Notification
    sent_at: str

    @property
    def kind(self) -> str:
        return self.notification.kind

    @property
    def envelope(self) -> dict[str, Any]:
        return self.notification.envelope(delivery_id=self.delivery_id, sent_at=self.sent_at)


class Transport:
    label = ""
    # Whether `send` may run on several threads at once (it must not touch the database then:
    # e-mail resolves role members, so it stays on the task's own thread).
    concurrent = False
    # Whether the channel follows its alert's status (PagerDuty's incident): acknowledging or
    # resolving the alert is then told to it whatever the rule's notify-on flags.
    follows_alert = False

    # Message templates (api.md §11): the fields of `config.template` this kind offers, each with
    # what it must render to (channels.templating.TemplateField). Empty: the kind has none. The
    # template is checked and stored by channels.services.config, outside `config_clean`.
    template_fields: Mapping[str, TemplateField] = {}

    def template_defaults(self, message: Outgoing) -> dict[str, str]:
        """What each template field reads when the channel sets no template (for previews)."""
        return {}

    def rendered(self, channel: Channel, message: Outgoing) -> dict[str, str]:
        """The channel's template fields rendered for this message ({} without a template).

        A template that fails now (it passed its save-time check) fails the attempt for good.
        """
        template = channel.config.get("template")
        if not template or not self.template_fields:
            return {}
        context = context_of(message.notification, delivery_id=message.delivery_id, sent_at=message.sent_at)
        try:
            return template_render(self.template_fields, template, context)
        except TemplateProblem as exc:
            raise DeliveryError(f"Message template: {exc}", permanent=True) from None

    def config_clean(self, config: Any, previous: dict[str, Any] | None) -> dict[str, Any]:
        """Validate a config from the API/admin and return it as stored (secrets sealed)."""
        raise NotImplementedError

    def config_public(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config as shown to people: secrets masked."""
        raise NotImplementedError

    def send(self, channel: Channel, message: Outgoing, *, timeout: float) -> SendResult:
        """Try once; return on success, raise DeliveryError otherwise. Never sleeps or retries."""
        raise NotImplementedError


transports: Registry[Transport] = Registry("transport")
