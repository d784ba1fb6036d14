"""What alert services refuse, and the one check of remarks and notes."""

from __future__ import annotations

from typing import Any

MAX_NOTE_LENGTH = 4000


class AlertError(Exception):
    """A move or change that the alert's state does not allow (the API answers 409)."""


class InvalidTransition(AlertError):
    pass


class AlertInputError(ValueError):
    """Bad input for an alert change (the API answers 400 naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def note_checked(text: Any, *, required: bool) -> str:
    """A remark (optional) or a note (`required`): text, stripped, at most MAX_NOTE_LENGTH characters."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise AlertInputError("note", "Must be text.")
    text = text.strip()
    if required and not text:
        raise AlertInputError("text", "A note needs some text.")
    if len(text) > MAX_NOTE_LENGTH:
        raise AlertInputError("note" if not required else "text", f"At most {MAX_NOTE_LENGTH} characters.")
    return text
