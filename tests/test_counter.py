"""RedisCounter through both APIs, against real servers."""

from __future__ import annotations

import collections
import collections.abc
import json
import multiprocessing
import warnings
from collections import Counter
from typing import Any, cast

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async.exceptions import InefficientAccessWarning, KeyExistsError
from pottery_async.sync import RedisCounter, RedisDict
from tests.helpers import nodes_of, ordered, untyped
from tests.servers import Cluster

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')


def raw(client: redis.Redis | redis.RedisCluster, key: str) -> dict[bytes, bytes]:
    return cast(dict[bytes, bytes], client.hgetall(key))


def calls(client: redis.Redis) -> Counter[str]:
    'Calls per command so far (a script\'s own calls are counted too).'
    stats = client.info('commandstats')
    return Counter({name[len('cmdstat_'):]: int(stat['calls']) for name, stat in stats.items()})


@pytest.fixture
def c(redis_client: redis.Redis) -> RedisCounter:
    return RedisCounter(redis=redis_client, key='c', a=4, b=2, c=0, d=-2)


# --- the sync API: everything collections.Counter offers -------------------


def test_is_a_mutable_mapping_and_a_redis_dict(c: RedisCounter) -> None:
    assert isinstance(c, collections.abc.MutableMapping)
    assert isinstance(c, RedisDict)


def test_stores_json_like_pottery(redis_client: redis.Redis) -> None:
    RedisCounter('gallahad', redis=redis_client, key='g')
    assert raw(redis_client, 'g') == {b'"g"': b'1', b'"a"': b'3', b'"l"': b'2', b'"h"': b'1', b'"d"': b'1'}
    assert redis_client.type('g') == b'hash'
    RedisCounter({'red': 4, ('x', 1): 2}, redis=redis_client, key='m', blue=1, red=1)
    assert raw(redis_client, 'm') == {b'"red"': b'5', b'["x", 1]': b'2', b'"blue"': b'1'}


def test_constructor_forms(redis_client: redis.Redis) -> None:
    assert RedisCounter(['eggs', 'ham', 'eggs'], redis=redis_client, key='k1').to_counter() == Counter(
        eggs=2, ham=1)
    assert RedisCounter({'red': 4, 'blue': 2}, redis=redis_client, key='k2').to_counter() == Counter(
        red=4, blue=2)
    assert RedisCounter(redis=redis_client, key='k3', cats=4, dogs=8).to_counter() == Counter(cats=4, dogs=8)
    assert RedisCounter(Counter('aab'), redis=redis_client, key='k4').to_counter() == Counter('aab')
    source = RedisCounter('xyy', redis=redis_client, key='k5')
    assert RedisCounter(source, redis=redis_client, key='k6', x=1).to_counter() == Counter(x=2, y=2)
    assert RedisCounter(redis=redis_client, key='k7').to_counter() == Counter()
    assert not redis_client.exists('k7')


def test_missing_keys_count_zero(c: RedisCounter, redis_client: redis.Redis) -> None:
    assert c['a'] == 4
    assert c['bacon'] == 0
    assert 'bacon' not in c
    assert c.get('bacon') is None
    c['sausage'] = 0
    assert 'sausage' in c
    del c['sausage']
    del c['sausage']  # no KeyError, as Counter
    assert b'"sausage"' not in raw(redis_client, 'c')


def test_elements_most_common_total(c: RedisCounter) -> None:
    assert ordered(c.elements()) == ['a', 'a', 'a', 'a', 'b', 'b']
    assert isinstance(c.elements(), collections.abc.Iterator)
    assert c.most_common() == [('a', 4), ('b', 2), ('c', 0), ('d', -2)]
    assert c.most_common(1) == [('a', 4)]
    assert c.total() == 4
    assert len(c) == 4
    assert ordered(c) == ['a', 'b', 'c', 'd']
    assert dict(c.items()) == {'a': 4, 'b': 2, 'c': 0, 'd': -2}


def test_most_common_ties_keep_insertion_order(redis_client: redis.Redis) -> None:
    counter = RedisCounter('abracadabra', redis=redis_client, key='abra')
    assert counter.most_common(3) == [('a', 5), ('b', 2), ('r', 2)]
    assert counter.most_common() == Counter('abracadabra').most_common()


