"""Console URLs of Settings > Notification Channels."""

from __future__ import annotations

from django.urls import path

from channels import views

urlpatterns = [
    path("settings/notification-channels/", views.channel_list, name="console-channels"),
    path("settings/notification-channels/new/<str:kind>/", views.channel_new, name="console-channel-new"),
    path("settings/notification-channels/<int:pk>/edit/", views.channel_edit, name="console-channel-edit"),
    path("settings/notification-channels/<int:pk>/delete/", views.channel_remove, name="console-channel-delete"),
    path("settings/notification-channels/<int:pk>/test/", views.channel_send_test, name="console-channel-test"),
    path(
        "settings/notification-channels/<int:pk>/deliveries/",
        views.channel_deliveries,
        name="console-channel-deliveries",
    ),
    path("settings/deliveries/<int:pk>/retry/", views.delivery_retry_view, name="console-delivery-retry"),
]
