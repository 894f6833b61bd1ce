"""RedisSet through both APIs, against real servers."""

from __future__ import annotations

import ast
import collections.abc
import json
import warnings
from typing import cast

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async.exceptions import InefficientAccessWarning, KeyExistsError
from pottery_async.sync import RedisSet
from tests.helpers import Upper, nodes_of, ordered, untyped

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')


def raw(client: redis.Redis | redis.RedisCluster, key: str) -> set[bytes]:
    return cast(set[bytes], client.smembers(key))


def commands(client: redis.Redis) -> int:
    return int(client.info('stats')['total_commands_processed'])


@pytest.fixture
def basket(redis_client: redis.Redis) -> RedisSet:
    return RedisSet({'apple', 'orange', 'pear', 'banana'}, redis=redis_client, key='basket')


# --- the sync API: everything set / MutableSet offers -----------------------


def test_is_a_mutable_set(basket: RedisSet) -> None:
    assert isinstance(basket, collections.abc.MutableSet)
    assert isinstance(basket, collections.abc.Set)


def test_stores_json_like_pottery(redis_client: redis.Redis) -> None:
    s = RedisSet(['a', 1, None, [1, 'x'], {'z': 1, 'a': True}, 1.5], redis=redis_client, key='s')
    assert raw(redis_client, 's') == {b'"a"', b'1', b'null', b'[1, "x"]', b'{"a": true, "z": 1}', b'1.5'}
    assert redis_client.type('s') == b'set'
    assert len(s) == 6


def test_membership_length_iteration(basket: RedisSet) -> None:
    assert 'apple' in basket
    assert 'crabgrass' not in basket
    assert object() not in basket
    assert ['apple'] not in basket
    assert len(basket) == 4
    assert ordered(basket) == ['apple', 'banana', 'orange', 'pear']


def test_contains_many_is_one_command(basket: RedisSet, redis_client: redis.Redis) -> None:
    before = commands(redis_client)
    answers = basket.contains_many('apple', 'kiwi', object(), 'pear', 'apple')
    after = commands(redis_client)
    assert after - before == 2  # one SMISMEMBER, plus the INFO
    assert isinstance(answers, collections.abc.Iterator)
    assert tuple(answers) == (True, False, False, True, True)
    assert tuple(basket.contains_many()) == ()
    assert tuple(basket.contains_many(*(f'x{i}' for i in range(1000)))) == (False,) * 1000


def test_iteration_streams_large_sets(redis_client: redis.Redis) -> None:
    big = RedisSet(redis=redis_client, key='big')
    big.update(range(5000))
    pages = big._core.__aiter__().pages
    iterator = pottery_async._bridge.iterate(pages)
    first = [next(iterator) for _ in range(10)]
    assert len(first) == 10
    untyped(iterator).close()
    seen = list(big)
    assert len(seen) == len(set(seen)) == 5000
    assert set(seen) == set(range(5000))


def test_iteration_holds_one_page_at_a_time(redis_client: redis.Redis) -> None:
    big = RedisSet(redis=redis_client, key='big')
    big.update(f'element-{i}' for i in range(5000))
    sizes = []

    async def pages() -> list[int]:
        async for page in big._core.__aiter__().pages:
            sizes.append(len(page))
        return sizes

    pottery_async._bridge.run(pages())
    assert sum(sizes) == 5000
    assert len(sizes) > 1
    assert max(sizes) < 2500


def test_add_discard_remove_pop_clear(basket: RedisSet, redis_client: redis.Redis) -> None:
    basket.add('kiwi')
    basket.add('kiwi')
    basket.discard('apple')
    basket.discard('apple')
    basket.remove('pear')
    with pytest.raises(KeyError, match='pear'):
        basket.remove('pear')
    assert raw(redis_client, 'basket') == {b'"orange"', b'"banana"', b'"kiwi"'}
    popped = {basket.pop() for _ in range(3)}
    assert popped == {'orange', 'banana', 'kiwi'}
    with pytest.raises(KeyError, match='pop from an empty set'):
        basket.pop()
    assert not redis_client.exists('basket')
    basket.add('x')
    basket.clear()
    assert not redis_client.exists('basket')
    assert len(basket) == 0


