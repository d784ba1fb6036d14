"""The shared cache keeps one Redis client a process and still answers as Django's does."""

from __future__ import annotations

import os

import pytest
from django.core.cache import caches

from alertsite.rediscache import KeptRedisCache

REDIS = os.environ.get("CELERY_BROKER_URL", "")
pytestmark = pytest.mark.skipif(
    not REDIS.startswith("redis://"), reason="needs Redis (set CELERY_BROKER_URL=redis://...)"
)


@pytest.fixture
def cache() -> KeptRedisCache:
    store = KeptRedisCache(REDIS, {"KEY_PREFIX": "alertsite-test-kept"})
    yield store
    store.delete_many(["flag", "other"])


def test_calls_share_one_client(cache):
    assert cache._cache.get_client() is cache._cache.get_client(write=True)


def test_add_answers_once_until_deleted_as_the_wake_flag_needs(cache):
    assert cache.add("flag", 1, timeout=10) is True
    assert cache.add("flag", 1, timeout=10) is False
    cache.delete("flag")
    assert cache.add("flag", 1, timeout=10) is True


def test_the_configured_cache_is_the_kept_one():
    assert isinstance(caches["default"], KeptRedisCache)
