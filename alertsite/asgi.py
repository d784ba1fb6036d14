"""The ASGI entry point; it also starts the embedded periodic-job scheduler when there is no broker."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from alertsite.startup import StartupRefused, refuse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertsite.settings.base")
# A weak key stops the server with one line (alertsite.startup). No database check here, unlike
# wsgi.py: ASGI servers import the application inside their event loop, where Django refuses
# synchronous database access.
try:
    application = get_asgi_application()
except StartupRefused as refusal:
    refuse(refusal)

# The embedded default (no broker) runs its periodic jobs in the web process; see the module.
from alertsite.runtime.scheduler import embedded_scheduler_start  # after the app is loaded

embedded_scheduler_start()
