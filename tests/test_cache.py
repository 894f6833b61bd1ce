"""redis_cache() and CachedOrderedDict through both APIs, against real servers."""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, cast

import pytest
import redis
import redis.asyncio

import pottery_async
from pottery_async import _wake
from pottery_async.exceptions import WrongTypeError
from pottery_async.sync import CachedOrderedDict, CacheInfo, redis_cache
from tests.helpers import NO_RETRY, in_threads, read_line, untyped
from tests.servers import Cluster, Server


def round_trips(client: redis.Redis, action: Callable[[], object]) -> int:
    """How many commands ``action`` sent to the server.

    Commands that scripts call count in the server's totals too: each one
    is subtracted (from the per-command statistics) except EVALSHA.
    """
    def snapshot() -> dict[str, int]:
        stats = client.info('commandstats')
        return {name: int(value['calls']) for name, value in stats.items()}

    before = snapshot()
    action()
    after = snapshot()
    calls = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    calls['cmdstat_info'] -= 1  # the INFO that asks
    sent = sum(n for name, n in calls.items() if name in ('cmdstat_evalsha', 'cmdstat_eval'))
    others = {name: n for name, n in calls.items() if n and name not in ('cmdstat_evalsha', 'cmdstat_eval')}
    return sent if all(name in SCRIPTED for name in others) else -1


# What the scripts call (never sent on their own by the code under test).
SCRIPTED = {f'cmdstat_{c}' for c in ('hget', 'hset', 'hmget', 'hsetnx', 'pexpire', 'hlen', 'set', 'time')}


def field(*args: Any, **kwargs: Any) -> bytes:
    'The hash field of a call: the JSON string of the digest of its canonical JSON.'
    canonical = json.dumps([list(args), kwargs], sort_keys=True)
    return b'"%s"' % hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest().encode()


def lock_keys(client: redis.Redis) -> list[bytes]:
    return [k for k in cast(list[bytes], client.keys('*')) if b':lock:' in k]


# --- redis_cache(), sync API --------------------------------------------------


def test_seed_example_and_server_state(redis_client: redis.Redis) -> None:
    calls: list[int] = []

    @redis_cache(redis=redis_client, key='expensive-function-cache')
    def expensive_function(n: int) -> int:
        calls.append(n)
        return n

    assert expensive_function(5) == 5
    assert expensive_function.cache_info() == CacheInfo(hits=0, misses=1, maxsize=None, currsize=1)
    assert expensive_function(5) == 5
    assert expensive_function.cache_info() == CacheInfo(hits=1, misses=1, maxsize=None, currsize=1)
    assert expensive_function(6) == 6
    assert expensive_function.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=2)
    assert calls == [5, 6]
    assert redis_client.type('expensive-function-cache') == b'hash'
    assert redis_client.hgetall('expensive-function-cache') == {field(5): b'5', field(6): b'6'}
    # Pottery's default timeout: 60 s on the whole hash.
    assert 0 < redis_client.pttl('expensive-function-cache') <= 60_000
    expensive_function.cache_clear()
    assert expensive_function.cache_info() == CacheInfo(hits=0, misses=0, maxsize=None, currsize=0)
    assert not redis_client.exists('expensive-function-cache')


def test_a_hit_is_one_round_trip_and_a_miss_two(redis_client: redis.Redis) -> None:
    @redis_cache(redis=redis_client, key='trips')
    def double(n: int) -> int:
        return n * 2

    double(0)  # loads the scripts
    double(0)
    assert round_trips(redis_client, lambda: double(1)) == 2  # lookup, store
    assert round_trips(redis_client, lambda: double(1)) == 1  # lookup


def test_timeout_is_refreshed_on_every_hit_miss_and_bypass(redis_client: redis.Redis) -> None:
    @redis_cache(redis=redis_client, key='ttl', timeout=100)
    def f(n: int) -> int:
        return n

    f(1)
    assert 60_000 < redis_client.pttl('ttl') <= 100_000
    calls: list[Callable[[], object]] = [lambda: f(1), lambda: f(2), lambda: f.__bypass__(1)]
    for call in calls:
        redis_client.pexpire('ttl', 5_000)
        call()
        assert 60_000 < redis_client.pttl('ttl') <= 100_000


@pytest.mark.parametrize('timeout', [None, 0])
def test_no_timeout_means_no_ttl(redis_client: redis.Redis, timeout: int | None) -> None:
    @redis_cache(redis=redis_client, key='forever', timeout=timeout)
    def f(n: int) -> int:
        return n

    f(1)
    f(1)
    assert redis_client.pttl('forever') == -1


