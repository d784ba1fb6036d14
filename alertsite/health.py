"""`GET /healthz`: is the database reachable, and the broker (or are tasks in-process)?"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from alertsite.celery import app as celery_app

logger = logging.getLogger(__name__)


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        logger.exception("health check: database down")
        return "down"


def broker_status() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:
        logger.exception("health check: broker down")
        return "down"


@require_GET
def healthz(request):
    parts = {"database": database_status(), "broker": broker_status()}
    healthy = all(value in ("ok", "eager") for value in parts.values())
    return JsonResponse(parts, status=200 if healthy else 503)
