"""Redlock / AIORedlock: a lock held by a majority of independent Redis masters.

The algorithm is the one described at https://redis.io/topics/distlock and
implemented by Pottery 3.x, on the same Redis key (``redlock:<key>``, a
string holding the holder's random UUID, with a PX expiry), so a Pottery
Redlock and ours on one key exclude each other:

1. store a fresh UUID with ``SET NX PX`` on every master at once;
2. the lock is ours if a majority stored it and time is left of the lease
   once the time taken and an allowance for clock drift are subtracted
   (the validity time);
3. otherwise, release whatever was stored, on every master.

Release, extend and ``locked()`` only touch a key that still holds our
UUID (Lua scripts).  Every request goes to all masters concurrently from
the event loop (``_fan_out``), and each step waits for every master's answer
(or its timeout) before the next starts, so a release never overtakes a SET
still in flight: cycles of acquire and release leave no key behind.

Known gap (first step): a blocking ``acquire()`` retries after a short
random backoff.  Waking waiters when the lock is released (pub/sub) is the
next step, as are ``synchronize()``, automatic renewal, fencing tokens and
asking whether anyone holds the lock.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterable
from numbers import Real
from types import TracebackType
from typing import Any, Self

from redis.exceptions import RedisError

from . import _clients
from ._base import Script
from ._primitive import Primitive
from .exceptions import (
    ExtendUnlockedLock,
    QuorumIsImpossible,
    QuorumNotAchieved,
    ReleaseUnlockedLock,
    TooManyExtensions,
)

_AUTO_RELEASE_TIME = 10.0
_NUM_EXTENSIONS = 3
_CLOCK_DRIFT_FACTOR = 0.01
# Blocking acquire: the longest random pause between two tries.
_RETRY_DELAY = 0.05

# The key's remaining PTTL if it holds ARGV[1], else 0.
_HELD = Script('''
if redis.call('GET', KEYS[1]) == ARGV[1] then
    local pttl = redis.call('PTTL', KEYS[1])
    if pttl > 0 then return pttl end
end
return 0
''')

# Renew the lease to ARGV[2] ms if the key holds ARGV[1]; 1 if renewed.
_EXTEND = Script('''
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
''')

# Delete the key if it holds ARGV[1]; 1 if deleted.
_RELEASE = Script('''
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
''')


def _check_timeout(blocking: bool, timeout: float) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, Real):
        raise TypeError(f'timeout must be a number, not {type(timeout).__qualname__}')
    if not blocking and timeout != -1:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0 and timeout != -1:
        raise ValueError('timeout must be -1 (no limit) or a non-negative number')


class AIORedlock(Primitive):
    """Distributed lock over a majority of Redis masters, Pottery's Redlock / AIORedlock.

    ``acquire()`` / ``release()`` / ``extend()`` / ``locked()``, or use it in
    ``with`` (sync API) / ``async with`` (async API).
    """

    _KEY_PREFIX = 'redlock'

    def __init__(
        self,
        *,
        key: str,
        masters: Iterable[_clients.RedisArg] = frozenset(),
        raise_on_redis_errors: bool = False,
        auto_release_time: float = _AUTO_RELEASE_TIME,
        num_extensions: int = _NUM_EXTENSIONS,
        context_manager_blocking: bool = True,
        context_manager_timeout: float = -1,
    ) -> None:
        if isinstance(auto_release_time, bool) or not isinstance(auto_release_time, Real):
            raise TypeError(
                f'auto_release_time must be a number, not {type(auto_release_time).__qualname__}',
            )
        if not auto_release_time > 0:
            raise ValueError('auto_release_time must be positive')
        if isinstance(num_extensions, bool) or not isinstance(num_extensions, int):
            raise TypeError(f'num_extensions must be an int, not {type(num_extensions).__qualname__}')
        if num_extensions < -1:
            raise ValueError('num_extensions must be -1 (no limit) or non-negative')
        _check_timeout(context_manager_blocking, context_manager_timeout)
        super().__init__(key=key, masters=masters, raise_on_redis_errors=raise_on_redis_errors)
        self._auto_release_time: float = float(auto_release_time)
        self._num_extensions: int = num_extensions
        self._context_manager_blocking: bool = bool(context_manager_blocking)
        self._context_manager_timeout: float = context_manager_timeout
        self._uuid: str = ''
        self._extension_num: int = 0

    @property
    def auto_release_time(self) -> float:
        'Seconds after which the lock releases itself unless extended.'
        return self._auto_release_time

    @property
    def num_extensions(self) -> int:
        'How many times one acquisition may be extended (-1: no limit).'
        return self._num_extensions

    @property
    def context_manager_blocking(self) -> bool:
        'Whether ``with`` waits for the lock.'
        return self._context_manager_blocking

    @property
    def context_manager_timeout(self) -> float:
        'How long ``with`` waits for the lock (-1: no limit).'
        return self._context_manager_timeout

    def _drift(self) -> float:
        return self._auto_release_time * _CLOCK_DRIFT_FACTOR + 0.002

    def _check_errors(self, errors: list[RedisError], raise_on_redis_errors: bool | None) -> None:
        if raise_on_redis_errors is None:
            self._check_enough_masters_up(errors)
        elif raise_on_redis_errors and len(errors) >= self.quorum:
            raise QuorumIsImpossible(self.key, self.masters, redis_errors=errors)

    async def _acquire_masters(self, raise_on_redis_errors: bool | None) -> bool:
        self._uuid = str(uuid.uuid4())
        self._extension_num = 0
        key, value = self.key, self._uuid
        lease_ms = int(self._auto_release_time * 1000)

        async def set_nx(client: _clients.AsyncClient) -> Any:
            return await client.set(key, value, px=lease_ms, nx=True)

        start = time.monotonic()
        stored, errors = await self._fan_out(set_nx)
        if sum(1 for result in stored if result) >= self.quorum:
            validity = self._auto_release_time - self._drift() - (time.monotonic() - start)
            if validity > 0:
                return True
        # Every master has answered (or timed out): undo what was stored.
        await self._fan_out(self._release_request())
        self._check_errors(errors, raise_on_redis_errors)
        return False

    async def acquire(
        self, *, blocking: bool = True, timeout: float = -1, raise_on_redis_errors: bool | None = None,  # noqa: ASYNC109
    ) -> bool:
        """Take the lock; whether it was taken.

        Blocking with ``timeout=-1``, wait as long as it takes; with a
        timeout, wait up to that many seconds.  Not blocking, try once.
        """
        _check_timeout(blocking, timeout)
        if not blocking:
            return await self._acquire_masters(raise_on_redis_errors)
        deadline = None if timeout == -1 else time.monotonic() + timeout
        while True:
            if await self._acquire_masters(raise_on_redis_errors):
                return True
            delay = random.uniform(0, _RETRY_DELAY)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                delay = min(delay, remaining)
            await asyncio.sleep(delay)

    async def locked(self, *, raise_on_redis_errors: bool | None = None) -> float:
        'Seconds left of this instance\'s lease on a majority of masters; 0 if not held.'
        if not self._uuid:
            return 0
        keys, args = [self.key], (self._uuid,)

        async def held(client: _clients.AsyncClient) -> Any:
            return await _HELD(client, keys, args)

        start = time.monotonic()
        ttls, errors = await self._fan_out(held)
        live = sorted((int(ttl) for ttl in ttls if ttl), reverse=True)
        if len(live) >= self.quorum:
            # How long a majority still holds the key.
            validity = live[self.quorum - 1] / 1000 - self._drift() - (time.monotonic() - start)
            return max(validity, 0)
        self._check_errors(errors, raise_on_redis_errors)
        return 0

    async def extend(self, *, raise_on_redis_errors: bool | None = None) -> None:
        'Renew the lease to ``auto_release_time`` seconds on the masters holding it.'
        if self._num_extensions != -1 and self._extension_num >= self._num_extensions:
            raise TooManyExtensions(self.key, self.masters)
        keys, args = [self.key], (self._uuid, int(self._auto_release_time * 1000))

        async def renew(client: _clients.AsyncClient) -> Any:
            return await _EXTEND(client, keys, args)

        renewed, errors = await self._fan_out(renew)
        if sum(1 for result in renewed if result) >= self.quorum:
            self._extension_num += 1
            return
        self._check_errors(errors, raise_on_redis_errors)
        raise ExtendUnlockedLock(self.key, self.masters, redis_errors=errors)

    def _release_request(self) -> Any:
        keys, args = [self.key], (self._uuid,)

        async def release(client: _clients.AsyncClient) -> Any:
            return await _RELEASE(client, keys, args)

        return release

    async def release(self, *, raise_on_redis_errors: bool | None = None) -> None:
        'Let the lock go; ReleaseUnlockedLock if a majority did not hold it for us.'
        released, errors = await self._fan_out(self._release_request())
        if sum(1 for result in released if result) >= self.quorum:
            return
        self._check_errors(errors, raise_on_redis_errors)
        raise ReleaseUnlockedLock(self.key, self.masters, redis_errors=errors)

    async def __aenter__(self) -> Self:
        'Acquire (``context_manager_blocking`` / ``_timeout``); QuorumNotAchieved if not taken.'
        if await self.acquire(
            blocking=self._context_manager_blocking, timeout=self._context_manager_timeout,
        ):
            return self
        raise QuorumNotAchieved(self.key, self.masters)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        'Release.'
        await self.release()

    def __repr__(self) -> str:
        return f'<{type(self).__qualname__} key={self.key}>'
