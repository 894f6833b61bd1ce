"""HyperLogLog through both APIs, against real servers."""

from __future__ import annotations

import warnings
from typing import cast

import pytest
import redis
import redis.asyncio
import redis.backoff
import redis.retry

import pottery_async
import pottery_async.sync
from pottery_async.exceptions import InefficientAccessWarning
from pottery_async.hyper import _CONTAINS, _MERGE
from pottery_async.sync import HyperLogLog
from tests.helpers import ELEMENTS, nodes_of, registers, untyped, warm_scripts
from tests.server_checks import sends, temporaries_deleted
from tests.servers import Cluster

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')

SEARCHES = {
    'google in 1998', 'minesweeper', 'joey tribbiani', 'wizard of oz', 'rgb to hex', 'pac-man',
    'breathing exercise', 'do a barrel roll', 'snake',
}


@pytest.fixture
def searches(redis_client: redis.Redis) -> HyperLogLog:
    return HyperLogLog(redis=redis_client, key='google-searches')


def encoding(client: redis.Redis, key: str) -> str:
    'How Redis stores a HyperLogLog: sparse (small) or dense (12 kB).'
    byte = client.getrange(key, 4, 4)
    return {b'\x00': 'dense', b'\x01': 'sparse'}[cast(bytes, byte)]


# --- the sync API ------------------------------------------------------------


def test_seed_example(searches: HyperLogLog, redis_client: redis.Redis) -> None:
    assert not redis_client.exists('google-searches')
    searches.add('sonic the hedgehog video game')
    assert redis_client.type('google-searches') == b'string'
    assert redis_client.pfcount('google-searches') == len(searches) == 1
    searches.update(SEARCHES)
    assert redis_client.pfcount('google-searches') == len(searches) == 10
    assert 'joey tribbiani' in searches
    assert 'jennifer aniston' not in searches
    assert tuple(searches.contains_many('joey tribbiani', 'jennifer aniston')) == (True, False)
    assert repr(searches) == '<HyperLogLog key=google-searches len=10>'
    # Membership tests leave no trace.
    assert redis_client.keys('*') == [b'google-searches']
    searches.clear()
    assert not redis_client.exists('google-searches')
    assert len(searches) == 0


def test_elements_are_json_encoded_like_pottery(searches: HyperLogLog, redis_client: redis.Redis) -> None:
    searches.update(untyped(ELEMENTS))
    # PFADD of the JSON encodings changes nothing: they are what was added.
    assert redis_client.pfadd('google-searches', 'jack') == 1
    assert redis_client.pfadd('google-searches', '"jack"', '4098', 'null', 'true', '1.5', '[1, "two"]',
                              '{"a": [null], "b": 2}', '"\\u00fcn\\u00efcode"', '""') == 0
    assert all(element in searches for element in ELEMENTS)
    assert {1, 2} not in searches
    assert tuple(searches.contains_many('jack', object(), 'nobody')) == (True, False, False)
    assert tuple(searches.contains_many()) == ()


def test_one_command_per_operation(searches: HyperLogLog, redis_client: redis.Redis, url: str) -> None:
    warm_scripts(redis_client, _CONTAINS, _MERGE)
    with sends(url, 'PFADD'):
        searches.add('snake')
    with sends(url, 'PFADD'):
        searches.update([f'search-{i}' for i in range(1000)])
    with sends(url, 'EVALSHA'):
        assert 'snake' in searches
    with sends(url, 'EVALSHA'):
        answers = tuple(searches.contains_many(*(f'search-{i}' for i in range(1000))))
    assert answers == (True,) * 1000
    other = HyperLogLog(['x', 'y'], redis=redis_client, key='other')
    with sends(url, 'EVALSHA'):
        searches.update(other, ['z'])
    with sends(url, 'PFCOUNT'):
        len(searches)


@pytest.mark.parametrize('size', [10, 5000])
def test_membership_changes_nothing(redis_client: redis.Redis, size: int) -> None:
    hll = HyperLogLog((f'e{i}' for i in range(size)), redis=redis_client, key='hll')
    expected = 'sparse' if size == 10 else 'dense'
    assert encoding(redis_client, 'hll') == expected
    redis_client.expire('hll', 1000)
    dump = redis_client.dump('hll')
    members = [f'e{i}' for i in range(size)]
    strangers = [f'stranger-{i}' for i in range(1000)]
    assert all(hll.contains_many(*members))
    found = sum(hll.contains_many(*strangers))
    assert found < len(strangers)
    assert [s in hll for s in strangers[:100]] == list(hll.contains_many(*strangers[:100]))
    assert redis_client.dump('hll') == dump
    assert redis_client.ttl('hll') > 900
    assert redis_client.keys('*') == [b'hll']


