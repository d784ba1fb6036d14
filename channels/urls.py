"""Console URLs of Settings > Notification Channels."""

from __future__ import annotations

from alertsite.urlhelpers import slash_optional
from channels import message_views, views

urlpatterns = [
    *slash_optional("settings/notification-channels/", views.channel_list, name="console-channels"),
    *slash_optional("settings/notification-channels/new/<str:kind>/", views.channel_new, name="console-channel-new"),
    *slash_optional("settings/notification-channels/<int:pk>/edit/", views.channel_edit, name="console-channel-edit"),
    *slash_optional(
        "settings/notification-channels/<int:pk>/delete/", views.channel_remove, name="console-channel-delete"
    ),
    *slash_optional(
        "settings/notification-channels/<int:pk>/test/", views.channel_send_test, name="console-channel-test"
    ),
    *slash_optional(
        "settings/notification-channels/preview/<str:kind>/",
        message_views.channel_template_preview,
        name="console-channel-preview",
    ),
    *slash_optional(
        "settings/notification-channels/<int:pk>/resume/", views.channel_resume_view, name="console-channel-resume"
    ),
    *slash_optional(
        "settings/notification-channels/<int:pk>/deliveries/",
        views.channel_deliveries,
        name="console-channel-deliveries",
    ),
    *slash_optional("settings/deliveries/<int:pk>/retry/", views.delivery_retry_view, name="console-delivery-retry"),
]
