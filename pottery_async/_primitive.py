"""What the distributed primitives share: a key, many masters, a quorum.

A primitive (NextID, Redlock) keeps its state on several independent Redis
masters and trusts what a majority of them agree on.  Its key is Pottery's
(``<prefix>:<key>``), so both libraries work on the same data; its masters
are whatever the user passed (``redis.asyncio`` clients in the async API,
what Pottery takes in the sync API), resolved to async clients at each use.

``_fan_out()`` sends one request to every master at once from the event
loop (no threads), each bounded by its own timeout, so that a dead or
paused master costs at most that timeout and never blocks the others.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar, TypeVar

from redis.asyncio.connection import BlockingConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import _clients
from .exceptions import CommandTimeoutError, QuorumIsImpossible

T = TypeVar('T')

logger = logging.getLogger('pottery_async')


class Primitive:
    'Base class of the distributed primitives: key, masters, quorum, fan-out.'

    _KEY_PREFIX: ClassVar[str] = ''
    # The longest one master may take to answer one request; a slower (or
    # paused) master counts as failed for that request.
    _MASTER_TIMEOUT: ClassVar[float] = 1.0

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
        self, request: Callable[[_clients.AsyncClient], Awaitable[T]], limit: float | None = None,
    ) -> tuple[list[T], list[RedisError]]:
        """Run ``request`` on every master concurrently.

        Returns the results of the masters that answered and the errors of
        those that did not (a timeout counts as a ``CommandTimeoutError``).
        Anything but a Redis error is raised.
        """
        if len(self._masters) == 1:
            # No task to create: one master answers in place.
            (master,) = self._masters
            try:
                return [await self._ask(master, request, limit)], []
            except RedisError as error:
                self._log(error)
                return [], [error]
        tasks = [asyncio.ensure_future(self._ask(master, request, limit)) for master in self._masters]
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
        return results, errors

    async def _ask(
        self,
        master: _clients.RedisArg,
        request: Callable[[_clients.AsyncClient], Awaitable[T]],
        limit: float | None = None,
    ) -> T:
        'One request to one master, bounded by ``limit`` seconds (the master timeout by default).'
        client = _clients.resolve(master)
        slots = _slots_of(client)
        seconds = self._MASTER_TIMEOUT if limit is None else limit
        try:
            async with asyncio.timeout(seconds):
                if slots is None:
                    return await request(client)
                # Waiting for a slot counts: a paused master holding them
                # all must not hold the caller longer.
                async with slots:
                    return await request(client)
        except TimeoutError as error:
            if isinstance(error, RedisError):
                raise
            raise CommandTimeoutError(f'Timeout: no reply from a master within {seconds:.3g} s') from None

    def _log(self, error: RedisError) -> None:
        # A master down or slow is what a quorum is for: expected, and
        # reported to the caller through the outcome; anything else is news.
        expected = isinstance(error, (RedisConnectionError, RedisTimeoutError))
        logger.log(
            logging.INFO if expected else logging.WARNING,
            '%s on %s caught %s: %s',
            type(self).__qualname__, self._key, type(error).__qualname__, error,
        )

    def _check_enough_masters_up(self, redis_errors: list[RedisError]) -> None:
        'With raise_on_redis_errors, raise QuorumIsImpossible if a majority failed.'
        if self._raise_on_redis_errors and len(redis_errors) >= self.quorum:
            raise QuorumIsImpossible(self._key, self._masters, redis_errors=redis_errors)


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
    if pool is not None and not isinstance(pool, BlockingConnectionPool):
        size = getattr(pool, 'max_connections', None)
        if isinstance(size, int) and size < 2 ** 16:
            slots = asyncio.Semaphore(max(size // 2, 1))
    _slots[client] = slots
    return slots
