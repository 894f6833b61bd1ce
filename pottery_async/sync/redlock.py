# Generated from pottery_async/redlock.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
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
from collections.abc import Iterable, Iterator
from numbers import Real
from redis.exceptions import RedisError
from types import TracebackType
from typing import Any, Self
from .. import _bridge, _clients, _twin, redlock as _core
from .._base import Script, SyncTwin
from .._primitive import Primitive
from ..exceptions import ExtendUnlockedLock, QuorumIsImpossible, QuorumNotAchieved, ReleaseUnlockedLock, TooManyExtensions
from ..redlock import _AUTO_RELEASE_TIME, _NUM_EXTENSIONS


class Redlock(SyncTwin):
    """Distributed lock over a majority of Redis masters, Pottery's Redlock / AIORedlock.

    ``acquire()`` / ``release()`` / ``extend()`` / ``locked()``, or use it in
    ``with`` (sync API) / ``async with`` (async API).
    """

    def __init__(self, *, key: str, masters: Iterable[_clients.RedisArg]=frozenset(), raise_on_redis_errors: bool=False, auto_release_time: float=_AUTO_RELEASE_TIME, num_extensions: int=_NUM_EXTENSIONS, context_manager_blocking: bool=True, context_manager_timeout: float=-1) -> None:
        self._core: _core.AIORedlock = _core.AIORedlock(key=key, masters=masters, raise_on_redis_errors=raise_on_redis_errors, auto_release_time=auto_release_time, num_extensions=num_extensions, context_manager_blocking=context_manager_blocking, context_manager_timeout=context_manager_timeout)

    @property
    def key(self) -> str:
        """The Redis key, with the primitive's prefix (as Pottery names it)."""
        return self._core.key

    @property
    def masters(self) -> frozenset[Any]:
        'The Redis clients the quorum is taken over, as passed.'
        return self._core.masters

    @property
    def raise_on_redis_errors(self) -> bool:
        'Whether too many failing masters raise QuorumIsImpossible.'
        return self._core.raise_on_redis_errors

    @property
    def quorum(self) -> int:
        'How many masters make a majority.'
        return self._core.quorum

    @property
    def auto_release_time(self) -> float:
        'Seconds after which the lock releases itself unless extended.'
        return self._core.auto_release_time

    @property
    def num_extensions(self) -> int:
        'How many times one acquisition may be extended (-1: no limit).'
        return self._core.num_extensions

    @property
    def context_manager_blocking(self) -> bool:
        'Whether ``with`` waits for the lock.'
        return self._core.context_manager_blocking

    @property
    def context_manager_timeout(self) -> float:
        'How long ``with`` waits for the lock (-1: no limit).'
        return self._core.context_manager_timeout

    def acquire(self, *, blocking: bool=True, timeout: float=-1, raise_on_redis_errors: bool | None=None) -> bool:
        """Take the lock; whether it was taken.

        Blocking with ``timeout=-1``, wait as long as it takes; with a
        timeout, wait up to that many seconds.  Not blocking, try once.
        """
        return _bridge.run(self._core.acquire(blocking=blocking, timeout=timeout, raise_on_redis_errors=raise_on_redis_errors))

    def locked(self, *, raise_on_redis_errors: bool | None=None) -> float:
        """Seconds left of this instance's lease on a majority of masters; 0 if not held."""
        return _bridge.run(self._core.locked(raise_on_redis_errors=raise_on_redis_errors))

    def extend(self, *, raise_on_redis_errors: bool | None=None) -> None:
        'Renew the lease to ``auto_release_time`` seconds on the masters holding it.'
        _bridge.run(self._core.extend(raise_on_redis_errors=raise_on_redis_errors))

    def release(self, *, raise_on_redis_errors: bool | None=None) -> None:
        'Let the lock go; ReleaseUnlockedLock if a majority did not hold it for us.'
        _bridge.run(self._core.release(raise_on_redis_errors=raise_on_redis_errors))

    def __enter__(self) -> Self:
        'Acquire (``context_manager_blocking`` / ``_timeout``); QuorumNotAchieved if not taken.'
        return _twin.wrap(self, type(self), _bridge.run(self._core.__aenter__()))

    def __exit__(self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None) -> None:
        'Release.'
        _bridge.run(self._core.__aexit__(exc_type, exc_value, traceback))

    def __repr__(self) -> str:
        names = type(self._core).__qualname__, type(self).__qualname__
        return repr(self._core).replace(*names, 1)
