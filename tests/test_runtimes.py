"""The runtimes and thread bridges applications combine with the two APIs.

Starlette and FastAPI run on anyio: its cancel scopes cancel the async API's
waits, and its worker threads (``anyio.to_thread``, where FastAPI runs plain
``def`` endpoints) call the sync API.  Django's bridges are asgiref's
``async_to_sync`` and ``sync_to_async``.  Each test checks the state on the
server, not only the values returned.
"""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import Iterator

import anyio
import anyio.to_thread
import pytest
import redis
import redis.asyncio
from asgiref.sync import async_to_sync, sync_to_async

import pottery_async
import pottery_async.sync
from pottery_async.exceptions import BlockingBridgeWarning
from tests.helpers import HANG_GUARD


@pytest.fixture
def no_blocking_warning() -> Iterator[None]:
    'Fail on a BlockingBridgeWarning: none of these uses blocks a running loop.'
    with warnings.catch_warnings():
        warnings.simplefilter('error', BlockingBridgeWarning)
        yield


def test_anyio_cancel_scope_stops_a_lock_wait_and_leaves_the_holder_alone(
    url: str, redis_client: redis.Redis,
) -> None:
    async def main() -> tuple[bool, float]:
        client = redis.asyncio.Redis.from_url(url)
        try:
            holder = pottery_async.AIORedlock(key='scoped', masters={client})
            assert await holder.acquire()
            waiter = pottery_async.AIORedlock(key='scoped', masters={client})
            started = time.monotonic()
            with anyio.move_on_after(0.2) as scope:
                # Bounded, so that a wait deaf to the scope fails the test.
                await waiter.acquire(timeout=HANG_GUARD)
            waited = time.monotonic() - started
            held_by_holder = await holder.locked() > 0
            await holder.release()
            return scope.cancelled_caught and held_by_holder, waited
        finally:
            await client.aclose()

    stopped, waited = anyio.run(main, backend='asyncio')
    assert stopped
    assert waited < HANG_GUARD / 2
    assert redis_client.keys('redlock:*') == []


def test_anyio_fail_after_on_an_empty_queue_takes_nothing_later(
    url: str, redis_client: redis.Redis,
) -> None:
    async def main() -> object:
        client = redis.asyncio.Redis.from_url(url)
        try:
            q = await pottery_async.RedisSimpleQueue(redis=client, key='scoped-q')
            with pytest.raises(TimeoutError):
                with anyio.fail_after(0.2):
                    await q.get(timeout=HANG_GUARD)
            await q.put('after')
            # The cancelled get ended for good: the item waits for the next.
            await asyncio.sleep(0.2)
            assert await q.qsize() == 1
            return await q.get()
        finally:
            await client.aclose()

    assert anyio.run(main, backend='asyncio') == 'after'
    assert redis_client.xlen('scoped-q') == 0
    assert redis_client.hlen('scoped-q:taken{scoped-q}') == 0


def test_sync_api_from_anyio_worker_threads(
    url: str, redis_client: redis.Redis, no_blocking_warning: None,
) -> None:
    # What FastAPI does with a plain `def` endpoint: it runs in anyio's
    # thread pool while the event loop goes on.
    def increment() -> str:
        lock = pottery_async.sync.Redlock(key='threads', masters={redis.Redis.from_url(url)})
        counts = pottery_async.sync.RedisDict(redis=redis.Redis.from_url(url), key='threads-counts')
        with lock:
            count = counts.get('n', 0)
            assert isinstance(count, int)
            counts['n'] = count + 1
        return threading.current_thread().name

    async def main() -> set[str]:
        names: set[str] = set()

        async def one() -> None:
            names.add(await anyio.to_thread.run_sync(increment))

        async with anyio.create_task_group() as group:
            for _ in range(40):
                group.start_soon(one)
        return names

    threads = anyio.run(main, backend='asyncio')
    assert threading.current_thread().name not in threads
    assert redis_client.hget('threads-counts', '"n"') == b'40'
    assert redis_client.keys('redlock:*') == []


def test_asgiref_async_to_sync_runs_the_async_api(
    url: str, redis_client: redis.Redis, no_blocking_warning: None,
) -> None:
    # A Django view (sync) calling async code that uses the async API.
    async def record(value: int) -> int:
        client = redis.asyncio.Redis.from_url(url)
        try:
            d = await pottery_async.RedisDict(redis=client, key='django')
            async with pottery_async.AIORedlock(key='django', masters={client}):
                await d.setitem('last', value)
                return await d.len()
        finally:
            await client.aclose()

    assert async_to_sync(record)(7) == 1
    assert async_to_sync(record)(8) == 1
    assert redis_client.hget('django', '"last"') == b'8'  # JSON, as Pottery stores it
    assert redis_client.keys('redlock:*') == []


def test_asgiref_sync_to_async_runs_the_sync_api(
    url: str, redis_client: redis.Redis, no_blocking_warning: None,
) -> None:
    # An async Django view calling sync code (an ORM-style helper) that uses
    # the sync API, in asgiref's worker threads, many at once.
    def push(value: int) -> None:
        lst = pottery_async.sync.RedisList(redis=redis.Redis.from_url(url), key='django-list')
        lst.append(value)

    async def main() -> None:
        await asyncio.gather(*(sync_to_async(push, thread_sensitive=False)(i) for i in range(20)))
        # thread_sensitive (the default): one shared thread, one after the other.
        for i in range(20, 25):
            await sync_to_async(push)(i)

    asyncio.run(main())
    stored = sorted(int(item) for item in redis_client.lrange('django-list', 0, -1))
    assert stored == list(range(25))
