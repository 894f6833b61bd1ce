"""RedisCounter through both APIs, against real servers."""

from __future__ import annotations

import collections
import collections.abc
import json
import multiprocessing
import warnings
from collections import Counter
from typing import Any

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async.exceptions import InefficientAccessWarning, KeyExistsError
from pottery_async.sync import RedisCounter, RedisDict
from tests.helpers import NOT_A_HASH, assert_wrong_type
from tests.servers import Cluster

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')


def raw(client: redis.Redis | redis.RedisCluster, key: str) -> dict[bytes, bytes]:
    return client.hgetall(key)  # type: ignore[return-value]


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
    RedisCounter({'red': 4, ('x', 1): 2}, redis=redis_client, key='m', blue=1, red=1)  # type: ignore[dict-item]
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
    assert sorted(c.elements()) == ['a', 'a', 'a', 'a', 'b', 'b']
    assert isinstance(c.elements(), collections.abc.Iterator)
    assert c.most_common() == [('a', 4), ('b', 2), ('c', 0), ('d', -2)]
    assert c.most_common(1) == [('a', 4)]
    assert c.total() == 4
    assert len(c) == 4
    assert sorted(c) == ['a', 'b', 'c', 'd']
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
    expected.subtract(c=1)
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
    assert counter.to_counter() == Counter(a=2.5, b=1.25)
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
        c + {'a': 1}  # type: ignore[operator]
    with pytest.raises(TypeError):
        c + 1  # type: ignore[operator]


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
        assert c <= {'a': 1}  # type: ignore[operator]


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


def _hammer(url: str, n: int, barrier: Any) -> None:
    client = redis.Redis.from_url(url)
    counter = RedisCounter(redis=client, key='hammered')
    barrier.wait()
    for i in range(n):
        counter.update(['shared', f'word-{i % 3}'])
    client.close()


