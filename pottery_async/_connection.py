"""The bridge's own connection: the one module that uses redis-py's private API.

A sync caller's commands reach Redis through `BridgeRedis`, an async client
that owns one connection per bridge loop and talks to it directly; its
retries are recorded (`Tries`, `connect_failure`) so that a deadline can
tell a server that refused the connection from one that hung.  Getting
there means leaning on what redis-py does not document or promise: names
with a leading underscore, attributes set on its objects, behaviour that
no API states.  All of it is here, so that this is the file to re-audit
on each redis-py upgrade (the oldest supported release is pinned in
``.ci/redis-oldest.txt``).  Elsewhere the package uses public names only,
a few of them undocumented (a pool's ``connection_kwargs``, a cluster
client's ``nodes_manager``, read by ``_clients`` and ``exceptions``).
What this module relies on:

- ``redis.asyncio.Redis._send_command_parse_response()``, ``parse_response()``
  and the untyped ``execute_command()``, called by `BridgeRedis` around its
  own connection;
- ``ConnectionPool.get_connection()``, which takes a command name up to
  redis-py 5.2 and deprecates it from 5.3 on, and ``can_get_connection()``;
- a connection's ``socket_timeout`` and ``pack_command`` attributes, set on
  the connection `BridgeRedis` keeps, and ``redis.connection.HiredisRespSerializer``,
  the packer used for what hiredis refuses;
- the default ``socket_timeout`` of ``redis.asyncio.connection.AbstractConnection``,
  read from its signature;
- ``ConnectionPool._available_connections`` and ``_in_use_connections``
  (`pool_connections`);
- ``Retry._backoff``, ``_supported_errors``, ``_is_retryable`` (redis-py 8)
  and ``_retries`` (before 6.0, which lacks ``get_retries()``), to copy a
  retry policy (`retry_twin`);
- ``Retry.call_with_retry()``'s way of waiting between tries inside the
  ``except`` clause that caught the failure (`connect_failure`).
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import redis
import redis.asyncio
import redis.asyncio.connection as aconn
import redis.asyncio.retry
import redis.connection as sconn
import redis.retry
from redis.asyncio.connection import AbstractConnection as AsyncConnection
from redis.utils import HIREDIS_AVAILABLE

if HIREDIS_AVAILABLE:
    import hiredis

from .exceptions import CommandTimeoutError

_T = TypeVar('_T')

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


def retry_twin(retry: redis.retry.Retry | redis.asyncio.retry.Retry) -> redis.asyncio.retry.Retry:
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


def command_timeout(client: redis.asyncio.Redis | redis.asyncio.RedisCluster) -> float | None:
    'The socket timeout of ``client``\'s commands (a `BridgeRedis` bounds each whole command with it).'
    if isinstance(client, BridgeRedis):
        return client._command_timeout
    timeout: float | None = client.get_connection_kwargs().get(
        'socket_timeout', _ASYNC_DEFAULT_SOCKET_TIMEOUT,
    )
    return timeout


def pool_connections(client: Any) -> list[Any]:
    'The connections of ``client``\'s pool, idle or in use; none for a cluster client.'
    pool = getattr(client, 'connection_pool', None)
    return [*getattr(pool, '_available_connections', ()), *getattr(pool, '_in_use_connections', ())]