def test_seed_operators_with_a_python_set(redis_client: redis.Redis) -> None:
    a = RedisSet('abracadabra', redis=redis_client, key='magic')
    b = set('alacazam')
    assert ordered(a) == ['a', 'b', 'c', 'd', 'r']
    for result, expected in [
        (a - b, {'b', 'd', 'r'}), (a | b, set('abcdlmrz')), (a & b, {'a', 'c'}), (a ^ b, set('bdlmrz')),
        (b - a, {'l', 'm', 'z'}), (b | a, set('abcdlmrz')), (b & a, {'a', 'c'}), (b ^ a, set('bdlmrz')),
    ]:
        # A plain Python set: nothing is written anywhere.
        assert type(result) is set
        assert result == expected
    assert redis_client.keys('*') == [b'magic']
    # Like collections.abc.Set, the operators take any iterable.
    assert a | 'xy' == set('abcdrxy')
    assert a & ['a', 'q'] == {'a'}
    with pytest.raises(TypeError):
        a | untyped(5)
    with pytest.raises(TypeError):
        untyped(5) - a


def test_named_methods_take_several_iterables(redis_client: redis.Redis) -> None:
    a = RedisSet('abcde', redis=redis_client, key='a')
    assert a.union('xy', ['z']) == set('abcdexyz')
    assert a.intersection('abcq', 'bcz') == {'b', 'c'}
    assert a.difference('a', ['b'], {'c'}) == {'d', 'e'}
    assert a.symmetric_difference('aq') == set('bcdeq')
    assert a.union() == a.intersection() == a.difference() == set('abcde')
    assert a.isdisjoint('xyz')
    assert not a.isdisjoint(['x', 'a'])
    assert a.issubset('abcdefg')
    assert not a.issubset('abc')
    assert a.issuperset(['a', 'a', 'b'])
    assert not a.issuperset(['a', 'q'])
    assert not a.issuperset([object()])
    assert a.symmetric_difference([object()]) - set('abcde') != set()


def test_comparisons_with_python_sets(redis_client: redis.Redis) -> None:
    a = RedisSet('abc', redis=redis_client, key='a')
    assert a == set('abc')
    assert set('abc') == a
    assert a != set('abcd')
    assert a != ['a', 'b', 'c']
    assert a <= set('abc')
    assert a <= set('abcd')
    assert a < set('abcd')
    assert not a < set('abc')
    assert a >= {'a'}
    assert a > {'a'}
    assert not a > set('abc')
    assert frozenset('abcd') > a
    assert {'a'} < a
    with pytest.raises(TypeError):
        assert a <= untyped(['a'])


def test_in_place_operators_with_python_sets(redis_client: redis.Redis) -> None:
    a = RedisSet('abc', redis=redis_client, key='a')
    same = a
    a |= {'d', 'e'}
    assert a is same
    assert raw(redis_client, 'a') == {b'"a"', b'"b"', b'"c"', b'"d"', b'"e"'}
    a -= {'a', 'zz'}
    assert a.to_set() == set('bcde')
    a &= {'b', 'c', 'd', 'q'}
    assert a.to_set() == set('bcd')
    a ^= {'d', 'x'}
    assert a is same
    assert raw(redis_client, 'a') == {b'"b"', b'"c"', b'"x"'}
    a &= set()
    assert not redis_client.exists('a')


def test_update_methods(redis_client: redis.Redis) -> None:
    a = RedisSet(redis=redis_client, key='a')
    a.update('ab', ['c'], range(2))
    assert a.to_set() == {'a', 'b', 'c', 0, 1}
    a.difference_update([0], 'b')
    assert a.to_set() == {'a', 'c', 1}
    a.intersection_update('abc', ['a', 'c', 'q'])
    assert a.to_set() == {'a', 'c'}
    a.symmetric_difference_update('cd')
    assert a.to_set() == {'a', 'd'}
    a.update()
    a.intersection_update()
    a.difference_update()
    assert a.to_set() == {'a', 'd'}


