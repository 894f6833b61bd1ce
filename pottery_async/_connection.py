"""The library's own connections: the one module that uses redis-py's private API.

A sync caller's commands reach Redis through `BridgeRedis`, an async client
that owns one connection per bridge loop and talks to it directly; its
retries are recorded (`Tries`, `connect_failure`) so that a deadline can
tell a server that refused the connection from one that hung.  An async
caller's go through `MuxRedis`, which multiplexes the commands of every
task of a loop on one connection taken from the application's pool
(`Multiplexer`).  Getting
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
  ``except`` clause that caught the failure (`connect_failure`);
- a connection's ``_writer`` (a ``StreamWriter``), written to directly by
  `Multiplexer`, and its ``_reader`` and ``_writer``, cleared by
  `MuxRedis.abandon` for a connection whose loop is gone; a pool's
  ``_in_use_connections`` and ``_available_connections``, between which
  that connection moves back;
- ``Redis.parse_response()`` reading from any object with a
  ``read_response()`` coroutine (`_Exchange`);
- asyncio's ``TransportSocket._sock``, the socket an idle connection peeks
  at to learn whether the server closed it (`Multiplexer._closed_by_server`).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import copy
import inspect
import math
import select
import socket
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


class NotSent(redis.ConnectionError):
    'The connection broke before a command was written: sending it again is safe.'


class _Waiter:
    'A command on its way: its reply goes to ``future``.'

    __slots__ = ('future', 'raw', 'when')

    def __init__(self, future: asyncio.Future[Any], raw: bool) -> None:
        self.future = future
        self.raw = raw  # read without decoding (NEVER_DECODE)
        # The event loop's time by which the reply is due, set once it is
        # at the head of the line (see Multiplexer._due).
        self.when = math.inf


class Multiplexer:
    """One connection that every task of one event loop shares.

    The commands the loop's tasks issue in one turn leave in one write;
    one reader task reads the replies in order and hands each to its
    caller.  A caller that is cancelled gives up its reply, which is still
    read (and dropped), so later replies keep matching their commands; one
    cancelled before its command was written is not sent.  A broken
    connection fails every command on its way with ``ConnectionError``
    (`NotSent` for those not yet written) and the next command connects
    again.  With ``timeout``, a reply that takes longer than that (counted
    from when it could start: its command written and the reply before it
    read) resets the connection: the commands behind it fail with
    ``CommandTimeoutError`` too, since their replies could only come after it.
    """

    def __init__(
        self, conn: AsyncConnection, loop: asyncio.AbstractEventLoop, timeout: float | None, *, direct: bool,
    ) -> None:
        self.conn = conn
        self.loop = loop
        self.timeout = timeout
        # Whether a command that finds the connection idle reads its own
        # reply, without the reader task: for callers that come one at a
        # time (a bridge loop), and that bound their own wait.
        self.direct = direct
        self._reading_direct = False
        # What _closed_by_server() polls, for the writer it was made for.
        self._polled: Any = None
        self._socket: Any = None
        self._poller: Any = None
        # Bounded here: the socket itself waits as long as it takes.
        conn.socket_timeout = None
        _pack_fast(conn)
        self._queued: list[tuple[_Waiter, list[bytes]]] = []  # not yet written
        self._sent: collections.deque[_Waiter] = collections.deque()  # written, in order
        self._flush: asyncio.Handle | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._reset_by: BaseException | None = None
        # Closed for good (aclose()): every request raises NotSent.
        self.closed = False
        # The failure of the last connect, as request() raised it.
        self.connect_failure: BaseException | None = None

    async def request(self, args: tuple[Any, ...], raw: bool = False) -> Any:
        'Send one command and return its reply (an error reply is raised).'
        conn = self.conn
        while True:
            if self.closed:
                raise NotSent('the multiplexed connection was closed')
            # Connected once the handshake is over: while it runs, the
            # socket is open but its replies are the handshake's.
            if self._connecting is not None or not conn.is_connected or self._reader_resetting():
                await self._connect()
                continue
            idle = not (self._sent or self._queued or self._reading_direct)
            if not idle or not self._closed_by_server():
                break
            # The server closed it while idle (a restart, its idle timeout):
            # nothing was sent, so connect again rather than fail.
            await conn.disconnect(nowait=True)
        packed = conn.pack_command(*args)
        if idle and self.direct:
            return await self._request_direct(packed, raw)
        waiter = _Waiter(self.loop.create_future(), raw)
        self._queued.append((waiter, packed))
        if idle:
            # Nothing to wait for: written now, a loop turn sooner.  What
            # other tasks send in this turn leaves together after it.
            self._write()
        elif self._flush is None:
            self._flush = self.loop.call_soon(self._write)
        return await waiter.future

    def _reader_resetting(self) -> bool:
        return self._reader is not None and self._reset_by is not None

    def _closed_by_server(self) -> bool:
        """Whether the idle connection was closed by the server (it has nothing else to say).

        Polls the socket (a cached poll object, well under a microsecond)
        and, only when something is there, peeks at it without taking
        anything: TLS records or a RESP3 push message are left for whoever
        reads next.  Where the socket cannot be peeked at (uvloop's), only
        an end of stream the loop has seen counts.
        """
        conn: Any = self.conn
        writer = conn._writer
        if writer is None:
            return False
        if conn._reader is not None and conn._reader.at_eof():
            return True
        if self._polled is not writer:
            self._polled = writer
            wrapper = writer.transport.get_extra_info('socket')
            # asyncio hands out a wrapper without recv(): the socket it wraps.
            self._socket = getattr(wrapper, '_sock', wrapper)
            self._poller = None
            if self._socket is not None and hasattr(select, 'poll'):
                self._poller = select.poll()
                self._poller.register(self._socket.fileno(), select.POLLIN)
        if self._socket is None or (self._poller is not None and not self._poller.poll(0)):
            return False
        try:
            return bool(self._socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b'')
        except (BlockingIOError, InterruptedError, TypeError, AttributeError, NotImplementedError):
            return False
        except OSError:
            return True

    async def _request_direct(self, packed: list[bytes], raw: bool) -> Any:
        '''Write a command on the idle connection and read its reply in this task.

        Commands sent meanwhile go behind it; the reader task starts for
        them once this reply is in.  Interrupted (its caller's deadline),
        the read closes the connection, failing those too.
        '''
        conn: Any = self.conn
        # In line, so that commands sent meanwhile go behind it; its future
        # is never awaited (this task reads the reply).
        head = _Waiter(self.loop.create_future(), raw)
        self._sent.append(head)
        self._reading_direct = True
        conn._writer.writelines(packed)
        try:
            reply: Any = await conn.read_response(disable_decoding=raw)
        except redis.ResponseError:
            raise
        except BaseException as error:
            # redis-py closed the socket (see read_response): what was sent
            # behind this command gets no reply either.
            self._sent.remove(head)
            self._fail(error)
            raise
        finally:
            self._reading_direct = False
            if self._sent and self._sent[0] is head:
                self._sent.popleft()
            self._read_on()
        return reply

    def _read_on(self) -> None:
        'Start the reader task (and its watchdog) for commands written and not answered.'
        if not self._sent or self._reading_direct:
            return
        if self._reader is None:
            self._reader = self.loop.create_task(self._read())
            self._reader.add_done_callback(self._read_over)
        self._due(self.loop.time())

    def _due(self, now: float) -> None:
        'The head of the line may take its reply from now on: watch it.'
        if self.timeout is None or not self._sent:
            return
        head = self._sent[0]
        head.when = min(head.when, now + self.timeout)
        if self._watchdog is None:
            self._watchdog = self.loop.call_at(head.when, self._expire)

    async def _connect(self) -> None:
        reader = self._reader
        if reader is not None and self._reset_by is not None:
            # A reset under way: its reader closes the socket on its way out.
            await asyncio.wait({reader})
            return
        if self._connecting is None:
            self._connecting = self.loop.create_task(self._open())
            self._connecting.add_done_callback(self._connected)
        # Shared by every caller: one caller's cancellation does not stop it.
        try:
            await asyncio.shield(self._connecting)
        except Exception as error:
            self.connect_failure = error
            raise

    async def _open(self) -> None:
        conn: Any = self.conn
        # The handshake's replies are bounded as redis-py bounds them,
        # unless the callers bound their whole command (direct mode: the
        # bridge), whose deadline then says what failed.
        conn.socket_timeout = None if self.direct else self.timeout
        try:
            await conn.connect()
        finally:
            if not self.closed:
                conn.socket_timeout = None
            # Cleared here, not a turn later by _connected(): a request made
            # in between would find the connect still "under way" and spin.
            if self._connecting is asyncio.current_task():
                self._connecting = None

    def _connected(self, task: asyncio.Task[None]) -> None:
        if self._connecting is task:
            self._connecting = None
        if not task.cancelled():
            task.exception()  # retrieved: the callers got it, if any were left

    def _write(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
        self._flush = None
        queued, self._queued = self._queued, []
        writer = self.conn._writer
        if writer is None or self._reset_by is not None or self.closed:
            for waiter, _ in queued:
                if not waiter.future.done():
                    waiter.future.set_exception(NotSent('the connection closed before the command was sent'))
            return
        # A caller cancelled before its command left takes it back.
        sending = [(waiter, packed) for waiter, packed in queued if not waiter.future.done()]
        writer.writelines([chunk for _, packed in sending for chunk in packed])
        self._sent += [waiter for waiter, _ in sending]
        self._read_on()

    async def _read(self) -> None:
        sent = self._sent
        conn = self.conn
        try:
            while sent:
                head = sent[0]
                try:
                    reply: Any = await conn.read_response(disable_decoding=head.raw)
                except redis.ResponseError as error:
                    # An error reply, read in full: the connection is in step.
                    reply = error
                sent.popleft()
                self._due(self.loop.time())
                future = head.future
                if not future.done():
                    if isinstance(reply, redis.ResponseError):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)
        except BaseException as error:
            # redis-py closed the socket (see read_response).
            self._fail(self._reset_by or error)
            if not isinstance(error, Exception):
                raise
        finally:
            self._reader_gone()

    def _reader_gone(self) -> None:
        self._reader = None
        if not self.closed:
            self._reset_by = None

    def _read_over(self, task: asyncio.Task[None]) -> None:
        'Done callback of the reader task: one cancelled before it ran fails what it would have read.'
        if self._reader is task:
            self._fail(self._reset_by or redis.ConnectionError('the reader of the connection stopped'))
            self._reader_gone()
        if not task.cancelled():
            task.exception()

    def _fail(self, error: BaseException) -> None:
        failure: BaseException = error
        if not isinstance(error, redis.RedisError):
            failure = redis.ConnectionError(f'the connection closed while waiting for replies: {error!r}')
        while self._sent:
            future = self._sent.popleft().future
            if not future.done():
                future.set_exception(copy.copy(failure))
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _expire(self) -> None:
        self._watchdog = None
        if not self._sent or self._reading_direct:
            # A direct read is bounded by its caller; _read_on() watches
            # what follows it.
            return
        head = self._sent[0]
        if head.when > self.loop.time():
            self._watchdog = self.loop.call_at(head.when, self._expire)
            return
        # The server has not answered in time: reset the connection.
        self._reset_by = CommandTimeoutError(f'Timeout: no reply within socket_timeout={self.timeout} s')
        if self._reader is not None:
            self._reader.cancel()

    async def aclose(self) -> None:
        'Fail what is on its way and close the connection, for good.'
        self.closed = True
        self._reset_by = redis.ConnectionError('the client was closed')
        self._write()  # what is queued fails as NotSent
        reader = self._reader
        if reader is not None:
            reader.cancel()
            await asyncio.wait({reader})
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.wait({self._connecting})
        await self.conn.disconnect()


# Commands that hold their connection (blocking reads, transactions,
# connection state) go through the pool: on the shared connection they would
# stall, or change, every other caller's commands.
_POOLED = frozenset({
    'BLPOP', 'BRPOP', 'BRPOPLPUSH', 'BLMOVE', 'BLMPOP', 'BZPOPMIN', 'BZPOPMAX', 'BZMPOP',
    'XREAD', 'XREADGROUP', 'WAIT', 'WAITAOF', 'WATCH', 'UNWATCH', 'MULTI', 'EXEC', 'DISCARD',
    'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'MONITOR', 'SELECT', 'AUTH', 'HELLO', 'RESET',
    'QUIT', 'CLIENT', 'READONLY', 'READWRITE', 'ASKING',
})

# Commands that only read: one whose connection broke after it was written
# is sent again (as the retry policy says); anything else raises.
_READS = frozenset({
    'GET', 'MGET', 'EXISTS', 'TYPE', 'PTTL', 'TTL', 'STRLEN', 'GETBIT', 'BITCOUNT', 'BITFIELD_RO',
    'HGET', 'HMGET', 'HEXISTS', 'HLEN', 'HKEYS', 'HVALS', 'HGETALL', 'HSCAN', 'HSTRLEN',
    'SISMEMBER', 'SMISMEMBER', 'SCARD', 'SMEMBERS', 'SSCAN', 'SRANDMEMBER',
    'LLEN', 'LINDEX', 'LRANGE', 'LPOS', 'ZSCORE', 'ZCARD', 'ZRANGE', 'ZRANK', 'ZSCAN',
    'PFCOUNT', 'XLEN', 'XRANGE', 'XREVRANGE', 'XPENDING', 'SCAN', 'PING', 'ECHO', 'TIME', 'INFO',
    'DBSIZE', 'EVALSHA_RO', 'EVAL_RO',
})


# The smallest pool a MuxRedis takes a connection from (max_connections).
_SMALLEST_POOL = 4


class _Exchange:
    """What ``parse_response()`` reads a reply from: the command's trip through a `Multiplexer`.

    Lets redis-py turn the reply into its result (callbacks, options) as it
    does for its own connections.
    """

    __slots__ = ('_resp2_fallback', 'args', 'mux')

    def __init__(self, mux: Multiplexer, args: tuple[Any, ...]) -> None:
        self.mux = mux
        self.args = args
        # Read by redis-py 8's parse_response() on every reply.
        self._resp2_fallback = getattr(mux.conn, '_resp2_fallback', False)

    async def read_response(self, disable_decoding: bool = False, **_options: Any) -> Any:
        return await self.mux.request(self.args, disable_decoding)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.mux.conn, name)


class MuxRedis(redis.asyncio.Redis):
    """An application's ``redis.asyncio.Redis`` as the core uses it: its commands multiplexed.

    Shares the application's pool, settings and response callbacks; takes
    one connection from that pool for the `Multiplexer` of the loop it was
    made for, and sends through the pool what the multiplexer must not
    carry (see ``_POOLED``) or when the pool cannot spare that connection.
    Closing the application's client (or its pool) closes that connection
    too; the next command opens it again.
    """

    # Whether the multiplexer reads a reply in the caller's task when it
    # finds the connection idle (see Multiplexer).
    _DIRECT = False

    def __init__(
        self,
        connection_pool: aconn.ConnectionPool,
        loop: asyncio.AbstractEventLoop | None,
        response_callbacks: Any = None,
    ) -> None:
        super().__init__(connection_pool=connection_pool)
        if response_callbacks is not None:
            self.response_callbacks = response_callbacks
        self.loop = loop  # None: the loop of its first command
        self._mux: Multiplexer | None = None
        self._starting = asyncio.Lock()
        self._pooled = False  # the pool could not spare a connection

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        return await self._multiplexed(args, options)

    async def _multiplexed(self, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        name = args[0]
        if isinstance(name, bytes):
            name = name.decode()
        name = name.upper()
        failures = 0
        while True:
            mux = self._mux
            if mux is None and not self._pooled:
                mux = await self._start()
            if mux is None or name in _POOLED:
                return await _Untyped.execute_command(self, *args, **options)
            try:
                return await _Untyped.parse_response(self, _Exchange(mux, args), args[0], **options)
            except redis.ConnectionError as error:
                # A command never written is safe to send on the next
                # connection; one written may have run, unless it only
                # reads.  A failed connect already had its retries (the
                # retry policy's), and a timeout is not retried: the server
                # that did not answer in time would not now.
                failures += 1
                if (
                    error is mux.connect_failure
                    or failures > _retries(mux.conn.retry) + 1
                    or not (isinstance(error, NotSent) or name in _READS)
                ):
                    raise

    async def _start(self) -> Multiplexer | None:
        # Not a task shared by the callers: a cancelled caller's connection
        # would open after its application closed the client.
        async with self._starting:
            if self.loop is None:
                self.loop = asyncio.get_running_loop()
            if self._mux is None and not self._pooled:
                pool: Any = self.connection_pool
                if getattr(pool, 'max_connections', _SMALLEST_POOL) < _SMALLEST_POOL:
                    # A small pool is the application's: its own commands,
                    # pipelines and blocking reads (a waiting queue's XREAD)
                    # need every connection.
                    self._pooled = True
                    return None
                # redis-py 8's pool raises when full: the next command asks again.
                conn = await pool.get_connection(*_GET_CONNECTION_ARGS)
                if not pool.can_get_connection():
                    # The last connection the pool had: the application's
                    # own commands, pipelines and blocking reads need it more.
                    await pool.release(conn)
                    self._pooled = True
                else:
                    self._mux = Multiplexer(conn, self.loop, conn.socket_timeout, direct=self._DIRECT)
        return self._mux

    def abandon(self) -> None:
        """Give the connection back to the pool: this client is not used any more.

        On its own loop the connection is closed first.  From another loop
        (the old one is gone) its socket cannot be closed any more: it is
        dropped, and whoever takes the connection next connects anew.
        """
        mux, self._mux = self._mux, None
        # Commands still on their way through this client go through the pool.
        self._pooled = True
        if mux is None:
            return
        conn: Any = mux.conn
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is self.loop:
            task = running.create_task(self._close(mux))
            _closing.add(task)
            task.add_done_callback(_closing.discard)
            return
        mux.closed = True
        conn._reader = conn._writer = None
        _restore(conn, mux)
        pool: Any = self.connection_pool
        pool._in_use_connections.discard(conn)
        pool._available_connections.append(conn)

    async def _close(self, mux: Multiplexer) -> None:
        await mux.aclose()
        _restore(mux.conn, mux)
        await self.connection_pool.release(mux.conn)


# Connections being closed by MuxRedis.abandon(), kept until they are.
_closing: set[asyncio.Task[None]] = set()


def _restore(conn: Any, mux: Multiplexer) -> None:
    'Make ``conn`` a plain connection of its pool again.'
    vars(conn).pop('pack_command', None)
    conn.socket_timeout = mux.timeout


class BridgeRedis(MuxRedis):
    """An async client for one bridge loop: its own pool, and each command bounded as a whole.

    A bridge loop serves one thread, so commands usually arrive one by one:
    the multiplexer reads a reply in the caller's task when the connection
    is idle, skipping the reader task; commands that a core operation runs
    concurrently share the connection as in the async API.  The socket
    timeout is applied once per command, connecting and retries included,
    instead of once per socket read and write, and its expiry raises a
    ``CommandTimeoutError`` (both redis-py's ``TimeoutError``, as from a
    sync client, and the built-in one), or the connection failure that kept
    the command from being sent.

    The client owns its pool: ``aclose()`` closes every connection.
    """

    _DIRECT = True

    def __init__(self, *, connection_pool: aconn.ConnectionPool) -> None:
        super().__init__(connection_pool, None)
        self._command_timeout: float | None = connection_pool.connection_kwargs.get(
            'socket_timeout', _ASYNC_DEFAULT_SOCKET_TIMEOUT,
        )
        # Commands in flight with their deadlines, and the one timer that
        # enforces them (see execute_command).
        self._deadlines: set[_Deadline] = set()
        self._watchdog: asyncio.TimerHandle | None = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        timeout = self._command_timeout
        if timeout is None:
            return await self._multiplexed(args, options)
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
            result = await self._multiplexed(args, options)
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

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        if self._watchdog is not None:
            # A pending timer would keep this client alive until it fires.
            self._watchdog.cancel()
            self._watchdog = None
        mux, self._mux = self._mux, None
        if mux is not None:
            await mux.aclose()
        # The pool was built for this client alone: close its connections.
        await super().aclose(close_connection_pool=True)
