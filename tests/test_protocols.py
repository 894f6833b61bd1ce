"""bool() and == on every container: no silent wrong answer in the async API, Pottery's in the sync one."""

from __future__ import annotations

import collections
import warnings
from collections.abc import Callable
from typing import Any, cast

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from tests.servers import Server

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')

BLOOM = {'num_elements': 100, 'false_positives': 0.01}

# Class name -> (what the messages call an instance, its size coroutine,
# constructor keyword arguments, initial contents, the same as a plain object).
CONTAINERS: dict[str, tuple[str, str, dict[str, Any], Any, Any]] = {
    'RedisDict': ('d', 'len', {}, {'a': 1}, {'a': 1}),
    'RedisCounter': ('c', 'len', {}, {'a': 2}, {'a': 2}),
    'RedisSet': ('s', 'len', {}, {'a'}, {'a'}),
    'RedisList': ('l', 'len', {}, ['a'], ['a']),
    'RedisDeque': ('d', 'len', {}, ['a'], collections.deque(['a'])),
    'BloomFilter': ('bf', 'len', BLOOM, {'a'}, None),
    'HyperLogLog': ('hll', 'len', {}, {'a'}, None),
    'RedisSimpleQueue': ('q', 'qsize', {}, None, None),
}


def _state(name: str, client: redis.Redis, key: str) -> Any:
    'What the key holds; for a HyperLogLog, its registers (a read rewrites its cached count).'
    if name == 'HyperLogLog':
        return client.getrange(key, 16, -1)
    return client.dump(key)


async def _filled_async(name: str, aredis: redis.asyncio.Redis, key: str) -> Any:
    _, _, kwargs, contents, _ = CONTAINERS[name]
    cls = getattr(pottery_async, name)
    if contents is None:
        container = cls(redis=aredis, key=key, **kwargs)
        await container.put('a')
        return container
    return await cls(contents, redis=aredis, key=key, **kwargs)


def _filled_sync(module: Any, name: str, client: redis.Redis, key: str) -> Any:
    _, _, kwargs, contents, _ = CONTAINERS[name]
    cls = getattr(module, name)
    if contents is None:
        container = cls(redis=client, key=key, **kwargs)
        container.put('a')
        return container
    return cls(contents, redis=client, key=key, **kwargs)


