"""What the user passed as ``redis=`` -> the ``redis.asyncio`` client the core uses.

The async API takes ``redis.asyncio`` clients; the core sends a plain
server's commands through a `_connection.MuxRedis` made for the client and
the running loop (unless ``multiplexing(client, False)``).  The
sync API takes what Pottery users pass today (a sync ``redis.Redis``, a sync
``RedisCluster``, a URL, or nothing) and gets, once per bridge loop and
cached there, the matching async client: same server, database, credentials,
TLS settings, timeouts, retry policy and ``decode_responses``.  What has no
async twin is refused with a clear error rather than silently dropped.

The only thing read from a sync client's connection pool is its
configuration (connection class and keyword arguments); connections are
never taken from it, since they belong to other threads and processes.
The client built for a plain server is a `_connection.BridgeRedis`.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import redis
import redis.asyncio
import redis.asyncio.client
import redis.asyncio.cluster
import redis.asyncio.connection as aconn
import redis.cluster
import redis.connection as sconn
from redis.asyncio.connection import AbstractConnection as AsyncConnection

from . import _bridge, _connection

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


class UnsupportedClientError(TypeError):
    'A sync client uses a feature that has no redis.asyncio equivalent.'


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
            return _multiplexed(redis_arg)
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


# Where an application's async client keeps the client the core uses for it.
_MULTIPLEXED = '_pottery_async_multiplexed'


def _multiplexed(client: AsyncClient) -> AsyncClient:
    """What the core sends ``client``'s commands through on the running loop.

    A `_connection.MuxRedis` made for ``client`` and this loop, unless
    ``multiplexing(client, False)`` said otherwise; a cluster client, or one
    with a single connection, as it is.
    """
    twin = client.__dict__.get(_MULTIPLEXED)
    if twin is False or isinstance(client, redis.asyncio.RedisCluster) or client.single_connection_client:
        return client
    loop = asyncio.get_running_loop()
    if twin is not None:
        if twin.loop is loop:
            return twin  # type: ignore[no-any-return]
        twin.abandon()
    twin = _connection.MuxRedis(client.connection_pool, loop, client.response_callbacks)
    client.__dict__[_MULTIPLEXED] = twin
    return twin


def multiplexing(client: redis.asyncio.Redis, enabled: bool = True) -> None:
    """Whether pottery_async multiplexes its commands to ``client`` (the default) or uses its pool.

    Multiplexed, the commands that the tasks of one event loop send through
    pottery_async share one connection taken from the client's pool: those
    issued in the same turn of the loop leave in one write, and any number
    of tasks cost one connection (blocking reads, transactions and pub/sub
    still take their own).  With ``enabled=False``, each command takes a
    connection from the pool as redis-py does: a reply late by a few
    milliseconds never delays another task's, but hundreds of tasks need
    hundreds of connections, and a full pool raises ``MaxConnectionsError``
    (redis-py 8) or makes tasks wait (a ``BlockingConnectionPool``).
    """
    if not isinstance(client, redis.asyncio.Redis):
        raise TypeError(f'multiplexing() takes a redis.asyncio.Redis, not {type(client).__name__}')
    twin = client.__dict__.pop(_MULTIPLEXED, None)
    if isinstance(twin, _connection.MuxRedis):
        twin.abandon()
    if not enabled:
        client.__dict__[_MULTIPLEXED] = False


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
        return _connection.BridgeRedis(connection_pool=aconn.BlockingConnectionPool.from_url(
            DEFAULT_URL, socket_timeout=DEFAULT_SOCKET_TIMEOUT,
        ))
    if isinstance(redis_arg, str):
        return _connection.BridgeRedis(connection_pool=aconn.BlockingConnectionPool.from_url(redis_arg))
    if isinstance(redis_arg, redis.RedisCluster):
        return _cluster_twin(redis_arg)
    if isinstance(redis_arg, redis.Redis):
        return _connection.BridgeRedis(connection_pool=_pool_twin(redis_arg.connection_pool))
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
                value = _connection.retry_twin(value)
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
