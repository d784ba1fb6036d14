"""The WSGI entry point; it also starts the embedded periodic-job scheduler when there is no broker."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from alertsite.afterresponse import AfterResponse
from alertsite.startup import StartupRefused, database_refusal, refuse

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertsite.settings.base")
# A weak key or an unreachable database stops the server with one line (and gunicorn's master
# with it, see alertsite.startup.EXIT_REFUSED) instead of a traceback in every worker.
try:
    django_application = get_wsgi_application()
except StartupRefused as refusal:
    refuse(refusal)
if refusal := database_refusal():
    refuse(refusal)

# The embedded default (no broker) runs its periodic jobs in the web process; see the module.
from alertsite.runtime.scheduler import embedded_scheduler_start  # after the app is loaded

embedded_scheduler_start()

# With a broker, its transport is imported now, not in the first request that queues a task.
from alertsite.celery import broker_transport_load  # noqa: E402 - after the app is loaded

broker_transport_load()

# Work a request defers (evaluating its few events) runs after its response is sent.
application = AfterResponse(django_application)
