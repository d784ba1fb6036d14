"""Questions channels asks the apps that use it, answered by whoever registers at start-up.

channels knows neither rules nor alerts, yet must refuse to delete a channel a rule still
sends to. Rules registers a `ChannelUsers` function in its AppConfig.ready(); channels only
asks "who uses channel N?".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from channels.notification import Notification

ChannelUsers = Callable[[int], list[str]]

_channel_users: list[ChannelUsers] = []


def channel_users_register(answer: ChannelUsers) -> None:
    """Add a source of "what uses this channel" (names, sorted); registering twice is harmless."""
    if answer not in _channel_users:
        _channel_users.append(answer)


def channel_users(*, channel_id: int) -> list[str]:
    """The names of everything that sends to the channel, from every registered source."""
    names: list[str] = []
    for answer in _channel_users:
        names.extend(answer(channel_id))
    return names


AlertNotification = Callable[[int], "Notification | None"]

_alert_notification: list[AlertNotification] = []


def alert_notification_register(answer: AlertNotification) -> None:
    """Alerts registers how to build the notification of an existing alert (for template previews)."""
    if answer not in _alert_notification:
        _alert_notification.append(answer)


def alert_notification(*, alert_id: int) -> Notification | None:
    """The notification the alert `alert_id` would send now, or None when there is no such alert."""
    for answer in _alert_notification:
        notification = answer(alert_id)
        if notification is not None:
            return notification
    return None
