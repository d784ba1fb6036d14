"""Small adapters shared by the API views that call services directly."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from alertsite.errors import FieldErrors


def json_object(request: Request) -> dict[str, Any]:
    """The request body as a dict, or a 400 saying it must be a JSON object."""
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    return dict(request.data)


def field_errors_400(exc: FieldErrors) -> ValidationError:
    """A service's FieldErrors as DRF's 400 body: {path: [message]}."""
    return ValidationError({path: [message] for path, message in exc.errors.items()})
