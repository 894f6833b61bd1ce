"""What the user passed as ``redis=`` -> the ``redis.asyncio`` client the core uses.

The async API takes ``redis.asyncio`` clients and uses them as they are.  The
sync API takes what Pottery users pass today (a sync ``redis.Redis``, a sync
``RedisCluster``, a URL, or nothing) and gets, once per bridge loop and
cached there, the matching async client: same server, database, credentials,
TLS settings, timeouts, retry policy and ``decode_responses``.  What has no
async twin is refused with a clear error rather than silently dropped.

The only thing read from a sync client's connection pool is its
configuration (connection class and keyword arguments); connections are
never taken from it, since they belong to other threads and processes.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import inspect
import os
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar, cast

import redis
import redis.asyncio
import redis.asyncio.client
import redis.asyncio.cluster
import redis.asyncio.connection as aconn
import redis.asyncio.retry
import redis.cluster
import redis.connection as sconn
import redis.retry
from redis.asyncio.connection import AbstractConnection as AsyncConnection
from redis.utils import HIREDIS_AVAILABLE

if HIREDIS_AVAILABLE:
    import hiredis

from . import _bridge
from .exceptions import CommandTimeoutError

AsyncClient: TypeAlias = redis.asyncio.Redis | redis.asyncio.RedisCluster
AsyncPipeline: TypeAlias = redis.asyncio.client.Pipeline | redis.asyncio.cluster.ClusterPipeline
RedisArg: TypeAlias = (
    redis.asyncio.Redis | redis.asyncio.RedisCluster | redis.Redis | redis.RedisCluster | str | None
)

_T = TypeVar('_T')

# Pottery's default: REDIS_URL, else a local server, with a 1 second timeout.
DEFAULT_URL = os.environ.get('REDIS_URL', 'redis://localhost:6379/0')
DEFAULT_SOCKET_TIMEOUT = 1.0

_CONNECTION_CLASSES: dict[type[Any], type[AsyncConnection]] = {
    sconn.Connection: aconn.Connection,
    sconn.SSLConnection: aconn.SSLConnection,
    sconn.UnixDomainSocketConnection: aconn.UnixDomainSocketConnection,
}

# Connection settings that mean the same on both sides.
_CARRIED = frozenset({
    'host', 'port', 'path', 'db', 'username', 'password', 'credential_provider',
    'socket_timeout', 'socket_connect_timeout', 'socket_keepalive', 'socket_keepalive_options',
    'socket_read_size', 'retry_on_timeout', 'retry_on_error', 'retry', 'encoding',
    'encoding_errors', 'decode_responses', 'health_check_interval', 'client_name',
    'lib_name', 'lib_version', 'driver_info', 'protocol', 'legacy_responses',
    'ssl_keyfile', 'ssl_certfile', 'ssl_cert_reqs', 'ssl_ca_certs', 'ssl_ca_data',
    'ssl_ca_path', 'ssl_check_hostname', 'ssl_min_version', 'ssl_ciphers', 'ssl_password',
    'ssl_include_verify_flags', 'ssl_exclude_verify_flags',
})
# Per-process bookkeeping that redis-py keeps in the kwargs; rebuilt by the
# async connection itself.
_INTERNAL = frozenset({
    'himport_registry', 'maint_notifications_pool_handler', 'maint_notifications_config',
    'orig_host_address', 'orig_socket_timeout', 'orig_socket_connect_timeout',
    'event_dispatcher', 'maintenance_state', 'maintenance_notification_hash',
    'oss_cluster_maint_notifications_handler',
})
# Settings with no async twin, refused when set to anything but their default.
_REFUSED = {
    'redis_connect_func': 'custom connect callbacks',
    'command_packer': 'custom command packers',
    'cache': 'client-side caching',
    'cache_config': 'client-side caching',
    'ssl_validate_ocsp': 'OCSP validation',
    'ssl_validate_ocsp_stapled': 'OCSP validation',
    'ssl_ocsp_context': 'OCSP validation',
    'ssl_ocsp_expected_cert': 'OCSP validation',
}


def _keywords(cls: type[Any]) -> frozenset[str]:
    'The keyword arguments that ``cls(...)`` takes by name, its bases\' included.'
    names: set[str] = set()
    for klass in cls.__mro__:
        init = vars(klass).get('__init__')
        if init is None or klass is object:
            continue
        names.update(
            name for name, parameter in inspect.signature(init).parameters.items()
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        )
    return frozenset(names)


# What the async twins take.  redis.asyncio can lack a setting that the sync
# side of the same release has (redis-py 5.2's async SSLConnection has no
# ssl_password nor ssl_ca_path), and passing it would raise TypeError.
_ASYNC_KEYWORDS = {cls: _keywords(cls) for cls in _CONNECTION_CLASSES.values()}
_ASYNC_CLUSTER_KEYWORDS = _keywords(redis.asyncio.RedisCluster)


_ASYNC_DEFAULT_SOCKET_TIMEOUT = inspect.signature(AsyncConnection.__init__).parameters[
    'socket_timeout'
].default


# redis-py 5.2 requires a command name (which it ignores); from 5.3 on,
# passing one is deprecated.
_GET_CONNECTION_ARGS: tuple[str, ...] = (
    ('_',)
    if inspect.signature(aconn.ConnectionPool.get_connection).parameters['command_name'].default
    is inspect.Parameter.empty
    else ()
)

# Retry.get_retries() exists from redis-py 6.0 on; before, the count is only
# in the attribute the constructor sets (sync and async Retry alike).
if hasattr(redis.retry.Retry, 'get_retries') and hasattr(redis.asyncio.retry.Retry, 'get_retries'):
    def _retries(retry: redis.retry.Retry | redis.asyncio.retry.Retry) -> int:
        return retry.get_retries()
else:
    def _retries(retry: redis.retry.Retry | redis.asyncio.retry.Retry) -> int:
        return retry._retries


# redis.asyncio.Redis, as seen by a subclass that calls its untyped methods.
_Untyped: Any = redis.asyncio.Redis


class UnsupportedClientError(TypeError):
    'A sync client uses a feature that has no redis.asyncio equivalent.'


# Untyped in some redis-py releases: called through Any.
_serializer_class: Any = sconn.HiredisRespSerializer
_python_pack = _serializer_class().pack if HIREDIS_AVAILABLE else None


def _hiredis_pack(*args: Any) -> list[bytes]:
    """Pack a command with hiredis, as sync redis-py does when hiredis is installed.

    redis.asyncio packs in pure Python: ~1.8 us for an HGET, ~1.1 ms for
    an HSET of 1000 fields, against 0.5 us and 0.14 ms here; same bytes.
    """
    command = args[0]
    if isinstance(command, str):
        args = (*command.encode().split(), *args[1:])
    elif b' ' in command:
        args = (*command.split(), *args[1:])
    try:
        return [hiredis.pack_command(args)]
    except TypeError:
        # bytearray / memoryview arguments, or a value redis-py refuses
        # (raised as redis-py's DataError).
        assert _python_pack is not None
        return _python_pack(*args)  # type: ignore[no-any-return]


def _pack_fast(conn: Any) -> None:
    'Let a connection pack commands with hiredis when that gives the same bytes.'
    encoder = conn.encoder
    utf8 = encoder.encoding.lower().replace('_', '-') in ('utf-8', 'utf8')
    if HIREDIS_AVAILABLE and utf8 and encoder.encoding_errors == 'strict':
        conn.pack_command = _hiredis_pack


class Tries:
    """What the tries of one request met so far.

    ``failure`` is the error of the last try that failed, or ``None`` when a
    later try succeeded (connected, or got a reply).  Kept up to date by the
    retry policy of the clients this module builds (`_NotingRetry`) for the
    request the running task marked with `noting_tries`.
    """

    __slots__ = ('failure',)

    def __init__(self) -> None:
        self.failure: BaseException | None = None


_tries: contextvars.ContextVar[Tries | None] = contextvars.ContextVar(
    'pottery_async_tries', default=None,
)


def noting_tries(tries: Tries) -> contextvars.Token[Tries | None]:
    'Mark ``tries`` as the record of the running task\'s request, until `done_noting`.'
    return _tries.set(tries)


def done_noting(token: contextvars.Token[Tries | None], tries: Tries) -> None:
    'End what `noting_tries` began; a request that encloses this one learns what it met.'
    _tries.reset(token)
    outer = token.old_value
    if isinstance(outer, Tries):
        outer.failure = tries.failure


class _NotingRetry(redis.asyncio.retry.Retry):
    """A retry policy that records in the request's `Tries` what each try met.

    Retries happen inside redis-py (connecting, re-sending), out of sight
    of the deadline that interrupts them: when it expires, this record tells
    a server that refused the connection from one that did not answer.
    """

    async def call_with_retry(
        self, do: Callable[[], Awaitable[_T]], fail: Callable[..., Any], *args: Any, **kwargs: Any,
    ) -> _T:
        async def attempt() -> _T:
            result = await do()
            tries = _tries.get()
            if tries is not None:
                tries.failure = None
            return result

        async def failed(error: Exception, *more: Any) -> Any:
            tries = _tries.get()
            if tries is not None:
                tries.failure = error
            return await fail(error, *more)

        return await super().call_with_retry(attempt, failed, *args, **kwargs)


def connect_failure(
    interruption: BaseException, tries: Tries | None = None,
) -> redis.ConnectionError | None:
    """The connection failure a retry policy was waiting out when a deadline interrupted it.

    ``interruption`` is the cancellation (or the ``TimeoutError`` that
    ``asyncio.timeout()`` made of it).  redis-py's retry policies wait
    between tries inside the ``except`` clause that caught the failure, so a
    cancellation then has that failure as its context.  A cancellation that
    came during a new try has none: then ``tries`` (when the client's retry
    policy keeps it, see `_NotingRetry`) tells whether the last finished try
    failed to connect.  Otherwise the server hung: a timeout.
    """
    error: BaseException | None = interruption
    # Through the cancellation and asyncio's TimeoutError, not a Redis one.
    interrupting = (asyncio.CancelledError, TimeoutError)
    while isinstance(error, interrupting) and not isinstance(error, redis.RedisError):
        error = error.__cause__ or error.__context__
    if error is None and tries is not None:
        error = tries.failure
    return error if isinstance(error, redis.ConnectionError) else None


class _Deadline(Tries):
    'When one command in flight must have its reply, and the task to cancel then.'

    __slots__ = ('expired', 'task', 'when')

    def __init__(self, task: asyncio.Task[Any], when: float) -> None:
        super().__init__()
        self.task = task
        self.when = when
        self.expired = False


class BridgeRedis(redis.asyncio.Redis):
    """An async client for one bridge loop, tuned for one caller at a time.

    A bridge loop serves one thread, so commands usually arrive one by one.
    This client keeps one connection for itself and talks to it directly
    (send, then parse), skipping the pool, lock and bookkeeping around each
    command; the socket timeout is applied once per command instead of once
    per socket read and write, and its expiry raises a ``CommandTimeoutError``
    (both redis-py's ``TimeoutError``, as from a sync client, and the
    built-in one).  When that
    connection is busy (a core operation running commands concurrently) the
    command goes through the pool as usual.  Pipelines, transactions and
    pub/sub always use the pool, whose connections keep their own socket
    timeouts; when the pool has no room left, the client hands its own
    connection back after each command, so that a small ``max_connections``
    cannot starve them.

    The client owns its pool: ``aclose()`` closes every connection.
    """

    def __init__(self, *, connection_pool: aconn.ConnectionPool) -> None:
        super().__init__(connection_pool=connection_pool)
        self._command_timeout: float | None = connection_pool.connection_kwargs.get(
            'socket_timeout', _ASYNC_DEFAULT_SOCKET_TIMEOUT,
        )
        self._own: AsyncConnection | None = None
        self._own_socket_timeout: float | None = None
        self._own_busy = False
        # Commands in flight with their deadlines, and the one timer that
        # enforces them (see execute_command).
        self._deadlines: set[_Deadline] = set()
        self._watchdog: asyncio.TimerHandle | None = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        timeout = self._command_timeout
        if timeout is None:
            return await self._execute(args, options)
        # One timer per client instead of one per command: asyncio.timeout()
        # schedules and cancels a timer for every command, a measurable part
        # of a single HGET's cost.  Each command records its deadline; the
        # watchdog cancels the tasks whose deadline has passed.
        task = asyncio.current_task()
        assert task is not None
        loop = task.get_loop()
        deadline = _Deadline(task, loop.time() + timeout)
        self._deadlines.add(deadline)
        if self._watchdog is None:
            self._watchdog = loop.call_at(deadline.when, self._expire, loop)
        cancelling = task.cancelling()
        noting = noting_tries(deadline)
        try:
            result = await self._execute(args, options)
        except asyncio.CancelledError as cancelled:
            if deadline.expired and task.uncancel() <= cancelling:
                failure = connect_failure(cancelled, deadline)
                if failure is not None:
                    # No reply was possible: the failure to connect
                    # (refused, authentication...) is the truth, as sync
                    # redis-py raises it once its retries are spent.
                    failure.add_note(
                        f'{args[0]!s} got no reply within socket_timeout={timeout} s: '
                        'it could not connect meanwhile'
                    )
                    raise failure from failure.__cause__ or failure.__context__
                raise CommandTimeoutError(
                    f'Timeout: no reply to {args[0]!s} within socket_timeout={timeout} s',
                ) from None
            raise
        finally:
            self._deadlines.discard(deadline)
            done_noting(noting, deadline)
        if deadline.expired:
            # The watchdog's cancellation was swallowed by redis-py (a
            # reply that came with it): take it back (see _primitive._timeout).
            task.uncancel()
        return result

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._watchdog = None
        now = loop.time()
        nearest: float | None = None
        for deadline in self._deadlines:
            if deadline.when <= now:
                if not deadline.expired:
                    deadline.expired = True
                    deadline.task.cancel()
            elif nearest is None or deadline.when < nearest:
                nearest = deadline.when
        if nearest is not None:
            self._watchdog = loop.call_at(nearest, self._expire, loop)

    async def _execute(self, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        if self._own_busy:
            return await _Untyped.execute_command(self, *args, **options)
        self._own_busy = True
        try:
            conn: Any = self._own
            if conn is None:
                pool: Any = self.connection_pool
                conn = await pool.get_connection(*_GET_CONNECTION_ARGS)
                # This connection is never shared; execute_command() bounds
                # each command as a whole.
                self._own_socket_timeout = conn.socket_timeout
                conn.socket_timeout = None
                _pack_fast(conn)
                self._own = conn
            try:
                await conn.send_command(*args)
                return await self.parse_response(conn, args[0], **options)
            except redis.ResponseError:
                # An error reply, read in full: the connection is in step.
                raise
            except (redis.ConnectionError, redis.TimeoutError):
                # The connection broke (server restart, idle timeout): retry
                # as the client's retry policy says, on a fresh socket.
                await conn.disconnect()
                if _retries(conn.retry) == 0:
                    raise
            except BaseException:
                # Cancelled (a deadline, Ctrl-C) or failed half-way: a reply
                # may still be on its way and would answer the next command.
                # redis-py closes the socket in most of these cases; make it
                # all of them.
                await conn.disconnect(nowait=True)
                raise
            # Retried outside the except clause: a deadline that comes while
            # the new socket waits for its reply must not look like it came
            # while handling the broken one (see execute_command).
            client: Any = self
            return await conn.retry.call_with_retry(
                lambda: client._send_command_parse_response(conn, args[0], *args, **options),
                lambda _error: conn.disconnect(),
            )
        finally:
            self._own_busy = False
            if self._own is not None and not self.connection_pool.can_get_connection():
                await self._release_own()

    async def _release_own(self) -> None:
        own, self._own = self._own, None
        if own is not None:
            own.socket_timeout = self._own_socket_timeout
            vars(own).pop('pack_command', None)
            await self.connection_pool.release(own)

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        if self._watchdog is not None:
            # A pending timer would keep this client alive until it fires.
            self._watchdog.cancel()
            self._watchdog = None
        await self._release_own()
        # The pool was built for this client alone: close its connections.
        await super().aclose(close_connection_pool=True)


def resolve(redis_arg: RedisArg) -> AsyncClient:
    """The async client to use for ``redis_arg`` on the running loop.

    An async client is returned as is.  Anything else must be resolved inside
    a bridge loop (the sync API), where the async twin is built once and
    cached for as long as the object passed lives.
    """
    # The sync API's case first: a dict lookup, where isinstance() against
    # redis.asyncio's classes (typing._ProtocolMeta) costs ~1 us per call.
    state = _bridge.current_state()
    if state is not None:
        cached = state.clients.get(
            redis_arg if redis_arg is None or type(redis_arg) is str else id(redis_arg)
        )
        if cached is not None:
            return cached  # type: ignore[no-any-return]
    if isinstance(redis_arg, (redis.asyncio.Redis, redis.asyncio.RedisCluster)):
        if state is None:
            return redis_arg
        # Its connections belong to the application's loop: used from a
        # bridge loop they break the application's own calls.
        raise TypeError(
            f'the sync API needs a sync client (redis.Redis, redis.RedisCluster), a URL or None, '
            f'not {type(redis_arg).__module__}.{type(redis_arg).__name__}; '
            'redis.asyncio clients are for the async API (pottery_async)'
        )
    if state is None and redis_arg is None:
        raise TypeError(
            'the async API has no default client: pass a redis.asyncio client '
            '(redis= for a container, masters= for a lock or NextID)'
        )
    if state is None:
        raise TypeError(
            'the async API needs a redis.asyncio client (redis.asyncio.Redis or '
            f'redis.asyncio.RedisCluster), not {type(redis_arg).__name__}; '
            'sync clients and URLs are for pottery_async.sync'
        )
    cache_key: object = redis_arg if isinstance(redis_arg, str) or redis_arg is None else id(redis_arg)
    client = state.clients.get(cache_key)
    if client is None:
        client = build(redis_arg)
        if not (isinstance(redis_arg, str) or redis_arg is None):
            # The id of a dead object can be reused: forget its twin when it
            # dies.  The weak reference lives as long as the state does.
            state.watches[cache_key] = weakref.ref(redis_arg, _forgetter(state, cache_key))
        state.clients[cache_key] = client
    return client


def _forgetter(state: _bridge.LoopState, cache_key: object) -> Callable[[object], None]:
    def callback(_ref: object) -> None:
        _forget(state, cache_key)

    return callback


def _forget(state: _bridge.LoopState, cache_key: object) -> None:
    # Runs when the sync client is garbage-collected, maybe inside a bridge
    # call, maybe in another thread: close its twin on the loop's next call
    # instead of now.  Never in a forked child: the twin is the parent's.
    if state.pid != os.getpid():
        return
    state.watches.pop(cache_key, None)
    client = state.clients.pop(cache_key, None)
    if client is not None:
        state.pending.append(client.aclose)


def build(redis_arg: redis.Redis | redis.RedisCluster | str | None) -> AsyncClient:
    'Build a new async client that connects where ``redis_arg`` connects.'
    if redis_arg is None:
        return BridgeRedis(connection_pool=aconn.BlockingConnectionPool.from_url(
            DEFAULT_URL, socket_timeout=DEFAULT_SOCKET_TIMEOUT,
        ))
    if isinstance(redis_arg, str):
        return BridgeRedis(connection_pool=aconn.BlockingConnectionPool.from_url(redis_arg))
    if isinstance(redis_arg, redis.RedisCluster):
        return _cluster_twin(redis_arg)
    if isinstance(redis_arg, redis.Redis):
        return BridgeRedis(connection_pool=_pool_twin(redis_arg.connection_pool))
    raise TypeError(
        'redis must be a redis.Redis, redis.RedisCluster, a redis:// URL or None, '
        f'not {type(redis_arg).__name__}'
    )


def _async_kwargs(kwargs: dict[str, Any], where: str, accepted: frozenset[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in kwargs.items():
        if name in _REFUSED:
            if value not in (None, False):
                raise UnsupportedClientError(
                    f'{where} uses {_REFUSED[name]} ({name}), which redis.asyncio does not '
                    'support; pass a client without it'
                )
        elif name in _CARRIED:
            if name not in accepted:
                # Unset, it can stay behind; set, it would be silently lost.
                if value in (None, False):
                    continue
                raise UnsupportedClientError(
                    f'{where} sets {name!r}, which redis.asyncio does not take in this '
                    f'redis-py release ({redis.__version__}); pass a client without it'
                )
            if name == 'retry' and value is not None:
                value = _retry_twin(value)
            elif name == 'socket_keepalive_options' and not isinstance(value, dict):
                continue
            result[name] = value
        elif name not in _INTERNAL:
            raise UnsupportedClientError(
                f'{where} sets {name!r}, which pottery_async does not know how to carry '
                'over to redis.asyncio'
            )
    return result


def _pool_twin(pool: sconn.ConnectionPool) -> aconn.ConnectionPool:
    if type(pool) not in (sconn.ConnectionPool, sconn.BlockingConnectionPool):
        raise UnsupportedClientError(
            f'connection pools of type {type(pool).__name__} (e.g. Sentinel-managed) have '
            'no redis.asyncio twin that pottery_async can build; pass a client with a '
            'plain ConnectionPool or BlockingConnectionPool'
        )
    if getattr(pool, 'cache', None) is not None:
        raise UnsupportedClientError(
            'this redis.Redis client uses client-side caching (cache / cache_config), which '
            'redis.asyncio does not support; pass a client without it'
        )
    connection_class = _CONNECTION_CLASSES.get(pool.connection_class)
    if connection_class is None:
        raise UnsupportedClientError(
            f'connection class {pool.connection_class.__name__} has no redis.asyncio twin'
        )
    kwargs = _async_kwargs(
        dict(pool.connection_kwargs), 'this redis.Redis client', _ASYNC_KEYWORDS[connection_class],
    )
    # redis-py's async pool raises when full; ours waits for a connection,
    # within the sync pool's own timeout when it is a blocking pool.
    # The size as is, even redis-py 5.2's default of 2**31: the async pool
    # only counts connections, it preallocates nothing.
    wait = pool.timeout if isinstance(pool, sconn.BlockingConnectionPool) else None
    return aconn.BlockingConnectionPool(
        connection_class=connection_class,
        max_connections=pool.max_connections,
        timeout=wait,
        **kwargs,
    )


def _retry_twin(retry: redis.retry.Retry | redis.asyncio.retry.Retry) -> redis.asyncio.retry.Retry:
    """The same policy (back-off, retries, errors) as a `_NotingRetry`.

    A sync Retry handed to an async connection would never retry: it calls
    the coroutine function without awaiting it.
    """
    twin = _NotingRetry(
        backoff=copy.deepcopy(retry._backoff),
        retries=_retries(retry),
        supported_errors=cast(tuple[type[redis.RedisError], ...], tuple(retry._supported_errors)),
    )
    # redis-py 8's own test of which errors to retry.
    is_retryable = getattr(retry, '_is_retryable', None)
    if is_retryable is not None:
        twin._is_retryable = is_retryable
    return twin


def _cluster_twin(cluster: redis.RedisCluster) -> redis.asyncio.RedisCluster:
    # RedisCluster sets its own connect callback (READONLY for replicas);
    # the async cluster client sets its own too.
    own = ('host', 'port', 'redis_connect_func')
    kwargs = _async_kwargs(
        {k: v for k, v in cluster.nodes_manager.connection_kwargs.items() if k not in own},
        'this redis.RedisCluster client',
        _ASYNC_CLUSTER_KEYWORDS,
    )
    startup_nodes = [
        redis.asyncio.cluster.ClusterNode(node.host, node.port)
        for node in cluster.nodes_manager.startup_nodes.values()
    ]
    return redis.asyncio.RedisCluster(startup_nodes=startup_nodes, **kwargs)


# --- what older redis.asyncio cluster clients lack ------------------------------------

# redis.asyncio's cluster client runs transactions (pipeline(transaction=True)
# with WATCH and MULTI) from redis-py 6.2 on, but refuses scripts (EVALSHA)
# in them in 6.2-7.x (8.2 allows them), and has pubsub() from 8.0 on; what
# it refuses raises RedisClusterException, and pubsub() is missing.  These
# are done here instead on a plain client connected to one node.
_CLUSTER_TRANSACTIONS = (
    hasattr(redis.asyncio.cluster.ClusterPipeline, 'multi')
    and 'EVALSHA' not in redis.cluster.PIPELINE_BLOCKED_COMMANDS
)
_CLUSTER_PUBSUB = hasattr(redis.asyncio.RedisCluster, 'pubsub')

# How often a transaction on a cluster node is tried again after the node
# answered MOVED (the slot went elsewhere since the cluster client looked).
_MOVED_RETRIES = 2

def _node_client(node: redis.asyncio.cluster.ClusterNode) -> redis.asyncio.Redis:
    'A plain client on one cluster node, with the settings of the cluster client\'s connections.'
    # The cluster's connect callback only sends READONLY, for replicas; the
    # nodes used here are masters.
    kwargs = {k: v for k, v in node.connection_kwargs.items() if k != 'redis_connect_func'}
    pool = aconn.ConnectionPool(connection_class=node.connection_class, **kwargs)
    return redis.asyncio.Redis(connection_pool=pool)


def _master_of(cluster: redis.asyncio.RedisCluster, key: str | bytes) -> redis.asyncio.cluster.ClusterNode:
    node = cluster.get_node_from_key(key)  # type: ignore[arg-type]
    if node is None:  # only for a replica, which is not asked for
        raise redis.exceptions.SlotNotCoveredError(f'no master serves the slot of {key!r}')
    return node


async def transaction(
    client: AsyncClient, key: str, body: Callable[[AsyncPipeline], Awaitable[_T]],
) -> _T:
    """``await body(pipeline)`` with a transaction pipeline, for commands on ``key`` alone.

    On a cluster whose client cannot run transactions with scripts in them
    (redis-py before 8.0), the pipeline belongs to a plain client connected to the master of
    ``key``'s slot for this one call: a connection set up per transaction,
    the price of atomicity there.
    """
    if _CLUSTER_TRANSACTIONS or not isinstance(client, redis.asyncio.RedisCluster):
        async with client.pipeline(transaction=True) as pipeline:
            return await body(pipeline)
    await client.initialize()
    retries = _MOVED_RETRIES
    while True:
        single = _node_client(_master_of(client, key))
        try:
            async with single.pipeline(transaction=True) as pipeline:
                return await body(pipeline)
        except redis.exceptions.MovedError:
            # A node refuses commands for slots it does not serve, writes
            # included: nothing was done, and it is safe to run body again
            # once the cluster client has read the slots anew.
            if retries == 0:
                raise
            retries -= 1
            await client.nodes_manager.initialize()
        finally:
            await single.aclose(close_connection_pool=True)


async def execute(pipeline: AsyncPipeline) -> list[Any]:
    """``pipeline.execute()``, raising the first error reply as the server worded it.

    redis-py 6.0-7.0 replace the wording of an error reply raised from a
    pipeline with a template they forgot to fill in ("... caused error:
    {exception.args}"), and with it the code (WRONGTYPE...) that callers
    look for; the replies themselves are intact.
    """
    replies: list[Any] = await pipeline.execute(raise_on_error=False)
    for reply in replies:
        if isinstance(reply, redis.exceptions.ResponseError):
            raise reply
    return replies


class _NodePubSub:
    """Pub/sub for a cluster client that has none (redis-py before 8.0).

    Subscribes on the master serving the first channel's slot, as redis-py's
    own cluster pub/sub does: a message published on any node of a cluster
    reaches the subscribers on every node, so one node is enough.  Only what
    _wake and the bridge use: subscribe(), get_message(), aclose(), connection.
    """

    def __init__(self, cluster: redis.asyncio.RedisCluster) -> None:
        self._cluster = cluster
        self._client: redis.asyncio.Redis | None = None
        self._pubsub: redis.asyncio.client.PubSub | None = None

    async def subscribe(self, *channels: str | bytes) -> None:
        if self._pubsub is None:
            await self._cluster.initialize()
            self._client = _node_client(_master_of(self._cluster, channels[0]))
            self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(*channels)

    @property
    def connection(self) -> Any:
        'The pub/sub connection, once subscribed (what _wake closes under a stuck reader).'
        return None if self._pubsub is None else self._pubsub.connection

    async def get_message(self, **options: Any) -> Any:
        assert self._pubsub is not None, 'subscribe() first'
        return await self._pubsub.get_message(**options)

    async def aclose(self) -> None:
        try:
            if self._pubsub is not None:
                await self._pubsub.aclose()
        finally:
            if self._client is not None:
                await self._client.aclose(close_connection_pool=True)


def pubsub(client: AsyncClient) -> Any:
    'A pub/sub object on ``client`` (see _NodePubSub for a cluster without one).'
    if _CLUSTER_PUBSUB or not isinstance(client, redis.asyncio.RedisCluster):
        return client.pubsub()
    return _NodePubSub(client)
