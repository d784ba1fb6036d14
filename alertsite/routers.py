"""A DRF router whose routes answer with and without a trailing slash (api.md)."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


class OptionalSlashRouter(DefaultRouter):
    include_root_view = False

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
