"""Reading values out of an event by dotted key.

A key is a dotted path (`initiated_by.email`). Arrays met on the way, or at the end, are
flattened, so `changes.field` yields the `field` of every element and a filter matches
when any value matches. A missing key yields no values at all; a present `null` yields
`None`. This one rule serves field filters, expressions and the engine's value index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Path = tuple[str, ...]


def path_parse(key: str) -> Path:
    return tuple(key.split("."))


def values_at(event: Any, path: Path) -> list[Any]:
    """Every value reachable at `path` (never a list: arrays are flattened). Empty when missing."""
    nodes: list[Any] = [event]
    for part in path:
        found: list[Any] = []
        for node in nodes:
            if type(node) is dict and part in node:
                value = node[part]
                if type(value) is list:
                    _flatten_into(value, found)
                else:
                    found.append(value)
        if not found:
            return found
        nodes = found
    return nodes


def values_reader(path: Path) -> Callable[[Any], Sequence[Any]]:
    """`values_at` bound to one path, with the common one- and two-segment scalar lookups inlined.

    The rule engine reads the same few paths millions of times; arrays fall back to `values_at`.
    """
    if len(path) == 1:
        (first,) = path

        def read_one(event: Any) -> Sequence[Any]:
            if type(event) is not dict or first not in event:
                return ()
            value = event[first]
            return values_at(event, path) if type(value) is list else (value,)

        return read_one
    if len(path) == 2:
        first, second = path

        def read_two(event: Any) -> Sequence[Any]:
            node = event.get(first) if type(event) is dict else None
            if type(node) is not dict or second not in node:
                return values_at(event, path) if type(node) is list else ()
            value = node[second]
            return values_at(event, path) if type(value) is list else (value,)

        return read_two
    return lambda event: values_at(event, path)


def _flatten_into(items: list[Any], out: list[Any]) -> None:
    for item in items:
        if type(item) is list:
            _flatten_into(item, out)
        else:
            out.append(item)


def change_entries(event: Any, field: str) -> list[dict[str, Any]]:
    """The `changes[]` entries of the event that name `field` (case-insensitive)."""
    changes = event.get("changes") if type(event) is dict else None
    if type(changes) is not list:
        return []
    wanted = field.lower()
    return [
        entry
        for entry in changes
        if type(entry) is dict and type(entry.get("field")) is str and entry["field"].lower() == wanted
    ]