def test_concurrent_processes_lose_no_update(url: str, redis_client: redis.Redis) -> None:
    context = multiprocessing.get_context('spawn')
    barrier = context.Barrier(4)
    processes = [context.Process(target=_hammer, args=(url, 500, barrier)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(100)
        assert process.exitcode == 0
    counter = RedisCounter(redis=redis_client, key='hammered')
    assert counter['shared'] == 2000
    assert counter.total() == 4000


def _hammer_floats(url: str, n: int, barrier: Any) -> None:
    client = redis.Redis.from_url(url)
    counter = RedisCounter(redis=client, key='floats')
    barrier.wait()
    for _ in range(n):
        counter.update({'x': 0.5, 'y': 1})
    client.close()


def test_concurrent_transactions_lose_no_update(url: str, redis_client: redis.Redis) -> None:
    # Float counts take the WATCH/MULTI path: conflicts are retried.
    context = multiprocessing.get_context('spawn')
    barrier = context.Barrier(4)
    processes = [context.Process(target=_hammer_floats, args=(url, 100, barrier)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(100)
        assert process.exitcode == 0
    assert RedisCounter(redis=redis_client, key='floats').to_counter() == Counter(x=200.0, y=400)


# --- bad input: a clear error, and nothing on the server changes ------------


def test_unserialisable_input_writes_nothing(c: RedisCounter, redis_client: redis.Redis) -> None:
    before = raw(redis_client, 'c')
    for operation in (
        lambda: c.update(['ok', object()]),
        lambda: c.update({'ok': 1, object(): 1}),
        lambda: c.update({'ok': 1, 'bad': object()}),
        lambda: c.update({'ok': 1, 'bad': 'text'}),
        lambda: c.subtract({'ok': 1, 'bad': 'text'}),
        lambda: c.update(ok=1, bad=object()),  # type: ignore[arg-type]
        lambda: c.subtract([[1], {2}]),
        lambda: c.__setitem__('x', object()),
        lambda: c[object()],  # type: ignore[index]
        lambda: c.__iadd__({'ok': 1, object(): 2}),
        lambda: c.__iadd__({'ok': 1, 'bad': 'text'}),
    ):
        with pytest.raises(TypeError):
            operation()
        assert raw(redis_client, 'c') == before
    with pytest.raises(TypeError):
        RedisCounter(['ok', object()], redis=redis_client, key='new')
    assert not redis_client.exists('new')


def test_non_numeric_count_on_the_server_changes_nothing(redis_client: redis.Redis) -> None:
    redis_client.hset('odd', mapping={'"a"': '1', '"b"': '"text"'})
    counter = RedisCounter(redis=redis_client, key='odd')
    before = raw(redis_client, 'odd')
    with pytest.raises(TypeError):
        counter.update(['a', 'b'])
    assert raw(redis_client, 'odd') == before
    counter.update(['a'])
    assert counter['a'] == 2


@pytest.mark.parametrize('setup', NOT_A_HASH)
def test_wrong_type_key_is_left_intact(redis_client: redis.Redis, setup: Any) -> None:
    setup(redis_client)
    kind = redis_client.type('k')
    dump = redis_client.dump('k')
    counter = RedisCounter(redis=redis_client, key='k')
    good = RedisCounter('ab', redis=redis_client, key='good')
    operations = [
        # Another counter at fault: the error names its key.
        lambda: good + counter, lambda: good.update(counter), lambda: good.__iadd__(counter),
        lambda: good == counter, lambda: good <= counter,
        lambda: counter['a'], lambda: counter.__setitem__('a', 1), lambda: counter.__delitem__('a'),
        lambda: 'a' in counter, lambda: len(counter), lambda: list(counter), lambda: counter.update('a'),
        lambda: counter.update({'a': 0.5}), lambda: counter.subtract('a'), lambda: list(counter.elements()),
        lambda: counter.most_common(), lambda: counter.total(), lambda: counter.to_counter(),
        lambda: repr(counter), lambda: counter == Counter(), lambda: counter + Counter(),
        lambda: Counter() - counter, lambda: -counter, lambda: counter <= Counter(),
        lambda: counter.__iadd__(Counter(a=1)), lambda: counter.__iand__(Counter(a=1)),
        lambda: RedisCounter(counter, redis=redis_client, key='copy'),
    ]
    assert_wrong_type(operations, 'hash', response_error=False)
    with pytest.raises(KeyExistsError):
        RedisCounter('a', redis=redis_client, key='k')
    assert redis_client.type('k') == kind
    assert redis_client.dump('k') == dump
    assert not redis_client.exists('copy')
    assert raw(redis_client, 'good') == {b'"a"': b'1', b'"b"': b'1'}


def test_an_empty_source_is_no_initial_contents(c: RedisCounter, redis_client: redis.Redis) -> None:
    empty = RedisCounter(redis=redis_client, key='empty')
    RedisCounter(empty, redis=redis_client, key='c')
    assert RedisCounter(c, redis=redis_client, key='copy').to_counter() == c.to_counter()


# --- the async API -----------------------------------------------------------


async def test_async_api(aredis: redis.asyncio.Redis) -> None:
    c = await pottery_async.RedisCounter(redis=aredis, key='c', a=4, b=2, c=0, d=-2)
    assert await c.getitem('a') == 4
    assert await c.getitem('bacon') == 0
    assert sorted([x async for x in c.elements()]) == ['a', 'a', 'a', 'a', 'b', 'b']
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
    assert await c.to_counter() == Counter(x=40, y=40, z=10.0)


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
            assert counter.to_counter() == Counter(a=3, c=1, z=0.5)
            assert counter.most_common(1) == [('a', 3)]
        assert len({client.get_node_from_key(key).name for key in keys}) > 1
    finally:
        client.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
        client.close()


# --- data compatibility with Pottery 3.0.1 ---------------------------------


def test_pottery_writes_we_read_and_update(pottery_module: Any, redis_client: redis.Redis) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        # Pottery 3.0.1 counts right from mappings only: its update() and
        # subtract() of an iterable or kwargs miscount keys that exist.
        theirs = pottery_module.RedisCounter('gallahad', redis=redis_client, key='theirs')
        theirs.update({'x': 2.5})
        theirs.subtract({'g': 1})
    ours = RedisCounter(redis=redis_client, key='theirs')
    assert ours.to_counter() == Counter(g=0, a=3, l=2, h=1, d=1, x=2.5)
    ours.update('gax')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert theirs.to_counter() == Counter(g=1, a=4, l=2, h=1, d=1, x=3.5)


def test_we_write_pottery_reads(pottery_module: Any, redis_client: redis.Redis) -> None:
    ours = RedisCounter('gallahad', redis=redis_client, key='ours')
    ours.update({'x': 2.5, 'y': 3})
    ours.subtract({'g': 1, 'y': 1})
    ours['z'] = 7
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        theirs = pottery_module.RedisCounter('gallahad', redis=redis_client, key='theirs')
        theirs.update({'x': 2.5, 'y': 3})
        theirs.subtract({'g': 1, 'y': 1})
        theirs['z'] = 7
        mirror = pottery_module.RedisCounter(redis=redis_client, key='ours')
        assert mirror.to_counter() == ours.to_counter()
        assert repr(mirror) == repr(ours)
    assert raw(redis_client, 'ours') == raw(redis_client, 'theirs')


def test_sync_signature_matches_pottery(pottery_module: Any) -> None:
    import inspect

    mine_sig = inspect.signature(RedisCounter)
    theirs_sig = inspect.signature(pottery_module.RedisCounter)
    for parameter in theirs_sig.parameters.values():
        assert mine_sig.parameters[parameter.name].kind == parameter.kind
        assert mine_sig.parameters[parameter.name].default == parameter.default
    for name in ('update', 'subtract', 'elements', 'most_common', 'total', 'to_counter', 'to_dict',
                 '__add__', '__sub__', '__or__', '__and__', '__pos__', '__neg__',
                 '__iadd__', '__isub__', '__ior__', '__iand__', '__le__', '__lt__', '__ge__', '__gt__'):
        assert hasattr(RedisCounter, name), name
