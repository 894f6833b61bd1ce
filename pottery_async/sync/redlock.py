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
still in flight: cycles of acquire and release leave no key behind.  A
master that stopped answering (paused, partitioned) is waited on for a
whole timeout once, then only briefly (50 ms a second, for each new probe)
until it answers again: what it may still run later is taken back in the
background (sync API) or expires.

Waiting: a release publishes on the channel named like the key, and a
blocked ``acquire()`` listens there (``_wake``: one pub/sub connection per
client, shared by all its waiters) after a first failed try, tries again
when woken, and otherwise sleeps until the holder's lease could have run out
on enough masters, or ``_wake.RECHECK`` at most (a Pottery holder publishes
nothing).  A failed try takes back what it stored and, when nobody holds a
majority (contenders split the masters), wakes the others and tries again
at once, asking the masters one by one in an order all processes share
(``_in_order``), so that split contenders do not collide again.

Beyond Pottery: ``locked_by_anyone()``; ``auto_renew`` (renewal runs as a
task on the caller's loop, or for the sync API on the bridge's background
thread, via ``_bridge.background``); ``fencing`` (a counter per key on each
master, ``redlock:<key>:fence{redlock:<key>}``, which starts with the lock's
key so that one ACL pattern covers both, incremented by the same script that
takes the lock; see ``_fence_in`` for why tokens strictly increase); ``synchronize()``, whose
sync twin the generator translates.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self, cast

from .. import _bridge, _clients, _twin
from .. import redlock as _core
from .._base import SyncTwin, require_plain_function
from ..redlock import _AUTO_RELEASE_TIME, _NUM_EXTENSIONS, F, _check_auto_release_time, _check_timeout, logger


