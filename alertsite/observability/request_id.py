"""The id of the request (or task) being handled, for every log line it writes and the tasks it enqueues.

A client (or the proxy in front) may send `X-Request-Id`; a sane one is kept so logs can be
matched across hops, anything else is replaced by a fresh uuid4. A context variable carries it:
per thread under gunicorn's sync workers, per task on a Celery worker (alertsite.observability.tasks).
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-Id"
META_KEY = "HTTP_X_REQUEST_ID"
MAX_LENGTH = 128
# Letters, digits and the punctuation ids are made of (uuids, ULIDs, trace ids); nothing that
# could forge a log line or a header (no spaces, quotes, control characters).
SANE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:+/=-]{{0,{MAX_LENGTH - 1}}}")

current: ContextVar[str | None] = ContextVar("alertsite_request_id", default=None)


def request_id_accept(sent: str | None) -> str:
    """The id sent, when it is sane (at most MAX_LENGTH characters of SANE), else a new uuid4."""
    if sent and SANE.fullmatch(sent):
        return sent
    return str(uuid.uuid4())


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (or None outside a request or task) to every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current.get()
        return True
