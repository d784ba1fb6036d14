"""Model fields shared by the apps."""

from __future__ import annotations

from typing import Any

import orjson
from django.db import models
from django.db.models.fields.json import KeyTransform

from alertsite.jsonexact import json_loads_exact


class FastJSONField(models.JSONField):
    """A JSONField whose stored documents are decoded by orjson instead of `json.loads`.

    Evaluation reads every event's payload (about a kilobyte each) and the outbox every
    delivery's: the standard library's decoder was a tenth of a worker's time on a batch.
    Integers beyond 64 bits stay exact (alertsite.jsonexact) and whatever orjson refuses goes to
    Django's own decoding, so the values are the same. It reports itself as `models.JSONField`: no migration, same column.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if not isinstance(value, str) or self.decoder is not None or isinstance(expression, KeyTransform):
            return super().from_db_value(value, expression, connection)
        try:
            return json_loads_exact(value.encode())
        except orjson.JSONDecodeError:
            return super().from_db_value(value, expression, connection)

    def deconstruct(self) -> Any:
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs
