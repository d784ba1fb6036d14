"""The one shape of "these fields are wrong": path of each bad field -> message."""

from __future__ import annotations


class FieldErrors(ValueError):
    """Validation problems: `errors` maps each bad field's path (`conditions[0].filters[2].operator`) to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors.items()))
        self.errors = errors
