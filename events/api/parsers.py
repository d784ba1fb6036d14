"""Parsers that hand the raw body to the ingestion view, enforcing the body size limit."""

from __future__ import annotations

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import BaseParser

from events.validation import EventError


class PayloadTooLarge(APIException):
    """The body is over the ingest limit; `error` is the entry of the view's `{"errors": [...]}` body."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, error: EventError) -> None:
        super().__init__(error.message)
        self.error = error


class RawBodyParser(BaseParser):
    """Return the body as bytes; never read more than the limit plus one byte."""

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        limit = settings.ALERTSITE_INGEST_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(_too_large(int(declared), limit))
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(_too_large(None, limit))
        return body


def _too_large(size: int | None, limit: int) -> EventError:
    shown = f"{size:,} bytes" if size is not None else f"more than {limit:,} bytes"
    return EventError(None, None, f"Body is {shown}; the limit is {limit:,} bytes.")


class JSONBodyParser(RawBodyParser):
    media_type = "application/json"


class NDJSONBodyParser(RawBodyParser):
    media_type = "application/x-ndjson"
