"""RedisSimpleQueue when replies are late or lost: nothing lost, nothing delivered twice.

A producer and a consumer with a short socket timeout run while the server
stalls at random (``DEBUG SLEEP``, or SIGSTOP and SIGCONT), with redis-py
retrying timed-out commands or not, through both APIs.  Afterwards the
items are counted on the server: every item whose put() returned was got
exactly once or is still queued, none was got twice, and nothing is left in
flight.  Cancellation storms check that a cancelled get() returns at once
and takes nothing afterwards.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.retry
import redis.backoff
import redis.retry

import pottery_async
import pottery_async.sync
from pottery_async._base import companion
from pottery_async.exceptions import QueueEmptyError
from tests.helpers import NO_RETRY, eventually
from tests.servers import Server, running

ITEMS = 3000

# Short enough that every stall makes requests time out.
SOCKET_TIMEOUT = 0.05


@pytest.fixture(scope='module')
def stalling() -> Iterator[Server]:
    'A server of its own, which takes DEBUG SLEEP and SIGSTOP without slowing the other tests.'
    with running('--enable-debug-command', 'yes') as server:
        yield server


class Staller:
    """Stalls the server at random moments until stopped: DEBUG SLEEP 0.08, or SIGSTOP for 0.08 s."""

    def __init__(self, server: Server, how: str) -> None:
        self.server, self.how = server, how
        self.stalls = 0
        self.done = threading.Event()
        self.control = redis.Redis.from_url(server.url(), socket_timeout=10)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        rng = random.Random(1)
        while not self.done.wait(rng.uniform(0.1, 0.4)):
            if self.how == 'sleep':
                self.control.execute_command('DEBUG', 'SLEEP', 0.08)
            else:
                self.server.pause()
                time.sleep(0.08)
                self.server.resume()
            self.stalls += 1

    def stop(self) -> None:
        self.done.set()
        self.thread.join(30)
        self.server.resume()
        self.control.close()


def fast_retry(api: str) -> Any:
    'Three retries, 10 ms apart: what redis-py does by default, without its long back-off.'
    module = redis.asyncio.retry if api == 'async' else redis.retry
    return module.Retry(redis.backoff.ConstantBackoff(0.01), 3)


def no_retry(api: str) -> Any:
    if api == 'async':
        return redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0)
    return NO_RETRY


class Tally:
    'What the producer and the consumer saw.'

    def __init__(self) -> None:
        self.acknowledged: list[int] = []
        self.unknown: list[int] = []
        self.got: list[int] = []
        self.errors: dict[str, int] = {}

    def error(self, error: BaseException) -> None:
        name = type(error).__name__
        self.errors[name] = self.errors.get(name, 0) + 1


def run_sync(url: str, key: str, retry: Any, tally: Tally) -> None:
    producer_client = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, retry=retry)
    consumer_client = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, retry=retry)
    producer = pottery_async.sync.RedisSimpleQueue(redis=producer_client, key=key, visibility_timeout=2)
    consumer = pottery_async.sync.RedisSimpleQueue(redis=consumer_client, key=key, visibility_timeout=2)

    def produce() -> None:
        for i in range(ITEMS):
            try:
                producer.put(i)
                tally.acknowledged.append(i)
            except (redis.RedisError, TimeoutError) as error:
                tally.unknown.append(i)
                tally.error(error)

    thread = threading.Thread(target=produce)
    thread.start()
    consume(lambda: consumer.get(timeout=0.5), thread.is_alive, tally)
    thread.join()
    producer_client.close()
    consumer_client.close()


def consume(get: Callable[[], Any], producing: Callable[[], bool], tally: Tally) -> None:
    'Get until the producer is done and nothing came for a while.'
    quiet = 0
    while producing() or quiet < 3:
        try:
            tally.got.append(get())
            quiet = 0
        except QueueEmptyError:
            quiet += 0 if producing() else 1
        except (redis.RedisError, TimeoutError) as error:
            tally.error(error)


async def run_async(url: str, key: str, retry: Any, tally: Tally) -> None:
    producer_client = redis.asyncio.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, retry=retry)
    consumer_client = redis.asyncio.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, retry=retry)
    producer = pottery_async.RedisSimpleQueue(redis=producer_client, key=key, visibility_timeout=2)
    consumer = pottery_async.RedisSimpleQueue(redis=consumer_client, key=key, visibility_timeout=2)

    async def produce() -> None:
        for i in range(ITEMS):
            try:
                await producer.put(i)
                tally.acknowledged.append(i)
            except (redis.RedisError, TimeoutError) as error:
                tally.unknown.append(i)
                tally.error(error)

    producing = asyncio.ensure_future(produce())
    quiet = 0
    while not producing.done() or quiet < 3:
        try:
            tally.got.append(await consumer.get(timeout=0.5))
            quiet = 0
        except QueueEmptyError:
            quiet += 0 if not producing.done() else 1
        except (redis.RedisError, TimeoutError) as error:
            tally.error(error)
    await producing
    await producer_client.aclose()
    await consumer_client.aclose()


def in_flight(probe: redis.Redis, key: str) -> int:
    return int(probe.hlen(companion(key, 'taken'))) + int(probe.zcard(companion(key, 'due')))


@pytest.mark.parametrize('retries', ['retries', 'no-retries'])
@pytest.mark.parametrize('api', ['sync', 'async'])
@pytest.mark.parametrize('how', ['sleep', 'sigstop'])
def test_nothing_lost_or_duplicated_when_replies_are_late(
    stalling: Server, how: str, api: str, retries: str,
) -> None:
    url = stalling.url()
    key = f'faults-{how}-{api}-{retries}'
    retry = fast_retry(api) if retries == 'retries' else no_retry(api)
    probe = redis.Redis.from_url(url, socket_timeout=30)
    probe.delete(key, *(companion(key, name) for name in ('taken', 'due', 'seen')))
    tally = Tally()
    staller = Staller(stalling, how)
    try:
        if api == 'sync':
            run_sync(url, key, retry, tally)
        else:
            asyncio.run(run_async(url, key, retry, tally))
    finally:
        staller.stop()
    # Releases that a stall pushed into the background, and takes whose
    # process... (none here) come back; then nothing is in flight.
    assert eventually(lambda: in_flight(probe, key) == 0, within=30), (
        probe.hgetall(companion(key, 'taken'))
    )
    left = [json.loads(fields[b'item']) for _, fields in probe.xrange(key)]
    probe.delete(key)
    report = f'{staller.stalls} stalls, errors {tally.errors}'
    assert staller.stalls >= 5, report
    got = tally.got + left
    # Nothing twice, and nothing that was never put.
    assert len(got) == len(set(got)), report
    assert set(got) <= set(range(ITEMS)), report
    # Every acknowledged put arrived; an unacknowledged one at most once.
    assert set(tally.acknowledged) <= set(got), (report, sorted(set(tally.acknowledged) - set(got))[:10])
    assert len(tally.acknowledged) + len(tally.unknown) == ITEMS
    if retries == 'no-retries':
        # The stalls did fail requests: the test exercised what it claims.
        assert tally.errors, report


async def test_cancellation_storm_on_an_empty_queue(url: str, redis_client: redis.Redis) -> None:
    # A long socket timeout: nothing but the cancellation can end these gets.
    client = redis.asyncio.Redis.from_url(url, socket_timeout=5)
    q = pottery_async.RedisSimpleQueue(redis=client, key='storm')
    rng = random.Random(2)
    try:
        async def cancelled_get() -> float:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(q.get(), rng.uniform(0, 0.005))
            return time.monotonic() - started

        slowest = max([await cancelled_get() for _ in range(150)])
        # Concurrent ones, fewer than the pool's 100 connections: each
        # waiting get() holds one.
        slowest = max(slowest, *await asyncio.gather(*(cancelled_get() for _ in range(60))))
        # Each returned at once: none waited out a blocking read.
        assert slowest < 1.0
        # None of them takes anything afterwards.
        await q.put('kept')
        await asyncio.sleep(0.5)
        assert redis_client.xlen('storm') == 1
        assert in_flight(redis_client, 'storm') == 0
        assert await q.get() == 'kept'
    finally:
        await q.clear()
        await client.aclose()


async def test_cancellation_storm_while_items_flow(url: str, redis_client: redis.Redis) -> None:
    client = redis.asyncio.Redis.from_url(url, socket_timeout=5)
    q = pottery_async.RedisSimpleQueue(redis=client, key='storm-flow')
    rng = random.Random(3)
    got: list[int] = []
    try:
        async def produce() -> None:
            for i in range(600):
                await q.put(i)
                if i % 4 == 0:
                    await asyncio.sleep(rng.uniform(0, 0.003))

        producing = asyncio.ensure_future(produce())

        async def consume() -> None:
            while not producing.done() or await q.qsize():
                try:
                    got.append(await asyncio.wait_for(q.get(), rng.uniform(0, 0.004)))
                except TimeoutError:
                    pass

        await asyncio.wait_for(asyncio.gather(consume(), consume(), consume()), 60)
        await producing
        assert await asyncio.to_thread(eventually, lambda: in_flight(redis_client, 'storm-flow') == 0)
        left = [json.loads(fields[b'item']) for _, fields in redis_client.xrange('storm-flow')]
        assert sorted(got + left) == list(range(600))
    finally:
        await q.clear()
        await client.aclose()


def test_unconfirmed_take_comes_back_after_the_visibility_timeout(
    url: str, redis_client: redis.Redis,
) -> None:
    # A consumer that died between taking and confirming: its take is
    # parked, invisible, until its deadline; then the next get() has it,
    # before the stream's head.
    from pottery_async import queue as core

    q = pottery_async.sync.RedisSimpleQueue(redis=url, key='orphan', visibility_timeout=0.5)
    q.put('first')
    q.put('second')
    keys = q._core._all_keys()
    taken = redis_client.eval(core._TAKE.source, 4, *keys, 'dead-consumer', 500)
    assert json.loads(taken) == 'first'
    assert redis_client.xlen('orphan') == 1
    assert redis_client.hlen(keys[1]) == 1
    assert q.qsize() == 1
    assert q.get() == 'second'
    assert q.qsize() == 0
    started = time.monotonic()
    # Not there yet; a waiting get() has it once its deadline passes.
    assert q.get(timeout=5) == 'first'
    assert 0.2 < time.monotonic() - started < 3
    assert in_flight(redis_client, 'orphan') == 0
    # The dead consumer's confirm, had it come, would find the item gone.
    confirmed = redis_client.eval(core._CONFIRM.source, 3, *keys[1:], 'dead-consumer', 1000)
    assert confirmed == 0
    q.clear()
    assert not redis_client.exists(*keys)


def test_retried_requests_do_their_work_once(url: str, redis_client: redis.Redis) -> None:
    # What redis-py's retry policy does after a lost reply, done by hand:
    # the same request sent again.
    from pottery_async import queue as core

    q = pottery_async.sync.RedisSimpleQueue(redis=url, key='retried')
    stream, taken, due, seen = q._core._all_keys()

    def run(script: Any, keys: list[str], *args: Any) -> Any:
        return redis_client.eval(script.source, len(keys), *keys, *args)

    assert run(core._PUT, [stream, seen], 'put-1', 60_000, '"a"') == 1
    assert run(core._PUT, [stream, seen], 'put-1', 60_000, '"a"') == 0
    assert run(core._PUT, [stream, seen], 'put-2', 60_000, '"b"') == 1
    assert redis_client.xlen(stream) == 2
    assert run(core._TAKE, [stream, taken, due, seen], 'take-1', 30_000) == b'"a"'
    assert run(core._TAKE, [stream, taken, due, seen], 'take-1', 30_000) == b'"a"'
    assert redis_client.xlen(stream) == 1
    assert run(core._CONFIRM, [taken, due, seen], 'take-1', 60_000) == 1
    assert run(core._CONFIRM, [taken, due, seen], 'take-1', 60_000) == 1
    assert in_flight(redis_client, 'retried') == 0
    # A take released before its copy arrived: the copy takes nothing.
    assert run(core._RELEASE, [stream, taken, due, seen], 'take-2', 60_000, '0', '') == 0
    assert run(core._TAKE, [stream, taken, due, seen], 'take-2', 30_000) == -1
    assert redis_client.xlen(stream) == 1
    # A take released after it ran: its item goes back, once.
    assert run(core._TAKE, [stream, taken, due, seen], 'take-3', 30_000) == b'"b"'
    assert run(core._RELEASE, [stream, taken, due, seen], 'take-3', 60_000, '1', '"b"') == 1
    assert run(core._RELEASE, [stream, taken, due, seen], 'take-3', 60_000, '1', '"b"') == 0
    assert run(core._CONFIRM, [taken, due, seen], 'take-3', 60_000) == 0
    assert [fields[b'item'] for _, fields in redis_client.xrange(stream)] == [b'"b"']
    # A confirmed take whose confirm's reply was lost, released by a get()
    # that gave up: the item it holds goes back.
    assert run(core._TAKE, [stream, taken, due, seen], 'take-4', 30_000) == b'"b"'
    assert run(core._CONFIRM, [taken, due, seen], 'take-4', 60_000) == 1
    assert run(core._RELEASE, [stream, taken, due, seen], 'take-4', 60_000, '1', '"b"') == 1
    assert q.get_nowait() == 'b'
    assert q.qsize() == 0
    # Request ids are forgotten after their memory: the set expires.
    assert 0 < redis_client.pttl(seen) <= 60_000
    q.clear()
    assert not redis_client.exists(stream, taken, due, seen)


@pytest.mark.parametrize('timeout', [float('nan'), -1, -0.001])
def test_bad_timeouts_raise_like_simplequeue(url: str, redis_client: redis.Redis, timeout: float) -> None:
    q = pottery_async.sync.RedisSimpleQueue(redis=url, key='timeouts')
    q.put('kept')
    with pytest.raises(ValueError, match=r'NaN|non-negative'):
        q.get(timeout=timeout)
    # Not blocking: the timeout is ignored, as queue.SimpleQueue ignores it.
    assert q.get(False, timeout) == 'kept'
    with pytest.raises(QueueEmptyError):
        q.get(False, timeout)
    q.put('kept')
    with pytest.raises(ValueError, match=r'NaN|non-negative'):
        q.get(True, timeout)
    assert redis_client.xlen('timeouts') == 1
    q.clear()


@pytest.mark.parametrize('value', [0, -1, float('nan'), float('inf'), '1', True, None])
def test_bad_visibility_timeouts(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        pottery_async.RedisSimpleQueue(key='q', visibility_timeout=value)
