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
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async._base import companion
from pottery_async.exceptions import QueueEmptyError, WrongTypeError
from tests.faults import Staller, Tally, in_flight, queue_outcome, retry_policy, run_queue, settled
from tests.helpers import async_queue, entries, eventually, untyped
from tests.servers import Server, running

ITEMS = 3000


@pytest.fixture(scope='module')
def stalling() -> Iterator[Server]:
    'A server of its own, which takes DEBUG SLEEP and SIGSTOP without slowing the other tests.'
    with running('--enable-debug-command', 'yes') as server:
        yield server


@pytest.mark.parametrize('retries', ['retries', 'no-retries'])
@pytest.mark.parametrize('api', ['sync', 'async'])
@pytest.mark.parametrize('how', ['sleep', 'sigstop'])
def test_nothing_lost_or_duplicated_when_replies_are_late(
    stalling: Server, how: str, api: str, retries: str,
) -> None:
    url = stalling.url()
    key = f'faults-{how}-{api}-{retries}'
    probe = redis.Redis.from_url(url, socket_timeout=30)
    probe.delete(key, *(companion(key, name) for name in ('taken', 'due', 'seen')))
    tally = Tally()
    staller = Staller(stalling, how)
    try:
        run_queue(url, key, api, retry_policy(api, retries == 'retries'), ITEMS, tally)
    finally:
        staller.stop()
    # Releases that a stall pushed into the background end; then nothing
    # is in flight.
    assert settled(probe, key), probe.hgetall(companion(key, 'taken'))
    outcome = queue_outcome(probe, key, tally, ITEMS)
    probe.delete(key)
    report = f'{staller.stalls} stalls, errors {tally.errors}'
    assert staller.stalls >= 5, report
    # Nothing twice, nothing that was never put, every acknowledged put
    # arrived (an unacknowledged one at most once).
    assert outcome.duplicated == [], report
    assert outcome.strangers == [], report
    assert outcome.lost == [], report
    assert len(tally.acknowledged) + len(tally.unknown) == ITEMS
    if retries == 'no-retries':
        # The stalls did fail requests: the test exercised what it claims.
        assert tally.errors, report


def test_cancellation_storm_during_stalls(stalling: Server) -> None:
    # Every get cancelled after a few milliseconds, while the server stalls.
    url = stalling.url()
    key = 'faults-cancel-storm'
    probe = redis.Redis.from_url(url, socket_timeout=30)
    tally = Tally()
    staller = Staller(stalling, 'sleep', seed=2)
    try:
        run_queue(url, key, 'async', retry_policy('async', True), ITEMS, tally, cancel=True)
    finally:
        staller.stop()
    assert settled(probe, key)
    outcome = queue_outcome(probe, key, tally, ITEMS)
    probe.delete(key)
    assert outcome.sound, (outcome.duplicated, outcome.lost, outcome.strangers)
    assert len(outcome.delivered) + len(outcome.left) >= len(tally.acknowledged)


async def test_cancellation_storm_on_an_empty_queue(url: str, redis_client: redis.Redis) -> None:
    # A long socket timeout: nothing but the cancellation can end these gets.
    rng = random.Random(2)
    async with async_queue(url, 'storm', socket_timeout=5) as q:
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


async def test_cancellation_storm_while_items_flow(url: str, redis_client: redis.Redis) -> None:
    rng = random.Random(3)
    got: list[int] = []
    async with async_queue(url, 'storm-flow', socket_timeout=5) as q:
        async def produce() -> None:
            for i in range(600):
                await q.put(i)
                if i % 4 == 0:
                    await asyncio.sleep(rng.uniform(0, 0.003))

        producing = asyncio.ensure_future(produce())

        async def consume() -> None:
            while not producing.done() or await q.qsize():
                try:
                    got.append(untyped(await asyncio.wait_for(q.get(), rng.uniform(0, 0.004))))
                except TimeoutError:
                    pass

        await asyncio.wait_for(asyncio.gather(consume(), consume(), consume()), 60)
        await producing
        assert await asyncio.to_thread(eventually, lambda: in_flight(redis_client, 'storm-flow') == 0)
        left = [json.loads(fields[b'item']) for _, fields in entries(redis_client, 'storm-flow')]
        assert sorted(got + left) == list(range(600))


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
    assert [fields[b'item'] for _, fields in entries(redis_client, stream)] == [b'"b"']
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


# --- what a review found ---------------------------------------------------------