def test_update_is_one_command(redis_client: redis.Redis) -> None:
    a = RedisSet(redis=redis_client, key='a')
    assert len(a) == 0  # connected
    before = commands(redis_client)
    a.update(range(1000), ['x'])
    assert commands(redis_client) - before == 2  # one SADD, plus the INFO
    assert redis_client.scard('a') == 1001


def operators_give_what_python_gives(a: RedisSet, b: RedisSet) -> None:
    'a holds abcd, b cdef: the operators between them give what they give between Python sets.'
    for ours, python in (
        (a | b, set('abcdef')), (a & b, {'c', 'd'}), (a - b, {'a', 'b'}), (b - a, {'e', 'f'}),
        (a ^ b, set('abef')),
    ):
        assert ours == python
    assert not a <= b
    assert a != b


def test_operations_between_redis_sets_on_the_server(redis_client: redis.Redis) -> None:
    a = RedisSet('abcd', redis=redis_client, key='a')
    b = RedisSet('cdef', redis=redis_client, key='b')
    c = RedisSet('dx', redis=redis_client, key='c')
    operators_give_what_python_gives(a, b)
    assert a.union(b, c) == set('abcdefx')
    assert a.intersection(b, c) == {'d'}
    assert a.difference(b, c) == {'a', 'b'}
    assert not a.isdisjoint(b)
    assert a.isdisjoint(RedisSet('xyz', redis=redis_client, key='xyz'))
    assert RedisSet('cd', redis=redis_client, key='cd') <= a
    assert RedisSet('cd', redis=redis_client, key='cd2') < a
    assert a >= RedisSet('cd', redis=redis_client, key='cd3')
    assert a == RedisSet('dcba', redis=redis_client, key='copy')
    assert a == RedisSet(redis=redis_client, key='a')
    # Server-side: the sets never cross the network.
    before = commands(redis_client)
    assert a | b == set('abcdef')
    assert commands(redis_client) - before == 2  # SUNION, plus the INFO


def test_in_place_operations_between_redis_sets(redis_client: redis.Redis) -> None:
    a = RedisSet('abcd', redis=redis_client, key='a')
    b = RedisSet('cdef', redis=redis_client, key='b')
    a |= b
    assert raw(redis_client, 'a') == {f'"{x}"'.encode() for x in 'abcdef'}
    a -= RedisSet('ab', redis=redis_client, key='ab')
    assert a.to_set() == set('cdef')
    a &= RedisSet('cdq', redis=redis_client, key='cdq')
    assert a.to_set() == {'c', 'd'}
    a ^= RedisSet('dz', redis=redis_client, key='dz')
    assert a.to_set() == {'c', 'z'}
    a ^= a
    assert not redis_client.exists('a')
    assert raw(redis_client, 'b') == {f'"{x}"'.encode() for x in 'cdef'}


def test_operations_between_servers_fetch(redis_client: redis.Redis, far_client: redis.Redis) -> None:
    a = RedisSet('abcd', redis=redis_client, key='a')
    far = RedisSet('cdef', redis=far_client, key='far')
    operators_give_what_python_gives(a, far)
    assert RedisSet('dcba', redis=far_client, key='copy') == a
    assert not a.isdisjoint(far)
    a |= far
    assert a.to_set() == set('abcdef')
    a &= RedisSet('abcq', redis=far_client, key='abcq')
    assert a.to_set() == set('abc')
    a -= RedisSet('a', redis=far_client, key='just-a')
    assert a.to_set() == set('bc')
    a ^= RedisSet('cz', redis=far_client, key='cz')
    assert raw(redis_client, 'a') == {b'"b"', b'"z"'}
    # The other server's sets are only read.
    assert raw(far_client, 'far') == {f'"{x}"'.encode() for x in 'cdef'}


