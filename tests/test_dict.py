"""RedisDict through both APIs, against a real server."""

from __future__ import annotations

import collections.abc
import json
import time
import warnings
from typing import Any, cast

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async.exceptions import InefficientAccessWarning, KeyExistsError
from pottery_async.sync import RedisDict
from tests.helpers import Upper, ordered, untyped
from tests.servers import Server

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')


@pytest.fixture
def tel(redis_client: redis.Redis) -> RedisDict:
    return RedisDict({'jack': 4098, 'sape': 4139}, redis=redis_client, key='tel')


def raw(client: redis.Redis, key: str) -> dict[bytes, bytes]:
    return cast(dict[bytes, bytes], client.hgetall(key))


# --- the sync API: everything dict / MutableMapping offers ----------------


def test_is_a_mutable_mapping(tel: RedisDict) -> None:
    assert isinstance(tel, collections.abc.MutableMapping)


def test_stores_json_like_pottery(tel: RedisDict, redis_client: redis.Redis) -> None:
    tel[untyped(('a', 1))] = {'z': 1, 'a': [True, None]}
    assert raw(redis_client, 'tel') == {
        b'"jack"': b'4098',
        b'"sape"': b'4139',
        b'["a", 1]': b'{"a": [true, null], "z": 1}',
    }


def test_item_access(tel: RedisDict, redis_client: redis.Redis) -> None:
    tel['guido'] = 4127
    assert tel['jack'] == 4098
    assert tel['guido'] == 4127
    with pytest.raises(KeyError, match='nobody'):
        tel['nobody']
    del tel['sape']
    with pytest.raises(KeyError, match='sape'):
        del tel['sape']
    assert raw(redis_client, 'tel') == {b'"jack"': b'4098', b'"guido"': b'4127'}


def test_membership_length_iteration(tel: RedisDict) -> None:
    assert 'jack' in tel
    assert 'nobody' not in tel
    assert object() not in tel
    assert len(tel) == 2
    assert list(tel) == ['jack', 'sape']
    assert list(tel.keys()) == ['jack', 'sape']
    assert list(tel.values()) == [4098, 4139]
    assert list(tel.items()) == [('jack', 4098), ('sape', 4139)]
    assert len(tel.items()) == 2
    assert ('jack', 4098) in tel.items()
    assert 'sape' in tel.keys()


def test_iteration_streams_large_hashes(redis_client: redis.Redis) -> None:
    big = RedisDict(redis=redis_client, key='big')
    big.update({f'k{i}': i for i in range(5000)})
    seen = list(big)
    assert len(seen) == len(set(seen)) == 5000
    assert dict(big.items()) == {f'k{i}': i for i in range(5000)}
    assert ordered(big.values()) == list(range(5000))


def test_get_pop_popitem_setdefault(tel: RedisDict, redis_client: redis.Redis) -> None:
    assert tel.get('jack') == 4098
    assert tel.get('nobody') is None
    assert tel.get('nobody', 1) == 1
    assert tel.get(untyped(object()), 2) == 2
    assert tel.pop('sape') == 4139
    assert tel.pop('sape', 'gone') == 'gone'
    with pytest.raises(KeyError):
        tel.pop('sape')
    assert tel.setdefault('jack', 1) == 4098
    assert tel.setdefault('guido', 4127) == 4127
    assert tel.setdefault('none') is None
    assert raw(redis_client, 'tel') == {b'"jack"': b'4098', b'"guido"': b'4127', b'"none"': b'null'}
    popped = dict(tel.popitem() for _ in range(3))
    assert popped == {'jack': 4098, 'guido': 4127, 'none': None}
    with pytest.raises(KeyError):
        tel.popitem()
    assert not redis_client.exists('tel')


def test_update_forms(tel: RedisDict, redis_client: redis.Redis) -> None:
    tel.update({'a': 1})
    tel.update([('b', 2)])
    tel.update(c=3)
    tel.update({'d': 4}, e=5)
    other = RedisDict({'f': 6}, redis=redis_client, key='other')
    tel.update(other)
    assert tel.to_dict() == {'jack': 4098, 'sape': 4139, 'a': 1, 'b': 2, 'c': 3, 'd': 4, 'e': 5, 'f': 6}


