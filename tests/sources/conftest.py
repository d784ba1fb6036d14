"""Fixtures for the sources' tests: a local stand-in of the vendor's Directory Insights API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sources.standin import VendorStandin


@pytest.fixture
def vendor_standin() -> Iterator[VendorStandin]:
    """A started ``VendorStandin`` (key "test-key", no events), closed after the test."""
    with VendorStandin() as standin:
        yield standin