def test_keyword_order_does_not_matter_but_positional_is_distinct(redis_client: redis.Redis) -> None:
    @redis_cache(redis=redis_client, key='kw')
    def f(a: int, b: int) -> list[int]:
        return [a, b]

    assert f(a=1, b=2) == [1, 2]
    assert f(b=2, a=1) == [1, 2]
    assert f.cache_info().hits == 1
    assert f(1, 2) == [1, 2]
    assert f(1, b=2) == [1, 2]
    assert f.cache_info() == CacheInfo(hits=1, misses=3, maxsize=None, currsize=3)
    assert set(redis_client.hkeys('kw')) == {field(a=1, b=2), field(1, 2), field(1, b=2)}


def test_equal_values_of_different_json_types_are_distinct(redis_client: redis.Redis) -> None:
    @redis_cache(redis=redis_client, key='types')
    def kind(x: Any) -> str:
        return type(x).__name__

    assert [kind(1), kind(1.0), kind(True), kind('1'), kind((1,))] == ['int', 'float', 'bool', 'str', 'tuple']
    assert kind(1) == 'int'
    assert kind.cache_info() == CacheInfo(hits=1, misses=5, maxsize=None, currsize=5)


def test_unhashable_or_unencodable_arguments_raise_type_error(redis_client: redis.Redis) -> None:
    calls = []

    @redis_cache(redis=redis_client, key='args', stampede_protection=True)
    def f(*args: Any, **kwargs: Any) -> int:
        calls.append(args)
        return 1

    unhashable: list[Callable[[], object]] = [
        lambda: f([1]), lambda: f({'a': 1}), lambda: f({1}), lambda: f(x=[1]), lambda: f((1, [2])),
        lambda: f.__bypass__([1]),
    ]
    for bad in unhashable:
        with pytest.raises(TypeError, match='unhashable'):
            bad()
    unencodable: list[Callable[[], object]] = [
        lambda: f(frozenset({1})), lambda: f(object()), lambda: f.__bypass__(x=frozenset()),
    ]
    for bad in unencodable:
        with pytest.raises(TypeError, match='JSON'):
            bad()
    assert calls == []
    assert f.cache_info() == CacheInfo(hits=0, misses=0, maxsize=None, currsize=0)
    assert redis_client.keys('*') == []


@pytest.mark.parametrize('stampede_protection', [False, True])
def test_unserialisable_return_value_caches_nothing(
    redis_client: redis.Redis, stampede_protection: bool,
) -> None:
    @redis_cache(redis=redis_client, key='values', stampede_protection=stampede_protection)
    def f(n: int) -> Any:
        return object() if n else {1, 2}

    calls: list[Callable[[], object]] = [lambda: f(1), lambda: f(0), lambda: f.__bypass__(1)]
    for call in calls:
        with pytest.raises(TypeError, match='not JSON serializable'):
            call()
    assert redis_client.keys('*') == []


def test_wraps_wrapped_and_bypass(redis_client: redis.Redis) -> None:
    results = iter([(1, 'first'), (1, 'second'), (1, 'third')])

    def compute(n: int) -> Any:
        'Compute it.'
        return next(results)

    cached = redis_cache(redis=redis_client, key='bypass')(compute)
    assert cached.__wrapped__ is compute
    assert untyped(cached).__name__ == 'compute'
    assert cached.__doc__ == 'Compute it.'
    # A miss returns what the function returned; a hit, what JSON decodes.
    assert cached(1) == (1, 'first')
    assert cached(1) == [1, 'first']
    # __bypass__ recomputes and overwrites, and is neither a hit nor a miss.
    assert cached.__bypass__(1) == (1, 'second')
    assert cached(1) == [1, 'second']
    assert cached.cache_info() == CacheInfo(hits=2, misses=1, maxsize=None, currsize=1)
    assert redis_client.hget('bypass', field(1)) == b'[1, "second"]'


def test_counts_are_per_function(redis_client: redis.Redis) -> None:
    @redis_cache(redis=redis_client, key='one')
    def one(n: int) -> int:
        return n

    @redis_cache(redis=redis_client, key='two')
    def two(n: int) -> int:
        return n

    one(1)
    one(1)
    two(1)
    assert one.cache_info() == CacheInfo(hits=1, misses=1, maxsize=None, currsize=1)
    assert two.cache_info() == CacheInfo(hits=0, misses=1, maxsize=None, currsize=1)
    # currsize is the server's: another decorator on the same key sees it.
    again = redis_cache(redis=redis_client, key='one')(lambda n: n)
    assert again.cache_info() == CacheInfo(hits=0, misses=0, maxsize=None, currsize=1)
    assert again(1) == 1
    assert again.cache_info().hits == 1