class Redlock(SyncTwin):
    """Distributed lock over a majority of Redis masters, Pottery's Redlock / AIORedlock.

    ``acquire()`` / ``release()`` / ``extend()`` / ``locked()``, or use it in
    ``with`` (sync API) / ``async with`` (async API).  Beyond Pottery:
    ``locked_by_anyone()``, ``auto_renew=True`` (the lease is renewed in the
    background until release) and ``fencing=True`` (each acquisition gets a
    ``fencing_token`` greater than every earlier one on the same key).
    """

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
        auto_renew: bool = False,
        fencing: bool = False,
    ) -> None:
        self._core: _core.AIORedlock = _core.AIORedlock(
            key=key,
            masters=masters,
            raise_on_redis_errors=raise_on_redis_errors,
            auto_release_time=auto_release_time,
            num_extensions=num_extensions,
            context_manager_blocking=context_manager_blocking,
            context_manager_timeout=context_manager_timeout,
            auto_renew=auto_renew,
            fencing=fencing,
        )

    @property
    def key(self) -> str:
        """The Redis key, with the primitive's prefix (as Pottery names it); assign it without."""
        return self._core.key

    @key.setter
    def key(self, value: str) -> None:
        self._core.key = value

    @property
    def masters(self) -> frozenset[Any]:
        "The Redis clients the quorum is taken over, as passed."
        return self._core.masters

    @masters.setter
    def masters(self, value: Iterable[_clients.RedisArg]) -> None:
        self._core.masters = value

    @property
    def raise_on_redis_errors(self) -> bool:
        "Whether too many failing masters raise QuorumIsImpossible."
        return self._core.raise_on_redis_errors

    @raise_on_redis_errors.setter
    def raise_on_redis_errors(self, value: bool) -> None:
        self._core.raise_on_redis_errors = value

    @property
    def quorum(self) -> int:
        "How many masters make a majority."
        return self._core.quorum

    @property
    def auto_release_time(self) -> float:
        "Seconds after which the lock releases itself unless extended."
        return self._core.auto_release_time

    @auto_release_time.setter
    def auto_release_time(self, value: float) -> None:
        self._core.auto_release_time = value

    @property
    def num_extensions(self) -> int:
        "How many times one acquisition may be extended (-1: no limit)."
        return self._core.num_extensions

    @num_extensions.setter
    def num_extensions(self, value: int) -> None:
        self._core.num_extensions = value

    @property
    def context_manager_blocking(self) -> bool:
        "Whether ``with`` waits for the lock."
        return self._core.context_manager_blocking

    @context_manager_blocking.setter
    def context_manager_blocking(self, value: bool) -> None:
        self._core.context_manager_blocking = value

    @property
    def context_manager_timeout(self) -> float:
        "How long ``with`` waits for the lock (-1: no limit)."
        return self._core.context_manager_timeout

    @context_manager_timeout.setter
    def context_manager_timeout(self, value: float) -> None:
        self._core.context_manager_timeout = value

    @property
    def auto_renew(self) -> bool:
        "Whether the lease is renewed in the background while the lock is held."
        return self._core.auto_renew

    @property
    def fencing(self) -> bool:
        "Whether acquisitions get fencing tokens."
        return self._core.fencing

    @property
    def fencing_token(self) -> int | None:
        """The last acquisition's fencing token (``fencing=True`` only), else None.

        Greater than the token of every earlier acquisition of this key by
        any lock with ``fencing=True``, even across master failures (masters
        down, paused or cut off); a resource that remembers the greatest
        token it has seen can refuse a holder whose lease has run out.  A
        master that restarts *without its data* loses its counter: keep the
        masters persistent (AOF with fsync) for this guarantee.  Kept after
        release.
        """
        return self._core.fencing_token

    def acquire(
        self, *, blocking: bool = True, timeout: float = -1, raise_on_redis_errors: bool | None = None
    ) -> bool:
        """Take the lock; whether it was taken.

        Blocking with ``timeout=-1``, wait as long as it takes; with a
        timeout, wait up to that many seconds.  Not blocking, try once.
        A waiter is woken when the lock is released (pub/sub), or when the
        holder's lease runs out.
        """
        return _bridge.run(
            self._core.acquire(
                blocking=blocking, timeout=timeout, raise_on_redis_errors=raise_on_redis_errors
            )
        )

    def locked(self, *, raise_on_redis_errors: bool | None = None) -> float:
        """Seconds left of this instance's lease on a majority of masters; 0 if not held."""
        return _bridge.run(self._core.locked(raise_on_redis_errors=raise_on_redis_errors))

    def locked_by_anyone(self, *, raise_on_redis_errors: bool | None = None) -> float:
        """Seconds left of whoever holds the lock (any instance, any process); 0 if free.

        ``locked()`` answers for this instance only, as Pottery's does.  A
        holder without an expiry counts as ``math.inf``.
        """
        return _bridge.run(self._core.locked_by_anyone(raise_on_redis_errors=raise_on_redis_errors))

    def extend(self, *, raise_on_redis_errors: bool | None = None) -> None:
        "Renew the lease to ``auto_release_time`` seconds on the masters holding it."
        _bridge.run(self._core.extend(raise_on_redis_errors=raise_on_redis_errors))

    def release(self, *, raise_on_redis_errors: bool | None = None) -> None:
        "Let the lock go and wake its waiters; ReleaseUnlockedLock if a majority did not hold it for us."
        _bridge.run(self._core.release(raise_on_redis_errors=raise_on_redis_errors))

    def __enter__(self) -> Self:
        "Acquire (``context_manager_blocking`` / ``_timeout``); QuorumNotAchieved if not taken."
        return _twin.wrap(self, type(self), _bridge.run(self._core.__aenter__()))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        "Release."
        _bridge.run(self._core.__aexit__(exc_type, exc_value, traceback))

    def __repr__(self) -> str:
        names = type(self._core).__qualname__, type(self).__qualname__
        return repr(self._core).replace(*names, 1)


def synchronize(
    *,
    key: str,
    masters: Iterable[_clients.RedisArg] = frozenset(),
    raise_on_redis_errors: bool = False,
    auto_release_time: float = _AUTO_RELEASE_TIME,
    blocking: bool = True,
    timeout: float = -1,
) -> Callable[[F], F]:
    """Decorator: one caller at a time runs the function, across threads, processes and machines.

    Each call holds a fresh lock on ``key`` (see the lock's class for the
    arguments); ``blocking`` and ``timeout`` say how long a call waits for
    it, and a call that cannot get it raises ``QuorumNotAchieved``.  How
    long each call waited and held the lock is logged (INFO, logger
    ``pottery_async``).
    """
    _check_timeout(blocking, timeout)
    _check_auto_release_time(auto_release_time)

    def decorator(func: F) -> F:
        require_plain_function(func, "synchronize()")

        @functools.wraps(func)
        def synchronized(*args: Any, **kwargs: Any) -> Any:
            lock = Redlock(
                key=key,
                masters=masters,
                raise_on_redis_errors=raise_on_redis_errors,
                auto_release_time=auto_release_time,
                context_manager_blocking=blocking,
                context_manager_timeout=timeout,
            )
            waiting = time.monotonic()
            with lock:
                holding = time.monotonic()
                try:
                    return func(*args, **kwargs)
                finally:
                    logger.info(
                        "%s() waited for %s for %d ms; held it for %d ms",
                        func.__qualname__,
                        lock.key,
                        (holding - waiting) * 1000,
                        (time.monotonic() - holding) * 1000,
                    )

        return cast(F, synchronized)

    return decorator