def test_elements_are_paged(redis_client: redis.Redis) -> None:
    counter = RedisCounter(redis=redis_client, key='many', x=2500, y=1, z=-5)
    pages: list[int] = []

    async def collect() -> None:
        async for page in counter._core.elements().pages:
            pages.append(len(page))

    pottery_async._bridge.run(collect())
    assert sum(pages) == 2501
    assert max(pages) <= 1000
    assert Counter(counter.elements()) == Counter(x=2500, y=1)
    counter['f'] = 1.5
    with pytest.raises(TypeError):
        list(counter.elements())


def test_subtract_like_the_seed(c: RedisCounter, redis_client: redis.Redis) -> None:
    c.subtract(Counter(a=1, b=2, c=3, d=4))
    assert repr(c) == "RedisCounter{'a': 3, 'b': 0, 'c': -3, 'd': -6}"
    assert raw(redis_client, 'c') == {b'"a"': b'3', b'"b"': b'0', b'"c"': b'-3', b'"d"': b'-6'}


def test_update_and_subtract_forms(redis_client: redis.Redis) -> None:
    counter = RedisCounter(redis=redis_client, key='u')
    counter.update('abca')
    counter.update({'a': 10, 'z': 0})
    counter.update(b=5)
    counter.update(['c'], c=2)
    counter.update(Counter(d=1))
    counter.update(RedisCounter(redis=redis_client, key='other', e=3))
    counter.update()
    counter.update([])
    expected = Counter('abca')
    expected.update({'a': 10, 'z': 0})
    expected.update(b=5)
    expected.update(['c'], c=2)
    expected.update(Counter(d=1), e=3)
    assert counter.to_counter() == expected
    assert 'z' in counter
    counter.subtract('aa')
    counter.subtract({'b': 10})
    counter.subtract(c=1)
    expected.subtract('aa')
    expected.subtract({'b': 10})
    expected.subtract({'c': 1})
    assert counter.to_counter() == expected
    assert redis_client.hget('u', '"b"') == b'-4'


def test_update_of_a_few_words_is_one_command(redis_client: redis.Redis) -> None:
    counter = RedisCounter(redis=redis_client, key='words')
    counter.update(['warm'])  # connected, script loaded
    before = calls(redis_client)
    counter.update('the quick brown fox jumps over the lazy dog'.split())
    sent = calls(redis_client) - before
    # One EVALSHA; inside it, a check and an HINCRBY per distinct word.
    assert sent == Counter(evalsha=1, hget=8, hincrby=8, info=1)
    assert counter['the'] == 2


def test_floats_and_huge_counts_use_python_arithmetic(redis_client: redis.Redis) -> None:
    counter = RedisCounter(redis=redis_client, key='f', a=1)
    counter.update({'a': 0.5, 'b': 0.25})
    assert raw(redis_client, 'f') == {b'"a"': b'1.5', b'"b"': b'0.25'}
    counter.update(['a', 'b'])  # integer increments on float counts
    assert counter.to_counter() == {'a': 2.5, 'b': 1.25}
    counter.update(c=2**70)
    counter.update(c=1)
    assert counter['c'] == 2**70 + 1
    assert redis_client.hget('f', '"c"') == str(2**70 + 1).encode()
    counter.subtract(c=2**70)
    assert counter['c'] == 1
    counter.update(d=9 * 10**17)
    counter.update(d=9 * 10**17)  # past the fast path's bound
    assert counter['d'] == 18 * 10**17


def test_arithmetic_operators_return_plain_counters(c: RedisCounter, redis_client: redis.Redis) -> None:
    mine = Counter(a=4, b=2, c=0, d=-2)
    d = Counter(a=1, b=2, c=3, d=4)
    before = raw(redis_client, 'c')
    for ours, theirs in [
        (c + d, mine + d), (c - d, mine - d), (c | d, mine | d), (c & d, mine & d),
        (d + c, d + mine), (d - c, d - mine), (d | c, d | mine), (d & c, d & mine),
        (+c, +mine), (-c, -mine),
    ]:
        assert type(ours) is Counter
        assert ours == theirs
        assert list(ours.items()) == list(theirs.items())
    other = RedisCounter(d, redis=redis_client, key='other')
    assert c + other == mine + d
    assert other - c == d - mine
    assert raw(redis_client, 'c') == before
    with pytest.raises(TypeError):
        c + untyped({'a': 1})
    with pytest.raises(TypeError):
        c + untyped(1)