def test_update_is_one_command(tel: RedisDict, redis_client: redis.Redis) -> None:
    before = int(redis_client.info('stats')['total_commands_processed'])
    tel.update({f'k{i}': i for i in range(1000)})
    after = int(redis_client.info('stats')['total_commands_processed'])
    # One HSET, plus the INFO that reads the counter.
    assert after - before == 2
    assert redis_client.hlen('tel') == 1002


def test_clear_and_equality(tel: RedisDict, redis_client: redis.Redis) -> None:
    same = RedisDict(redis=redis_client, key='tel')
    assert tel == same
    assert tel == {'jack': 4098, 'sape': 4139}
    assert tel != {'jack': 4098}
    assert tel != ['jack', 'sape']
    copy = RedisDict({'jack': 4098, 'sape': 4139}, redis=redis_client, key='copy')
    assert tel == copy
    copy['x'] = 1
    assert tel != copy
    tel.clear()
    assert not redis_client.exists('tel')
    assert tel == {}
    assert len(tel) == 0


def test_repr_and_to_dict(tel: RedisDict) -> None:
    assert repr(tel) == "RedisDict{'jack': 4098, 'sape': 4139}"
    assert tel.to_dict() == {'jack': 4098, 'sape': 4139}
    assert json.dumps(tel, cls=pottery_async.sync.PotteryEncoder) == '{"jack": 4098, "sape": 4139}'


def test_warns_where_pottery_warns(tel: RedisDict) -> None:
    with pytest.warns(InefficientAccessWarning):
        list(tel)
    with pytest.warns(InefficientAccessWarning):
        tel.to_dict()
    with pytest.warns(InefficientAccessWarning):
        tel.update({'a': 1, 'b': 2})
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        tel['c'] = 3
        assert tel['c'] == 3
        assert len(tel) == 5


def test_existing_key_with_contents_raises(tel: RedisDict, redis_client: redis.Redis) -> None:
    with pytest.raises(KeyExistsError) as info:
        RedisDict({'other': 1}, redis=redis_client, key='tel')
    assert info.value.key == 'tel'
    assert raw(redis_client, 'tel') == {b'"jack"': b'4098', b'"sape"': b'4139'}
    # Without contents, attaching to an existing key is fine.
    assert RedisDict(redis=redis_client, key='tel')['jack'] == 4098


def test_url_and_default_clients(url: str, redis_client: redis.Redis) -> None:
    by_url = RedisDict({'a': 1}, redis=url, key='by-url')
    assert by_url.redis == url
    assert raw(redis_client, 'by-url') == {b'"a"': b'1'}


def test_codec_per_container(redis_client: redis.Redis) -> None:
    d = RedisDict({'a': 'b'}, redis=redis_client, key='coded', codec=Upper())
    assert raw(redis_client, 'coded') == {b'"A"': b'"B"'}
    assert d['a'] == 'b'


# --- bad input: a clear error, and nothing on the server changes ------------


def test_server_dying_mid_session_raises_promptly() -> None:
    server = Server()
    client = redis.Redis(port=server.port, socket_connect_timeout=2)
    d = RedisDict({'a': 1}, redis=client, key='k')
    assert d['a'] == 1
    server.stop()
    started = time.monotonic()
    # redis-py's default retries reconnect with back-off, maybe past the
    # 5 s command deadline: the refusal is what surfaces, promptly.
    with pytest.raises(redis.ConnectionError):
        d['a']
    assert time.monotonic() - started < 30


def test_paused_server_times_out_instead_of_hanging() -> None:
    server = Server()
    try:
        client = redis.Redis(port=server.port, socket_timeout=0.5)
        d = RedisDict({'a': 1}, redis=client, key='k')
        server.pause()
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            d['a']
        assert time.monotonic() - started < 30
        server.resume()
        assert d['a'] == 1
    finally:
        server.stop()


# --- the async API -----------------------------------------------------------


