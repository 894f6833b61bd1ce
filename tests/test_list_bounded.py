"""Large list operations never lock up the server: bounded steps, one atomic swap, sizes refused up front.

With the step size made tiny, every operation that builds in steps is
checked against what a Python list (or deque) does; with the real step
size, a large ``*=`` is checked to leave the server answering others.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import operator
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.list as core_list
from pottery_async.sync import RedisDeque, RedisList
from tests.helpers import eventually, run_script, stored, untyped
from tests.server_checks import sent_commands
from tests.servers import Server

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')

# What one server-side step may take here: generous (a step takes a few ms),
# but far below what one script for the whole operation took (seconds).
SLOW = 0.25


@pytest.fixture
def tiny_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    'Steps of 3 elements (or 40 bytes): small lists go through every multi-step path.'
    monkeypatch.setattr(core_list, '_CHUNK', 3)
    monkeypatch.setattr(core_list, '_CHUNK_BYTES', 40)


def keys(client: redis.Redis) -> list[bytes]:
    return sorted(cast(list[bytes], client.keys('*')))


# --- every multi-step path gives what Python gives ----------------------------------------


LIST_OPERATIONS: dict[str, Callable[[Any], Any]] = {
    'imul 3': lambda seq: seq.__imul__(3),
    'imul 1': lambda seq: seq.__imul__(1),
    'imul 0': lambda seq: seq.__imul__(0),
    'imul -2': lambda seq: seq.__imul__(-2),
    'extend': lambda seq: seq.extend(['x', 'y', 'z', 'w', 'v']),
    'iadd': lambda seq: seq.__iadd__(list(range(7))),
    'reverse': lambda seq: seq.reverse(),
    'set slice': lambda seq: seq.__setitem__(slice(1, 3), ['p', 'q', 'r', 's', 't']),
    'set slice, shorter': lambda seq: seq.__setitem__(slice(1, 6), ['p']),
    'set extended slice': lambda seq: seq.__setitem__(slice(None, None, 2), list('abcd')),
    'set reversed slice': lambda seq: seq.__setitem__(slice(None, 1, -3), ['m', 'n']),
    'delete slice': lambda seq: seq.__delitem__(slice(2, -1)),
    'delete extended slice': lambda seq: seq.__delitem__(slice(1, None, 2)),
    'delete reversed slice': lambda seq: seq.__delitem__(slice(-1, None, -3)),
    'wrong extended size': lambda seq: seq.__setitem__(slice(None, None, 2), ['a']),
}


@pytest.mark.parametrize('name', LIST_OPERATIONS)
def test_list_steps_match_python(name: str, tiny_steps: None, redis_client: redis.Redis) -> None:
    operation = LIST_OPERATIONS[name]
    python: list[Any] = [1, 'two', 3.0, None, [5], {'six': 6}, 7]
    ours = RedisList(python, redis=redis_client, key='l')
    redis_client.pexpire('l', 60_000)
    outcomes = []
    for subject in (python, ours):
        try:
            operation(subject)
            outcomes.append('done')
        except ValueError as error:
            outcomes.append(str(error))
    assert outcomes[0] == outcomes[1]
    assert stored(redis_client, 'l') == python
    assert keys(redis_client) == ([b'l'] if python else [])
    if python:
        # An in-place change keeps the key's expiry.
        assert 0 < redis_client.pttl('l') <= 60_000


@pytest.mark.parametrize('name', ['mul 3', 'rmul 2', 'mul 0', 'mul -1', 'add', 'copy'])
def test_new_lists_match_python(name: str, tiny_steps: None, redis_client: redis.Redis) -> None:
    python: list[Any] = [1, 'two', 3.0, None, [5]]
    ours = RedisList(python, redis=redis_client, key='l')
    make: Callable[[Any], Any] = {
        'mul 3': lambda seq: seq * 3,
        'rmul 2': lambda seq: 2 * seq,
        'mul 0': lambda seq: seq * 0,
        'mul -1': lambda seq: seq * -1,
        'add': lambda seq: operator.add(seq, ['x', 'y', 'z', 'w']),
        'copy': lambda seq: seq.copy(),
    }[name]
    result = make(ours)
    assert result.to_list() == make(python)
    # Starts with l, in its cluster hash slot.
    assert result.key.startswith('l:copy:')
    assert result.key.endswith('{l}')
    assert redis_client.pttl(result.key) in (-1, -2)  # kept for good (or empty)
    assert stored(redis_client, 'l') == python
    del result
    assert len(ours) == len(python)  # runs the deletion queued when result was collected
    assert keys(redis_client) == [b'l']


def test_large_initial_contents(tiny_steps: None, redis_client: redis.Redis) -> None:
    values = [{'n': i} for i in range(20)]
    RedisList(values, redis=redis_client, key='l')
    assert stored(redis_client, 'l') == values
    assert redis_client.pttl('l') == -1
    with pytest.raises(pottery_async.KeyExistsError):
        RedisList(['other'] * 10, redis=redis_client, key='l')
    assert stored(redis_client, 'l') == values
    assert keys(redis_client) == [b'l']


DEQUE_OPERATIONS: dict[str, Callable[[Any], Any]] = {
    'rotate 3': lambda d: d.rotate(3),
    'rotate -2': lambda d: d.rotate(-2),
    'imul 3': lambda d: d.__imul__(3),
    'imul 10**18': lambda d: d.__imul__(10**18),  # maxlen elements remain
    'imul 2**62': lambda d: d.__imul__(2**62),  # MemoryError without a maxlen
    'extend': lambda d: d.extend(range(10, 20)),
    'extendleft': lambda d: d.extendleft(range(10, 20)),
    'reverse': lambda d: d.reverse(),
}


@pytest.mark.parametrize(('name', 'maxlen'), [
    (name, maxlen) for name in DEQUE_OPERATIONS for maxlen in (None, 4, 8)
    # collections.deque would try to grow to 7 * 10**18 elements; and it
    # raises MemoryError where its size computation would overflow, even
    # with a maxlen (ours keeps maxlen elements).
    if (name, maxlen) not in {('imul 10**18', None), ('imul 2**62', 4), ('imul 2**62', 8)}
])
def test_deque_steps_match_python(
    name: str, maxlen: int | None, tiny_steps: None, redis_client: redis.Redis,
) -> None:
    operation = DEQUE_OPERATIONS[name]
    python = collections.deque(range(1, 8), maxlen=maxlen)
    ours = RedisDeque(python, maxlen=maxlen, redis=redis_client, key='d')
    outcomes = []
    for subject in (python, ours):
        try:
            operation(subject)
            outcomes.append('done')
        except MemoryError:
            outcomes.append('MemoryError')
    assert outcomes[0] == outcomes[1]
    assert stored(redis_client, 'd') == list(python)
    # Beyond what collections.deque can count.
    ours.rotate(10**20 + 1)
    python.rotate((10**20 + 1) % len(python))
    assert stored(redis_client, 'd') == list(python)
    assert keys(redis_client) == [b'd']


def test_index_and_count_scan_in_steps(tiny_steps: None, redis_client: redis.Redis) -> None:
    python: list[Any] = list(range(20)) * 2
    ours = RedisList(python, redis=redis_client, key='l')
    for value in (0, 7, 19, 20, 'x'):
        assert ours.count(value) == python.count(value)
    for args in [(15, 1), (15, 16), (3, 5, 30), (19, -25), (0, 1, 21)]:
        assert ours.index(*args) == python.index(*args)
    with pytest.raises(ValueError, match='is not in RedisList'):
        ours.index(5, 6, 25)
    assert stored(redis_client, 'l') == python


# --- sizes a list cannot have: refused before anything is written -----------------------


def test_sizes_refused_before_writing(redis_client: redis.Redis) -> None:
    values = RedisList([1, 2], redis=redis_client, key='l')
    redis_client.pexpire('l', 60_000)
    dump = redis_client.dump('l')
    refused: list[tuple[Callable[[], object], type[Exception]]] = [
        (lambda: values.__imul__(10**19), OverflowError),  # as [1, 2] * 10**19
        (lambda: values.__imul__(-(10**19)), OverflowError),
        (lambda: values * 10**19, OverflowError),
        (lambda: values.__imul__(2**40), MemoryError),  # more than Redis lists hold
        (lambda: values * 2**40, MemoryError),
        (lambda: 2**31 * values, MemoryError),
        (lambda: values.__imul__(untyped(1.5)), TypeError),
    ]
    for operation, error in refused:
        with pytest.raises(error):
            operation()
        assert redis_client.dump('l') == dump
        assert keys(redis_client) == [b'l']
    # A deque with a maxlen keeps only maxlen of them, as collections.deque.
    d = RedisDeque([1, 2], maxlen=3, redis=redis_client, key='d')
    d *= 2**40
    assert d.to_list() == [2, 1, 2]


# --- the server keeps answering --------------------------------------------------------


@pytest.fixture
def own_server() -> Iterator[Server]:
    'A server of this test alone, whose slow log it reads.'
    instance = Server()
    yield instance
    instance.stop()


def test_large_imul_leaves_the_server_answering(own_server: Server) -> None:
    client = redis.Redis(host=own_server.host, port=own_server.port)
    client.config_set('slowlog-log-slower-than', int(SLOW * 1_000_000))
    client.slowlog_reset()
    values = RedisList(['a', 'b'], redis=client, key='l')
    client.pexpire('l', 600_000)
    slowest: list[float] = []
    stop = threading.Event()

    def ping() -> None:
        other = redis.Redis(host=own_server.host, port=own_server.port)
        while not stop.is_set():
            started = time.monotonic()
            other.ping()
            slowest.append(time.monotonic() - started)
            time.sleep(0.002)
        other.close()

    pinger = threading.Thread(target=ping)
    pinger.start()
    try:
        # One script took ~1.5 s for this on Valkey 8 (3.9 s for 10 million on Redis 7).
        values *= 2_000_000
    finally:
        stop.set()
        pinger.join()
    assert len(slowest) > 10
    assert max(slowest) < 2 * SLOW, f'PING waited {max(slowest):.3f} s'
    assert client.slowlog_get() == []
    assert client.llen('l') == 4_000_000
    assert client.lrange('l', 0, 2) == [b'"a"', b'"b"', b'"a"']
    assert client.lrange('l', -2, -1) == [b'"a"', b'"b"']
    assert 0 < client.pttl('l') <= 600_000
    assert client.keys('*') == [b'l']
    client.close()


# --- interrupted or raced: the old list or the new one ------------------------------------------


async def building(client: redis.asyncio.Redis) -> None:
    'Return once the list l is being rebuilt aside.'
    for _ in range(10_000):
        if await client.keys('l:build:*'):
            return
        await asyncio.sleep(0.001)
    raise AssertionError('nothing was built')


async def test_cancelled_imul_leaves_the_old_list(
    monkeypatch: pytest.MonkeyPatch, url: str, aredis: redis.asyncio.Redis,
) -> None:
    monkeypatch.setattr(core_list, '_CHUNK', 500)
    # No socket timeout: on Python 3.11, redis-py bounds each send with
    # asyncio.wait_for(), which can swallow a cancellation.
    client = redis.asyncio.Redis.from_url(url, socket_timeout=None)
    values = await pottery_async.RedisList(['a', 'b', 'c'], redis=client, key='l')
    task = asyncio.ensure_future(values.imul(200_000))
    # Readers see the old list while the new one is built aside.
    await building(aredis)
    assert await aredis.lrange('l', 0, -1) == [b'"a"', b'"b"', b'"c"']
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.aclose()
    assert await aredis.lrange('l', 0, -1) == [b'"a"', b'"b"', b'"c"']
    assert await aredis.keys('*') == [b'l']


async def test_change_during_imul_is_not_lost(
    monkeypatch: pytest.MonkeyPatch, aredis: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    monkeypatch.setattr(core_list, '_CHUNK', 500)
    values = await pottery_async.RedisList(['a', 'b'], redis=aredis, key='l')
    task = asyncio.ensure_future(values.imul(50_000))
    await building(aredis)
    # Another client appends while the repeated list is being built: the
    # build starts again from the new list.
    redis_client.rpush('l', '"c"')
    await task
    assert await aredis.llen('l') == 150_000
    assert await aredis.lrange('l', 0, 3) == [b'"a"', b'"b"', b'"c"', b'"a"']
    assert await aredis.keys('*') == [b'l']


_BUILDER = '''
import sys, warnings
import redis
import pottery_async.list
from pottery_async.sync import RedisList
warnings.simplefilter('ignore')
pottery_async.list._CHUNK = 500
pottery_async.list._BUILD_TTL = 1000
values = RedisList(redis=redis.Redis.from_url(sys.argv[1]), key='l')
values *= 1_000_000
'''


def test_killed_builder_leaves_nothing_for_long(url: str, redis_client: redis.Redis) -> None:
    'A process killed while building leaves the old list, and a temporary key that soon expires.'
    RedisList(['a', 'b'], redis=redis_client, key='l')
    child = run_script(_BUILDER, url)
    try:
        assert eventually(lambda: bool(redis_client.keys('l:build:*')) or child.poll() is not None)
    finally:
        child.kill()
        child.communicate()
    (building,) = redis_client.keys('l:build:*')
    assert 0 < redis_client.pttl(building) <= 1000
    assert stored(redis_client, 'l') == ['a', 'b']
    assert eventually(lambda: redis_client.keys('*') == [b'l'], within=5)


# --- a lost EXEC reply: the rebuild is applied once --------------------------------------


class ExecBreaker:
    """A TCP proxy to a server that breaks the first connection to send EXEC.

    With ``deliver``, the EXEC reaches the server, which runs it, and only
    its reply is lost; else the connection breaks before the server sees
    it.  With ``then_unreachable``, the proxy stops listening and breaks
    every connection too, so that nothing more can be learned.
    """

    def __init__(self, server: Server, *, deliver: bool, then_unreachable: bool = False) -> None:
        self._upstream = (server.host, server.port)
        self._deliver = deliver
        self._then_unreachable = then_unreachable
        self.broken = threading.Event()
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            self._sockets += [client, upstream]
            muted = threading.Event()
            for target in (self._up, self._down):
                thread = threading.Thread(target=target, args=(client, upstream, muted), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _up(self, client: socket.socket, upstream: socket.socket, muted: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(1 << 16):
                if b'\r\nEXEC\r\n' in data and not self.broken.is_set():
                    muted.set()  # the replies to this connection are lost from now on
                    if self._deliver:
                        upstream.sendall(data)
                        time.sleep(0.2)  # the server runs it meanwhile
                    self.broken.set()
                    if self._then_unreachable:
                        self.close()
                    client.shutdown(socket.SHUT_RDWR)
                    upstream.close()
                    return
                upstream.sendall(data)

    def _down(self, client: socket.socket, upstream: socket.socket, muted: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(1 << 16):
                if not muted.is_set():
                    client.sendall(data)

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@contextlib.asynccontextmanager
async def through_breaker(
    server: Server, **breaker: bool,
) -> AsyncIterator[tuple[ExecBreaker, pottery_async.RedisList]]:
    'The list l = [a, b, c, d], on a client connected through an ExecBreaker; both closed afterwards.'
    proxy = ExecBreaker(server, **breaker)
    client = redis.asyncio.Redis(host='127.0.0.1', port=proxy.port, db=1)
    try:
        yield proxy, await pottery_async.RedisList(['a', 'b', 'c', 'd'], redis=client, key='l')
    finally:
        await client.aclose()
        proxy.close()


@pytest.mark.parametrize('deliver', [True, False], ids=['reply lost', 'exec lost'])
async def test_lost_exec_reply_applies_the_rebuild_once(
    deliver: bool, tiny_steps: None, server: Server, url: str, redis_client: redis.Redis,
) -> None:
    async with through_breaker(server, deliver=deliver) as (proxy, values):
        await values.imul(2)
        assert proxy.broken.is_set()
    # Once, not twice (16 elements) as a blind retry made it.
    assert stored(redis_client, 'l') == ['a', 'b', 'c', 'd'] * 2
    assert keys(redis_client) == [b'l']  # the marker and the half-built list are gone


async def test_unknown_exec_outcome_raises(
    tiny_steps: None, server: Server, redis_client: redis.Redis,
) -> None:
    async with through_breaker(server, deliver=True, then_unreachable=True) as (proxy, values):
        with pytest.raises(redis.exceptions.ConnectionError, match='whether the change was made is unknown'):
            await values.imul(2)
        assert proxy.broken.is_set()
    # The server ran it, once; nothing ran it again.
    assert stored(redis_client, 'l') == ['a', 'b', 'c', 'd'] * 2
    (marker,) = [key for key in keys(redis_client) if key != b'l']
    assert marker.startswith(b'l:build:')
    assert redis_client.get(marker) == b'swapped'
    assert 0 < redis_client.pttl(marker) <= core_list._BUILD_TTL


def test_late_exec_changes_nothing(tiny_steps: None, redis_client: redis.Redis) -> None:
    'An EXEC that reaches the server after its attempt was settled as not run does nothing.'
    values = RedisList(['a', 'b', 'c'], redis=redis_client, key='l')
    building = 'l:build:late{l}'
    marker = f'{building}:marker'
    redis_client.rpush(building, '"x"')
    redis_client.set(marker, 'pending')
    assert redis_client.eval(core_list._SETTLE.source, 1, marker) == 0
    with redis_client.pipeline() as pipe:
        pipe.watch('l')  # type: ignore[no-untyped-call]
        pipe.multi()
        pipe.eval(core_list._SWAP.source, 3, building, 'l', marker, 1, 60_000)
        assert pipe.execute() == [0]
    assert stored(redis_client, 'l') == ['a', 'b', 'c']
    assert values.to_list() == ['a', 'b', 'c']
    assert not redis_client.exists(marker)


# --- a list that others keep changing: the rebuild gives up ------------------------------


async def test_rebuild_of_a_busy_list_gives_up(
    tiny_steps: None, aredis: redis.asyncio.Redis, url: str,
) -> None:
    values = await pottery_async.RedisList(list(range(30)), redis=aredis, key='l')
    pusher = redis.asyncio.Redis.from_url(url)
    pushed = 0
    stop = asyncio.Event()

    async def push() -> None:
        nonlocal pushed
        while not stop.is_set():
            await pusher.rpush('l', json.dumps(f'p{pushed}'))
            pushed += 1

    task = asyncio.ensure_future(push())
    try:
        with pytest.raises(redis.exceptions.WatchError, match='gave up after 10 attempts'):
            # Without a bound, it tried for ever.
            await asyncio.wait_for(values.reverse(), 30)
    finally:
        stop.set()
        await task
        await pusher.aclose()
    # Nothing of ours: the list as the pusher left it.
    assert [json.loads(item) for item in await aredis.lrange('l', 0, -1)] == (
        list(range(30)) + [f'p{i}' for i in range(pushed)]
    )
    assert await aredis.keys('*') == [b'l']


# --- each script call reads a bounded number of bytes ----------------------------------------


def test_take_reads_about_its_byte_budget(redis_client: redis.Redis) -> None:
    sizes = [10, 1000, 10, 10, 3000, 10, 500, 500, 500, 500, 10, 10, 10, 10, 2000] * 3
    redis_client.rpush('l', *['x' * size for size in sizes])
    n = len(sizes)
    script = core_list._LUA + '''
local out, i = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1',
                    tonumber(ARGV[5]))
local bytes = 0
for j = 1, #out do bytes = bytes + #out[j] end
return {#out, i, bytes}
'''
    for budget in (1, 100, 1500, 4000, 10**6):
        for start in (0, 7, n - 1):
            for forward in (True, False):
                count, after, size = redis_client.eval(script, 1, 'l', n, start, n, int(forward), budget)
                order = [(start + j if forward else start - j) % n for j in range(count)]
                # At least one element; past the budget by one element at most.
                assert count >= 1
                assert size == sum(sizes[i] for i in order)
                assert size - sizes[order[-1]] < budget
                assert count == n or size >= budget
                assert after == ((start + count) % n if forward else (start - count) % n)


@pytest.fixture
def small_byte_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    'Steps of about 4 KiB, and as many elements as that takes.'
    monkeypatch.setattr(core_list, '_CHUNK_BYTES', 4096)


BYTE_OPERATIONS: dict[str, Callable[[Any], Any]] = {
    'reverse': lambda seq: seq.reverse(),
    'insert slice': lambda seq: seq.__setitem__(slice(20, 20), ['new']),
    'delete extended slice': lambda seq: seq.__delitem__(slice(3, 40, 3)),
    'count': lambda seq: seq.count('x' * 1000 + '7'),
    'index': lambda seq: seq.index('x' * 1000 + '63', 1),
    'sort': lambda seq: seq.sort(),
    'rotate': lambda seq: seq.rotate(20),
}


@pytest.mark.parametrize('name', BYTE_OPERATIONS)
def test_large_elements_go_in_byte_bounded_steps(
    name: str, small_byte_steps: None, url: str, redis_client: redis.Redis,
) -> None:
    # 64 elements of about 1 KiB: far fewer than _CHUNK, 16 times the byte step.
    elements = ['x' * 1000 + str(i) for i in range(64)]
    python: Any = collections.deque(elements) if name == 'rotate' else list(elements)
    ours = (RedisDeque if name == 'rotate' else RedisList)(elements, redis=redis_client, key='l')
    with sent_commands(url) as sent:
        results = [BYTE_OPERATIONS[name](subject) for subject in (python, ours)]
    assert results[0] == results[1]
    assert stored(redis_client, 'l') == list(python)
    # Each call reads about 4 KiB, so 64 KiB take a dozen calls or more.
    scripts = [command for command in sent if command.startswith(('EVALSHA', 'EVAL'))]
    assert len(scripts) >= 12


# --- sort: Python's order, without one large call ------------------------------------------


def sort_calls(client: redis.Redis) -> int:
    return int(client.info('commandstats').get('cmdstat_sort', {}).get('calls', 0))


@pytest.mark.parametrize('values', [
    [1.0, 1, 0.5],  # equal, stored differently: Python's sort is stable, SORT is not
    [-0.0, 0, 0.0, -1],
    [99999999999999999, 1e17, 5],  # no double tells these apart
    [10**20, 3, -(10**20), 2.5],
    [3, 1e-07, 1.5e300, -2, 0.1, 7],  # plain numbers: SORT orders them as Python
    ['b', 'a', 'B'],
    [[2, 'b'], [1], [2, 'a']],
])
@pytest.mark.parametrize('reverse', [False, True])
def test_sort_matches_python(values: list[Any], reverse: bool, redis_client: redis.Redis) -> None:
    ours = RedisList(values, redis=redis_client, key='l')
    ours.sort(reverse=reverse)
    expected = sorted(values, reverse=reverse)
    assert redis_client.lrange('l', 0, -1) == [json.dumps(value).encode() for value in expected]


def test_short_list_of_numbers_is_sorted_by_the_server(tiny_steps: None, redis_client: redis.Redis) -> None:
    ours = RedisList([3, -1.5, 2], redis=redis_client, key='l')
    before = sort_calls(redis_client)
    ours.sort()
    assert sort_calls(redis_client) == before + 1
    assert stored(redis_client, 'l') == [-1.5, 2, 3]


def test_long_sort_goes_in_bounded_steps(tiny_steps: None, url: str, redis_client: redis.Redis) -> None:
    python = [5, 3.5, -2, 8, 0, 13, 1, 21, 2, 34, -8]
    ours = RedisList(python, redis=redis_client, key='l')
    redis_client.pexpire('l', 60_000)
    before = sort_calls(redis_client)
    with sent_commands(url) as sent:
        ours.sort(reverse=True)
    python.sort(reverse=True)
    assert stored(redis_client, 'l') == python
    # No SORT of the whole list: reads and writes of 3 elements at a time.
    assert sort_calls(redis_client) == before
    assert len([command for command in sent if command.startswith('EVALSHA')]) >= 2 * len(python) // 3
    assert 0 < redis_client.pttl('l') <= 60_000
    assert keys(redis_client) == [b'l']


# --- long pushes: one command per chunk ----------------------------------------------------


@pytest.mark.parametrize('maxlen', [None, 7])
def test_long_push_goes_in_chunks(
    maxlen: int | None, tiny_steps: None, url: str, redis_client: redis.Redis,
) -> None:
    python: collections.deque[Any] = collections.deque(['a'], maxlen=maxlen)
    ours = RedisDeque(python, maxlen=maxlen, redis=redis_client, key='d')
    ours.append('b')  # the script is loaded
    python.append('b')
    with sent_commands(url) as sent:
        ours.extend(range(10))
        ours.extendleft(range(10, 20))
    python.extend(range(10))
    python.extendleft(range(10, 20))
    assert stored(redis_client, 'd') == list(python)
    # 3 elements a command: 4 + 4 without a maxlen, 3 (the last 7 of 10) + 3 with.
    assert [command.split()[0] for command in sent] == (
        ['RPUSH'] * 4 + ['LPUSH'] * 4 if maxlen is None else ['EVALSHA'] * 6
    )
