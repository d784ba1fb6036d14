"""Django's Redis cache with one client object a process instead of one a call.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` for every cache call (the
connection pool is shared, but each client builds its table of ~170 response callbacks): about
half a millisecond of CPU, paid by every request that wakes the evaluation drain and by every
drain (alertsite.wakeups). A `redis.Redis` is safe to share between threads, and its pool
notices a fork and starts afresh, so one per pool is kept.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class KeptRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class KeptRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache` with `KeptRedisCacheClient`."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = KeptRedisCacheClient