async def test_async_api(aredis: redis.asyncio.Redis) -> None:
    tel = await pottery_async.RedisDict({'jack': 4098, 'sape': 4139}, redis=aredis, key='tel')
    await tel.setitem('guido', 4127)
    assert await tel.getitem('jack') == 4098
    await tel.delitem('sape')
    assert await tel.contains('guido')
    assert not await tel.contains('sape')
    assert await tel.len() == 2
    assert [k async for k in tel] == ['jack', 'guido']
    assert [kv async for kv in tel.items()] == [('jack', 4098), ('guido', 4127)]
    assert [v async for v in tel.values()] == [4098, 4127]
    assert await tel.eq({'jack': 4098, 'guido': 4127})
    assert await tel.repr() == "RedisDict{'jack': 4098, 'guido': 4127}"
    assert repr(tel) == "<RedisDict key='tel'>"
    assert await tel.get('nobody', 0) == 0
    await tel.update({'a': 1}, b=2)
    assert await tel.to_dict() == {'jack': 4098, 'guido': 4127, 'a': 1, 'b': 2}
    assert await tel.pop('a') == 1
    assert await tel.setdefault('c', 3) == 3
    await tel.clear()
    assert not await aredis.exists('tel')


async def test_async_constructor_does_no_io_and_forgotten_await_fails(aredis: redis.asyncio.Redis) -> None:
    pending = pottery_async.RedisDict({'a': 1}, redis=aredis, key='pending')
    assert not await aredis.exists('pending')
    with pytest.raises(RuntimeError, match='not awaited'):
        await pending.getitem('a')
    assert not await aredis.exists('pending')
    await pending
    assert await pending.getitem('a') == 1
    forgotten = pottery_async.RedisDict({'a': 1}, redis=aredis, key='forgotten')
    with pytest.warns(RuntimeWarning, match='never awaited'):
        del forgotten
    assert not await aredis.exists('forgotten')


async def test_async_api_refuses_sync_clients(redis_client: redis.Redis) -> None:
    d = pottery_async.RedisDict(redis=redis_client, key='k')
    with pytest.raises(TypeError, match=r'redis\.asyncio'):
        await d.len()


async def test_async_equality_with_another_redis_dict(aredis: redis.asyncio.Redis) -> None:
    a = await pottery_async.RedisDict({'x': 1}, redis=aredis, key='a')
    b = await pottery_async.RedisDict({'x': 1}, redis=aredis, key='b')
    assert await a.eq(b)
    assert await a.eq(pottery_async.RedisDict(redis=aredis, key='a'))
    await b.setitem('y', 2)
    assert not await a.eq(b)


# --- data compatibility with Pottery 3.0.1 ---------------------------------


def test_sync_namespace_is_a_drop_in(pottery_module: Any) -> None:
    import pottery_async.sync as ours

    for name in ('RedisDict', 'ContextTimer', 'PotteryEncoder', *(
        n for n in pottery_module.__all__ if n.endswith(('Error', 'Warning', 'Achieved', 'Impossible',
                                                         'Extensions', 'Lock'))
        and n not in ('AIORedlock', 'Redlock')
    )):
        assert hasattr(ours, name), name
    for name in pottery_module.__all__:
        theirs = getattr(pottery_module, name)
        if isinstance(theirs, type) and issubclass(theirs, BaseException | Warning) and hasattr(ours, name):
            mine = getattr(ours, name)
            assert [b.__name__ for b in mine.__mro__] == [b.__name__ for b in theirs.__mro__], name


def test_all_is_accurate() -> None:
    import pottery_async.sync

    for module in (pottery_async, pottery_async.sync):
        assert isinstance(module.__all__, tuple)
        for name in module.__all__:
            assert hasattr(module, name), name
        exported = {
            n for n in dir(module)
            if not n.startswith('_') and not isinstance(getattr(module, n), type(json))
        }
        assert exported <= set(module.__all__) | {'annotations'}


def test_warnings_point_at_the_callers_line(tel: RedisDict) -> None:
    with pytest.warns(InefficientAccessWarning) as record:
        list(tel)
    assert record[0].filename == __file__


async def test_async_warnings_point_at_the_callers_line(aredis: redis.asyncio.Redis) -> None:
    d = await pottery_async.RedisDict({'a': 1}, redis=aredis, key='w')
    with pytest.warns(InefficientAccessWarning) as record:
        await d.to_dict()
    assert record[0].filename == __file__
