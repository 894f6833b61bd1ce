"""RedisSimpleQueue through both APIs, against a real server.

Besides the API, these tests pin what the queue promises: a waiting get()
is woken by the server (no polling), waits longer than the client's socket
timeout in slices, never loses an item when it is cancelled or interrupted,
and serves many producer and consumer processes in FIFO order.  They check
the server's side (XLEN, entries, command statistics, MONITOR), not only
return values.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async import _bridge
from pottery_async._base import companion
from pottery_async.exceptions import PotteryError, QueueEmptyError
from pottery_async.sync import RedisSimpleQueue
from tests import helpers
from tests.faults import in_flight
from tests.helpers import (
    Background,
    Upper,
    async_queue,
    blocked_clients,
    entries,
    nodes_of,
    read_line,
    reaped,
    run_script,
    untyped,
)
from tests.servers import Cluster, Server

# --- helpers ----------------------------------------------------------------


def eventually(condition: Callable[[], bool], within: float = 20.0) -> bool:
    'helpers.eventually, polling more often and for longer.'
    return helpers.eventually(condition, within, interval=0.01)


def calls(probe: redis.Redis, command: str) -> int:
    'How many times the server has run ``command`` (INFO commandstats).'
    stats: dict[str, Any] = probe.info('commandstats')
    return int(stats.get(f'cmdstat_{command}', {}).get('calls', 0))


def items(probe: redis.Redis, key: str) -> list[Any]:
    'The decoded items on the server, front first.'
    return [json.loads(fields[b'item']) for _, fields in entries(probe, key)]


@contextlib.contextmanager
def monitored(url: str) -> Iterator[list[list[str]]]:
    'The commands the server runs meanwhile, as MONITOR reports them.'
    seen: list[list[str]] = []
    client = redis.Redis.from_url(url)
    monitor = client.monitor()  # type: ignore[no-untyped-call]
    monitor.__enter__()
    marker = f'end-of-monitor-{id(seen)}'

    def read() -> None:
        while True:
            command = monitor.next_command()['command']
            if marker in command:
                return
            seen.append(command.split())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # MONITOR is on once it reports a command of ours.
    probe = redis.Redis.from_url(url)
    try:
        probe.echo('monitor-probe')
        assert eventually(lambda: any('monitor-probe' in ' '.join(c) for c in seen))
        seen.clear()
        yield seen
    finally:
        probe.echo(marker)
        reader.join(10)
        monitor.__exit__(None, None, None)
        probe.close()
        client.close()


def xread_blocks(commands: list[list[str]]) -> list[int]:
    'The BLOCK argument of each XREAD in a MONITOR log.'
    blocks = []
    for command in commands:
        words = [w.strip('"').upper() for w in command]
        if words and words[0] == 'XREAD':
            blocks.append(int(words[words.index('BLOCK') + 1]))
    return blocks


@pytest.fixture
def cars(redis_client: redis.Redis) -> RedisSimpleQueue:
    return RedisSimpleQueue(redis=redis_client, key='cars')


# --- the sync API: queue.SimpleQueue ------------------------------------------


def test_seed_example_and_server_state(cars: RedisSimpleQueue, redis_client: redis.Redis) -> None:
    assert cars.empty()
    assert cars.qsize() == 0
    cars.put('Jeep')
    cars.put('Honda')
    cars.put_nowait('Audi')
    assert not cars.empty()
    assert cars.qsize() == 3
    assert redis_client.type('cars') == b'stream'
    assert items(redis_client, 'cars') == ['Jeep', 'Honda', 'Audi']
    assert cars.get() == 'Jeep'
    assert cars.get_nowait() == 'Honda'
    assert cars.get(block=False) == 'Audi'
    assert cars.empty()
    assert cars.qsize() == 0
    # Like Pottery's, an emptied queue is an empty stream.
    assert redis_client.xlen('cars') == 0
    cars.clear()
    assert not redis_client.exists('cars')


def test_stores_entries_like_pottery(cars: RedisSimpleQueue, redis_client: redis.Redis) -> None:
    cars.put({'z': 1, 'a': [True, None, 1.5]})
    cars.put(['x', {'b': 2, 'a': 1}])
    cars.put(None)
    assert [fields for _, fields in entries(redis_client, 'cars')] == [
        {b'item': b'{"a": [true, null, 1.5], "z": 1}'},
        {b'item': b'["x", {"a": 1, "b": 2}]'},
        {b'item': b'null'},
    ]
    assert cars.get() == {'a': [True, None, 1.5], 'z': 1}
    assert cars.get() == ['x', {'a': 1, 'b': 2}]
    assert cars.get() is None


def test_empty_nonblocking_get_raises_at_once(cars: RedisSimpleQueue, redis_client: redis.Redis) -> None:
    xreads = calls(redis_client, 'xread')
    for attempt in (cars.get_nowait, lambda: cars.get(block=False), lambda: cars.get(False, 30)):
        with pytest.raises(QueueEmptyError) as info:
            attempt()
        assert isinstance(info.value, queue.Empty)
        assert isinstance(info.value, PotteryError)
        assert info.value.key == 'cars'
    # Nothing waited on the server, and nothing was written.
    assert calls(redis_client, 'xread') == xreads
    assert not redis_client.exists('cars')


def test_timed_get_raises_empty_and_writes_nothing(
    cars: RedisSimpleQueue, redis_client: redis.Redis, url: str,
) -> None:
    with monitored(url) as commands:
        with pytest.raises(QueueEmptyError):
            cars.get(timeout=0.05)
        with pytest.raises(QueueEmptyError):
            cars.get(True, 0)
    # The fractional timeout went to the server as milliseconds (less the
    # time the first take took); a zero timeout did not wait at all.
    [block] = xread_blocks(commands)
    assert 30 <= block <= 50
    with pytest.raises(ValueError, match='non-negative'):
        cars.get(timeout=-1)
    # An infinite timeout is no timeout.
    consumer = Background(lambda: cars.get(timeout=float('inf')))
    assert eventually(lambda: blocked_clients(redis_client) == 1)
    redis_client.xadd('cars', {'item': '"Jeep"'})
    assert consumer.outcome() == 'Jeep'
    redis_client.delete('cars')
    assert not redis_client.exists('cars')


def test_waiting_get_wakes_when_an_item_arrives(cars: RedisSimpleQueue, redis_client: redis.Redis) -> None:
    consumer = Background(lambda: cars.get(timeout=60))
    assert eventually(lambda: blocked_clients(redis_client) == 1)
    cars.put('Jeep')
    assert consumer.outcome() == 'Jeep'
    assert redis_client.xlen('cars') == 0


def test_wait_longer_than_the_socket_timeout_is_sliced(url: str, redis_client: redis.Redis) -> None:
    # Pottery's default client has a 1 s socket timeout; a short one shows
    # the same in a shorter test.
    short = redis.Redis.from_url(url, socket_timeout=0.4)
    q = RedisSimpleQueue(redis=short, key='sliced')
    xreads = calls(redis_client, 'xread')
    consumer = Background(q.get)
    # Several slices end on the server while the get keeps waiting...
    assert eventually(lambda: calls(redis_client, 'xread') >= xreads + 3)
    assert consumer.thread.is_alive()
    assert eventually(lambda: blocked_clients(redis_client) == 1)
    # ... and the current one still wakes when an item arrives.
    redis_client.xadd('sliced', {'item': '"late"'})
    assert consumer.outcome() == 'late'
    assert redis_client.xlen('sliced') == 0
    short.close()


def test_without_socket_timeout_waits_in_slices_of_the_visibility_timeout(
    url: str, redis_client: redis.Redis,
) -> None:
    # A take left unconfirmed by a dead consumer comes back after the
    # visibility timeout, and no new entry wakes anyone for it: no wait is
    # longer than that.
    unbounded = redis.Redis.from_url(url, socket_timeout=None)
    q = RedisSimpleQueue(redis=unbounded, key='unbounded', visibility_timeout=0.3)
    xreads = calls(redis_client, 'xread')
    with monitored(url) as commands:
        consumer = Background(q.get)
        assert eventually(lambda: calls(redis_client, 'xread') >= xreads + 3)
        q.put('item')
        assert consumer.outcome() == 'item'
    blocks = xread_blocks(commands)
    assert len(blocks) >= 3
    # What is left of each wait of the visibility timeout when its XREAD leaves.
    assert all(200 <= block <= 300 for block in blocks), blocks
    unbounded.close()


def test_default_pottery_client_waits_past_its_socket_timeout(
    url: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No redis= argument: Pottery's default client, socket_timeout=1.
    monkeypatch.setattr(pottery_async._clients, 'DEFAULT_URL', url)
    q = RedisSimpleQueue(key='default-client')
    with monitored(url) as commands:
        consumer = Background(lambda: q.get(timeout=2.5))
        assert eventually(lambda: len(xread_blocks(commands)) >= 2)
        redis_client.xadd('default-client', {'item': '1'})
        assert consumer.outcome() == 1
    blocks = xread_blocks(commands)
    assert blocks[0] == 750
    assert all(b <= 750 for b in blocks)


def test_codec_per_queue(redis_client: redis.Redis) -> None:
    q = RedisSimpleQueue(redis=redis_client, key='coded', codec=Upper())
    q.put('jeep')
    assert entries(redis_client, 'coded')[0][1] == {b'item': b'"JEEP"'}
    assert q.get() == 'jeep'


def test_decode_responses_client(url: str, redis_client: redis.Redis) -> None:
    decoding = redis.Redis.from_url(url, decode_responses=True)
    q = RedisSimpleQueue(redis=decoding, key='decoded')
    q.put({'a': 'é'})
    assert q.get() == {'a': 'é'}
    assert redis_client.xlen('decoded') == 0
    decoding.close()


# --- bad input: a clear error, and nothing on the server changes ------------


def test_foreign_entry_is_an_error_and_left_in_place(
    cars: RedisSimpleQueue, redis_client: redis.Redis,
) -> None:
    redis_client.xadd('cars', {'other': 'x'})
    redis_client.xadd('cars', {'item': '"Jeep"'})
    before = entries(redis_client, 'cars')
    with pytest.raises(redis.ResponseError, match='no item field'):
        cars.get()
    assert entries(redis_client, 'cars') == before


# --- cancelled and interrupted gets never lose an item ------------------------


async def test_cancelled_waiting_get_leaves_the_next_item(url: str, redis_client: redis.Redis) -> None:
    client = redis.asyncio.Redis.from_url(url)
    q = pottery_async.RedisSimpleQueue(redis=client, key='cancelled')
    try:
        waiting = asyncio.ensure_future(q.get())
        assert await asyncio.to_thread(eventually, lambda: blocked_clients(redis_client) == 1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        # The abandoned XREAD's connection is closed, so nothing waits any
        # more, and the next item stays in the queue.
        assert await asyncio.to_thread(eventually, lambda: blocked_clients(redis_client) == 0)
        redis_client.xadd('cancelled', {'item': '"Jeep"'})
        assert redis_client.xlen('cancelled') == 1
        assert await q.get() == 'Jeep'
        assert redis_client.xlen('cancelled') == 0
    finally:
        await client.aclose()


@pytest.mark.parametrize('how', ['cancel', 'wait_for', 'timeout'])
async def test_cancellation_while_taking_releases_the_take(
    url: str, redis_client: redis.Redis, how: str,
) -> None:
    # The race where an item arrives just as a get is cancelled, made
    # deterministic: the server holds the script that takes the item (CLIENT
    # PAUSE WRITE) until the get has been cancelled.
    async with async_queue(url, 'race') as q:
        await q.put('warm-up')
        assert await q.get() == 'warm-up'  # the scripts are loaded
        redis_client.xadd('race', {'item': '"Jeep"'})
        redis_client.xadd('race', {'item': '"Honda"'})
        # CLIENT PAUSE WRITE: Redis 6.2+.
        redis_client.execute_command('CLIENT', 'PAUSE', 30_000, 'WRITE')  # type: ignore[no-untyped-call]
        try:
            if how == 'cancel':
                getting = asyncio.ensure_future(q.get())
            elif how == 'wait_for':
                getting = asyncio.ensure_future(asyncio.wait_for(q.get(), 0.2))
            else:
                async def timed_get() -> Any:
                    async with asyncio.timeout(0.2):
                        return await q.get()

                getting = asyncio.ensure_future(timed_get())
            # The script has reached the server, which holds it.
            assert await asyncio.to_thread(eventually, lambda: blocked_clients(redis_client) == 1)
            if how == 'cancel':
                getting.cancel()
            # The get gives up on the held script, tries to release its
            # take for a second (held too), and returns, leaving the
            # release to the background.
            with pytest.raises((asyncio.CancelledError, TimeoutError)):
                await asyncio.wait_for(asyncio.shield(getting), 3)
        finally:
            redis_client.execute_command('CLIENT', 'UNPAUSE')  # type: ignore[no-untyped-call]
        # Once the server runs what it held, whatever the take did is
        # undone: both items are in the stream, once each, nothing in flight.
        taken, due = companion('race', 'taken'), companion('race', 'due')
        assert await asyncio.to_thread(
            eventually, lambda: sorted(items(redis_client, 'race')) == ['Honda', 'Jeep'],
        )
        assert not redis_client.exists(taken, due)
        assert await q.get() in {'Honda', 'Jeep'}


def test_sync_get_interrupted_by_the_bridge_timeout(
    cars: RedisSimpleQueue, redis_client: redis.Redis,
) -> None:
    with pytest.raises(TimeoutError):
        _bridge.run(cars._core.get(), timeout=0.2)
    assert eventually(lambda: blocked_clients(redis_client) == 0)
    cars.put('Jeep')
    assert redis_client.xlen('cars') == 1
    assert cars.get() == 'Jeep'
    assert redis_client.xlen('cars') == 0


SIGINT_SCRIPT = '''
import sys
import redis
from pottery_async.sync import RedisSimpleQueue

timeout = None if sys.argv[3] == 'none' else float(sys.argv[3])
q = RedisSimpleQueue(redis=redis.Redis.from_url(sys.argv[1], socket_timeout=timeout), key=sys.argv[2])
print('ready', flush=True)
try:
    print('got', q.get(), flush=True)
except KeyboardInterrupt:
    print('interrupted', flush=True)
sys.stdin.readline()
print('got', q.get(timeout=30), flush=True)
'''


@pytest.mark.parametrize('socket_timeout', ['none', '1'])
def test_ctrl_c_during_a_sync_get_loses_nothing(
    url: str, redis_client: redis.Redis, socket_timeout: str,
) -> None:
    with reaped(run_script(SIGINT_SCRIPT, url, 'sigint', socket_timeout, stdin=subprocess.PIPE)) as child:
        assert child.stdin is not None
        assert read_line(child, 30.0) == 'ready'
        assert eventually(lambda: blocked_clients(redis_client) == 1)
        child.send_signal(signal.SIGINT)
        assert read_line(child, 30.0) == 'interrupted'
        assert eventually(lambda: blocked_clients(redis_client) == 0)
        redis_client.xadd('sigint', {'item': '"Jeep"'})
        assert redis_client.xlen('sigint') == 1
        child.stdin.write('\n')
        child.stdin.flush()
        assert read_line(child, 30.0) == 'got Jeep'
        _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert 'Traceback' not in err, err
    assert 'Warning' not in err, err
    assert redis_client.xlen('sigint') == 0


# --- many producers and consumers, in separate processes -----------------------

PRODUCER = '''
import sys
from pottery_async.sync import RedisSimpleQueue

q = RedisSimpleQueue(redis=sys.argv[1], key=sys.argv[2])
name, count = sys.argv[3], int(sys.argv[4])
for i in range(count):
    q.put([name, i])
'''

CONSUMER = '''
import asyncio
import json
import sys

import redis.asyncio

import pottery_async
from pottery_async.sync import RedisSimpleQueue

url, key, api = sys.argv[1], sys.argv[2], sys.argv[3]
got = []
if api == 'sync':
    q = RedisSimpleQueue(redis=redis.Redis.from_url(url), key=key)
    while (item := q.get(timeout=60)) is not None:
        got.append(item)
else:
    async def main():
        client = redis.asyncio.Redis.from_url(url)
        q = pottery_async.RedisSimpleQueue(redis=client, key=key)
        while (item := await q.get(timeout=60)) is not None:
            got.append(item)
        await client.aclose()
    asyncio.run(main())
print(json.dumps(got))
'''


def test_producer_and_consumer_processes_fifo(url: str, redis_client: redis.Redis) -> None:
    producers, per_producer = 3, 300
    consumer_apis = ['sync', 'sync', 'async']

    consumers = [run_script(CONSUMER, url, 'jobs', api) for api in consumer_apis]
    makers: list[subprocess.Popen[str]] = []
    try:
        # Every consumer waits before the first item is put.
        assert eventually(lambda: blocked_clients(redis_client) == len(consumers), within=60)
        makers = [run_script(PRODUCER, url, 'jobs', f'p{i}', str(per_producer)) for i in range(producers)]
        for maker in makers:
            _, err = maker.communicate(timeout=90)
            assert maker.returncode == 0, err
        # One stop sign per consumer, after every item.
        stop = RedisSimpleQueue(redis=redis_client, key='jobs')
        for _ in consumers:
            stop.put(None)
        received = []
        for consumer in consumers:
            out, err = consumer.communicate(timeout=90)
            assert consumer.returncode == 0, err
            assert 'Warning' not in err, err
            received.append(json.loads(out))
    finally:
        for process in [*consumers, *makers]:
            if process.poll() is None:
                process.kill()
                process.communicate()
    everything = [tuple(item) for got in received for item in got]
    # Each item reached exactly one consumer...
    assert sorted(everything) == sorted((f'p{i}', n) for i in range(producers) for n in range(per_producer))
    # ... every consumer took part ...
    assert all(received)
    # ... and each consumer saw each producer's items in the order they were put.
    for got in received:
        for i in range(producers):
            sequence = [n for name, n in got if name == f'p{i}']
            assert sequence == sorted(sequence)
    assert redis_client.xlen('jobs') == 0


# --- the async API -----------------------------------------------------------


async def test_async_api(aredis: redis.asyncio.Redis, redis_client: redis.Redis) -> None:
    cars = pottery_async.RedisSimpleQueue(redis=aredis, key='acars')
    assert not redis_client.exists('acars')  # the constructor did no I/O
    assert await cars.empty()
    assert await cars.qsize() == 0
    await cars.put('Jeep')
    await cars.put_nowait({'b': 2, 'a': 1})
    assert await cars.qsize() == 2
    assert not await cars.empty()
    assert items(redis_client, 'acars') == ['Jeep', {'a': 1, 'b': 2}]
    assert await cars.get() == 'Jeep'
    assert await cars.get_nowait() == {'a': 1, 'b': 2}
    with pytest.raises(QueueEmptyError):
        await cars.get_nowait()
    with pytest.raises(QueueEmptyError):
        await cars.get(timeout=0.05)
    with pytest.raises(QueueEmptyError):
        await cars.get(block=False)
    waiting = asyncio.ensure_future(cars.get())
    assert await asyncio.to_thread(eventually, lambda: blocked_clients(redis_client) == 1)
    await cars.put('Audi')
    assert await waiting == 'Audi'
    assert redis_client.xlen('acars') == 0
    await cars.clear()
    assert not redis_client.exists('acars')


async def test_async_consumers_share_items(aredis: redis.asyncio.Redis, redis_client: redis.Redis) -> None:
    q = pottery_async.RedisSimpleQueue(redis=aredis, key='shared')
    consumers = []
    for _ in range(4):
        consumers.append(asyncio.ensure_future(q.get(timeout=30)))
        await asyncio.sleep(0.01)
    # The four wait in one XREAD.
    assert await asyncio.to_thread(eventually, lambda: blocked_clients(redis_client) == 1)
    for i in range(4):
        await q.put(i)
    # Served in the order they came.
    assert await asyncio.gather(*consumers) == [0, 1, 2, 3]


async def test_waiting_get_raises_what_refuses_its_xread(
    url: str, server: Server, redis_client: redis.Redis,
) -> None:
    # A user allowed to take but not to wait: the get() raises the refusal
    # (NOPERM) instead of taking again and again.
    user = helpers.unique('noxread')
    helpers.set_acl_user([server], user, '~*', '+@all', '-xread')
    (app,) = helpers.as_user_async([server], user)
    evalshas = calls(redis_client, 'evalsha')
    try:
        q = pottery_async.RedisSimpleQueue(redis=app, key='refused')
        with pytest.raises(redis.exceptions.NoPermissionError, match='xread'):
            await q.get(timeout=1)
        assert calls(redis_client, 'evalsha') - evalshas < 5
    finally:
        await app.aclose()


async def test_a_small_pool_is_left_to_the_application(url: str, redis_client: redis.Redis) -> None:
    # A pool of 2: one for a waiting get()'s XREAD, one for the
    # application; pottery_async takes none of its own.
    app = redis.asyncio.Redis.from_url(url, max_connections=2)
    try:
        q = pottery_async.RedisSimpleQueue(redis=app, key='small')
        d = await pottery_async.RedisDict({'a': 1}, redis=app, key='small-dict')
        waiting = asyncio.ensure_future(q.get(timeout=30))
        assert await asyncio.to_thread(eventually, lambda: blocked_clients(redis_client) == 1)
        assert await d.getitem('a') == 1
        assert await app.hlen('small-dict') == 1
        await q.put('x')
        assert await waiting == 'x'
    finally:
        await app.aclose()


async def test_five_hundred_waiting_gets_share_two_connections(url: str, redis_client: redis.Redis) -> None:
    name = helpers.unique('waiters')
    # redis-py 8's default pool raises past 100 connections.
    app = redis.asyncio.Redis.from_url(url, client_name=name, max_connections=100)
    try:
        q = pottery_async.RedisSimpleQueue(redis=app, key='crowd')
        consumers = [asyncio.ensure_future(q.get(timeout=30)) for _ in range(500)]
        assert await asyncio.to_thread(eventually, lambda: blocked_clients(redis_client) == 1)
        # One connection for the commands, one for the XREAD they share.
        assert len(helpers.named_connections(redis_client, name)) == 2
        for i in range(500):
            await q.put(i)
        assert sorted(untyped(await asyncio.gather(*consumers))) == list(range(500))
        assert redis_client.xlen('crowd') == 0
        assert in_flight(redis_client, 'crowd') == 0
    finally:
        await app.aclose()
    assert redis_client.xlen('shared') == 0


async def test_async_wait_longer_than_the_socket_timeout(url: str, redis_client: redis.Redis) -> None:
    # redis.asyncio applies socket_timeout to each read, so the wait is sliced.
    client = redis.asyncio.Redis.from_url(url, socket_timeout=0.4)
    q = pottery_async.RedisSimpleQueue(redis=client, key='async-sliced')
    try:
        xreads = calls(redis_client, 'xread')
        waiting = asyncio.ensure_future(q.get())
        assert await asyncio.to_thread(eventually, lambda: calls(redis_client, 'xread') >= xreads + 3)
        assert not waiting.done()
        await asyncio.to_thread(eventually, lambda: blocked_clients(redis_client) == 1)
        redis_client.xadd('async-sliced', {'item': '"late"'})
        assert await waiting == 'late'
    finally:
        await client.aclose()


async def test_async_refuses_sync_clients(redis_client: redis.Redis) -> None:
    q = pottery_async.RedisSimpleQueue(redis=redis_client, key='k')
    with pytest.raises(TypeError, match=r'redis\.asyncio'):
        await q.qsize()


# --- Redis Cluster -----------------------------------------------------------


async def test_queues_on_a_cluster(cluster: Cluster) -> None:
    sync_cluster = redis.RedisCluster(host=cluster.host, port=cluster.port)
    aclient = redis.asyncio.RedisCluster(host=cluster.host, port=cluster.port)
    try:
        keys = [f'queue-{i}' for i in range(6)]
        assert len(nodes_of(sync_cluster, keys)) > 1
        for key in keys:
            q = RedisSimpleQueue(redis=sync_cluster, key=key)
            aq = pottery_async.RedisSimpleQueue(redis=aclient, key=key)
            await asyncio.to_thread(q.put, key)
            waiting = asyncio.ensure_future(aq.get(timeout=30))
            assert await waiting == key
            waiting = asyncio.ensure_future(aq.get(timeout=30))
            await asyncio.sleep(0.05)
            await asyncio.to_thread(q.put, [key])
            assert await waiting == [key]
            await aq.put({'k': key})
            assert await asyncio.to_thread(q.get, True, 5) == {'k': key}
            assert await asyncio.to_thread(q.empty)
            assert sync_cluster.xlen(key) == 0
    finally:
        await aclient.aclose()
        sync_cluster.close()


# --- data compatibility with Pottery 3.0.1 ---------------------------------


def test_sync_queue_is_a_drop_in(pottery_module: Any) -> None:
    # Pottery's signatures: test_contract.  Here its error, and queue.SimpleQueue's
    # names, minus what Redis cannot offer.
    assert 'QueueEmptyError' in pottery_module.__all__
    assert 'QueueEmptyError' in pottery_async.sync.__all__
    for method in ('put', 'put_nowait', 'get', 'get_nowait', 'qsize', 'empty'):
        assert list(inspect.signature(getattr(queue.SimpleQueue, method)).parameters)[1:] == list(
            inspect.signature(getattr(RedisSimpleQueue, method)).parameters
        )[1:]