def test_comparisons(c: RedisCounter, redis_client: redis.Redis) -> None:
    mine = Counter(a=4, b=2, c=0, d=-2)
    assert c == mine
    assert c == Counter(a=4, b=2, d=-2)  # as Counter: a missing key counts 0
    assert c != Counter(a=4)
    assert c == {'a': 4, 'b': 2, 'c': 0, 'd': -2}  # a plain mapping compares exactly
    assert c != {'a': 4, 'b': 2, 'd': -2}
    assert c != ['a']
    assert c <= Counter(a=5, b=2)
    assert c < Counter(a=5, b=2)
    assert not c < mine
    assert not c >= Counter(a=1)  # d is -2 < 0
    assert c >= Counter(a=1, d=-2)
    assert c > Counter(a=1, d=-2)
    assert Counter(a=1, d=-2) < c
    assert c == RedisCounter(mine, redis=redis_client, key='same')
    assert c == RedisCounter(redis=redis_client, key='c')
    with pytest.raises(TypeError):
        assert c <= untyped({'a': 1})


@pytest.mark.parametrize(('operation', 'reference'), [
    (lambda x, y: x.__iadd__(y), lambda x, y: x.__iadd__(y)),
    (lambda x, y: x.__isub__(y), lambda x, y: x.__isub__(y)),
    (lambda x, y: x.__ior__(y), lambda x, y: x.__ior__(y)),
    (lambda x, y: x.__iand__(y), lambda x, y: x.__iand__(y)),
])
def test_in_place_operators(redis_client: redis.Redis, operation: Any, reference: Any) -> None:
    start = Counter(a=4, b=2, c=0, d=-2, e=1)
    for other in (Counter(a=1, b=3, d=4, f=2), Counter(), Counter(e=-5)):
        counter = RedisCounter(start, redis=redis_client, key='i')
        result = operation(counter, other)
        assert result is counter
        expected = reference(Counter(start), other)
        assert counter.to_counter() == expected
        assert len(counter) == len(expected)  # non-positive counts are gone
        counter.clear()
    counter = RedisCounter(start, redis=redis_client, key='i')
    counter += RedisCounter(redis=redis_client, key='other', a=1)
    assert counter.to_counter() == Counter(a=5, b=2, e=1)


def test_repr_like_pottery(redis_client: redis.Redis) -> None:
    assert repr(RedisCounter(redis=redis_client, key='empty')) == 'RedisCounter{}'
    counter = RedisCounter(redis=redis_client, key='r', x=1, y=3)
    assert repr(counter) == "RedisCounter{'y': 3, 'x': 1}"
    counter[1] = 2
    assert repr(counter) == "RedisCounter{'y': 3, '1': 2, 'x': 1}"
    assert json.dumps(counter, cls=pottery_async.sync.PotteryEncoder) == '{"x": 1, "y": 3, "1": 2}'


def test_existing_key_with_contents_raises(c: RedisCounter, redis_client: redis.Redis) -> None:
    before = raw(redis_client, 'c')
    with pytest.raises(KeyExistsError):
        RedisCounter('abc', redis=redis_client, key='c')
    assert raw(redis_client, 'c') == before
    assert RedisCounter(redis=redis_client, key='c')['a'] == 4


# --- concurrent writers lose nothing ------------------------------------------


def _hammer(url: str, key: str, n: int, barrier: Any) -> None:
    client = redis.Redis.from_url(url)
    counter = RedisCounter(redis=client, key=key)
    barrier.wait()
    for i in range(n):
        counter.update({'x': 0.5, 'y': 1} if key == 'floats' else ['shared', f'word-{i % 3}'])
    client.close()


