"""What the distributed primitives share: a key, many masters, a quorum.

A primitive (NextID, Redlock) keeps its state on several independent Redis
masters and trusts what a majority of them agree on.  Its key is Pottery's
(``<prefix>:<key>``), so both libraries work on the same data; its masters
are whatever the user passed (``redis.asyncio`` clients in the async API,
what Pottery takes in the sync API), resolved to async clients at each use.

``_fan_out()`` sends one request to every master at once from the event
loop (no threads), each bounded by its own timeout, so that a dead or
paused master costs at most that timeout and never blocks the others; and
only once: a master that stopped answering is then waited on briefly at
most, until it answers again (``_Health``).

A master that fails counts against the quorum only when its failure is
transient (down, paused, loading, busy, read-only after a fail-over...).  A
permanent error (a wrong password, an ACL permission missing, a request the
server refuses) is no master being down: retrying cannot help and the
quorum would only hide it, so it is raised, as redis-py raised it, once
every master has answered (``is_permanent``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import Any, ClassVar, TypeVar

import redis
import redis.asyncio
import redis.exceptions
from redis.asyncio.connection import BlockingConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import _bridge, _clients, _connection
from .exceptions import (
    CommandTimeoutError,
    QuorumIsImpossible,
    describe_error,
    describe_server,
    master_of,
    tag_master,
)

T = TypeVar('T')

_CLIENTS = (redis.Redis, redis.RedisCluster, redis.asyncio.Redis, redis.asyncio.RedisCluster)

# Wrong credentials or permissions, and what redis-py refuses to send.
# (AuthorizationError: redis-py 6+.)
_PERMANENT: tuple[type[RedisError], ...] = (
    redis.exceptions.AuthenticationError,
    redis.exceptions.AuthenticationWrongNumberOfArgsError,
    redis.exceptions.NoPermissionError,
    redis.exceptions.DataError,
    *(
        [redis.exceptions.AuthorizationError]  # type: ignore[attr-defined, unused-ignore]
        if hasattr(redis.exceptions, 'AuthorizationError') else []
    ),
)
# Replies that say a master cannot serve a request now, not that the request
# is wrong.  redis-py gives most of them classes (without the code in the
# message); the others keep their code as the first word.
_TRANSIENT: tuple[type[RedisError], ...] = (
    redis.exceptions.ConnectionError,  # refused, reset, LOADING, too many clients...
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,  # READONLY: a replica now (fail-over)
    redis.exceptions.OutOfMemoryError,  # OOM
    redis.exceptions.ClusterDownError,  # CLUSTERDOWN, MASTERDOWN
    redis.exceptions.TryAgainError,  # TRYAGAIN
    redis.exceptions.AskError,  # ASK, MOVED
)
_TRANSIENT_CODES = frozenset({
    'BUSY', 'MISCONF', 'NOREPLICAS', 'LOADING', 'MASTERDOWN', 'READONLY', 'TRYAGAIN', 'CLUSTERDOWN',
})


def is_permanent(error: RedisError) -> bool:
    """Whether retrying ``error``'s request cannot help: wrong credentials or permissions, a refused request.

    Anything else (unreachable, timed out, loading, busy running a script,
    read-only, out of memory...) is transient: that master cannot serve the
    request now, which a quorum is there to survive.
    """
    if isinstance(error, _PERMANENT):
        return True
    if isinstance(error, _TRANSIENT):
        return False
    if isinstance(error, redis.exceptions.ResponseError):
        # WRONGTYPE, NOPERM in a script, "ERR invalid expire time", "ERR
        # unknown command"...
        return str(error).split(' ', 1)[0] not in _TRANSIENT_CODES
    return False

logger = logging.getLogger('pottery_async')


class Primitive:
    'Base class of the distributed primitives: key, masters, quorum, fan-out.'

    _KEY_PREFIX: ClassVar[str] = ''
    # The longest one master may take to answer one request; a slower (or
    # paused) master counts as failed for that request.
    _MASTER_TIMEOUT: ClassVar[float] = 1.0
    # How long a request waits for the answer to a probe already out to its
    # master (see _ask): _PROBE_WAIT from the request (patient), or only
    # until the probe has been out that long, so that a master silent for
    # longer is not waited on at every step.  A primitive whose callers
    # retry on their own (a lock) is impatient; one whose failures reach
    # the caller (NextID) waits, so that a master that has just resumed
    # counts at once.
    _PROBE_PATIENCE: ClassVar[bool] = True

    def __init__(
        self,
        *,
        key: str,
        masters: Iterable[_clients.RedisArg] = frozenset(),
        raise_on_redis_errors: bool = False,
    ) -> None:
        self.key = key
        self.masters = masters
        self.raise_on_redis_errors = raise_on_redis_errors

    @property
    def key(self) -> str:
        'The Redis key, with the primitive\'s prefix (as Pottery names it); assign it without.'
        return self._key

    @key.setter
    def key(self, value: str) -> None:
        self._key = f'{self._KEY_PREFIX}:{value}'

    @property
    def masters(self) -> frozenset[Any]:
        'The Redis clients the quorum is taken over, as passed.'
        return self._masters

    @masters.setter
    def masters(self, value: Iterable[_clients.RedisArg]) -> None:
        if value is None or isinstance(value, (str, bytes)):
            raise TypeError(f'masters must be an iterable of Redis clients, not {type(value).__name__}')
        if isinstance(value, _CLIENTS):
            # A client looks iterable (it has __getitem__): iterating a sync
            # one would GET keys 0, 1, ... and fail with KeyError: 0.
            raise TypeError(
                f'masters must be a collection of Redis clients, not one {type(value).__name__}: '
                'pass masters={client} (or a list of clients)'
            )
        # None stands for the default client (the sync API's default, as
        # Pottery's; the async API refuses it at first use).
        self._masters: frozenset[_clients.RedisArg] = frozenset(value) or frozenset({None})

    @property
    def raise_on_redis_errors(self) -> bool:
        'Whether too many failing masters raise QuorumIsImpossible.'
        return self._raise_on_redis_errors

    @raise_on_redis_errors.setter
    def raise_on_redis_errors(self, value: bool) -> None:
        self._raise_on_redis_errors = bool(value)

    @property
    def quorum(self) -> int:
        'How many masters make a majority.'
        return len(self._masters) // 2 + 1

    async def _fan_out(
        self,
        request: Callable[[_clients.AsyncClient], Awaitable[T]],
        limit: float | None = None,
        *,
        raise_permanent: bool = True,
        skip: frozenset[Any] = frozenset(),
        later: bool = False,
    ) -> tuple[list[T], list[RedisError]]:
        """Run ``request`` on every master concurrently (but those in ``skip``).

        Returns the results of the masters that answered and the errors of
        those that did not (a timeout counts as a ``CommandTimeoutError``).
        Anything but a Redis error is raised, and so is a permanent one
        unless ``raise_permanent`` is false (a clean-up that must not hide
        what its caller raises).  ``later``: see _ask().
        """
        masters = self._masters - skip
        if not masters:
            return [], []
        if len(masters) == 1:
            # No task to create: one master answers in place.
            (master,) = masters
            try:
                return [await self._ask(master, request, limit, later=later)], []
            except RedisError as error:
                self._log(error)
                if raise_permanent:
                    self._raise_permanent([error])
                return [], [error]
        tasks = [asyncio.ensure_future(self._ask(master, request, limit, later=later)) for master in masters]
        try:
            # Each request is bounded by its own timeout (see _ask).
            await asyncio.wait(tasks)
        except BaseException:
            # Cancelled from outside: leave no request behind.
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            raise
        results: list[T] = []
        errors: list[RedisError] = []
        # Every task's outcome is retrieved before anything is raised.
        outcomes = [task.exception() or task.result() for task in tasks]
        for outcome in outcomes:
            if isinstance(outcome, RedisError):
                self._log(outcome)
                errors.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                results.append(outcome)
        if raise_permanent:
            self._raise_permanent(errors)
        return results, errors

    def _raise_permanent(self, errors: list[RedisError]) -> None:
        'Raise the first permanent error among ``errors``, noting which masters refused.'
        permanent = [error for error in errors if is_permanent(error)]
        if not permanent:
            return
        first, *others = permanent
        # Every error here came through _ask, which names its master.
        where = [describe_server(master_of(error)) for error in permanent]
        also = f' (and {", ".join(where[1:])})' if others else ''
        first.add_note(
            f'{type(self).__qualname__} {self._key!r}: refused by master {where[0]}{also}; '
            'a permanent error, not a master being down: retrying cannot help'
        )
        raise first

    async def _ask(
        self,
        master: _clients.RedisArg,
        request: Callable[[_clients.AsyncClient], Awaitable[T]],
        limit: float | None = None,
        *,
        later: bool = False,
    ) -> T:
        """One request to one master, bounded by ``limit`` seconds (the master timeout by default).

        A master that let a request time out is not waited on again until
        it answers (see ``_Health``): the next request to it is a probe
        that the caller waits for briefly while it goes on in the
        background, and a request made while a probe is out waits as
        briefly for the probe's answer (or less, see _PROBE_PATIENCE), and
        is sent only if there is one.
        With ``later`` (a take-back, which must reach the master even after
        its caller has gone on), it is then sent in the background as soon
        as the probe is answered.
        """
        client = _clients.resolve(master)
        seconds = self._MASTER_TIMEOUT if limit is None else limit
        health = _health_of(client)
        try:
            wait = min(seconds, _PROBE_WAIT)
            if health.probe is not None:
                # Asked again while a probe is out: its answer decides.
                out = health.probe
                if not self._PROBE_PATIENCE:
                    wait = min(wait, health.probe_wait())
                await asyncio.wait({out}, timeout=wait)
                failure = None if not out.done() or out.cancelled() else out.exception()
                if isinstance(failure, RedisConnectionError):
                    # Refused, reset, or the application closed its client:
                    # no answer, and sending would open a connection again.
                    # (The same class: a wrong password stays permanent.)
                    raise type(failure)(
                        f'master not answering: the probe sent to it failed ({describe_error(failure)})'
                    ) from failure
                if health.suspect:
                    if later and _bridge.current_state() is None:
                        # (The sync API takes back in the background loop.)
                        _spawn(_send_after(out, client, lambda: self._bounded(
                            client, request, self._MASTER_TIMEOUT,
                        )))
                    raise CommandTimeoutError(
                        f'Timeout: master not answering (no reply within {self._MASTER_TIMEOUT:.3g} s '
                        f'before, nor to the probe sent since)'
                    )
            elif health.suspect:
                probe = asyncio.ensure_future(self._bounded(client, request, self._MASTER_TIMEOUT))
                health.watch(probe)
                done, _ = await asyncio.wait({probe}, timeout=wait)
                if not done:
                    raise CommandTimeoutError(
                        f'Timeout: master not answering (no reply within {self._MASTER_TIMEOUT:.3g} s '
                        f'before, nor {wait:.3g} s now)'
                    )
                return probe.result()
            # Without a deadline of the caller's, queueing for a connection
            # behind this process's own requests to a master that answers
            # is no timeout (hundreds of releases at once must all happen).
            return await self._bounded(client, request, seconds, patient=limit is None)
        except RedisError as error:
            tag_master(error, master)
            raise

    async def _bounded(
        self, client: _clients.AsyncClient, request: Callable[[_clients.AsyncClient], Awaitable[T]],
        seconds: float, *, patient: bool = False,
    ) -> T:
        """``request(client)`` within ``seconds``, counting the wait for a slot (see _slots_of).

        ``patient``: the wait for a slot does not count as long as the
        master keeps answering this client's other requests.
        """
        loop = asyncio.get_running_loop()
        health = _health_of(client)
        slots = _slots_of(client)
        start = loop.time()
        tries = _connection.Tries()
        noting = _connection.noting_tries(tries)
        try:
            if slots is not None:
                await _take_slot(slots, health, seconds, patient=patient)
            # Only a request given the whole master timeout (less a short
            # wait for its slot) proves its master is not answering: a
            # shorter wait (a caller's deadline) proves nothing.
            proof = seconds >= self._MASTER_TIMEOUT
            try:
                sent = loop.time()
                if not patient:
                    seconds -= sent - start
                proof = proof and seconds >= self._MASTER_TIMEOUT / 2
                async with _timeout(seconds):
                    result = await request(client)
                health.answered = loop.time()
                return result
            except RedisTimeoutError:
                if proof:
                    health.suspect = True
                raise
            except TimeoutError as error:
                # No answer within the whole timeout: hung, or unreachable
                # while the client's retry policy kept trying to connect
                # (redis-py 6+ retries with back-off for seconds).  Either
                # way, later steps must not wait for it again.  But a master
                # that refused our credentials answered: that error is raised.
                failure = _connection.connect_failure(error, tries)
                if proof and (failure is None or not is_permanent(failure)):
                    health.suspect = True
                raise
            except RedisError as error:
                if not isinstance(error, RedisConnectionError):
                    health.answered = loop.time()  # an error reply is an answer
                raise
            finally:
                if slots is not None:
                    slots.release()
        except TimeoutError as error:
            if isinstance(error, RedisError):
                raise
            failure = _connection.connect_failure(error, tries)
            if failure is not None:
                # redis-py's retry policy was still trying to connect
                # (refused, a wrong password...): that is the failure.
                raise failure from failure.__cause__ or failure.__context__
            # (With the application's own client, a retry policy still
            # reconnecting to a master that refuses looks the same: only the
            # retry policies of the clients the bridge builds say so.)
            raise CommandTimeoutError(
                f'Timeout: no reply from a master within {seconds:.3g} s (hung, or not reachable '
                'while the client kept retrying)'
            ) from None
        finally:
            _connection.done_noting(noting, tries)

    def _log(self, error: RedisError) -> None:
        # A master down or slow is what a quorum is for: expected, and
        # reported to the caller through the outcome; anything else is news.
        expected = isinstance(error, (RedisConnectionError, RedisTimeoutError))
        logger.log(
            logging.INFO if expected else logging.WARNING,
            '%s on %s caught %s', type(self).__qualname__, self._key, describe_error(error),
        )

    def _check_enough_masters_up(self, redis_errors: list[RedisError]) -> None:
        'With raise_on_redis_errors, raise QuorumIsImpossible if a majority failed.'
        if self._raise_on_redis_errors and len(redis_errors) >= self.quorum:
            raise QuorumIsImpossible(self._key, self._masters, redis_errors=redis_errors)


@contextlib.asynccontextmanager
async def _timeout(seconds: float) -> AsyncIterator[None]:
    """Like ``asyncio.timeout(seconds)``, counting only the time its loop runs.

    The sync API's loop runs only during calls: a request left out between
    them (a probe) may find its reply waiting when the loop next runs, and
    asyncio's own timer, long expired, would cancel it in the very pass
    that reads it.  Here the deadline is set anew when a new call has
    started meanwhile.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    state = _bridge.current_state()
    runs = state.runs if state is not None else 0
    fired = left = False
    timer: asyncio.TimerHandle
    # A task may come in with a cancellation pending already (one that
    # redis-py swallowed): only ours is turned into a timeout.
    cancelling = task.cancelling()

    def expire() -> None:
        nonlocal runs, fired, timer
        if left:
            return
        if state is not None and state.runs != runs:
            runs = state.runs
            timer = loop.call_later(seconds, expire)
            return
        fired = True
        task.cancel()

    timer = loop.call_later(seconds, expire)
    try:
        yield
    except asyncio.CancelledError as error:
        if fired and task.uncancel() <= cancelling:
            raise TimeoutError from error
        raise
    else:
        if fired:
            # The request ended all the same: redis-py swallowed our
            # cancellation (Python 3.11's wait_for returns a reply that
            # came with it).  Take it back, or the task would look
            # cancelled to the wait loops (raise_if_cancelled).
            task.uncancel()
    finally:
        left = True
        timer.cancel()


