"""Reading ids out of text from the outside world (query strings, forms, headers)."""

from __future__ import annotations

from typing import Any

MAX_ID = 2**63 - 1  # a bigint


def id_or_none(value: Any) -> int | None:
    """The int a string of ASCII digits spells, when it fits a bigint; None for anything else.

    str.isdigit() alone accepts "²" and other Unicode digits that int() then rejects.
    """
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= MAX_ID else None