@pytest.mark.parametrize(('key', 'expected'), [
    # Integer counts: a script.
    ('words', Counter({'shared': 4 * 500, **{f'word-{w}': 4 * len(range(w, 500, 3)) for w in range(3)}})),
    # Float counts take the WATCH/MULTI path: conflicts are retried.
    ('floats', Counter({'x': untyped(4 * 100 * 0.5), 'y': 4 * 100})),
])
def test_concurrent_processes_lose_no_update(
    url: str, redis_client: redis.Redis, key: str, expected: Counter[str],
) -> None:
    context = multiprocessing.get_context('spawn')
    barrier = context.Barrier(4)
    n = 500 if key == 'words' else 100
    processes = [context.Process(target=_hammer, args=(url, key, n, barrier)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(100)
        assert process.exitcode == 0
    assert RedisCounter(redis=redis_client, key=key).to_counter() == expected


# --- bad input: a clear error, and nothing on the server changes ------------


def test_non_numeric_count_on_the_server_changes_nothing(redis_client: redis.Redis) -> None:
    redis_client.hset('odd', mapping={'"a"': '1', '"b"': '"text"'})
    counter = RedisCounter(redis=redis_client, key='odd')
    before = raw(redis_client, 'odd')
    with pytest.raises(TypeError):
        counter.update(['a', 'b'])
    assert raw(redis_client, 'odd') == before
    counter.update(['a'])
    assert counter['a'] == 2


def test_an_empty_source_is_no_initial_contents(c: RedisCounter, redis_client: redis.Redis) -> None:
    empty = RedisCounter(redis=redis_client, key='empty')
    RedisCounter(empty, redis=redis_client, key='c')
    assert RedisCounter(c, redis=redis_client, key='copy').to_counter() == c.to_counter()


# --- the async API -----------------------------------------------------------


async def test_async_api(aredis: redis.asyncio.Redis) -> None:
    c = await pottery_async.RedisCounter(redis=aredis, key='c', a=4, b=2, c=0, d=-2)
    assert await c.getitem('a') == 4
    assert await c.getitem('bacon') == 0
    assert ordered([x async for x in c.elements()]) == ['a', 'a', 'a', 'a', 'b', 'b']
    assert await c.most_common(1) == [('a', 4)]
    assert await c.total() == 4
    await c.subtract(Counter(a=1, b=2, c=3, d=4))
    assert await c.repr() == "RedisCounter{'a': 3, 'b': 0, 'c': -3, 'd': -6}"
    await c.update('aa', b=1)
    assert await c.to_counter() == Counter(a=5, b=1, c=-3, d=-6)
    assert await c.plus(Counter(c=3)) == Counter(a=5, b=1)
    assert await c.pos() == Counter(a=5, b=1)
    assert await c.neg() == Counter(c=3, d=6)
    assert await c.or_(Counter(z=1)) == Counter(a=5, b=1, z=1)
    assert await c.and_(Counter(a=2)) == Counter(a=2)
    assert await c.plus({'a': 1}) is NotImplemented
    assert await c.eq(Counter(a=5, b=1, c=-3, d=-6))
    assert await c.le(Counter(a=5, b=1))
    assert not await c.gt(Counter(a=5, b=1))
    assert await c.iplus(Counter(a=1)) is c
    assert await c.to_counter() == Counter(a=6, b=1)
    assert await c.isub(Counter(b=1)) is c
    assert await c.ior(Counter(z=2)) is c
    assert await c.iand(Counter(a=2, z=5)) is c
    assert await c.to_counter() == Counter(a=2, z=2)
    await c.delitem('nothing')
    await c.clear()
    assert not await aredis.exists('c')


async def test_async_constructor_does_no_io(aredis: redis.asyncio.Redis) -> None:
    pending = pottery_async.RedisCounter('aab', redis=aredis, key='pending')
    assert not await aredis.exists('pending')
    with pytest.raises(RuntimeError, match='not awaited'):
        await pending.getitem('a')
    assert await pending is pending
    assert await pending.getitem('a') == 2


async def test_async_concurrent_updates(aredis: redis.asyncio.Redis) -> None:
    import asyncio

    c = pottery_async.RedisCounter(redis=aredis, key='conc')
    await asyncio.gather(*(c.update(['x', 'y']) for _ in range(40)),
                         *(c.update({'z': 0.5}) for _ in range(20)))
    assert await c.to_counter() == {'x': 40, 'y': 40, 'z': 10.0}


async def test_async_warnings_point_at_the_callers_line(aredis: redis.asyncio.Redis) -> None:
    c = await pottery_async.RedisCounter('a', redis=aredis, key='w')
    with pytest.warns(InefficientAccessWarning) as record:
        await c.most_common()
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        await c.update('abc')
        await c.subtract('a')
        assert await c.getitem('a') == 1


# --- Redis Cluster -------------------------------------------------------------


def test_counters_on_a_cluster(cluster: Cluster) -> None:
    client = redis.RedisCluster(host=cluster.host, port=cluster.port)
    try:
        keys = [f'counter-{i}' for i in range(6)]
        for key in keys:
            counter = RedisCounter('abca', redis=client, key=key)
            counter.update({'a': 1, 'z': 0.5})
            counter -= Counter(b=1)
            assert counter.to_counter() == {'a': 3, 'c': 1, 'z': 0.5}
            assert counter.most_common(1) == [('a', 3)]
        assert len(nodes_of(client, keys)) > 1
    finally:
        client.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
        client.close()


# --- data compatibility with Pottery 3.0.1 ---------------------------------

