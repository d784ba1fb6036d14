"""Pagination for tables too large to count on every page view."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Count at most COUNT_CAP + 1 rows: the admin shows pages up to there, never a full scan.

    `SELECT COUNT(*) FROM (... LIMIT 10001)` stops early on a big events table, where a
    plain COUNT(*) would read every row on each page view.
    """

    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk")[: COUNT_CAP + 1].count()
