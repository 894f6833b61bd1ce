"""Cancellation storms: a cancelled wait (lock, cache, NextID) returns at once and takes nothing later.

redis-py can swallow a cancellation (on Python 3.11 its sends go through
asyncio.wait_for); these run hundreds of short ``asyncio.wait_for`` calls on
clients with a long socket timeout, so that only the cancellation can end
each wait, and then check the servers: no lock taken, no value computed by a
cancelled caller.  The queue's storms are in test_queue_faults.py.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio

import pottery_async
from tests.helpers import lock_keys
from tests.servers import Server


async def storm(
    call: Callable[[], Awaitable[Any]], seed: int, sequential: int = 100, concurrent: int = 40,
) -> float:
    'Cancel ``call`` after a few random milliseconds, many times; the slowest return.'
    rng = random.Random(seed)

    async def cancelled() -> float:
        started = time.monotonic()
        try:
            await asyncio.wait_for(call(), rng.uniform(0, 0.005))
        except TimeoutError:
            pass
        return time.monotonic() - started

    slowest = max([await cancelled() for _ in range(sequential)])
    return max(slowest, *await asyncio.gather(*(cancelled() for _ in range(concurrent))))


async def test_lock_waiters_cancelled(five_servers: list[Server], masters: list[redis.Redis]) -> None:
    clients = [redis.asyncio.Redis.from_url(server.url(1), socket_timeout=5) for server in five_servers]
    try:
        holder = pottery_async.AIORedlock(key='stormy', masters=clients, auto_release_time=30)
        assert await holder.acquire()
        def waiter() -> Awaitable[bool]:
            return pottery_async.AIORedlock(key='stormy', masters=clients, auto_release_time=30).acquire()

        slowest = await storm(waiter, 1)
        assert slowest < 1.0
        await holder.release()
        # No cancelled waiter takes the lock once it is free.
        await asyncio.sleep(0.5)
        assert lock_keys(masters) == [[]] * 5
        assert await holder.locked_by_anyone() == 0
    finally:
        for client in clients:
            await client.aclose()


async def test_stampede_waiters_cancelled(url: str, redis_client: redis.Redis) -> None:
    client = redis.asyncio.Redis.from_url(url, socket_timeout=5)
    release, started = asyncio.Event(), asyncio.Event()

    @pottery_async.redis_cache(redis=client, key='stormy-cache', stampede_protection=True)
    async def slow(n: int) -> int:
        await client.incr('stormy-executions')
        started.set()
        await release.wait()
        return n * 2

    try:
        computing = asyncio.ensure_future(slow(21))
        await started.wait()
        slowest = await storm(lambda: slow(21), 2)
        assert slowest < 1.0
        release.set()
        assert await computing == 42
        # The cancelled waiters computed nothing, then or later.
        await asyncio.sleep(0.5)
        assert redis_client.get('stormy-executions') == b'1'
        assert await slow(21) == 42
        assert redis_client.get('stormy-executions') == b'1'
    finally:
        await slow.cache_clear()
        await client.aclose()


async def test_nextid_cancelled(five_servers: list[Server], masters: list[redis.Redis]) -> None:
    clients = [redis.asyncio.Redis.from_url(server.url(1), socket_timeout=5) for server in five_servers]
    try:
        ids = pottery_async.AIONextID(key='stormy-ids', masters=clients)
        slowest = await storm(ids.__anext__, 3)
        assert slowest < 1.0
        before = await anext(ids)
        await asyncio.sleep(0.3)
        # Strictly increasing after the storm (cancelled calls may have used
        # IDs up, never handed one out twice).
        assert await anext(ids) == before + 1
    finally:
        for client in clients:
            await client.aclose()