# How long a caller waits for a probe of a master that stopped answering
# (see _Health) before counting that master as failed for its request.
_PROBE_WAIT = 0.05


class _Health:
    """Whether a master (one async client) is suspected of having stopped answering.

    A master that lets a request run into the master timeout (SIGSTOPped,
    partitioned, swapping) would otherwise cost every later step of every
    lock the whole timeout: acquire, take-back and release each wait for
    it, and waiters starve.  Once suspected, the next request to it is a
    probe, bounded by the master timeout but waited for only _PROBE_WAIT by
    its caller; requests made while a probe is out wait as long for its
    answer and are not sent without one.  The first probe that is answered
    clears the suspicion.
    """

    __slots__ = ('answered', 'probe', 'probe_runs', 'probe_since', 'suspect')

    def __init__(self) -> None:
        self.suspect = False
        self.probe: asyncio.Future[Any] | None = None
        # Since when (the loop's time) the probe has been out while the loop
        # ran, and during which of the bridge's calls (see probe_wait).
        self.probe_since = -math.inf
        self.probe_runs = 0
        # When (the loop's time) the master last answered this client.
        self.answered = -math.inf

    def watch(self, probe: asyncio.Future[Any]) -> None:
        self.probe = probe
        self.probe_since = asyncio.get_running_loop().time()
        state = _bridge.current_state()
        self.probe_runs = state.runs if state is not None else 0
        # Held here (and by the loop) until it ends.
        probe.add_done_callback(self._probed)

    def probe_wait(self) -> float:
        """How much longer to wait for the probe out: what is left of _PROBE_WAIT since it was sent.

        The sync API's loop runs only during calls: a reply that came
        between them waits unread, so the probe's time counts from the start
        of the current call.
        """
        now = asyncio.get_running_loop().time()
        state = _bridge.current_state()
        if state is not None and state.runs != self.probe_runs:
            self.probe_runs = state.runs
            self.probe_since = now
        return max(_PROBE_WAIT - (now - self.probe_since), 0.0)

    def _probed(self, probe: asyncio.Future[Any]) -> None:
        error = None if probe.cancelled() else probe.exception()  # retrieved, whatever happens
        self.probe = None
        if probe.cancelled() or isinstance(error, RedisTimeoutError):
            self.suspect = True
        elif error is None or not isinstance(error, RedisConnectionError) or is_permanent(error):
            self.suspect = False  # answered (an error reply, or refused credentials, too)
        # Else a connection failure: still suspected if it took the whole
        # master timeout (see _bounded), and a refusal at once costs nothing.