def test_a_second_client_to_the_same_server_fetches(redis_client: redis.Redis, url: str) -> None:
    other_client = redis.Redis.from_url(url)
    try:
        a = RedisSet('abc', redis=redis_client, key='a')
        b = RedisSet('bcd', redis=other_client, key='b')
        assert a & b == {'b', 'c'}
        a.update(b)
        assert a.to_set() == set('abcd')
    finally:
        other_client.close()


def test_sets_with_different_codecs_compare_by_value(redis_client: redis.Redis) -> None:
    a = RedisSet('abc', redis=redis_client, key='a')
    b = RedisSet('bcd', redis=redis_client, key='b', codec=Upper())
    assert raw(redis_client, 'b') == {b'"B"', b'"C"', b'"D"'}
    assert a & b == {'b', 'c'}
    a.update(b)
    assert raw(redis_client, 'a') == {b'"a"', b'"b"', b'"c"', b'"d"'}


def test_initial_contents_from_another_redis_set(redis_client: redis.Redis) -> None:
    a = RedisSet('abc', redis=redis_client, key='a')
    b = RedisSet(a, redis=redis_client, key='b')
    assert raw(redis_client, 'b') == raw(redis_client, 'a')
    assert b == a
    # An empty set is no initial contents: no KeyExistsError.
    RedisSet(RedisSet(redis=redis_client, key='empty'), redis=redis_client, key='a')
    assert raw(redis_client, 'a') == {b'"a"', b'"b"', b'"c"'}


def test_repr_to_set_and_json(basket: RedisSet, redis_client: redis.Redis) -> None:
    small = RedisSet(['x'], redis=redis_client, key='small')
    assert repr(small) == "RedisSet{'x'}"
    assert repr(RedisSet(redis=redis_client, key='nothing')) == 'RedisSet{}'
    assert basket.to_set() == {'apple', 'orange', 'pear', 'banana'}
    assert json.dumps(small, cls=pottery_async.sync.PotteryEncoder) == '["x"]'
    assert ast.literal_eval(repr(basket)[len('RedisSet'):]) == basket.to_set()


def test_warns_where_pottery_warns(basket: RedisSet) -> None:
    for operation in (
        lambda: list(basket), lambda: repr(basket), lambda: basket.to_set(),
        lambda: tuple(basket.contains_many('a')), lambda: basket | {'a'}, lambda: basket.issubset('a'),
        lambda: basket.update({'a'}),
    ):
        with pytest.warns(InefficientAccessWarning):
            operation()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        basket.add('kiwi')
        assert 'kiwi' in basket
        basket.discard('kiwi')
        assert len(basket) == 5  # the four fruits and the added a


def test_existing_key_with_contents_raises(basket: RedisSet, redis_client: redis.Redis) -> None:
    before = raw(redis_client, 'basket')
    with pytest.raises(KeyExistsError) as info:
        RedisSet({'other'}, redis=redis_client, key='basket')
    assert info.value.key == 'basket'
    assert raw(redis_client, 'basket') == before
    assert 'apple' in RedisSet(redis=redis_client, key='basket')


# --- bad input: a clear error, and nothing on the server changes ------------


# --- the async API -----------------------------------------------------------


