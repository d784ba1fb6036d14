"""Names that identify a configured object (a channel, a source): required, bounded, unique
whatever their case, as the console lists and scripts look them up by name."""

from __future__ import annotations

from typing import Any

from django.db.models import Model


def unique_name_check(
    model: type[Model], raw: Any, *, instance: Model | None, noun: str, max_length: int
) -> tuple[Any, str | None]:
    """The name with its spaces trimmed, and the message saying what is wrong with it (or None)."""
    if not isinstance(raw, str) or not raw.strip():
        return raw, "This field is required."
    name = raw.strip()
    if len(name) > max_length:
        return name, f"At most {max_length} characters."
    clash = model._default_manager.filter(name__iexact=name)
    if instance is not None:
        clash = clash.exclude(pk=instance.pk)
    if clash.exists():
        return name, f"A {noun} named {name!r} already exists."
    return name, None