@pytest.mark.parametrize('name', CONTAINERS)
async def test_async_bool_and_equality_raise_naming_the_coroutine(
    name: str, aredis: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    var, size, kwargs, _, plain = CONTAINERS[name]
    container = await _filled_async(name, aredis, 'k')
    empty = getattr(pottery_async, name)(redis=aredis, key='empty', **kwargs)
    state = _state(name, redis_client, 'k')
    for subject in (container, empty):
        with pytest.raises(TypeError, match=rf'await {var}\.{size}\(\)'):
            bool(subject)
        with pytest.raises(TypeError, match=rf'await {var}\.{size}\(\)'):
            _ = not subject
        for other in (plain, empty, container):
            if other is None:
                continue
            with pytest.raises(TypeError, match=rf'"await {var}\.eq\(other\)"'):
                _ = subject == other
            with pytest.raises(TypeError, match=rf'"not await {var}\.eq\(other\)"'):
                _ = subject != other
        # What no container equals compares as in Python: unequal, no I/O.
        for unrelated in (None, 0, 'a', b'a', object()):
            assert (subject == unrelated) is False
            assert (unrelated == subject) is False
            assert (subject != unrelated) is True
        assert subject not in [None, 0]
    # Hashable by identity, as before: usable as a dict key or set member.
    assert container in {container: 1}
    assert hash(container) == hash(container)
    assert len({container, empty}) == 2
    # What to await instead answers.
    assert await getattr(container, size)() == 1
    assert await container.eq(container)
    assert not await container.eq(empty)
    if plain is not None:
        assert await container.eq(plain)
    # Nothing was written.
    assert _state(name, redis_client, 'k') == state
    # Only the container's own key (and its companions, e.g. the ids a
    # queue's puts remember: see pottery_async.queue).
    assert b'k' in await aredis.keys('*')
    assert all(key == b'k' or key.startswith(b'k:') for key in cast(list[bytes], await aredis.keys('*')))


@pytest.mark.parametrize('name', CONTAINERS)
def test_sync_bool_and_equality_are_pottery_s(
    name: str, redis_client: redis.Redis, pottery_module: Any,
) -> None:
    _, _, kwargs, _, plain = CONTAINERS[name]
    ours = _filled_sync(pottery_async.sync, name, redis_client, 'k')
    state = _state(name, redis_client, 'k')
    theirs = _filled_sync(pottery_module, name, redis_client, 'p')
    ours_empty = getattr(pottery_async.sync, name)(redis=redis_client, key='empty', **kwargs)
    theirs_empty = getattr(pottery_module, name)(redis=redis_client, key='empty', **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert bool(ours) is bool(theirs)
        assert bool(ours_empty) is bool(theirs_empty)
        if plain is not None:
            assert ours == plain
            assert ours != type(plain)()
            assert not ours_empty != type(plain)()
        # The same key on the same server is equal (Pottery's rule), another key is not.
        assert ours == getattr(pottery_async.sync, name)(redis=redis_client, key='k', **kwargs)
        assert (ours == ours_empty) is (theirs == theirs_empty)
        assert ours != ours_empty
    # Pottery's containers are unhashable, as mutable containers are.
    with pytest.raises(TypeError, match='unhashable'):
        hash(ours)
    assert _state(name, redis_client, 'k') == state



# Containers whose equality is "the same key on the same server" alone.
BY_SERVER = ['BloomFilter', 'HyperLogLog', 'RedisSimpleQueue']


@pytest.mark.parametrize('name', BY_SERVER)
def test_sync_equality_compares_servers_not_client_objects(
    name: str, server: Server, url: str, redis_client: redis.Redis,
) -> None:
    kwargs = CONTAINERS[name][2]
    cls = getattr(pottery_async.sync, name)
    ours = _filled_sync(pottery_async.sync, name, redis_client, 'k')
    state = _state(name, redis_client, 'k')
    same = redis.Redis(host=server.host, port=server.port, db=1)
    other_db = redis.Redis.from_url(server.url(2))
    try:
        # Another client object, the same server and database.
        assert ours == cls(redis=same, key='k', **kwargs)
        assert not ours != cls(redis=same, key='k', **kwargs)
        assert ours == cls(redis=url, key='k', **kwargs)
        # The same contents under the same key, in another database.
        elsewhere = _filled_sync(pottery_async.sync, name, other_db, 'k')
        assert ours != elsewhere
        assert not ours == elsewhere
        assert _state(name, redis_client, 'k') == state
    finally:
        other_db.flushdb()
        same.close()
        other_db.close()


@pytest.mark.parametrize('name', BY_SERVER)
async def test_async_eq_compares_servers_not_client_objects(
    name: str, server: Server, url: str, aredis: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    kwargs = CONTAINERS[name][2]
    cls = getattr(pottery_async, name)
    ours = await _filled_async(name, aredis, 'k')
    state = _state(name, redis_client, 'k')
    same = redis.asyncio.Redis.from_url(url)
    other_db = redis.asyncio.Redis(host=server.host, port=server.port, db=2)
    try:
        assert await ours.eq(cls(redis=same, key='k', **kwargs))
        elsewhere = await _filled_async(name, other_db, 'k')
        assert not await ours.eq(elsewhere)
        assert not await elsewhere.eq(ours)
        assert _state(name, redis_client, 'k') == state
    finally:
        await other_db.flushdb()
        await same.aclose()
        await other_db.aclose()


async def test_async_cached_ordered_dict_refuses_bool_and_equality_until_loaded(
    aredis: redis.asyncio.Redis,
) -> None:
    await aredis.hset('k', '1', '"one"')
    pending = pottery_async.CachedOrderedDict(redis_client=aredis, redis_key='k', dict_keys=(1, 2))
    checks: list[Callable[[], object]] = [lambda: bool(pending), lambda: pending == {}, lambda: pending != {}]
    for check in checks:
        with pytest.raises(TypeError, match='not awaited'):
            check()
    loaded = await pending
    assert loaded
    assert loaded == {1: 'one', 2: pottery_async.CachedOrderedDict._SENTINEL}
    assert loaded != {}
    assert not await pottery_async.CachedOrderedDict(redis_client=aredis, redis_key='k')
    assert await aredis.hgetall('k') == {b'1': b'"one"'}


def test_sync_cached_ordered_dict_bool_and_equality(redis_client: redis.Redis) -> None:
    redis_client.hset('k', '1', '"one"')
    d = pottery_async.sync.CachedOrderedDict(redis_client=redis_client, redis_key='k', dict_keys=(1,))
    assert d
    assert d == {1: 'one'}
    assert not pottery_async.sync.CachedOrderedDict(redis_client=redis_client, redis_key='k')
    assert redis_client.hgetall('k') == {b'1': b'"one"'}