def test_membership_of_a_missing_hyperloglog_writes_nothing(searches: HyperLogLog,
                                                             redis_client: redis.Redis) -> None:
    assert 'snake' not in searches
    assert tuple(searches.contains_many('a', 'b')) == (False, False)
    assert len(searches) == 0
    assert redis_client.keys('*') == []


def test_update_merges_hyperloglogs_on_the_server(redis_client: redis.Redis) -> None:
    a = HyperLogLog(['a', 'b'], redis=redis_client, key='a')
    b = HyperLogLog(['b', 'c'], redis=redis_client, key='b')
    a.update(b, ['d'], 'ef')
    assert len(a) == 6
    assert redis_client.pfcount('b') == 2
    assert tuple(a.contains_many('a', 'b', 'c', 'd', 'e', 'f', 'g')) == (True,) * 6 + (False,)
    # A HyperLogLog as the constructor's iterable is merged, as in Pottery.
    copy = HyperLogLog(a, redis=redis_client, key='copy')
    assert len(copy) == 6
    assert registers(redis_client, 'copy') == registers(redis_client, 'a')
    a.update()
    a.update([])
    assert len(a) == 6


def test_update_from_another_server_copies_registers(redis_client: redis.Redis,
                                                       far_client: redis.Redis) -> None:
    ours = HyperLogLog(['a', 'b'], redis=redis_client, key='ours')
    far = HyperLogLog((f'far-{i}' for i in range(5000)), redis=far_client, key='far')
    sparse_far = HyperLogLog(['x'], redis=far_client, key='sparse-far')
    missing = HyperLogLog(redis=far_client, key='missing')
    far_dump = far_client.dump('far')
    ours.update(far, sparse_far, missing, ['c'])
    HyperLogLog(['a', 'b', 'c', 'x', *(f'far-{i}' for i in range(5000))], redis=redis_client, key='merged')
    assert registers(redis_client, 'ours') == registers(redis_client, 'merged')
    assert far_client.dump('far') == far_dump
    assert not far_client.exists('missing')
    assert sorted(redis_client.keys('*')) == [b'merged', b'ours']
    # Only empty HyperLogLogs from elsewhere: nothing to write.
    HyperLogLog(redis=redis_client, key='untouched').update(missing)
    assert not redis_client.exists('untouched')


def test_a_second_client_to_the_same_server_copies(redis_client: redis.Redis, url: str) -> None:
    other_client = redis.Redis.from_url(url)
    try:
        a = HyperLogLog(['a'], redis=redis_client, key='a')
        b = HyperLogLog(['b'], redis=other_client, key='b')
        a.update(b)
        assert len(a) == 2
    finally:
        other_client.close()


def test_union(redis_client: redis.Redis, far_client: redis.Redis) -> None:
    a = HyperLogLog(['a', 'b'], redis=redis_client, key='a')
    b = HyperLogLog(['b', 'c'], redis=redis_client, key='b')
    union = a.union(b, ['d'])
    assert isinstance(union, HyperLogLog)
    assert union.key.startswith('pottery:')
    assert len(union) == 4
    assert (len(a), len(b)) == (2, 2)
    named = a.union(b, key='named')
    assert named.key == 'named'
    assert redis_client.pfcount('named') == 3
    # On another server: its registers are copied there.
    far = a.union(['z'], redis=far_client, key='far-union')
    assert far_client.pfcount('far-union') == 3
    assert len(far) == 3
    temporary = union.key
    del union
    len(a)  # the deletion queued by the collection runs before this call
    assert not redis_client.exists(temporary)
    assert sorted(redis_client.keys('*')) == [b'a', b'b', b'named']


def test_warns_where_pottery_warns(searches: HyperLogLog, redis_client: redis.Redis) -> None:
    other = HyperLogLog(redis=redis_client, key='other')
    with pytest.warns(InefficientAccessWarning):
        searches.update(['a', 'b'])
    with pytest.warns(InefficientAccessWarning):
        searches.update(other)
    with pytest.warns(InefficientAccessWarning):
        tuple(searches.contains_many('a', 'b'))
    with pytest.warns(InefficientAccessWarning):
        searches.union()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        searches.add('c')
        searches.update(['d'])
        assert 'c' in searches
        assert tuple(searches.contains_many('c')) == (True,)
        assert len(searches) == 4


# --- bad input: a clear error, and nothing on the server changes ------------


# --- the async API -----------------------------------------------------------


