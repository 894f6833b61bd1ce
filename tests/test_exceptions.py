"""What the exceptions say: one readable line naming key, servers and cause; Pottery's fields kept."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.connection

import pottery_async
from pottery_async import _clients
from pottery_async._base import same_server
from pottery_async.exceptions import (
    ExtendUnlockedLock,
    KeyExistsError,
    QuorumIsImpossible,
    QuorumNotAchieved,
    RandomKeyError,
    ReleaseUnlockedLock,
    TooManyExtensions,
    WrongTypeError,
    describe_error,
    describe_server,
    mask_url,
    server_address,
)
from pottery_async.sync import NextID, RedisDict, RedisList, Redlock
from tests.helpers import NO_RETRY, lock_keys, untyped
from tests.servers import Server, running

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')

def one_line(text: str, limit: int = 800) -> str:
    assert '\n' not in text
    assert len(text) < limit, text
    # Never redis-py's repr of a client or pool.
    assert 'ConnectionPool' not in text
    assert '<redis' not in text
    return text


def test_quorum_errors_name_key_masters_and_causes(
    masters: list[redis.Redis], five_servers: list[Server], refused_port: int,
) -> None:
    dead = redis.Redis(host='127.0.0.1', port=refused_port, db=3, retry=NO_RETRY)
    clients = [*masters[:2], dead]
    lock = Redlock(key='printer', masters=clients, context_manager_timeout=0.3)
    masters[1].set('redlock:printer', 'someone else')
    with pytest.raises(QuorumNotAchieved) as caught:
        with lock:
            pass
    text = one_line(str(caught.value))
    assert "key 'redlock:printer' on 3 masters" in text
    for server in five_servers[:2]:
        assert f'127.0.0.1:{server.port}/1' in text
    assert f'127.0.0.1:{refused_port}/3: ConnectionError: Error 111 connecting' in text
    # Pottery's fields, as Pottery passes them.
    assert caught.value.key == 'redlock:printer'
    assert caught.value.masters == frozenset(clients)
    assert caught.value.args[:2] == ('redlock:printer', frozenset(clients))
    assert [type(e) for e in caught.value.redis_errors] == [redis.ConnectionError]
    with pytest.raises(ReleaseUnlockedLock) as released:
        lock.release()
    one_line(str(released.value))
    assert f'127.0.0.1:{refused_port}/3: ConnectionError' in str(released.value)
    # What was taken was given back; the other holder's key is left alone.
    assert lock_keys(masters) == [[], [b'redlock:printer'], [], [], []]
    assert masters[1].get('redlock:printer') == b'someone else'


def test_primitive_errors_built_as_pottery_builds_them(masters: list[redis.Redis]) -> None:
    failure = redis.ConnectionError('Error 111 connecting to 10.0.0.1:6379. Connection refused.')
    for cls in (QuorumNotAchieved, QuorumIsImpossible, ReleaseUnlockedLock, ExtendUnlockedLock,
                TooManyExtensions):
        error = cls('redlock:k', set(masters), redis_errors=[failure])
        text = one_line(str(error))
        assert text.startswith("key 'redlock:k' on 5 masters (127.0.0.1:")
        assert text.endswith('; 1 failed: ConnectionError: Error 111 connecting to 10.0.0.1:6379. '
                             'Connection refused.')
        assert error.redis_errors == [failure]
        assert one_line(str(cls('redlock:k', masters))).count('/1') == 5
    assert masters[0].keys('*') == []


def test_next_id_quorum_error_says_why(masters: list[redis.Redis], refused_port: int) -> None:
    dead = [redis.Redis(host='127.0.0.1', port=refused_port, db=db, retry=NO_RETRY) for db in (1, 2)]
    with pytest.raises(QuorumNotAchieved) as caught:
        next(NextID(key='ids', masters=[masters[0], *dead]))
    text = one_line(str(caught.value))
    assert f'127.0.0.1:{refused_port}/1: ConnectionError' in text
    assert f'127.0.0.1:{refused_port}/2: ConnectionError' in text
    assert len(list(caught.value.redis_errors)) == 2
    assert masters[0].keys('*') == []


def test_container_errors_name_key_and_server(
    redis_client: redis.Redis, server: Server, url: str,
) -> None:
    RedisDict({'a': 1}, redis=redis_client, key='tel')
    with pytest.raises(KeyExistsError) as exists:
        RedisDict({'b': 2}, redis=redis_client, key='tel')
    assert one_line(str(exists.value)) == f"key 'tel' on 127.0.0.1:{server.port}/1"
    assert (exists.value.redis, exists.value.key) == (redis_client, 'tel')
    with pytest.raises(WrongTypeError) as wrong:
        RedisList(redis=redis_client, key='tel').append(1)
    assert one_line(str(wrong.value)) == (
        f"Redis key 'tel' on 127.0.0.1:{server.port}/1 holds a hash value, not the list this "
        'container needs; it was left as is'
    )
    assert RedisDict(redis=redis_client, key='tel').to_dict() == {'a': 1}
    # A URL is described without its credentials.
    secret = url.replace('redis://', 'redis://someone:hunter2@')
    assert str(KeyExistsError(secret, 'k')) == f"key 'k' on 127.0.0.1:{server.port}/1"
    assert str(RandomKeyError(redis_client)) == f'127.0.0.1:{server.port}/1'


@pytest.mark.parametrize(('client', 'described'), [
    (lambda: redis.Redis(host='10.1.2.3', port=6380), '10.1.2.3:6380'),
    (lambda: redis.Redis(host='10.1.2.3', port=6380, db=4), '10.1.2.3:6380/4'),
    (lambda: redis.asyncio.Redis(unix_socket_path='/run/redis.sock', db=2), 'unix:/run/redis.sock/2'),
    (lambda: redis.Redis(unix_socket_path='/run/redis.sock'), 'unix:/run/redis.sock'),
    (lambda: redis.asyncio.RedisCluster(startup_nodes=[
        redis.asyncio.cluster.ClusterNode('10.0.0.2', 7001),
        redis.asyncio.cluster.ClusterNode('10.0.0.1', 7000),
    ]), 'cluster(10.0.0.1:7000, 10.0.0.2:7001)'),
    (lambda: 'rediss://user:secret@cache.example:6390/5', 'cache.example:6390/5'),
    (lambda: 'unix://:secret@/run/redis.sock?db=3', 'unix:/run/redis.sock/3'),
    (lambda: None, 'default.example:6379/2'),
])
def test_servers_are_described_without_io_or_secrets(
    client: Any, described: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_clients, 'DEFAULT_URL', 'redis://:secret@default.example/2')
    assert describe_server(client()) == described


async def test_sentinel_masters_are_described_by_service(
    aredis: redis.asyncio.Redis, refused_port: int,
) -> None:
    'Not by the pool\'s default address (localhost:6379), which is no server of theirs; pickled alike.'
    sentinel = redis.asyncio.sentinel.Sentinel([('127.0.0.1', refused_port)])
    printers = sentinel.master_for('printers')
    scanners = sentinel.master_for('scanners', db=2)
    assert describe_server(printers) == 'sentinel:printers'
    assert describe_server(scanners) == 'sentinel:scanners/2'
    error = ReleaseUnlockedLock('redlock:k', {printers, scanners})
    assert str(error) == "key 'redlock:k' on 2 masters (sentinel:printers, sentinel:scanners/2)"
    assert str(round_trip(error)) == str(error)
    # No sentinel is there: the lock fails on them, naming them.
    lock = pottery_async.AIORedlock(key='k', masters=[aredis, printers, scanners], raise_on_redis_errors=True)
    try:
        with pytest.raises(QuorumIsImpossible) as caught:
            await lock.acquire(blocking=False)
    finally:
        for client in (printers, scanners, *sentinel.sentinels):
            await client.aclose()
    assert 'sentinel:printers: MasterNotFoundError' in str(caught.value)
    assert 'localhost' not in str(caught.value)
    assert await aredis.keys('*') == []


@pytest.mark.parametrize('url', [
    'redis://h:1/1?db=0', 'redis://h:1/1', 'redis://h:1?db=3', 'redis://h:1/0?db=5', 'rediss://h:1/2',
])
def test_server_address_reads_the_db_as_redis_py_does(url: str) -> None:
    'A db in the query wins over one in the path: two containers are "the same server" only if they are.'
    db = redis.connection.parse_url(url).get('db', 0)  # type: ignore[no-untyped-call]
    assert server_address(url) == 'h:1' + (f'/{db}' if db else '')


async def test_sentinel_clients_match_only_themselves(refused_port: int) -> None:
    """Two Sentinel deployments may both name their master mymaster: their
    containers are not on one server, whatever the service is called."""
    hosts = ('127.0.0.1', '127.0.0.2')
    sentinels = [redis.asyncio.sentinel.Sentinel([(host, refused_port)]) for host in hosts]
    first, second = (sentinel.master_for('mymaster') for sentinel in sentinels)
    try:
        a = pottery_async.RedisDict(redis=first, key='d')
        assert same_server(a, pottery_async.RedisDict(redis=first, key='e'))
        assert not same_server(a, pottery_async.RedisDict(redis=second, key='d'))
    finally:
        for client in (first, second, *sentinels[0].sentinels, *sentinels[1].sentinels):
            await client.aclose()


@pytest.mark.parametrize('field', ['password', 'passwor%64', 'pass%77ord', 'p%61ssword'])
def test_a_password_parameter_is_masked_however_encoded(field: str) -> None:
    'redis-py decodes the parameter names of a URL: every spelling it logs in with is masked.'
    url = f'redis://alice@h:1/0?{field}={PASSWORD}&db=2'
    assert redis.connection.parse_url(url)['password'] == PASSWORD  # type: ignore[no-untyped-call]
    masked = mask_url(url)
    assert PASSWORD not in masked
    assert masked == f'redis://alice@h:1/0?{field}=***&db=2'
    assert PASSWORD not in describe_server(f'sentinel://:{PASSWORD}@h:26379/0')


async def test_async_quorum_error_names_the_masters(
    amasters: list[redis.asyncio.Redis], five_servers: list[Server], masters: list[redis.Redis],
) -> None:
    holder = pottery_async.AIORedlock(key='shared', masters=amasters)
    assert await holder.acquire()
    waiter = pottery_async.AIORedlock(key='shared', masters=amasters, context_manager_timeout=0.2)
    with pytest.raises(QuorumNotAchieved) as caught:
        async with waiter:
            pass
    text = one_line(str(caught.value))
    assert text == "key 'redlock:shared' on 5 masters (" + ', '.join(
        sorted(f'127.0.0.1:{s.port}/1' for s in five_servers)
    ) + ')'
    await holder.release()
    assert lock_keys(masters) == [[]] * 5


# --- never a password ------------------------------------------------------------------

PASSWORD = f'pw-{uuid.uuid4().hex}'


@pytest.fixture(scope='module')
def guarded() -> Iterator[Server]:
    'A server that asks for a password.'
    with running('--requirepass', PASSWORD) as server:
        yield server


def no_password(error: BaseException) -> None:
    'The password is in none of what an exception shows or carries; a pickle of it reads the same.'
    for shown in (str(error), repr(error), repr(error.args), str(error.args)):
        assert PASSWORD not in shown, shown
    assert PASSWORD.encode() not in pickle.dumps(error)
    copied = round_trip(error)
    assert type(copied) is type(error)
    assert str(copied) == str(error)
    assert untyped(copied).key == untyped(error).key
    assert PASSWORD not in repr(copied)


def round_trip(error: BaseException) -> Any:
    'The exception pickled and unpickled (our own bytes).'
    return pickle.loads(pickle.dumps(error))  # noqa: S301


def test_primitive_errors_never_show_a_password(guarded: Server, refused_port: int) -> None:
    url = f'redis://:{PASSWORD}@{guarded.host}:{guarded.port}/0'
    admin = redis.Redis(host=guarded.host, port=guarded.port, password=PASSWORD)
    try:
        # A URL, and a client, with the password.
        for master in (url, redis.Redis(host=guarded.host, port=guarded.port, password=PASSWORD)):
            lock = Redlock(key='printer', masters=[master])
            with pytest.raises(ReleaseUnlockedLock) as released:
                lock.release()
            no_password(released.value)
            assert f'{guarded.host}:{guarded.port}' in str(released.value)
        with pytest.raises(ReleaseUnlockedLock) as released:
            Redlock(key='printer', masters=[url]).release()
        assert f':***@{guarded.host}:{guarded.port}/0' in repr(released.value)
        # Failing masters, each error naming its master, in a pickle too.
        dead = [f'redis://:{PASSWORD}@127.0.0.1:{refused_port}/{db}?password={PASSWORD}' for db in (1, 2)]
        lock = Redlock(key='printer', masters=[url, *dead], raise_on_redis_errors=True)
        with pytest.raises(QuorumIsImpossible) as impossible:
            lock.acquire(blocking=False)
        assert len(list(impossible.value.redis_errors)) == 2
        no_password(impossible.value)
        assert f'127.0.0.1:{refused_port}/2: ConnectionError' in str(round_trip(impossible.value))
        assert admin.keys('*') == []
    finally:
        admin.close()


def test_refusal_raised_as_is_pickles_without_a_password(guarded: Server) -> None:
    """A permanent error is raised as redis-py raised it, remembering its
    master: a pickle of it (from a worker process, say) holds that master's
    address without the password, and one whose master is a client (which
    cannot be pickled) can be pickled at all."""
    admin = redis.Redis(host=guarded.host, port=guarded.port, password=PASSWORD)
    where = f'{guarded.host}:{guarded.port}'
    try:
        admin.acl_setuser(
            'narrow', enabled=True, passwords=[f'+{PASSWORD}'], keys=['app:*'], commands=['+@all'],
        )
        url = f'redis://narrow:{PASSWORD}@{where}/0'
        client = redis.Redis(host=guarded.host, port=guarded.port, username='narrow', password=PASSWORD)
        for master in (url, client):
            with pytest.raises(redis.exceptions.NoPermissionError) as refused:
                Redlock(key='printer', masters=[master]).acquire(blocking=False)
            assert PASSWORD.encode() not in pickle.dumps(refused.value)
            copied = round_trip(refused.value)
            assert describe_error(copied) == describe_error(refused.value)
            assert describe_error(copied).startswith(f'{where}: NoPermissionError')
        client.close()
        assert admin.keys('*') == []
    finally:
        admin.close()


async def test_async_primitive_errors_pickle_without_a_password(guarded: Server) -> None:
    client = redis.asyncio.Redis(host=guarded.host, port=guarded.port, password=PASSWORD, db=3)
    try:
        with pytest.raises(ReleaseUnlockedLock) as released:
            await pottery_async.AIORedlock(key='printer', masters=[client]).release()
        no_password(released.value)
        assert str(released.value) == f"key 'redlock:printer' on 1 master ({guarded.host}:{guarded.port}/3)"
        assert await client.keys('*') == []
    finally:
        await client.aclose()


def test_container_errors_never_show_a_password(guarded: Server) -> None:
    url = f'redis://someone:{PASSWORD}@{guarded.host}:{guarded.port}/0'
    admin = redis.Redis(host=guarded.host, port=guarded.port, password=PASSWORD)
    try:
        admin.acl_setuser('someone', enabled=True, passwords=[f'+{PASSWORD}'], keys=['*'], commands=['+@all'])
        RedisDict({'a': 1}, redis=url, key='tel')
        with pytest.raises(KeyExistsError) as exists:
            RedisDict({'b': 2}, redis=url, key='tel')
        no_password(exists.value)
        where = f'{guarded.host}:{guarded.port}/0'
        assert repr(exists.value) == f"KeyExistsError('redis://someone:***@{where}', 'tel')"
        with pytest.raises(WrongTypeError) as wrong:
            RedisList(redis=url, key='tel').append(1)
        no_password(wrong.value)
        assert round_trip(wrong.value).found == 'hash'
        # A malformed URL could hide its password anywhere.
        malformed = KeyExistsError(f'redis://u:{PASSWORD}@[::1/0', 'k')
        no_password(malformed)
        assert malformed.args == ('***', 'k')
        assert str(malformed) == "key 'k' on a malformed URL"
        client = redis.Redis.from_url(url)
        with pytest.raises(KeyExistsError) as exists:
            RedisDict({'b': 2}, redis=client, key='tel')
        no_password(exists.value)
        client.close()
        assert admin.hgetall('tel') == {b'"a"': b'1'}
    finally:
        admin.flushall()
        admin.acl_deluser('someone')
        admin.close()
