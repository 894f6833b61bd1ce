"""Sync clients -> their redis.asyncio twins on the bridge loop, against real servers.

Each converted client has to really reach its server with the same
settings: a write through the twin is read back with the sync client (or
the server's own view of the connection is checked), and each setting that
is carried over is also shown to matter.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import re
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.connection as aconn
import redis.asyncio.retry
import redis.backoff
import redis.retry
import redis.sentinel
from redis.cache import CacheConfig

from pottery_async import _bridge, _clients
from pottery_async._clients import UnsupportedClientError
from pottery_async._connection import BridgeRedis
from pottery_async.exceptions import CommandTimeoutError
from pottery_async.sync import RedisDict
from tests import servers
from tests.helpers import eventually, named_connections, unique, untyped
from tests.servers import Server

# --- helpers ----------------------------------------------------------------------

PASSWORD = uuid.uuid4().hex


def twin_of(client: redis.Redis | str) -> Any:
    'The twin the bridge uses for ``client`` in this thread.'

    async def get() -> Any:
        return _clients.resolve(client)

    return _bridge.run(get())


def on_twin(client: redis.Redis, use: Callable[[Any], Awaitable[Any]]) -> Any:
    'Run ``use(twin)`` on the bridge loop of this thread.'

    async def go() -> Any:
        return await use(_clients.resolve(client))

    return _bridge.run(go())


@pytest.fixture
def private() -> Iterator[Server]:
    'A server of its own, for tests that pause it or change its configuration.'
    with servers.running() as instance:
        yield instance


# --- what each twin carries over ----------------------------------------------------


def test_tcp_client(url: str, redis_client: redis.Redis) -> None:
    name = unique('tcp')
    client = redis.Redis.from_url(url, client_name=name)
    on_twin(client, lambda twin: twin.set('tcp', 'through the twin'))
    assert redis_client.get('tcp') == b'through the twin'
    twin = twin_of(client)
    assert isinstance(twin, BridgeRedis)
    assert twin.connection_pool.connection_class is aconn.Connection
    (connection,) = named_connections(redis_client, name)
    assert connection['db'] == '1'
    assert int(connection['id']) == on_twin(client, lambda twin: twin.client_id())


def test_database_is_carried(server: Server) -> None:
    client = redis.Redis(host=server.host, port=server.port, db=3)
    reader = redis.Redis(host=server.host, port=server.port, db=3)
    other = redis.Redis(host=server.host, port=server.port, db=0)
    try:
        on_twin(client, lambda twin: twin.set('db-three', 'here'))
        assert reader.get('db-three') == b'here'
        assert other.exists('db-three') == 0
    finally:
        reader.flushdb()
        reader.close()
        other.close()


@pytest.mark.parametrize(('decode', 'expected'), [(True, 'value'), (False, b'value')])
def test_decode_responses_is_carried(
    url: str, redis_client: redis.Redis, decode: bool, expected: object,
) -> None:
    redis_client.set('decoded', 'value')
    client = redis.Redis.from_url(url, decode_responses=decode)
    assert on_twin(client, lambda twin: twin.get('decoded')) == expected
    assert RedisDict({'a': 'b'}, redis=client, key='decoded-dict')['a'] == 'b'


def test_unix_socket_client() -> None:
    with servers.running(unix_socket=True) as server:
        assert server.socket_path is not None
        client = redis.Redis(unix_socket_path=server.socket_path)
        reader = redis.Redis(unix_socket_path=server.socket_path)
        try:
            on_twin(client, lambda twin: twin.set('unix', 'over the socket'))
            assert reader.get('unix') == b'over the socket'
            twin = twin_of(client)
            assert twin.connection_pool.connection_class is aconn.UnixDomainSocketConnection
            info = on_twin(client, lambda twin: twin.client_info())
            assert info['addr'].startswith(server.socket_path)
        finally:
            reader.close()


@pytest.mark.skipif(not servers.supports_tls(), reason=(
    f'{servers.server_version().split(" sha=")[0]} was built without TLS '
    '(run with POTTERY_TEST_SERVER=redis-server)'
))
def test_tls_client(tmp_path: Path) -> None:
    certificates = servers.make_certificates(str(tmp_path))
    (tmp_path / 'other').mkdir()
    stranger = servers.make_certificates(str(tmp_path / 'other'))
    tls = {
        'tls-cert-file': certificates['cert'],
        'tls-key-file': certificates['key'],
        'tls-ca-cert-file': certificates['ca'],
    }
    with servers.running('--tls-auth-clients', 'no', tls=tls) as server:
        client = redis.Redis(
            host=server.host, port=server.tls_port, ssl=True, ssl_ca_certs=certificates['ca'],
        )
        reader = redis.Redis(host=server.host, port=server.port)  # the plain port
        try:
            on_twin(client, lambda twin: twin.set('tls', 'encrypted'))
            assert reader.get('tls') == b'encrypted'
            twin = twin_of(client)
            assert twin.connection_pool.connection_class is aconn.SSLConnection
            assert twin.connection_pool.connection_kwargs['ssl_ca_certs'] == certificates['ca']
            # The TLS settings are really used: a CA that did not sign the
            # server's certificate is refused.
            distrustful = redis.Redis(
                host=server.host, port=server.tls_port, ssl=True, ssl_ca_certs=stranger['ca'],
                retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
            )
            with pytest.raises(redis.ConnectionError, match=r'(?i)certificate'):
                on_twin(distrustful, lambda twin: twin.ping())
        finally:
            reader.close()


def test_password_is_carried() -> None:
    with servers.running('--requirepass', PASSWORD) as server:
        client = redis.Redis(host=server.host, port=server.port, password=PASSWORD)
        reader = redis.Redis(host=server.host, port=server.port, password=PASSWORD)
        anonymous = redis.Redis(
            host=server.host, port=server.port, retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
        )
        try:
            on_twin(client, lambda twin: twin.set('secret', 'kept'))
            assert reader.get('secret') == b'kept'
            with pytest.raises(redis.AuthenticationError):
                on_twin(anonymous, lambda twin: twin.get('secret'))
        finally:
            reader.close()


def test_acl_user_is_carried() -> None:
    with servers.running() as server:
        admin = redis.Redis(host=server.host, port=server.port)
        admin.acl_setuser(
            'alice', enabled=True, passwords=[f'+{PASSWORD}'], keys=['alice:*'], commands=['+@all'],
        )
        client = redis.Redis(host=server.host, port=server.port, username='alice', password=PASSWORD)
        try:
            assert on_twin(client, lambda twin: twin.acl_whoami()) in ('alice', b'alice')
            on_twin(client, lambda twin: twin.set('alice:1', 'mine'))
            assert admin.get('alice:1') == b'mine'
            with pytest.raises(redis.exceptions.NoPermissionError):
                on_twin(client, lambda twin: twin.set('bob:1', 'not mine'))
            assert admin.exists('bob:1') == 0
        finally:
            admin.close()


def test_socket_timeout_bounds_each_command(private: Server) -> None:
    client = redis.Redis(host=private.host, port=private.port, socket_timeout=0.5)
    admin = redis.Redis(host=private.host, port=private.port)
    try:
        admin.set('first', '1')
        admin.set('second', '2')
        assert on_twin(client, lambda twin: twin.get('first')) == b'1'  # connected
        private.pause()
        try:
            started = time.monotonic()
            with pytest.raises(redis.TimeoutError) as excinfo:
                on_twin(client, lambda twin: twin.get('first'))
            assert time.monotonic() - started < 10
            # What sync redis-py raises (a RedisError), and what asyncio code
            # expects from a deadline.
            assert isinstance(excinfo.value, TimeoutError)
        finally:
            private.resume()
        # The reply to the abandoned GET is not taken for the next one's.
        assert on_twin(client, lambda twin: twin.get('second')) == b'2'
        assert on_twin(client, lambda twin: twin.get('first')) == b'1'
    finally:
        admin.close()


def test_no_socket_timeout_means_no_deadline(url: str, redis_client: redis.Redis) -> None:
    client = redis.Redis.from_url(url, socket_timeout=None)
    assert twin_of(client)._command_timeout is None
    # A blocking command longer than the async default timeout (5 s) would
    # take too long here; a short one that times out server-side suffices.
    assert on_twin(client, lambda twin: twin.blpop('nothing', 0.2)) is None
    with_timeout = redis.Redis.from_url(url, socket_timeout=2.5)
    assert twin_of(with_timeout)._command_timeout == 2.5


@pytest.mark.parametrize('retry', [
    # redis-py's default: reconnect with back-off for longer than the 1 s
    # deadline, which comes during a back-off or during a connect attempt.
    None,
    # No back-off: the deadline comes during a connect attempt, with the
    # refusals only behind it (each try's failure, seen by the retry policy).
    redis.retry.Retry(redis.backoff.NoBackoff(), 10**9),
], ids=['default-retry', 'no-back-off'])
def test_refused_connection_raises_connection_error_not_a_timeout(
    refused_port: int, retry: redis.retry.Retry | None,
) -> None:
    # What stopped the command is the refusal, not a server that did not answer.
    settings: dict[str, Any] = {} if retry is None else {'retry': retry}
    client = redis.Redis(host='127.0.0.1', port=refused_port, socket_timeout=1, **settings)
    d = RedisDict(redis=client, key='k')
    operations: list[Callable[[], object]] = [lambda: d.__setitem__('a', 1), lambda: d['a'], lambda: len(d)]
    for operation in operations:
        started = time.monotonic()
        with pytest.raises(redis.ConnectionError) as caught:
            operation()
        assert time.monotonic() - started < 10
        assert not isinstance(caught.value, TimeoutError)
        assert f'connecting to 127.0.0.1:{refused_port}' in str(caught.value)
        # The refusal itself is chained.
        assert isinstance(caught.value.__cause__ or caught.value.__context__, OSError)


def test_server_gone_mid_session_raises_connection_error(private: Server) -> None:
    client = redis.Redis(host=private.host, port=private.port, socket_timeout=1)
    d = RedisDict({'a': 1}, redis=client, key='k')
    assert d['a'] == 1
    private.stop()
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError) as caught:
        d['a'] = 2
    assert time.monotonic() - started < 10
    assert not isinstance(caught.value, TimeoutError)


def test_hung_server_after_a_broken_connection_is_still_a_timeout(private: Server) -> None:
    # The first try breaks (the server closed the connection), the retry
    # connects and then gets no reply: a timeout, not the broken connection.
    name = unique('hung')
    # One retry, whatever redis-py's default (none before 6.0).
    client = redis.Redis(
        host=private.host, port=private.port, socket_timeout=0.5, client_name=name,
        retry=redis.retry.Retry(redis.backoff.NoBackoff(), 1),
    )
    admin = redis.Redis(host=private.host, port=private.port)
    try:
        admin.set('k', 'before')
        assert on_twin(client, lambda twin: twin.get('k')) == b'before'
        (connection,) = named_connections(admin, name)
        admin.client_kill_filter(_id=connection['id'])
        private.pause()
        try:
            started = time.monotonic()
            with pytest.raises(CommandTimeoutError):
                on_twin(client, lambda twin: twin.set('k', 'during'))
            assert time.monotonic() - started < 10
        finally:
            private.resume()
        assert on_twin(client, lambda twin: twin.get('k')) in (b'before', b'during')
        assert admin.get('k') in (b'before', b'during')
    finally:
        admin.close()


# --- pools --------------------------------------------------------------------------


def test_blocking_pool_keeps_max_connections_and_timeout(server: Server, redis_client: redis.Redis) -> None:
    name = unique('blocking')
    client = redis.Redis(connection_pool=redis.BlockingConnectionPool(  # type: ignore[no-untyped-call]
        host=server.host, port=server.port, db=1, client_name=name, max_connections=1, timeout=0.3,
    ))
    pool = twin_of(client).connection_pool
    assert isinstance(pool, aconn.BlockingConnectionPool)
    assert (pool.max_connections, pool.timeout) == (1, 0.3)

    # One connection, taken by a BLPOP: a second command waits for it at
    # most 0.3 s, then fails as the sync pool would.
    async def two_at_once(twin: Any) -> Any:
        return await asyncio.gather(twin.blpop('blocking-queue', 1), twin.get('x'), return_exceptions=True)

    popped, other = on_twin(client, two_at_once)
    assert popped is None
    assert isinstance(other, redis.ConnectionError)
    assert 'No connection available' in str(other)
    # A single connection still serves everything, pipelines included.
    d = RedisDict(redis=client, key='one-connection')
    d['a'] = 1
    assert d.pop('a') == 1
    assert d.setdefault('b', 2) == 2
    assert redis_client.hgetall('one-connection') == {b'"b"': b'2'}
    assert len(named_connections(redis_client, name)) == 1


def test_plain_pool_becomes_a_blocking_one(server: Server, redis_client: redis.Redis) -> None:
    name = unique('plain')
    client = redis.Redis(connection_pool=redis.ConnectionPool(
        host=server.host, port=server.port, db=1, client_name=name, max_connections=2,
    ))
    pool = twin_of(client).connection_pool
    assert isinstance(pool, aconn.BlockingConnectionPool)
    assert pool.max_connections == 2
    assert pool.timeout is None

    # redis.asyncio's own pool would raise MaxConnectionsError here.
    async def five_at_once(twin: Any) -> list[Any]:
        return await asyncio.gather(*(twin.blpop(f'plain-queue:{i}', 0.2) for i in range(5)))

    assert on_twin(client, five_at_once) == [None] * 5
    assert len(named_connections(redis_client, name)) == 2
    default = redis.Redis.from_url(server.url(1))
    pool = twin_of(default).connection_pool
    assert isinstance(pool, aconn.BlockingConnectionPool)
    assert pool.max_connections == default.connection_pool.max_connections


# --- retries ------------------------------------------------------------------------


def test_retry_becomes_an_async_retry_with_the_same_policy(url: str, redis_client: redis.Redis) -> None:
    backoff = redis.backoff.ExponentialBackoff(cap=0.2, base=0.01)
    name = unique('retry')
    client = redis.Redis.from_url(url, client_name=name, retry=redis.retry.Retry(backoff, 3))
    retry = twin_of(client).connection_pool.connection_kwargs['retry']
    assert isinstance(retry, redis.asyncio.retry.Retry)
    # The attribute rather than get_retries(), which redis-py 5.2 lacks.
    assert retry._retries == 3
    assert isinstance(retry._backoff, redis.backoff.ExponentialBackoff)
    assert (retry._backoff._cap, retry._backoff._base) == (0.2, 0.01)
    assert retry._backoff is not backoff

    # A connection the server closed while idle is replaced before anything
    # is sent on it, whatever the retry policy: nothing can run twice.
    redis_client.set('retried', 'yes')
    for policy, label in (
        (redis.retry.Retry(backoff, 3), 'retries'), (redis.retry.Retry(redis.backoff.NoBackoff(), 0), 'once'),
    ):
        label = unique(label)
        sync_client = redis.Redis.from_url(url, client_name=label, retry=policy)
        assert on_twin(sync_client, lambda twin: twin.get('retried')) == b'yes'
        (first,) = named_connections(redis_client, label)
        assert redis_client.client_kill_filter(_id=first['id']) == 1
        assert on_twin(sync_client, lambda twin: twin.get('retried')) == b'yes'
        assert [c['id'] for c in named_connections(redis_client, label)] != [first['id']]


# --- what has no twin ---------------------------------------------------------------


class CustomPool(redis.ConnectionPool):
    pass


class CustomConnection(redis.Connection):
    pass


@pytest.mark.parametrize(('make', 'message'), [
    (lambda: redis.Redis(redis_connect_func=untyped(lambda connection: connection.on_connect())),
     'custom connect callbacks (redis_connect_func)'),
    (lambda: redis.sentinel.Sentinel([('127.0.0.1', 1)]).master_for('mymaster'),
     'connection pools of type SentinelConnectionPool'),
    (lambda: redis.Redis(connection_pool=CustomPool()), 'connection pools of type CustomPool'),
    (lambda: redis.Redis(connection_pool=redis.ConnectionPool(connection_class=CustomConnection)),
     'connection class CustomConnection has no redis.asyncio twin'),
    (lambda: redis.Redis(protocol=3, cache_config=CacheConfig()), 'client-side caching'),
], ids=['connect-callback', 'sentinel', 'pool-class', 'connection-class', 'client-side-cache'])
def test_what_has_no_async_twin_is_refused(make: Callable[[], redis.Redis], message: str) -> None:
    client = make()
    with pytest.raises(UnsupportedClientError, match=re.escape(message)):
        _clients.build(client)
    # Through the sync API too, before anything is sent.
    with pytest.raises(UnsupportedClientError, match=re.escape(message)):
        RedisDict(redis=client, key='refused')['a'] = 1

    async def cached() -> bool:
        state = _bridge.current_state()
        assert state is not None
        return any(key == id(client) for key in state.clients)

    assert not _bridge.run(cached())


def test_tls_settings_redis_asyncio_lacks_are_dropped_when_unset_refused_when_set() -> None:
    # redis-py 5.2's async SSLConnection takes no ssl_password (the key
    # file's passphrase) nor ssl_ca_path, which its sync one has (unset) in
    # every TLS client's settings.  Nothing here connects: building the
    # twin's connection the way its pool does is enough to see a TypeError.
    plain = _clients.build(redis.Redis(host='127.0.0.1', port=1, ssl=True))
    try:
        assert isinstance(plain, redis.asyncio.Redis)
        pool = plain.connection_pool
        assert pool.connection_class is aconn.SSLConnection
        pool.connection_class(**pool.connection_kwargs)
    finally:
        asyncio.run(plain.aclose())
    with_passphrase = redis.Redis(host='127.0.0.1', port=1, ssl=True, ssl_password=PASSWORD)
    if 'ssl_password' in inspect.signature(aconn.SSLConnection.__init__).parameters:
        twin = _clients.build(with_passphrase)
        try:
            assert isinstance(twin, redis.asyncio.Redis)
            assert twin.connection_pool.connection_kwargs['ssl_password'] == PASSWORD
        finally:
            asyncio.run(twin.aclose())
    else:
        refused = r"sets 'ssl_password', which redis\.asyncio does not take"
        with pytest.raises(UnsupportedClientError, match=refused):
            _clients.build(with_passphrase)


def test_resolve_refuses_sync_clients_outside_the_bridge(redis_client: redis.Redis) -> None:
    async def outside() -> None:
        _clients.resolve(redis_client)

    with pytest.raises(TypeError, match=r'needs a redis\.asyncio client'):
        asyncio.run(outside())
    with pytest.raises(TypeError, match='not int'):
        _clients.build(untyped(42))


# --- caching and closing --------------------------------------------------------------


def test_twin_is_cached_per_loop(url: str) -> None:
    client = redis.Redis.from_url(url)
    here = twin_of(client)
    assert twin_of(client) is here
    assert twin_of(url) is twin_of(url)
    assert twin_of(url) is not here
    there: list[Any] = []
    thread = threading.Thread(target=lambda: there.extend([twin_of(client), twin_of(client)]))
    thread.start()
    thread.join(30)
    assert there[0] is there[1]
    assert there[0] is not here


def test_twin_is_closed_on_the_next_call_after_its_client_is_collected(
    url: str, redis_client: redis.Redis,
) -> None:
    name = unique('collected')
    client = redis.Redis.from_url(url, client_name=name)
    assert on_twin(client, lambda twin: twin.ping())
    twin = weakref.ref(twin_of(client))
    assert len(named_connections(redis_client, name)) == 1
    del client
    gc.collect()
    # Collected inside or outside a bridge call, the client's finalizer does
    # no I/O: the twin is closed by the next call.
    assert twin() is not None
    assert len(named_connections(redis_client, name)) == 1
    _bridge.run(asyncio.sleep(0))
    assert eventually(lambda: not named_connections(redis_client, name))
    gc.collect()
    assert twin() is None