def test_request_ids_remembered_for_the_longest_client(stalling: Server) -> None:
    # A client with a short visibility timeout must not cut how long the
    # others' request ids are remembered (their retries would do their work
    # twice).
    url = stalling.url()
    patient = pottery_async.sync.RedisSimpleQueue(redis=url, key='memory')
    hasty = pottery_async.sync.RedisSimpleQueue(redis=url, key='memory', visibility_timeout=0.5)
    probe = redis.Redis.from_url(url)
    seen = companion('memory', 'seen')
    patient.put('a')
    assert probe.pttl(seen) > 55_000
    hasty.put('b')
    assert hasty.get() == 'a'
    assert probe.pttl(seen) > 55_000
    patient.clear()


async def test_cancellation_while_releasing_is_raised(stalling: Server) -> None:
    # The take times out (the server holds writes), the get() tries to
    # release it (held too), and is cancelled meanwhile: the cancellation
    # is what it raises, and the release goes on in the background.
    url = stalling.url()
    probe = redis.Redis.from_url(url)
    options = {'socket_timeout': 0.3, 'retry': retry_policy('async', False)}
    async with async_queue(url, 'cancel-release', **options) as q:
        await q.put('kept')
        probe.execute_command('CLIENT', 'PAUSE', 10_000, 'WRITE')  # type: ignore[no-untyped-call]
        try:
            getting = asyncio.ensure_future(q.get())
            await asyncio.sleep(0.6)  # past the take's timeout, inside the release's second
            assert not getting.done()
            getting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(getting), 2)
        finally:
            probe.execute_command('CLIENT', 'UNPAUSE')  # type: ignore[no-untyped-call]
        assert await asyncio.to_thread(settled, probe, 'cancel-release')
        assert await q.get(timeout=5) == 'kept'


def test_program_exit_gives_up_releases_with_a_log(
    stalling: Server, caplog: pytest.LogCaptureFixture,
) -> None:
    # asyncio.run() ends while a release waits for a paused server: it is
    # given up at once, and said so, instead of holding the exit up.
    url = stalling.url()
    probe = redis.Redis.from_url(url)
    probe.xadd('exit-release', {'item': '"kept"'})

    async def main() -> None:
        client = redis.asyncio.Redis.from_url(url, socket_timeout=0.3, retry=retry_policy('async', False))
        q = pottery_async.RedisSimpleQueue(redis=client, key='exit-release', visibility_timeout=1)
        stalling.pause()
        with pytest.raises((TimeoutError, redis.TimeoutError)):
            await q.get()
        await client.aclose()

    started = time.monotonic()
    try:
        asyncio.run(main())
        took = time.monotonic() - started
    finally:
        stalling.resume()
    assert took < 5
    assert 'could not release its take' in caplog.text
    # The take comes back after its deadline all the same.
    q = pottery_async.sync.RedisSimpleQueue(redis=url, key='exit-release')
    assert q.get(timeout=10) == 'kept'
    assert settled(probe, 'exit-release')
    q.clear()


def test_companion_of_the_wrong_type_is_named(stalling: Server) -> None:
    url = stalling.url()
    probe = redis.Redis.from_url(url)
    q = pottery_async.sync.RedisSimpleQueue(redis=url, key='typed')
    q.put('kept')
    probe.set(companion('typed', 'taken'), 'not a hash')
    with pytest.raises(WrongTypeError) as info:
        q.get()
    assert info.value.key == companion('typed', 'taken')
    assert 'hash' in str(info.value)
    assert [fields[b'item'] for _, fields in entries(probe, 'typed')] == [b'"kept"']
    q.clear()


def test_undecodable_item_is_put_back(stalling: Server) -> None:
    url = stalling.url()
    probe = redis.Redis.from_url(url)
    q = pottery_async.sync.RedisSimpleQueue(redis=url, key='garbled')
    probe.xadd('garbled', {'item': 'not JSON'})
    q.put('fine')
    with pytest.raises(ValueError, match='Expecting value'):
        q.get()
    # Back in the queue (at its end), not lost, not in flight.
    assert [fields[b'item'] for _, fields in entries(probe, 'garbled')] == [b'"fine"', b'not JSON']
    assert settled(probe, 'garbled')
    q.clear()


async def test_background_release_stops_at_a_refusal(
    url: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    # A release the server refuses (here a companion key of the wrong type)
    # is not retried for the minute request ids are remembered.
    client = redis.asyncio.Redis.from_url(url)
    q = pottery_async.RedisSimpleQueue(redis=client, key='refused-release')
    try:
        redis_client.set(companion('refused-release', 'seen'), 'not a sorted set')
        started = time.monotonic()
        await asyncio.wait_for(q._keep_releasing('some-take', None), 10)
        assert time.monotonic() - started < 2
        assert 'a release was refused' in caplog.text
        assert redis_client.get(companion('refused-release', 'seen')) == b'not a sorted set'
    finally:
        redis_client.delete(companion('refused-release', 'seen'))
        await client.aclose()
