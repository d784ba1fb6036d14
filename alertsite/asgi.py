"""The ASGI entry point; it also starts the embedded periodic-job scheduler when there is no broker."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertsite.settings.base")
application = get_asgi_application()

# The embedded default (no broker) runs its periodic jobs in the web process; see the module.
from alertsite.runtime.scheduler import embedded_scheduler_start  # noqa: E402 - needs the app loaded

embedded_scheduler_start()
