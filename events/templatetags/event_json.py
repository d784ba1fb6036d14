from __future__ import annotations

import orjson
from django import template

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    """Indented JSON (autoescaped by the template like any string)."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