def test_random_key_is_logged(redis_client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    # That it is deleted with the function, test_contract checks.
    with caplog.at_level(logging.WARNING, logger='pottery_async'):
        @redis_cache(redis=redis_client)
        def f(n: int) -> int:
            return n

    f(1)
    (key,) = redis_client.keys('pottery:*')
    assert cast(bytes, key).decode() in caplog.text
    assert 'f()' in caplog.text


@pytest.mark.parametrize('dead', [False, True], ids=['wrong type', 'dead server'])
def test_a_failed_lookup_never_calls_the_function(
    redis_client: redis.Redis, refused_port: int, dead: bool,
) -> None:
    'Only __bypass__ computes before it stores; a call whose lookup fails computes nothing.'
    calls = []

    def f(n: int) -> int:
        calls.append(n)
        return n

    redis_client.set('k', 'a string')
    client = redis.Redis(port=refused_port, retry=NO_RETRY) if dead else redis_client
    error = redis.ConnectionError if dead else WrongTypeError
    cached = redis_cache(redis=client, key='k', stampede_protection=True)(f)
    with pytest.raises(error):
        cached(1)
    assert calls == []
    with pytest.raises(error):
        cached.__bypass__(2)
    assert calls == [2]


def test_invalid_durations_raise_value_error(redis_client: redis.Redis) -> None:
    for kwargs in ({'timeout': -1}, {'entry_ttl': 0}, {'entry_ttl': -1}, {'stampede_timeout': 0},
                   {'timeout': float('nan')}, {'entry_ttl': float('inf')}):
        with pytest.raises(ValueError, match='positive'):
            redis_cache(redis=redis_client, key='k', **kwargs)
    assert redis_client.keys('*') == []


def test_sync_api_refuses_coroutine_functions(redis_client: redis.Redis) -> None:
    async def coroutine() -> int:
        return 1

    with pytest.raises(TypeError, match='plain functions'):
        redis_cache(redis=redis_client, key='k')(coroutine)


def test_url_client(url: str, redis_client: redis.Redis) -> None:
    @redis_cache(redis=url, key='by-url')
    def f(n: int) -> int:
        return n + 1

    assert f(1) == 2
    assert redis_client.hgetall('by-url') == {field(1): b'2'}


# --- entry_ttl -----------------------------------------------------------------


def test_entry_ttl_expires_entries_one_by_one(redis_client: redis.Redis) -> None:
    calls: list[int] = []

    @redis_cache(redis=redis_client, key='entries', timeout=None, entry_ttl=60)
    def f(n: int) -> dict[str, int]:
        calls.append(n)
        return {'n': n}

    f(1)
    f(2)
    stored = cast(bytes | None, redis_client.hget('entries', field(1)))
    assert stored is not None
    assert stored.startswith(b'@')
    deadline, value = stored[1:].split(b'@', 1)
    assert value == b'{"n": 1}'
    now = redis_client.time()
    assert 0 < int(deadline) - (now[0] * 1000 + now[1] // 1000) <= 60_000
    assert redis_client.pttl('entries') == -1
    assert f(1) == {'n': 1}
    # Entry 1 runs out (its deadline moved to the past); entry 2 lives on.
    redis_client.hset('entries', field(1), b'@1@{"n": 1}')
    assert f.cache_info().currsize == 2
    assert f(1) == {'n': 1}
    assert f(2) == {'n': 2}
    assert calls == [1, 2, 1]
    assert f.cache_info() == CacheInfo(hits=2, misses=3, maxsize=None, currsize=2)


def test_entry_ttl_in_real_time(redis_client: redis.Redis) -> None:
    calls: list[int] = []

    @redis_cache(redis=redis_client, key='short', entry_ttl=0.05)
    def f(n: int) -> int:
        calls.append(n)
        return n

    f(1)
    time.sleep(0.2)  # well past the entry's TTL, on the server's clock
    f(1)
    assert calls == [1, 1]


def test_expired_entry_is_deleted_by_lookups_and_stores(redis_client: redis.Redis) -> None:
    @redis_cache(redis=redis_client, key='sweep', entry_ttl=60)
    def f(n: int) -> int:
        return n

    redis_client.hset('sweep', mapping={field(1): b'@1@1', field(2): b'@1@2', field(3): b'@1@3'})
    f(1)  # the lookup deletes entry 1; the store samples entries 2 and 3, expired too
    assert redis_client.hkeys('sweep') == [field(1)]


def test_entries_with_a_ttl_read_by_a_cache_without_one(redis_client: redis.Redis) -> None:
    @redis_cache(redis=redis_client, key='mixed', entry_ttl=60)
    def with_ttl(n: int) -> list[int]:
        return [n]

    without_ttl = redis_cache(redis=redis_client, key='mixed')(lambda n: None)
    with_ttl(1)
    assert without_ttl(1) == [1]
    redis_client.hset('mixed', field(1), b'@1@[1]')
    assert without_ttl(1) is None


# --- stampede protection ---------------------------------------------------------


async def test_async_stampede_computes_once(aredis: redis.asyncio.Redis, redis_client: redis.Redis) -> None:
    @pottery_async.redis_cache(redis=aredis, key='stampede', stampede_protection=True)
    async def slow(n: int) -> int:
        await aredis.incr('executions')
        await asyncio.sleep(0.2)
        return n * 2

    results = await asyncio.gather(*[slow(21) for _ in range(20)])
    assert results == [42] * 20
    assert redis_client.get('executions') == b'1'
    assert await slow.cache_info() == CacheInfo(hits=19, misses=1, maxsize=None, currsize=1)
    assert lock_keys(redis_client) == []


@pytest.mark.parametrize('decode_responses', [False, True])
async def test_stored_value_wakes_every_waiter(
    url: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch, decode_responses: bool,
) -> None:
    # Waiters never look again on their own here, and the lock outlasts the
    # test's patience: only the holder's "stored" message can let them go,
    # all of them at once (also through a client that decodes replies).
    monkeypatch.setattr(_wake, 'RECHECK', 600.0)
    client = redis.asyncio.Redis.from_url(url, decode_responses=decode_responses)

    @pottery_async.redis_cache(redis=client, key='woken', stampede_protection=True, stampede_timeout=60)
    async def slow(n: int) -> int:
        await client.incr('executions')
        # Longer than a waiter's wait for its subscription (1 s): they are
        # all listening when the value is stored.
        await asyncio.sleep(1.5)
        return n * 2

    try:
        async with asyncio.timeout(20):
            results = await asyncio.gather(*[slow(21) for _ in range(10)])
    finally:
        await client.aclose()
    assert results == [42] * 10
    assert redis_client.get('executions') == b'1'
    assert lock_keys(redis_client) == []


async def test_cancelled_lookup_releases_its_lock(
    server: Server, url: str, redis_client: redis.Redis,
) -> None:
    client = redis.asyncio.Redis.from_url(url)

    @pottery_async.redis_cache(redis=client, key='cancelled', stampede_protection=True, stampede_timeout=60)
    async def f(n: int) -> int:
        return n

    try:
        await client.ping()  # connected: the lookup goes out at once
        # The lookup (which takes the entry's lock) is sent, the server
        # pauses before answering, and the caller gives up.
        server.pause()
        resume = threading.Timer(0.3, server.resume)
        resume.start()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await f(1)
        resume.join()
        # Nobody holds the entry: the next call computes it at once.
        async with asyncio.timeout(10):
            assert await f(1) == 1
    finally:
        server.resume()
        await client.aclose()
    assert lock_keys(redis_client) == []


def test_sync_stampede_across_threads_computes_once(redis_client: redis.Redis) -> None:
    @redis_cache(redis=redis_client, key='threads', stampede_protection=True)
    def slow(n: int) -> int:
        redis_client.incr('executions')
        time.sleep(0.2)
        return n * 2

    results: list[int] = []
    assert in_threads(*[lambda: results.append(slow(21))] * 8) == []
    assert results == [42] * 8
    assert redis_client.get('executions') == b'1'
    assert slow.cache_info() == CacheInfo(hits=7, misses=1, maxsize=None, currsize=1)
    assert lock_keys(redis_client) == []


async def test_failed_computation_lets_a_waiter_compute(aredis: redis.asyncio.Redis) -> None:
    calls = 0

    @pottery_async.redis_cache(redis=aredis, key='flaky', stampede_protection=True)
    async def flaky(n: int) -> int:
        nonlocal calls
        calls += 1
        attempt = calls
        await asyncio.sleep(0.05)
        if attempt == 1:
            raise ValueError('the first attempt fails')
        return n

    results = await asyncio.gather(*[flaky(3) for _ in range(10)], return_exceptions=True)
    assert sum(isinstance(r, ValueError) for r in results) == 1
    assert results.count(3) == 9
    assert calls == 2
    assert await aredis.keys('*') == [b'flaky']


STAMPEDE_CHILD = '''
import sys, time, redis
from pottery_async.sync import redis_cache
client = redis.Redis.from_url(sys.argv[1])

@redis_cache(redis=client, key='stampede', stampede_protection=True, stampede_timeout=60)
def slow(n):
    client.incr('executions')
    time.sleep(0.3)
    return {'double': n * 2}

print('ready', flush=True)
assert client.blpop(['go'], timeout=60)
print(slow(21)['double'], *slow.cache_info()[:2], flush=True)
'''


def run_children(
    script: str, url: str, count: int, env: dict[str, str] | None = None,
) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, '-X', 'dev', '-W', 'error', '-c', script, url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for _ in range(count)
    ]


def test_stampede_across_processes_computes_once(url: str, redis_client: redis.Redis) -> None:
    children = run_children(STAMPEDE_CHILD, url, 6)
    try:
        for child in children:
            assert read_line(child, within=60) == 'ready'
        # All at once: each child is blocked on BLPOP until now.
        redis_client.rpush('go', *['go'] * len(children))
        outputs = []
        for child in children:
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
            outputs.append(out.split())
    finally:
        for child in children:
            child.kill()
            child.communicate()
    assert [o[0] for o in outputs] == ['42'] * 6
    hits, misses = sum(int(o[1]) for o in outputs), sum(int(o[2]) for o in outputs)
    assert (hits, misses) == (5, 1)
    assert redis_client.get('executions') == b'1'
    assert redis_client.hgetall('stampede') == {field(21): b'{"double": 42}'}
    assert lock_keys(redis_client) == []


HOLDER_CHILD = '''
import sys, time, redis
from pottery_async.sync import redis_cache
client = redis.Redis.from_url(sys.argv[1])

@redis_cache(redis=client, key='orphan', stampede_protection=True, stampede_timeout=1)
def compute(n):
    client.incr('started')
    print('computing', flush=True)
    time.sleep(600)

compute(1)
'''


def test_waiter_computes_when_the_holder_died(url: str, redis_client: redis.Redis) -> None:
    (child,) = run_children(HOLDER_CHILD, url, 1)
    try:
        assert read_line(child, within=60) == 'computing'
        # The entry's lock starts with the cache's key, in its cluster hash slot.
        assert lock_keys(redis_client) == [b'orphan:lock:' + field(1).strip(b'"') + b'{orphan}']
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.communicate()

    @redis_cache(redis=redis_client, key='orphan', stampede_protection=True, stampede_timeout=1)
    def compute(n: int) -> int:
        redis_client.incr('started')
        return n

    # Blocked until the dead holder's lease runs out, then computes itself.
    assert compute(1) == 1
    assert redis_client.get('started') == b'2'
    assert compute.cache_info() == CacheInfo(hits=0, misses=1, maxsize=None, currsize=1)
    assert lock_keys(redis_client) == []


HASHSEED_CHILD = '''
import sys, redis
from pottery_async.sync import redis_cache
client = redis.Redis.from_url(sys.argv[1])

@redis_cache(redis=client, key='shared-cache')
def describe(n, *, label, tags=('a', 'b')):
    client.incr('executions')
    return {'n': n, 'label': label, 'tags': list(tags), 'hash': hash(label)}

value = describe(12, tags=('x', 'y'), label='twelve')
print(value['n'], value['label'], *describe.cache_info()[:2])
'''


def test_processes_with_different_hash_seeds_share_entries(url: str, redis_client: redis.Redis) -> None:
    outputs = []
    for seed in ('1', '2'):
        (child,) = run_children(HASHSEED_CHILD, url, 1, env={**os.environ, 'PYTHONHASHSEED': seed})
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        outputs.append(out.split())
    assert outputs == [['12', 'twelve', '0', '1'], ['12', 'twelve', '1', '0']]
    assert redis_client.get('executions') == b'1'
    (stored,) = redis_client.hvals('shared-cache')
    assert redis_client.hkeys('shared-cache') == [field(12, label='twelve', tags=['x', 'y'])]
    assert json.loads(stored)['tags'] == ['x', 'y']


# --- bad input: wrong type, dead server ------------------------------------------


# --- redis_cache(), async API -------------------------------------------------------


async def test_async_api(aredis: redis.asyncio.Redis, redis_client: redis.Redis) -> None:
    calls: list[int] = []

    async def expensive(n: int) -> int:
        'An expensive coroutine.'
        calls.append(n)
        await asyncio.sleep(0)
        return n

    cached = pottery_async.redis_cache(redis=aredis, key='async-cache')(expensive)
    assert cached.__wrapped__ is expensive
    assert cached.__doc__ == 'An expensive coroutine.'
    assert await cached(5) == 5
    assert await cached(5) == 5
    assert await cached(6) == 6
    assert await cached.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=2)
    assert await cached.__bypass__(5) == 5
    assert calls == [5, 6, 5]
    assert redis_client.hgetall('async-cache') == {field(5): b'5', field(6): b'6'}
    await cached.cache_clear()
    assert await cached.cache_info() == CacheInfo(hits=0, misses=0, maxsize=None, currsize=0)
    assert not redis_client.exists('async-cache')