_health: weakref.WeakKeyDictionary[Any, _Health] = weakref.WeakKeyDictionary()


async def _send_after(
    probe: asyncio.Future[Any], client: _clients.AsyncClient, send: Callable[[], Awaitable[Any]],
) -> None:
    """Once ``probe`` has ended, ``send()`` if its master answered it (see _ask(later=True)).

    Not if the application has closed the client meanwhile (its pool has
    no connection left open): sending would open one again, for nobody to
    close.
    """
    await asyncio.wait({probe})
    if probe.cancelled() or probe.exception() is not None or not _still_open(client):
        return
    try:
        await send()
    except RedisError as error:
        logger.info('a take-back sent once its master answered again failed: %s', describe_error(error))


def _still_open(client: _clients.AsyncClient) -> bool:
    'Whether a (non-cluster) client\'s pool holds a connection that is open: not closed by its owner.'
    connections = _connection.pool_connections(client)
    return any(getattr(connection, 'is_connected', False) for connection in connections)


# Background tasks of _ask(), held until they end.
_spawned: set[asyncio.Future[Any]] = set()


def _spawn(coro: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(coro)
    _spawned.add(task)
    task.add_done_callback(_spawned.discard)


async def _take_slot(slots: asyncio.Semaphore, health: _Health, seconds: float, *, patient: bool) -> None:
    """Acquire one of ``slots`` within ``seconds`` (TimeoutError if not).

    ``patient``: after ``seconds``, wait on as long as requests keep being
    answered (slots are taken by this process's own requests, moving), but
    not when none was answered for ``seconds`` (the master stopped
    answering with every slot taken).
    """
    loop = asyncio.get_running_loop()
    while True:
        since = loop.time()
        try:
            async with asyncio.timeout(seconds):
                await slots.acquire()
            return
        except TimeoutError:
            if not patient or health.suspect or health.answered < since:
                raise


def _health_of(client: _clients.AsyncClient) -> _Health:
    try:
        return _health[client]
    except KeyError:
        health = _health[client] = _Health()
        return health


# Per client, the number of requests that may be in flight at once, when its
# pool would raise instead of waiting for a connection (redis.asyncio's
# default ConnectionPool does, once max_connections are in use): hundreds of
# concurrent lock operations on one client then queue here instead of failing
# (a failed release would leave the lock held for its whole lease).  Half
# the pool at most: the rest is for the waiters' pub/sub subscription and
# for what the application itself sends meanwhile (its critical sections).
_slots: weakref.WeakKeyDictionary[Any, asyncio.Semaphore | None] = weakref.WeakKeyDictionary()


def _slots_of(client: _clients.AsyncClient) -> asyncio.Semaphore | None:
    try:
        return _slots[client]
    except KeyError:
        pass
    pool = getattr(client, 'connection_pool', None)
    slots = None
    # A multiplexed client sends every request on one connection.
    if pool is not None and not isinstance(pool, BlockingConnectionPool) and not isinstance(
        client, _connection.MuxRedis,
    ):
        size = getattr(pool, 'max_connections', None)
        if isinstance(size, int) and size < 2 ** 16:
            slots = asyncio.Semaphore(max(size // 2, 1))
    _slots[client] = slots
    return slots