async def test_async_api(aredis: redis.asyncio.Redis) -> None:
    basket = await pottery_async.RedisSet({'apple', 'orange', 'pear'}, redis=aredis, key='basket')
    assert ordered([x async for x in basket]) == ['apple', 'orange', 'pear']
    assert await basket.contains('apple')
    assert not await basket.contains('kiwi')
    assert tuple(await basket.contains_many('apple', 'kiwi')) == (True, False)
    assert await basket.len() == 3
    await basket.add('kiwi')
    await basket.discard('pear')
    await basket.remove('orange')
    with pytest.raises(KeyError):
        await basket.remove('orange')
    assert await basket.to_set() == {'apple', 'kiwi'}
    assert await basket.repr() in ("RedisSet{'apple', 'kiwi'}", "RedisSet{'kiwi', 'apple'}")
    assert repr(basket) == "<RedisSet key='basket'>"
    other = await pottery_async.RedisSet({'kiwi', 'lime'}, redis=aredis, key='other')
    assert await basket.or_(other) == {'apple', 'kiwi', 'lime'}
    assert await basket.and_({'kiwi'}) == {'kiwi'}
    assert await basket.sub(other) == {'apple'}
    assert await basket.xor(other) == {'apple', 'lime'}
    assert await basket.eq({'apple', 'kiwi'})
    assert await basket.le({'apple', 'kiwi', 'x'})
    assert await basket.lt({'apple', 'kiwi', 'x'})
    assert await basket.ge({'apple'})
    assert await basket.gt({'apple'})
    assert await basket.or_(untyped(5)) is NotImplemented
    assert await basket.ior(other) is basket
    assert await basket.to_set() == {'apple', 'kiwi', 'lime'}
    assert await basket.isub({'lime'}) is basket
    assert await basket.iand({'apple', 'kiwi'}) is basket
    assert await basket.ixor({'kiwi'}) is basket
    assert await basket.to_set() == {'apple'}
    assert await basket.pop() == 'apple'
    with pytest.raises(KeyError):
        await basket.pop()
    await other.clear()
    assert not await aredis.exists('basket', 'other')


async def test_async_constructor_does_no_io_and_forgotten_await_fails(aredis: redis.asyncio.Redis) -> None:
    pending = pottery_async.RedisSet({'a'}, redis=aredis, key='pending')
    assert not await aredis.exists('pending')
    with pytest.raises(RuntimeError, match='not awaited'):
        await pending.contains('a')
    await pending
    assert await pending.contains('a')
    forgotten = pottery_async.RedisSet({'a'}, redis=aredis, key='forgotten')
    with pytest.warns(RuntimeWarning, match='never awaited'):
        del forgotten
    assert not await aredis.exists('forgotten')


async def test_async_iteration_is_paged(aredis: redis.asyncio.Redis) -> None:
    s = await pottery_async.RedisSet(range(3000), redis=aredis, key='big')
    pages = [page async for page in s.__aiter__().pages]
    assert len(pages) > 1
    assert ordered(x for page in pages for x in page) == list(range(3000))


async def test_async_warnings_point_at_the_callers_line(aredis: redis.asyncio.Redis) -> None:
    s = await pottery_async.RedisSet({'a'}, redis=aredis, key='w')
    with pytest.warns(InefficientAccessWarning) as record:
        await s.to_set()
    assert record[0].filename == __file__


# --- Redis Cluster: server-side only within one hash slot --------------------


def test_sets_on_a_cluster(sync_cluster: redis.RedisCluster) -> None:
    # {tag} keys share a slot: one command.  The others live on other masters.
    a = RedisSet('abcd', redis=sync_cluster, key='{tag}a')
    b = RedisSet('cdef', redis=sync_cluster, key='{tag}b')
    spread = [RedisSet('cdef', redis=sync_cluster, key=f'spread-{i}') for i in range(6)]
    assert len(nodes_of(sync_cluster, (s.key for s in spread))) > 1
    for other in (b, *spread):
        operators_give_what_python_gives(a, other)
    a.update(b, *spread)
    assert a.to_set() == set('abcdef')
    a.intersection_update(spread[0], b)
    a.difference_update(spread[1], RedisSet('c', redis=sync_cluster, key='{tag}c'))
    assert a.to_set() == set()
    b ^= spread[2]
    assert not sync_cluster.exists('{tag}b')
    assert sync_cluster.smembers('spread-2') == {f'"{x}"'.encode() for x in 'cdef'}


# --- data compatibility with Pottery 3.0.1 ---------------------------------


CONTENTS = ['jack', 4098, None, True, 1.5, [1, 'two'], {'b': 2, 'a': [None]}]