async def test_async_api_refuses_plain_functions_and_sync_clients(
    aredis: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    with pytest.raises(TypeError, match='coroutine functions'):
        pottery_async.redis_cache(redis=aredis, key='k')(untyped(lambda: 1))

    @pottery_async.redis_cache(redis=redis_client, key='k')
    async def f() -> int:
        return 1

    with pytest.raises(TypeError, match=r'redis\.asyncio'):
        await f()
    assert not redis_client.exists('k')


async def test_async_unserialisable_return_value_releases_the_lock(
    aredis: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    @pottery_async.redis_cache(redis=aredis, key='bad', stampede_protection=True)
    async def f() -> object:
        return object()

    with pytest.raises(TypeError, match='not JSON serializable'):
        await f()
    assert redis_client.keys('*') == []


# --- CachedOrderedDict ----------------------------------------------------------------


def test_cached_ordered_dict_seed_example(redis_client: redis.Redis) -> None:
    search_results_1 = CachedOrderedDict(
        redis_client=redis_client, redis_key='search-results', dict_keys=(1, 2, 3, 4, 5),
    )
    assert isinstance(search_results_1, collections.OrderedDict)
    assert sorted(search_results_1.misses()) == [1, 2, 3, 4, 5]
    assert all(v is CachedOrderedDict._SENTINEL for v in search_results_1.values())
    for key, value in zip(range(1, 6), ['one', 'two', 'three', 'four', 'five'], strict=True):
        search_results_1[key] = value
    assert search_results_1.misses() == frozenset()
    assert list(search_results_1.items()) == [(1, 'one'), (2, 'two'), (3, 'three'), (4, 'four'), (5, 'five')]
    assert redis_client.hgetall('search-results') == {
        b'1': b'"one"', b'2': b'"two"', b'3': b'"three"', b'4': b'"four"', b'5': b'"five"',
    }
    assert 0 < redis_client.pttl('search-results') <= 60_000

    search_results_2 = CachedOrderedDict(
        redis_client=redis_client, redis_key='search-results', dict_keys=(2, 4, 6, 8, 10),
    )
    assert sorted(search_results_2.misses()) == [6, 8, 10]
    assert search_results_2[2] == 'two'
    search_results_2.update({6: 'six', 8: 'eight'}, )
    search_results_2.update([(10, 'ten')])
    assert search_results_2.misses() == frozenset()
    assert list(search_results_2.items()) == [(2, 'two'), (4, 'four'), (6, 'six'), (8, 'eight'), (10, 'ten')]
    assert redis_client.hlen('search-results') == 8


def test_cached_ordered_dict_loads_in_one_round_trip_and_keeps_order(redis_client: redis.Redis) -> None:
    redis_client.hset('big', mapping={json.dumps(i): json.dumps(f'v{i}') for i in range(2, 20_001, 2)})
    CachedOrderedDict(redis_client=redis_client, redis_key='big', dict_keys=(1,))  # loads the script
    keys = list(range(20_000, 0, -1))  # beyond Lua's unpack() limit
    loaded = []
    assert round_trips(redis_client, lambda: loaded.append(
        CachedOrderedDict(redis_client=redis_client, redis_key='big', dict_keys=keys),
    )) == 1
    (d,) = loaded
    assert list(d) == keys
    assert d.misses() == frozenset(range(1, 20_000, 2))
    assert d[2] == 'v2'
    assert d[3] is CachedOrderedDict._SENTINEL
    # One round trip for update() too.
    d.update({-1: 'loads the script'})
    assert round_trips(redis_client, lambda: d.update({i: f'v{i}' for i in range(1, 20_000, 2)})) == 1
    assert d.misses() == frozenset()
    assert redis_client.hlen('big') == 20_001


def test_cached_ordered_dict_duplicates_and_kinds_of_keys(redis_client: redis.Redis) -> None:
    redis_client.hset('kinds', mapping={'"a"': '1', '1': '"int"', 'true': '"bool"'})
    d = CachedOrderedDict(redis_client=redis_client, redis_key='kinds', dict_keys=['a', 1, 'a', 'b', True])
    # True == 1 as a dict key, as in any dict; JSON still tells them apart.
    assert list(d.items()) == [('a', 1), (1, 'bool'), ('b', CachedOrderedDict._SENTINEL)]
    assert d.misses() == frozenset({'b'})


def test_setdefault(redis_client: redis.Redis) -> None:
    d = CachedOrderedDict(redis_client=redis_client, redis_key='sd', dict_keys=(1, 2))
    d[1] = 'one'
    # Set here: returned, nothing sent.
    assert round_trips(redis_client, lambda: d.setdefault(1, 'uno')) == 0
    assert d[1] == 'one'
    # A miss that another process has cached since: its value, not the default.
    redis_client.hset('sd', '2', '"two"')
    assert d.setdefault(2, 'dos') == 'two'
    assert redis_client.hget('sd', '2') == b'"two"'
    # Absent everywhere: the default is stored, at the end.
    assert d.setdefault(3, 'three') == 'three'
    assert d.setdefault(4) is None
    assert list(d.items()) == [(1, 'one'), (2, 'two'), (3, 'three'), (4, None)]
    assert d.misses() == frozenset()
    assert redis_client.hgetall('sd') == {b'1': b'"one"', b'2': b'"two"', b'3': b'"three"', b'4': b'null'}


def test_local_operations_stay_local(redis_client: redis.Redis) -> None:
    d = CachedOrderedDict(redis_client=redis_client, redis_key='local', dict_keys=(1, 2, 3))
    d.update({1: 'one', 2: 'two', 3: 'three'})
    del d[1]
    d.pop(2)
    d.move_to_end(3, last=False)
    d[4] = CachedOrderedDict._SENTINEL  # a miss marker is not written
    assert list(d) == [3, 4]
    assert redis_client.hgetall('local') == {b'1': b'"one"', b'2': b'"two"', b'3': b'"three"'}


def test_copies_and_unions_are_plain_ordered_dicts(redis_client: redis.Redis) -> None:
    """copy(), d | other and other | d are snapshots (plain OrderedDicts, as
    a copy of one Redis hash cannot be another); Pottery's raise TypeError
    or connect to localhost.  d |= other writes through, as update() does."""
    d = CachedOrderedDict(redis_client=redis_client, redis_key='snap', dict_keys=(1, 2))
    d[1] = 'one'
    copied = d.copy()
    assert type(copied) is collections.OrderedDict
    assert list(copied.items()) == [(1, 'one'), (2, CachedOrderedDict._SENTINEL)]
    assert list((d | {3: 'x'}).items())[-1] == (3, 'x')
    assert list({3: 'x'} | d) == [3, 1, 2]
    copied[5] = 'five'
    assert 5 not in d
    d |= {2: 'two'}
    assert d[2] == 'two'
    assert redis_client.hgetall('snap') == {b'1': b'"one"', b'2': b'"two"'}
    with pytest.raises(TypeError):
        d | [(3, 'x')]  # as OrderedDict's: only with a dict


@pytest.mark.parametrize('timeout', [None, 0])
def test_cached_ordered_dict_without_timeout(redis_client: redis.Redis, timeout: int | None) -> None:
    d = CachedOrderedDict(redis_client=redis_client, redis_key='kept', dict_keys=(1,), timeout=timeout)
    d[1] = 'one'
    assert redis_client.pttl('kept') == -1


def test_cached_ordered_dict_refreshes_its_ttl(redis_client: redis.Redis) -> None:
    redis_client.hset('refresh', '1', '"one"')
    redis_client.pexpire('refresh', 5_000)
    d = CachedOrderedDict(redis_client=redis_client, redis_key='refresh', dict_keys=(1, 2), timeout=100)
    writes = (lambda: None, lambda: d.__setitem__(2, 'two'), lambda: d.update(x=1), lambda: d.setdefault(3))
    for write in writes:
        write()
        assert 60_000 < redis_client.pttl('refresh') <= 100_000
        redis_client.pexpire('refresh', 5_000)


async def test_cached_ordered_dict_async_api(aredis: redis.asyncio.Redis, redis_client: redis.Redis) -> None:
    redis_client.hset('async-results', mapping={'1': '"one"', '3': '"three"'})
    d = await pottery_async.CachedOrderedDict(
        redis_client=aredis, redis_key='async-results', dict_keys=(3, 2, 1),
    )
    assert isinstance(d, collections.OrderedDict)
    assert list(d.items()) == [(3, 'three'), (2, pottery_async.CachedOrderedDict._SENTINEL), (1, 'one')]
    assert d.misses() == frozenset({2})
    with pytest.raises(TypeError, match=r'await d\.setitem'):
        d[2] = 'two'
    with pytest.raises(TypeError, match=r'await d\.setitem'):
        d |= {2: 'two'}
    assert d.misses() == frozenset({2})
    await d.setitem(2, 'two')
    await d.update({4: 'four'}, five=5)
    assert await d.setdefault(6, 'six') == 'six'
    assert list(d.items()) == [(3, 'three'), (2, 'two'), (1, 'one'), (4, 'four'), ('five', 5), (6, 'six')]
    assert redis_client.hgetall('async-results') == {
        b'1': b'"one"', b'2': b'"two"', b'3': b'"three"', b'4': b'"four"', b'"five"': b'5', b'6': b'"six"',
    }


async def test_cached_ordered_dict_forgotten_await(
    aredis: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    pending = pottery_async.CachedOrderedDict(redis_client=aredis, redis_key='pending', dict_keys=(1,))
    with pytest.raises(TypeError, match='not awaited'):
        pending.misses()
    with pytest.raises(TypeError, match='not awaited'):
        await pending.setitem(1, 'one')
    assert not redis_client.exists('pending')
    await pending
    assert pending.misses() == frozenset({1})
    forgotten = pottery_async.CachedOrderedDict(redis_client=aredis, redis_key='forgotten', dict_keys=(1,))
    with pytest.warns(RuntimeWarning, match='never awaited'):
        del forgotten
    # Without dict_keys there is nothing to load: awaiting is optional.
    empty = pottery_async.CachedOrderedDict(redis_client=aredis, redis_key='empty')
    await empty.setitem('a', 1)
    assert redis_client.hgetall('empty') == {b'"a"': b'1'}



async def test_unawaited_cached_ordered_dict_refuses_reads(
    aredis: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    'Not yet loaded, it would look empty: every read raises TypeError naming what to await.'
    redis_client.hset('docs', mapping={'1': '"one"', '2': '"two"'})
    pending = pottery_async.CachedOrderedDict(redis_client=aredis, redis_key='docs', dict_keys=(1, 2, 3))
    reads: list[Callable[[], object]] = [
        lambda: len(pending), lambda: list(pending), lambda: pending[1], lambda: 1 in pending,
        lambda: pending.get(1), lambda: pending.keys(), lambda: pending.values(),
        lambda: pending.items(), lambda: reversed(pending), lambda: pending | {},
        lambda: {} | pending, lambda: pending.copy(), lambda: pending.pop(1),
        lambda: pending.popitem(), lambda: pending.move_to_end(1), lambda: pending.__delitem__(1),
        pending.clear, lambda: pending.__ior__({4: 'four'}),
    ]
    for read in reads:
        with pytest.raises(TypeError, match=r'write "await CachedOrderedDict\(\.\.\.\)"'):
            read()
    # Its repr says so rather than showing an empty dict.
    assert repr(pending) == "<CachedOrderedDict key='docs', not awaited: holds nothing yet>"
    loaded = await pending
    assert repr(loaded).startswith('CachedOrderedDict([(1, ')
    assert list(loaded.items()) == [(1, 'one'), (2, 'two'), (3, pottery_async.CachedOrderedDict._SENTINEL)]
    assert len(loaded) == 3
    assert loaded.get(2) == 'two'
    assert redis_client.hgetall('docs') == {b'1': b'"one"', b'2': b'"two"'}


# --- compatibility with Pottery 3.0.1 ---------------------------------------------------


def test_cached_ordered_dict_reads_what_pottery_cache_wrote(
    pottery_module: Any, redis_client: redis.Redis,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')

        @pottery_module.redis_cache(redis=redis_client, key='pottery-cache')  # type: ignore[untyped-decorator]
        def square(n: int) -> int:
            return n * n

        square(3)
        square(4)
    fields = [int(f) for f in redis_client.hkeys('pottery-cache')]
    d = CachedOrderedDict(redis_client=redis_client, redis_key='pottery-cache', dict_keys=fields)
    assert sorted(d.values()) == [9, 16]


def test_pottery_reads_our_cache_and_shares_its_key(pottery_module: Any, redis_client: redis.Redis) -> None:
    @redis_cache(redis=redis_client, key='shared')
    def ours(n: int) -> dict[str, int]:
        return {'n': n}

    ours(1)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        # Our hash is a Pottery RedisDict: JSON field -> JSON value.
        assert list(pottery_module.RedisDict(redis=redis_client, key='shared').values()) == [{'n': 1}]

        @pottery_module.redis_cache(redis=redis_client, key='shared')  # type: ignore[untyped-decorator]
        def theirs(n: int) -> dict[str, int]:
            return {'n': n}

        assert theirs(1) == {'n': 1}
        assert theirs(1) == {'n': 1}
        assert theirs.cache_info().currsize == 2
    # Their entry (named by hash()) and ours coexist, neither disturbing the other.
    assert ours(1) == {'n': 1}
    assert ours.cache_info() == CacheInfo(hits=1, misses=1, maxsize=None, currsize=2)
    assert 0 < redis_client.pttl('shared') <= 60_000


def test_sync_namespace_is_a_drop_in(pottery_module: Any) -> None:
    import pottery_async.sync as ours

    assert issubclass(ours.CachedOrderedDict, collections.OrderedDict)
    assert ours.CacheInfo is pottery_async.CacheInfo
    assert ours.CacheInfo._fields == pottery_module.cache.CacheInfo._fields


# --- Redis Cluster -------------------------------------------------------------------------


def test_cache_and_cached_ordered_dict_on_cluster(sync_cluster: redis.RedisCluster) -> None:
    calls: list[int] = []

    @redis_cache(redis=sync_cluster, key='cluster-cache', stampede_protection=True, entry_ttl=60)
    def f(n: int) -> int:
        calls.append(n)
        return n * 2

    assert [f(1), f(1), f(2)] == [2, 2, 4]
    assert calls == [1, 2]
    assert f.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=2)
    d = CachedOrderedDict(redis_client=sync_cluster, redis_key='cluster-results', dict_keys=(1, 2))
    d[1] = 'one'
    d.update({2: 'two'})
    assert sync_cluster.hgetall('cluster-results') == {b'1': b'"one"', b'2': b'"two"'}


async def test_async_stampede_on_cluster(cluster: Cluster, sync_cluster: redis.RedisCluster) -> None:
    client = redis.asyncio.RedisCluster(host=cluster.host, port=cluster.port)
    # redis.asyncio's cluster client sometimes fails concurrent first
    # commands while it discovers the cluster; discover it first.
    await client.initialize()
    try:
        @pottery_async.redis_cache(redis=client, key='cluster-stampede', stampede_protection=True)
        async def slow(n: int) -> int:
            await client.incr('{cluster-stampede}:executions')
            await asyncio.sleep(0.2)
            return n

        assert await asyncio.gather(*[slow(7) for _ in range(10)]) == [7] * 10
    finally:
        await client.aclose()
    assert sync_cluster.get('{cluster-stampede}:executions') == b'1'
