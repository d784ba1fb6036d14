"""Alerts services. The alert lifecycle lands with the alerts issue; for now matches stop here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.models import RuleMatch


def matches_handle(*, matches: Sequence[RuleMatch]) -> None:
    """Turn new rule matches into alerts and notifications (filled in by the alerts issue)."""
