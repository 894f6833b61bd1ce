"""The async API's multiplexed connection: many tasks, one connection, replies never crossed.

Each test runs against the private server with an application client made
the way a service makes it, and checks what the server saw (connections
open, data written) besides what the tasks got back.
"""

from __future__ import annotations

import asyncio
import random
import time
import warnings
from collections.abc import AsyncIterator

import pytest
import redis
import redis.asyncio
import redis.asyncio.retry
import redis.backoff

import pottery_async
import pottery_async.sync
from pottery_async import CommandTimeoutError, RedisDict, RedisList
from tests.helpers import HANG_GUARD, eventually, named_connections, paused, unique
from tests.servers import Server, running

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')

@pytest.fixture
async def app(url: str) -> AsyncIterator[redis.asyncio.Redis]:
    'An application client with a small (non-blocking) pool and a name the server shows.'
    client = redis.asyncio.Redis.from_url(url, max_connections=8, client_name=unique('app'))
    yield client
    await client.aclose()


def name_of(client: redis.asyncio.Redis) -> str:
    name = client.connection_pool.connection_kwargs['client_name']
    assert isinstance(name, str)
    return name


async def test_a_thousand_tasks_share_one_connection(
    app: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    d = await RedisDict({f'k{i}': i for i in range(100)}, redis=app, key='many')

    async def read_and_write(i: int) -> int:
        value = await d.getitem(f'k{i % 100}')
        await d.setitem(f'new{i}', i)
        assert isinstance(value, int)
        return value

    results = await asyncio.gather(*(read_and_write(i) for i in range(1000)))
    assert results == [i % 100 for i in range(1000)]
    assert len(redis_client.hkeys('many')) == 1100
    # A pool of 8 would have raised MaxConnectionsError for a thousand
    # tasks: they all went through one connection.
    assert len(named_connections(redis_client, name_of(app))) == 1


async def test_cancelled_requests_leave_later_replies_in_step(app: redis.asyncio.Redis) -> None:
    d = await RedisDict({f'k{i}': i for i in range(200)}, redis=app, key='cancelled')
    rng = random.Random(7)

    async def read(i: int) -> int:
        value = await d.getitem(f'k{i}')
        assert isinstance(value, int)
        return value

    tasks = [asyncio.ensure_future(read(i)) for i in range(200)]
    await asyncio.sleep(0)
    for task in rng.sample(tasks, 100):
        task.cancel()
    await asyncio.sleep(rng.random() / 1000)
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    answered = [(i, got) for i, got in enumerate(outcomes) if not isinstance(got, BaseException)]
    assert all(isinstance(got, asyncio.CancelledError) for got in outcomes if isinstance(got, BaseException))
    assert answered
    assert all(i == got for i, got in answered)
    # Cancelled at every stage of their trip, then more requests: each
    # still gets its own reply.
    for round_ in range(20):
        tasks = [asyncio.ensure_future(read(i)) for i in range(50)]
        for _ in range(round_ % 4):
            await asyncio.sleep(0)
        for task in tasks[::3]:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(got == i for i, got in enumerate(outcomes) if not isinstance(got, BaseException))
    assert [await read(i) for i in range(5)] == [0, 1, 2, 3, 4]


async def test_broken_connection_fails_writes_and_retries_reads(
    app: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    d = await RedisDict({'old': 1}, redis=app, key='broken')
    name = name_of(app)
    await d.getitem('old')  # connected
    redis_client.execute_command('CLIENT', 'PAUSE', 2000, 'WRITE')  # type: ignore[no-untyped-call]
    try:
        # The write waits in the server; the read behind it on the same
        # connection too.
        write = asyncio.ensure_future(d.setitem('new', 2))
        read = asyncio.ensure_future(d.getitem('old'))
        assert await asyncio.to_thread(eventually, lambda: any(
            c['cmd'] == 'hset' for c in named_connections(redis_client, name)
        ))
        (connection,) = named_connections(redis_client, name)
        redis_client.client_kill_filter(_id=connection['id'])
        with pytest.raises(redis.ConnectionError):
            await write
        # A read is sent again on a new connection.
        assert await read == 1
    finally:
        redis_client.execute_command('CLIENT', 'UNPAUSE')  # type: ignore[no-untyped-call]
    # The write was not sent again: it might have run.
    assert redis_client.hkeys('broken') == [b'"old"']
    await d.setitem('new', 3)
    assert redis_client.hget('broken', '"new"') == b'3'


async def test_hung_server_times_out_every_request_and_recovers(url: str, server: Server) -> None:
    app = redis.asyncio.Redis.from_url(url, socket_timeout=0.3)
    d = await RedisDict({'a': 1}, redis=app, key='hung')
    try:
        with paused([server]):
            start = time.monotonic()
            outcomes = await asyncio.gather(*(d.getitem('a') for _ in range(50)), return_exceptions=True)
            took = time.monotonic() - start
        assert all(isinstance(got, CommandTimeoutError) for got in outcomes), outcomes
        assert took < HANG_GUARD
        # Through the same objects, once the server answers again.
        assert await d.getitem('a') == 1
        await d.setitem('b', 2)
        assert await d.len() == 2
    finally:
        await app.aclose()


async def test_closing_the_client_closes_the_connection(url: str, redis_client: redis.Redis) -> None:
    name = unique('closed')
    app = redis.asyncio.Redis.from_url(url, client_name=name)
    items = await RedisList([1, 2, 3], redis=app, key='closing')
    assert await items.len() == 3
    with warnings.catch_warnings():
        warnings.simplefilter('error', ResourceWarning)
        await app.aclose()
        assert eventually(lambda: not named_connections(redis_client, name))
        # Used again, it connects again, as a redis.asyncio client does.
        assert await items.len() == 3
        await app.aclose()
    assert eventually(lambda: not named_connections(redis_client, name))


async def test_a_pool_of_one_is_left_to_the_application(url: str, redis_client: redis.Redis) -> None:
    name = unique('single')
    app = redis.asyncio.Redis.from_pool(redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=1, timeout=HANG_GUARD, client_name=name,
    ))
    try:
        d = await RedisDict({'a': 1}, redis=app, key='one')
        # The application's own command and a pipeline still get the
        # connection between the container's commands.
        pipeline = app.pipeline()
        pipeline.ping()
        results = await asyncio.gather(d.getitem('a'), app.ping(), d.len(), pipeline.execute())
        assert list(results) == [1, True, 1, [True]]
        assert len(named_connections(redis_client, name)) == 1
    finally:
        await app.aclose()


async def test_without_multiplexing_each_task_takes_a_pool_connection(
    app: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    pottery_async.multiplexing(app, False)
    d = await RedisDict({'a': 1}, redis=app, key='plain')
    outcomes = await asyncio.gather(*(d.getitem('a') for _ in range(100)), return_exceptions=True)
    failed = [got for got in outcomes if isinstance(got, BaseException)]
    # redis-py's pool of 8 refuses the ninth concurrent command.
    assert failed
    assert all(isinstance(error, redis.ConnectionError) for error in failed)
    assert len(named_connections(redis_client, name_of(app))) == 8
    pottery_async.multiplexing(app)
    assert await asyncio.gather(*(d.getitem('a') for _ in range(100))) == [1] * 100


async def test_settings_of_the_application_client_are_kept(url: str) -> None:
    app = redis.asyncio.Redis.from_url(url, protocol=3, decode_responses=True)
    try:
        d = await RedisDict({'a': [1, 'x']}, redis=app, key='resp3')
        assert await asyncio.gather(d.getitem('a'), d.len(), d.contains('b')) == [[1, 'x'], 1, False]
        assert [key async for key in d] == ['a']
    finally:
        await app.aclose()


def test_multiplexing_takes_an_async_client(redis_client: redis.Redis) -> None:
    with pytest.raises(TypeError, match=r'multiplexing\(\) takes a redis.asyncio.Redis, not Redis'):
        pottery_async.multiplexing(redis_client)  # type: ignore[arg-type]
    assert not hasattr(pottery_async.sync, 'multiplexing')


async def test_kills_under_load_never_hang_nor_send_a_write_twice(
    app: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    # The server kills the multiplexed connection at random moments while
    # 200 tasks append: each append either raises ConnectionError or is
    # stored once, and nothing hangs (a reconnection that finished a turn
    # before its bookkeeping once made requests spin, freezing the loop).
    items = RedisList(redis=app, key='killed')
    name = name_of(app)
    rng = random.Random(11)
    stop = asyncio.Event()

    def kill() -> None:
        for connection in named_connections(redis_client, name):
            redis_client.client_kill_filter(_id=connection['id'])

    async def killer() -> None:
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(0.005, 0.03))
            await asyncio.to_thread(kill)

    killing = asyncio.ensure_future(killer())
    acknowledged: set[bytes] = set()
    try:
        for round_ in range(8):
            values = [f'{round_}-{i}' for i in range(200)]
            outcomes = await asyncio.wait_for(asyncio.gather(
                *(items.append(value) for value in values), return_exceptions=True,
            ), HANG_GUARD)
            assert all(got is None or isinstance(got, redis.ConnectionError) for got in outcomes), outcomes
            acknowledged |= {
                f'"{value}"'.encode() for value, got in zip(values, outcomes, strict=True) if got is None
            }
    finally:
        stop.set()
        await killing
    stored = redis_client.lrange('killed', 0, -1)
    # Every acknowledged append is there, once; one that raised may have run, once.
    assert len(stored) == len(set(stored))
    assert acknowledged <= set(stored)


async def test_turned_off_in_flight_the_pool_keeps_its_settings(url: str) -> None:
    app = redis.asyncio.Redis.from_url(url, socket_timeout=1)
    try:
        d = await RedisDict({'a': 1}, redis=app, key='toggled')
        # Fewer than the pool's 100 connections: those sent again go there.
        reads = [asyncio.ensure_future(d.getitem('a')) for _ in range(60)]
        await asyncio.sleep(0)
        pottery_async.multiplexing(app, False)
        # Answered by the old connection, or sent again through the pool.
        assert await asyncio.wait_for(asyncio.gather(*reads), HANG_GUARD) == [1] * 60
        await asyncio.sleep(0.1)
        pool = app.connection_pool
        connections = [*pool._available_connections, *pool._in_use_connections]
        assert connections
        assert all(c.socket_timeout == 1 for c in connections)
        # The application's own commands still use the pool as they did.
        assert await app.hlen('toggled') == 1
    finally:
        await app.aclose()


async def test_a_burst_of_large_replies_is_not_timed_out_by_its_queue(url: str) -> None:
    # Each reply has socket_timeout from when the one before it is read,
    # as each read of a pooled connection has: 300 replies of 100 kB, all
    # asked at once, are not late because they queued.
    app = redis.asyncio.Redis.from_url(url, socket_timeout=0.25)
    try:
        big = 'x' * 100_000
        d = await RedisDict({'big': big}, redis=app, key='burst')
        replies = await asyncio.gather(*(d.getitem('big') for _ in range(300)))
        assert replies == [big] * 300
    finally:
        await app.aclose()


async def test_a_read_fails_after_one_retry_policy_when_the_server_is_gone() -> None:
    with running() as gone:
        app = redis.asyncio.Redis.from_url(gone.url(1), retry=redis.asyncio.retry.Retry(
            redis.backoff.ConstantBackoff(0.2), 3,
        ))
        d = await RedisDict({'a': 1}, redis=app, key='gone')
        assert await d.getitem('a') == 1
    try:
        start = time.monotonic()
        with pytest.raises(redis.ConnectionError):
            await d.getitem('a')
        # One connect with its retries (4 tries, 3 pauses of 0.2 s), not
        # one per retry of the read on top.
        assert time.monotonic() - start < 2.0
    finally:
        await app.aclose()
