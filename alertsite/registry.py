"""A small typed registry shared by every pluggable kind (operators, transports)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._items: dict[str, T] = {}

    def register(self, key: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            self.add(key, item)
            return item

        return add

    def add(self, key: str, item: T) -> None:
        if key in self._items:
            raise ImproperlyConfigured(f"{self.name}: {key!r} registered twice")
        self._items[key] = item

    def get(self, key: str) -> T:
        try:
            return self._items[key]
        except KeyError:
            known = ", ".join(sorted(self._items))
            raise KeyError(f"unknown {self.name} {key!r}; known: {known}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def items(self) -> list[tuple[str, T]]:
        return list(self._items.items())

    def keys(self) -> list[str]:
        return list(self._items)

    def choices(self) -> list[tuple[str, str]]:
        return [(key, str(getattr(item, "label", key))) for key, item in self._items.items()]