async def test_async_api(aredis: redis.asyncio.Redis) -> None:
    searches = await pottery_async.HyperLogLog(['sonic the hedgehog video game'], redis=aredis,
                                               key='google-searches')
    assert isinstance(searches, pottery_async.HyperLogLog)
    assert await searches.len() == 1
    await searches.update(SEARCHES)
    await searches.add('snake')
    assert await aredis.pfcount('google-searches') == await searches.len() == 10
    assert await searches.contains('joey tribbiani')
    assert not await searches.contains('jennifer aniston')
    assert tuple(await searches.contains_many('joey tribbiani', 'jennifer aniston')) == (True, False)
    assert await searches.repr() == '<HyperLogLog key=google-searches len=10>'
    assert repr(searches) == "<HyperLogLog key='google-searches'>"
    other = await pottery_async.HyperLogLog(['x'], redis=aredis, key='other')
    union = await searches.union(other, ['y'])
    assert isinstance(union, pottery_async.HyperLogLog)
    assert await union.len() == 12
    await searches.update(other)
    assert await searches.len() == 11
    await searches.clear()
    assert not await aredis.exists('google-searches')
    assert await searches.len() == 0
    del union
    await temporaries_deleted(aredis)
    assert sorted(await aredis.keys('*')) == [b'other']


async def test_async_constructor_does_no_io_and_forgotten_await_fails(aredis: redis.asyncio.Redis) -> None:
    pending = pottery_async.HyperLogLog(['a'], redis=aredis, key='pending')
    assert not await aredis.exists('pending')
    with pytest.raises(RuntimeError, match='not awaited'):
        await pending.len()
    assert not await aredis.exists('pending')
    await pending
    assert await pending.contains('a')
    forgotten = pottery_async.HyperLogLog(['a'], redis=aredis, key='forgotten')
    with pytest.warns(RuntimeWarning, match='never awaited'):
        del forgotten
    assert not await aredis.exists('forgotten')


async def test_async_decoding_client(url: str) -> None:
    # Replies arrive as str; the registers copied from elsewhere stay bytes.
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    other = redis.asyncio.Redis.from_url(url)
    try:
        a = await pottery_async.HyperLogLog((f'a{i}' for i in range(3000)), redis=client, key='a')
        b = await pottery_async.HyperLogLog(['b'], redis=other, key='b')
        await a.update(b)
        assert await a.len() == await other.pfcount('a')
        assert tuple(await a.contains_many('a1', 'b', 'zz')) == (True, True, False)
    finally:
        await client.aclose()
        await other.aclose()


# --- Redis Cluster: PFMERGE within a slot, copies across slots ---------------


def test_hyperloglogs_on_a_cluster(cluster: Cluster) -> None:
    client = redis.RedisCluster(host=cluster.host, port=cluster.port)
    try:
        keys = ['{tag}a', '{tag}b', 'spread-0', 'spread-1', 'spread-2', 'odd}key', 'a{}b}']
        hlls = {key: HyperLogLog([key, 'common'], redis=client, key=key) for key in keys}
        assert len(nodes_of(client, keys)) > 1
        for key, hll in hlls.items():
            assert key in hll
            assert tuple(hll.contains_many(key, 'common', 'nobody')) == (True, True, False)
            assert len(hll) == 2
        target = hlls['{tag}a']
        target.update(*hlls.values(), ['extra'])
        assert len(target) == len(keys) + 2
        union = hlls['spread-0'].union(*hlls.values())
        assert len(union) == len(keys) + 2
        found = client.keys('*', target_nodes=redis.RedisCluster.PRIMARIES)
        assert sorted(found) == sorted([k.encode() for k in keys] + [union.key.encode()])
    finally:
        client.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
        client.close()


# --- data compatibility with Pottery 3.0.1 ---------------------------------


def test_containers_as_sources(redis_client: redis.Redis) -> None:
    # The other containers of both APIs are read from Redis, as Pottery
    # iterates its own.
    words = pottery_async.sync.RedisList(['a', 'b', 'a'], redis=redis_client, key='words')
    more = pottery_async.sync.RedisSet({'c'}, redis=redis_client, key='more')
    hll = HyperLogLog(words, redis=redis_client, key='from-list')
    assert len(hll) == 2
    hll.update(more, ['d'])
    assert len(hll) == 4
    assert list(hll.contains_many('a', 'c', 'z')) == [True, True, False]
    union = hll.union(pottery_async.sync.RedisSet({'e'}, redis=redis_client, key='other'), key='union')
    assert redis_client.pfcount('union') == len(union) == 5
    assert words.to_list() == ['a', 'b', 'a']  # read, not changed


async def test_async_containers_as_sources(aredis: redis.asyncio.Redis) -> None:
    # The async API's types do not admit its own containers as sources (yet): untyped().
    words = await pottery_async.RedisList(['a'], redis=aredis, key='awords')
    hll = await pottery_async.HyperLogLog(untyped(words), redis=aredis, key='ahll')
    await hll.update(untyped(await pottery_async.RedisSet({'b'}, redis=aredis, key='aset')))
    assert await hll.len() == 2
