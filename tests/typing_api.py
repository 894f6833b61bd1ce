"""Pins the public types of both APIs; checked by mypy (see pyproject.toml), not run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import assert_type

import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async._codec import JSONTypes


def sync_api(client: redis.Redis) -> None:
    d = pottery_async.sync.RedisDict({'a': 1}, redis=client, key='k')
    assert_type(d['a'], JSONTypes)
    assert_type('a' in d, bool)
    assert_type(len(d), int)
    assert_type(list(d), list[JSONTypes])
    assert_type(d.get('a'), JSONTypes)
    assert_type(d.pop('a', None), JSONTypes)
    assert_type(d.popitem(), tuple[JSONTypes, JSONTypes])
    assert_type(d.to_dict(), dict[JSONTypes, JSONTypes])
    assert_type(d == {}, bool)
    assert_type(d.key, str)
    for key, value in d.items():
        assert_type(key, JSONTypes)
        assert_type(value, JSONTypes)
    timer = pottery_async.sync.ContextTimer()
    assert_type(timer.elapsed(), int)


async def async_api(client: redis.asyncio.Redis) -> None:
    d = await pottery_async.RedisDict({'a': 1}, redis=client, key='k')
    assert_type(d, pottery_async.RedisDict)
    assert_type(await d.getitem('a'), JSONTypes)
    assert_type(await d.contains('a'), bool)
    assert_type(await d.len(), int)
    assert_type(await d.eq({}), bool)
    assert_type(await d.to_dict(), dict[JSONTypes, JSONTypes])
    assert_type(await d.repr(), str)
    async for key in d:
        assert_type(key, JSONTypes)
    async for key, value in d.items():
        assert_type(key, JSONTypes)
        assert_type(value, JSONTypes)


def sync_queue(client: redis.Redis) -> None:
    q = pottery_async.sync.RedisSimpleQueue(redis=client, key='q')
    assert_type(q.put('a'), None)
    assert_type(q.get(), JSONTypes)
    assert_type(q.get(block=False, timeout=0.5), JSONTypes)
    assert_type(q.get_nowait(), JSONTypes)
    assert_type(q.qsize(), int)
    assert_type(q.empty(), bool)


async def async_queue(client: redis.asyncio.Redis) -> None:
    q = pottery_async.RedisSimpleQueue(redis=client, key='q')
    assert_type(await q.put('a'), None)
    assert_type(await q.get(timeout=0.5), JSONTypes)
    assert_type(await q.get_nowait(), JSONTypes)
    assert_type(await q.qsize(), int)
    assert_type(await q.empty(), bool)


def sync_containers(client: redis.Redis) -> None:
    s = pottery_async.sync.RedisSet({'a'}, redis=client, key='s')
    assert_type('a' in s, bool)
    assert_type(s.contains_many('a', 'b'), Iterator[bool])
    assert_type(s.to_set(), set[JSONTypes])
    assert_type(s.pop(), JSONTypes)
    l = pottery_async.sync.RedisList([1], redis=client, key='l')  # noqa: E741
    assert_type(l.pop(), JSONTypes)
    assert_type(l.to_list(), list[JSONTypes])
    assert_type(l + [2], pottery_async.sync.RedisList)  # noqa: RUF005 - the operator is what is pinned
    # Reflected operators: the twins' __rmul__ and __rsub__ (private coroutines in the core).
    assert_type(2 * l, pottery_async.sync.RedisList)
    d = pottery_async.sync.RedisDeque([1], redis=client, key='d', maxlen=3)
    assert_type(d.popleft(), JSONTypes)
    assert_type(d + [2], pottery_async.sync.RedisDeque)  # noqa: RUF005 - the operator is what is pinned
    c = pottery_async.sync.RedisCounter('abc', redis=client, key='c')
    assert_type(c['a'], int)
    assert_type(c.most_common(1), list[tuple[JSONTypes, int]])
    assert_type(c.total(), int)
    assert_type(Counter('ab') - c, Counter[JSONTypes])
    ids = pottery_async.sync.NextID(key='ids', masters={client})
    assert_type(next(ids), int)
    lock = pottery_async.sync.Redlock(key='lock', masters={client}, fencing=True)
    assert_type(lock.acquire(timeout=1), bool)
    assert_type(lock.locked_by_anyone(), float)
    assert_type(lock.fencing_token, int | None)
    with lock as held:
        assert_type(held, pottery_async.sync.Redlock)

    @pottery_async.sync.synchronize(key='f', masters={client})
    def f(x: int) -> str:
        return str(x)

    assert_type(f(1), str)


async def async_containers(client: redis.asyncio.Redis) -> None:
    s = await pottery_async.RedisSet({'a'}, redis=client, key='s')
    assert_type(s, pottery_async.RedisSet)
    assert_type(await s.contains('a'), bool)
    assert_type(await s.to_set(), set[JSONTypes])
    l = await pottery_async.RedisList([1], redis=client, key='l')  # noqa: E741
    assert_type(await l.pop(), JSONTypes)
    assert_type(await l.plus([2]), pottery_async.RedisList)
    d = await pottery_async.RedisDeque([1], redis=client, key='d', maxlen=3)
    assert_type(await d.popleft(), JSONTypes)
    c = await pottery_async.RedisCounter('abc', redis=client, key='c')
    assert_type(await c.getitem('a'), int)
    assert_type(await c.total(), int)
    ids = pottery_async.AIONextID(key='ids', masters={client})
    assert_type(await anext(ids), int)
    lock = pottery_async.AIORedlock(key='lock', masters={client})
    assert_type(await lock.acquire(timeout=1), bool)
    async with lock as held:
        assert_type(held, pottery_async.AIORedlock)

    @pottery_async.synchronize(key='g', masters={client})
    async def g(x: int) -> str:
        return str(x)

    assert_type(await g(1), str)


def sync_probabilistic(client: redis.Redis) -> None:
    bf = pottery_async.sync.BloomFilter(['a'], num_elements=100, false_positives=0.01, redis=client, key='bf')
    assert_type(bf.add('b'), None)
    assert_type('a' in bf, bool)
    assert_type(bf.contains_many('a', 'b'), Iterator[bool])
    assert_type(len(bf), int)
    assert_type(bf.size(), int)
    assert_type(bf.num_hashes(), int)
    hll = pottery_async.sync.HyperLogLog(['a'], redis=client, key='hll')
    hll.update(pottery_async.sync.HyperLogLog(redis=client, key='other'), ['b'])
    assert_type(hll.union(['c']), pottery_async.sync.HyperLogLog)
    assert_type('a' in hll, bool)
    assert_type(hll.contains_many('a'), Iterator[bool])
    assert_type(len(hll), int)


async def async_probabilistic(client: redis.asyncio.Redis) -> None:
    bf = await pottery_async.BloomFilter(['a'], num_elements=100, false_positives=0.01, redis=client,
                                         key='bf')
    assert_type(bf, pottery_async.BloomFilter)
    assert_type(await bf.contains('a'), bool)
    assert_type(await bf.contains_many('a', 'b'), Iterator[bool])
    assert_type(await bf.len(), int)
    hll = await pottery_async.HyperLogLog(['a'], redis=client, key='hll')
    assert_type(hll, pottery_async.HyperLogLog)
    assert_type(await hll.union(['c']), pottery_async.HyperLogLog)
    assert_type(await hll.contains('a'), bool)
    assert_type(await hll.len(), int)
    assert_type(await hll.repr(), str)


def sync_cache(client: redis.Redis) -> None:
    @pottery_async.sync.redis_cache(redis=client, key='cache', entry_ttl=60, stampede_protection=True)
    def f(x: int, *, label: str = '') -> list[int]:
        return [x]

    assert_type(f(1, label='a'), list[int])
    assert_type(f.__bypass__(1), list[int])
    assert_type(f.cache_info(), pottery_async.sync.CacheInfo)
    assert_type(f.cache_info().currsize, int)
    assert_type(f.cache_clear(), None)
    d = pottery_async.sync.CachedOrderedDict(redis_client=client, redis_key='cod', dict_keys=(1, 2))
    assert_type(len(d.misses()), int)
    d[1] = 'one'
    d.update({2: 'two'})


async def async_cache(client: redis.asyncio.Redis) -> None:
    @pottery_async.redis_cache(redis=client, key='cache')
    async def g(x: int) -> list[int]:
        return [x]

    assert_type(await g(1), list[int])
    assert_type(await g.__bypass__(1), list[int])
    assert_type(await g.cache_info(), pottery_async.CacheInfo)
    assert_type(await g.cache_clear(), None)
    d = await pottery_async.CachedOrderedDict(redis_client=client, redis_key='cod', dict_keys=(1, 2))
    assert_type(d, pottery_async.CachedOrderedDict)
    assert_type(await d.setitem(1, 'one'), None)
    assert_type(await d.update({2: 'two'}), None)
