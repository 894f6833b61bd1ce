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

import asyncio
import collections
import contextlib
import dataclasses
import functools
import logging
import math
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from numbers import Real
from types import TracebackType
from typing import Any, Self, TypeVar, cast

from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import _bridge, _clients, _wake
from ._base import Script, cancel_requests, companion, raise_if_cancelled, require_coroutine_function
from ._primitive import Primitive, _health_of, _spawn, _still_open, is_permanent
from .exceptions import (
    ExtendUnlockedLock,
    QuorumIsImpossible,
    QuorumNotAchieved,
    ReleaseUnlockedLock,
    TooManyExtensions,
    describe_error,
    master_of,
    server_address,
)

logger = logging.getLogger('pottery_async')

_AUTO_RELEASE_TIME = 10.0
# Redis refuses a lease (PX, in milliseconds) that, added to the current
# Unix time in milliseconds, overflows 64 bits: about 9.2e15 s from now.
# 1e15 s (some 30 million years) stays well clear of that.
_MAX_AUTO_RELEASE_TIME = 1e15
_NUM_EXTENSIONS = 3
_CLOCK_DRIFT_FACTOR = 0.01
_CLOCK_DRIFT_MIN = 0.002
# The shortest lease: what is left of it once the clock-drift allowance is
# taken (under 8 ms) must still outlast a round trip to the masters, or no
# try is ever valid and a blocking acquire() spins for ever.
_MIN_AUTO_RELEASE_TIME = 0.01
# Automatic renewal renews the lease when this fraction of it is left.
_RENEW_AT = 2 / 3

# Take the lock if free: {1, fence} (fence: the incremented fencing counter
# KEYS[2], or 0 without one); else {0, the holder's PTTL, the holder}.  If
# the counter cannot be incremented (a key of another type, no permission),
# the lock is let go again and the server's error returned: nothing changed.
_ACQUIRE = Script('''
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    if not KEYS[2] then return {1, 0} end
    local fence = redis.pcall('INCR', KEYS[2])
    if type(fence) == 'table' and fence.err then
        redis.call('DEL', KEYS[1])
        return redis.error_reply(fence.err .. ' (fencing counter ' .. KEYS[2] .. '; the lock was not taken)')
    end
    return {1, fence}
end
return {0, redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[1])}
''')

# While the lock KEYS[1] holds ARGV[1], raise the fencing counter KEYS[2] to
# at least ARGV[2]; 1 if the lock was held.
_RAISE_FENCE = Script('''
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[2]) then
    redis.call('SET', KEYS[2], ARGV[2])
end
return 1
''')

# The key's remaining PTTL if it holds ARGV[1], else 0.
_HELD = Script('''
if redis.call('GET', KEYS[1]) == ARGV[1] then
    local pttl = redis.call('PTTL', KEYS[1])
    if pttl > 0 then return pttl end
end
return 0
''')

# {holder, PTTL} of whoever holds the key, or {} if nobody does.
_HOLDER = Script('''
local holder = redis.call('GET', KEYS[1])
if not holder then return {} end
return {holder, redis.call('PTTL', KEYS[1])}
''')

# Renew the lease to ARGV[2] ms if the key holds ARGV[1]; 1 if renewed.
_EXTEND = Script('''
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
''')

# Delete the key if it holds ARGV[1], then, if ARGV[2] is 1, tell the
# waiters (channel KEYS[1]); 1 if deleted.  A user without permission for
# the channel still releases (its waiters poll: see _wake.listening).
_RELEASE = Script('''
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    if ARGV[2] == '1' then redis.pcall('PUBLISH', KEYS[1], 'released') end
    return 1
end
return 0
''')


# How long after a take-back the async API asks a master whose SET timed out
# once more (that SET may have run after the take-back).
_LATE_TAKE_BACK = 0.25


def _address(client: _clients.AsyncClient) -> str:
    'Where a client connects, the same in every process (for _in_order).'
    return server_address(client) or repr(client)


@dataclasses.dataclass
class _Attempt:
    'What one try at the lock found.'

    acquired: bool
    # Seconds until a majority of the masters could be free, if known.
    free_in: float | None = None
    # Nobody holds a majority but others hold some masters (contenders
    # tried at once): try again in order (see AIORedlock._in_order).
    split: bool = False


def _check_auto_release_time(value: float) -> float:
    'The lease in seconds, or TypeError / ValueError for what Redis could not hold.'
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f'auto_release_time must be a number of seconds, not {type(value).__qualname__}')
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    # NaN fails this comparison too.
    if not _MIN_AUTO_RELEASE_TIME <= seconds <= _MAX_AUTO_RELEASE_TIME:
        raise ValueError(
            f'auto_release_time must be at least {_MIN_AUTO_RELEASE_TIME:g} s (a shorter lease is '
            f'mostly clock-drift allowance, 2 ms + 1%, and expires before a try can count) and at '
            f'most {_MAX_AUTO_RELEASE_TIME:g} s (what Redis can expire), not {value!r}'
        )
    return seconds


def _drift(lease: float) -> float:
    'The allowance for clock drift between the masters, for a lease of ``lease`` seconds.'
    return lease * _CLOCK_DRIFT_FACTOR + _CLOCK_DRIFT_MIN


def _check_timeout(blocking: bool, timeout: float) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, Real):
        raise TypeError(f'timeout must be a number, not {type(timeout).__qualname__}')
    if not blocking and timeout != -1:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if math.isnan(timeout):
        raise ValueError('timeout must be a number of seconds, not NaN')
    if timeout < 0 and timeout != -1:
        raise ValueError('timeout must be -1 (no limit) or a non-negative number')


class AIORedlock(Primitive):
    """Distributed lock over a majority of Redis masters, Pottery's Redlock / AIORedlock.

    ``acquire()`` / ``release()`` / ``extend()`` / ``locked()``, or use it in
    ``with`` (sync API) / ``async with`` (async API).  Beyond Pottery:
    ``locked_by_anyone()``, ``auto_renew=True`` (the lease is renewed in the
    background until release) and ``fencing=True`` (each acquisition gets a
    ``fencing_token`` greater than every earlier one on the same key).
    """

    _KEY_PREFIX = 'redlock'
    # A failed try is retried (a blocking acquire) or reported as not
    # taken: a master that stopped answering is not waited on at every
    # step, not even briefly.
    _PROBE_PATIENCE = False

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
        super().__init__(key=key, masters=masters, raise_on_redis_errors=raise_on_redis_errors)
        self.auto_release_time = auto_release_time
        self.num_extensions = num_extensions
        _check_timeout(context_manager_blocking, context_manager_timeout)
        self._context_manager_blocking: bool = bool(context_manager_blocking)
        self._context_manager_timeout: float = context_manager_timeout
        self._auto_renew: bool = bool(auto_renew)
        self._fencing: bool = bool(fencing)
        self._uuid: str = ''
        self._extension_num: int = 0
        self._fencing_token: int | None = None
        self._stop_renewal: Callable[[], None] | None = None
        # The errors of the last try on every master: why a failed acquire
        # failed, if masters did (for QuorumNotAchieved).
        self._last_errors: list[RedisError] = []
        # Masters that answered a try of the current acquire (see _what_failed).
        self._answered: frozenset[Any] = frozenset()

    # Pottery's configuration attributes can be assigned; so can these.

    @property
    def auto_release_time(self) -> float:
        'Seconds after which the lock releases itself unless extended.'
        return self._auto_release_time

    @auto_release_time.setter
    def auto_release_time(self, value: float) -> None:
        self._auto_release_time: float = _check_auto_release_time(value)

    @property
    def num_extensions(self) -> int:
        'How many times one acquisition may be extended (-1: no limit).'
        return self._num_extensions

    @num_extensions.setter
    def num_extensions(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f'num_extensions must be an int, not {type(value).__qualname__}')
        if value < -1:
            raise ValueError('num_extensions must be -1 (no limit) or non-negative')
        self._num_extensions: int = value

    @property
    def context_manager_blocking(self) -> bool:
        'Whether ``with`` waits for the lock.'
        return self._context_manager_blocking

    @context_manager_blocking.setter
    def context_manager_blocking(self, value: bool) -> None:
        _check_timeout(value, self._context_manager_timeout)
        self._context_manager_blocking = bool(value)

    @property
    def context_manager_timeout(self) -> float:
        'How long ``with`` waits for the lock (-1: no limit).'
        return self._context_manager_timeout

    @context_manager_timeout.setter
    def context_manager_timeout(self, value: float) -> None:
        _check_timeout(self._context_manager_blocking, value)
        self._context_manager_timeout = value

    @property
    def auto_renew(self) -> bool:
        'Whether the lease is renewed in the background while the lock is held.'
        return self._auto_renew

    @property
    def fencing(self) -> bool:
        'Whether acquisitions get fencing tokens.'
        return self._fencing

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
        return self._fencing_token

    def _check_errors(self, errors: list[RedisError], raise_on_redis_errors: bool | None) -> None:
        if raise_on_redis_errors is None:
            self._check_enough_masters_up(errors)
        elif raise_on_redis_errors and len(errors) >= self.quorum:
            raise QuorumIsImpossible(self.key, self.masters, redis_errors=errors)

    async def _attempt(
        self, raise_on_redis_errors: bool | None, *, in_order: bool = False, deadline: float = math.inf,
    ) -> _Attempt:
        """Try once, on every master at once (or ``in_order``); on failure, undo what was stored.

        With a ``deadline`` (the event loop's time), each request waits for
        its master until then at most (a paused master must not make a
        caller overrun its timeout), but 50 ms at least.
        """
        limit = None
        if deadline != math.inf:
            remaining = deadline - asyncio.get_running_loop().time()
            limit = min(max(remaining, 0.05), self._MASTER_TIMEOUT)
        value = str(uuid.uuid4())
        keys = [self.key, companion(self.key, 'fence')] if self._fencing else [self.key]
        args = (value, int(self._auto_release_time * 1000))

        async def take(client: _clients.AsyncClient) -> Any:
            return await _ACQUIRE(client, keys, args)

        start = time.monotonic()
        try:
            replies, errors = await (
                self._in_order(take, limit) if in_order
                else self._fan_out(take, limit, raise_permanent=False)
            )
            if not in_order:
                # A try in order may stop before it reaches a failing master.
                self._last_errors = self._what_failed(errors, cut_short=limit is not None)
            # Masters that refused the request outright stored nothing (every
            # error came through _ask, which names its master).
            refusing = frozenset(master_of(error) for error in errors if is_permanent(error))
            granted = [reply for reply in replies if reply[0] == 1]
            refused = [reply for reply in replies if reply[0] != 1]
            if not refusing and len(granted) >= self.quorum and await self._fence_in(value, granted, limit):
                lease = self._auto_release_time
                validity = lease - _drift(lease) - (time.monotonic() - start)
                if validity > 0:
                    self._uuid = value
                    self._extension_num = 0
                    if self._fencing:
                        self._fencing_token = max(int(reply[1]) for reply in granted)
                    return _Attempt(acquired=True)
        except BaseException:
            # Cancelled (or failed) half-way: some masters may have stored
            # the value.  Take it back before giving up, or it would hold
            # them for a whole lease; shielded so that a second cancellation
            # does not stop the cleanup either.
            await asyncio.shield(self._take_back(value, publish=True, limit=limit))
            raise
        holders = collections.Counter(reply[2] for reply in refused)
        held = bool(holders) and holders.most_common(1)[0][1] >= self.quorum
        if granted or errors:
            # Every master has answered (or timed out): undo what was stored
            # (a master that timed out may have stored it too).  Waiters are
            # told only if nobody else holds the lock (contenders split the
            # masters): otherwise they could not take it anyway.
            # A master whose SET timed out may run it after this take-back
            # (on another connection): it is asked once more later.
            late = frozenset(master_of(error) for error in errors if isinstance(error, RedisTimeoutError))
            await asyncio.shield(
                self._take_back(value, publish=not held, limit=limit, skip=refusing, late=late),
            )
        self._raise_permanent(errors)
        self._check_errors(errors, raise_on_redis_errors)
        # The lock can be ours once enough of the refusing masters' keys
        # have expired to make a majority with the ones that granted.
        ttls = sorted(int(reply[1]) for reply in refused)
        missing = self.quorum - len(granted)
        free_in = None
        if 0 < missing <= len(ttls) and ttls[missing - 1] >= 0:
            free_in = max(ttls[missing - 1], 0) / 1000
        return _Attempt(acquired=False, free_in=free_in, split=bool(refused) and not held)

    def _what_failed(self, errors: list[RedisError], *, cut_short: bool) -> list[RedisError]:
        """The errors of a try, for QuorumNotAchieved.

        A try given less than the master timeout by the caller's deadline
        (the last one often has 50 ms) may time out on masters an earlier
        try of the same acquire knows better: where that try learnt why a
        master fails (refused, say), the earlier error says more and is
        kept; where the master answered it, the timeout is the deadline's
        doing (a pause of this process, a loaded machine), not the
        master's, and is left out.
        """
        failed = frozenset(master_of(error) for error in errors)
        answered, self._answered = self._answered, self._answered | (self.masters - failed)
        if not cut_short:
            return errors
        before = {master_of(error): error for error in self._last_errors}
        kept = []
        for error in errors:
            master = master_of(error)
            if isinstance(error, RedisTimeoutError):
                if master in before:
                    kept.append(before[master])
                elif master not in answered:
                    kept.append(error)
            else:
                kept.append(error)
        return kept

    async def _in_order(
        self, take: Callable[[_clients.AsyncClient], Awaitable[Any]], limit: float | None,
    ) -> tuple[list[Any], list[RedisError]]:
        """Ask the masters one after the other, in an order every process agrees on.

        After contenders split the masters, trying all at once again could
        split them again.  In one order, whoever takes the first master that
        answers is ahead of everyone else: the others stop there (and wait
        to be woken) instead of taking masters further on.
        """
        # Masters that stopped answering last: every process soon suspects
        # the same ones, and asking them first would cost each try a wait.
        masters = sorted(self.masters, key=lambda master: (
            _health_of(_clients.resolve(master)).suspect, _address(_clients.resolve(master)),
        ))
        replies: list[Any] = []
        errors: list[RedisError] = []
        granted = 0
        for index, master in enumerate(masters):
            if granted >= self.quorum or granted + len(masters) - index < self.quorum:
                break
            try:
                reply = await self._ask(master, take, limit)
            except RedisError as error:
                self._log(error)
                errors.append(error)
                if is_permanent(error):
                    break
                continue
            replies.append(reply)
            if reply[0] == 1:
                granted += 1
            elif not granted:
                break
        return replies, errors

    async def _fence_in(self, value: str, granted: list[Any], limit: float | None) -> bool:
        """Make the new fencing token stick; whether the lock is still held.

        The token is the greatest counter the granting masters returned.
        When they all returned it, any later majority overlaps them and
        counts past it.  Otherwise the lower counters are raised to it first
        (while the lock is held on a majority), for the same reason.
        """
        if not self._fencing or len({int(reply[1]) for reply in granted}) == 1:
            return True
        keys = [self.key, companion(self.key, 'fence')]
        args = (value, max(int(reply[1]) for reply in granted))

        async def raise_fence(client: _clients.AsyncClient) -> Any:
            return await _RAISE_FENCE(client, keys, args)

        raised, _ = await self._fan_out(raise_fence, limit)
        return sum(1 for result in raised if result) >= self.quorum

    async def acquire(
        self, *, blocking: bool = True, timeout: float = -1, raise_on_redis_errors: bool | None = None,  # noqa: ASYNC109
    ) -> bool:
        """Take the lock; whether it was taken.

        Blocking with ``timeout=-1``, wait as long as it takes; with a
        timeout, wait up to that many seconds.  Not blocking, try once.
        A waiter is woken when the lock is released (pub/sub), or when the
        holder's lease runs out.
        """
        _check_timeout(blocking, timeout)
        loop = asyncio.get_running_loop()
        deadline = math.inf if timeout == -1 else loop.time() + timeout
        # A cancellation that redis-py swallows is noticed by the wait loop.
        cancelling = cancel_requests()
        self._last_errors = []
        self._answered = frozenset()
        attempt = await self._attempt(raise_on_redis_errors, deadline=deadline)
        if attempt.acquired or not blocking:
            return self._acquired(attempt.acquired)
        clients = [_clients.resolve(master) for master in self.masters]
        # Subscribed on enough masters to overlap any holder's majority,
        # every release of the lock reaches us.
        needed = len(clients) - self.quorum + 1
        patience = min(_wake.SUBSCRIBE_TIMEOUT, max(deadline - loop.time(), 0))
        acquired = False
        try:
            async with _wake.listening(clients, self.key, needed=needed, patience=patience) as woken:
                acquired = await self._wait_and_take(woken, deadline, raise_on_redis_errors, cancelling)
        except BaseException:
            if acquired:
                # Taken, then interrupted on the way out (a cancellation
                # while leaving the channel): the caller never learns it
                # holds the lock, so let it go.
                await asyncio.shield(self._take_back(self._uuid, publish=True))
            raise
        # Renewal starts only once acquire() can no longer fail.
        return self._acquired(acquired)

    async def _wait_and_take(
        self, woken: asyncio.Event, deadline: float, raise_on_redis_errors: bool | None, cancelling: int,
    ) -> bool:
        loop = asyncio.get_running_loop()
        while True:
            raise_if_cancelled(cancelling)
            woken.clear()
            started = loop.time()
            attempt = await self._attempt(raise_on_redis_errors, deadline=deadline)
            if attempt.acquired:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            if attempt.split:
                # Contenders tried together and split the masters: try
                # again in order (see _in_order); if someone is ahead,
                # wait for them.
                attempt = await self._attempt(raise_on_redis_errors, in_order=True, deadline=deadline)
                if attempt.acquired:
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
            # Unwoken, look again after RECHECK, or twice as long as trying
            # took: with masters paused a try holds what it stored for up to
            # the master timeout, and waiters looking again faster than that
            # would keep blocking each other (and the one ahead of them).
            fallback = max(_wake.RECHECK, 2 * (loop.time() - started))
            wait = fallback if attempt.free_in is None else min(attempt.free_in + 0.001, fallback)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(wait, remaining)):
                    await woken.wait()

    def _acquired(self, acquired: bool) -> bool:
        if acquired and self._auto_renew:
            self._stop_renewing()
            self._stop_renewal = _bridge.background(self._renew(self._uuid))
        return acquired

    async def _renew(self, value: str) -> None:
        'Renew the lease held as ``value`` until released or a renewal fails.'
        keys, args = [self.key], (value, int(self._auto_release_time * 1000))

        async def renew(client: _clients.AsyncClient) -> Any:
            return await _EXTEND(client, keys, args)

        # On a fixed schedule, each renewal bounded by the period: a paused
        # master must not delay the next renewal past the lease.
        period = self._auto_release_time * (1 - _RENEW_AT)
        loop = asyncio.get_running_loop()
        renew_at = loop.time()
        while True:
            renew_at += period
            await asyncio.sleep(max(renew_at - loop.time(), 0))
            renewed, errors = await self._fan_out(
                renew, min(period, self._MASTER_TIMEOUT), raise_permanent=False,
            )
            refusals = [describe_error(error) for error in errors if is_permanent(error)]
            if refusals:
                # Nobody to raise to: say it loudly, and stop asking.
                logger.error('%r stopped renewing its lease: %s', self, '; '.join(refusals))
                return
            if sum(1 for result in renewed if result) < self.quorum:
                logger.warning('%r could not renew its lease: it is no longer held', self)
                return

    def _stop_renewing(self) -> None:
        stop, self._stop_renewal = self._stop_renewal, None
        if stop is not None:
            stop()

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
            return self._validity(live[self.quorum - 1], start)
        self._check_errors(errors, raise_on_redis_errors)
        return 0

    async def locked_by_anyone(self, *, raise_on_redis_errors: bool | None = None) -> float:
        """Seconds left of whoever holds the lock (any instance, any process); 0 if free.

        ``locked()`` answers for this instance only, as Pottery's does.  A
        holder without an expiry counts as ``math.inf``.
        """
        keys: list[str] = [self.key]

        async def holder(client: _clients.AsyncClient) -> Any:
            return await _HOLDER(client, keys, ())

        start = time.monotonic()
        replies, errors = await self._fan_out(holder)
        ttls: dict[bytes, list[int]] = collections.defaultdict(list)
        for reply in replies:
            if reply:
                pttl = int(reply[1])
                ttls[reply[0]].append(sys.maxsize if pttl == -1 else pttl)
        for pttls in ttls.values():
            if len(pttls) >= self.quorum:
                pttl = sorted(pttls, reverse=True)[self.quorum - 1]
                return math.inf if pttl == sys.maxsize else self._validity(pttl, start)
        self._check_errors(errors, raise_on_redis_errors)
        return 0

    def _validity(self, pttl: int, start: float) -> float:
        'Seconds a lease of ``pttl`` ms read since ``start`` can be counted on.'
        return max(pttl / 1000 - _drift(self._auto_release_time) - (time.monotonic() - start), 0)

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

    def _release_request(self, value: str, *, publish: bool) -> Any:
        keys, args = [self.key], (value, '1' if publish else '0')

        async def release(client: _clients.AsyncClient) -> Any:
            return await _RELEASE(client, keys, args)

        return release

    async def _take_back(
        self, value: str, *, publish: bool, limit: float | None = None, skip: frozenset[Any] = frozenset(),
        late: frozenset[Any] = frozenset(),
    ) -> tuple[list[Any], list[RedisError]]:
        """Delete ``value`` from every master holding it.

        A master that failed to answer (paused, partitioned), or whose SET
        timed out (``late``), may still run that SET after this release, on
        another connection.  In the sync API, whose clients the bridge owns,
        it is asked again later in the background, until it answers or the
        lease is over, so that no stale key holds it for a whole lease.  In
        the async API, a master in ``late`` is asked once more, a moment
        later, unless the application has closed its client meanwhile.
        """
        released, errors = await self._fan_out(
            self._release_request(value, publish=publish), limit, raise_permanent=False, skip=skip,
            later=True,
        )
        transient = any(not is_permanent(error) for error in errors)
        if _bridge.current_state() is not None:
            if transient or late:
                _bridge.background(self._take_back_later(value))
        elif late:
            _spawn(self._take_back_once_more(value, late))
        return released, errors

    async def _take_back_once_more(self, value: str, late: frozenset[Any]) -> None:
        await asyncio.sleep(_LATE_TAKE_BACK)
        closed = frozenset(master for master in late if not _still_open(_clients.resolve(master)))
        skip = (self._masters - late) | closed
        await self._fan_out(self._release_request(value, publish=False), raise_permanent=False, skip=skip)

    async def _take_back_later(self, value: str) -> None:
        request = self._release_request(value, publish=True)
        end = time.monotonic() + self._auto_release_time
        delay = 0.25
        while time.monotonic() + delay < end:
            await asyncio.sleep(delay)
            _, errors = await self._fan_out(request, raise_permanent=False)
            if all(is_permanent(error) for error in errors):
                return
            delay *= 2

    async def release(self, *, raise_on_redis_errors: bool | None = None) -> None:
        'Let the lock go and wake its waiters; ReleaseUnlockedLock if a majority did not hold it for us.'
        self._stop_renewing()
        released, errors = await self._take_back(self._uuid, publish=True)
        # Raised once every master has been asked: the others did let go.
        self._raise_permanent(errors)
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
        raise QuorumNotAchieved(self.key, self.masters, redis_errors=self._last_errors)

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


# What synchronize() decorates: coroutine functions here, plain functions in
# the sync API (whose generated synchronize() is typed with F).
AF = TypeVar('AF', bound=Callable[..., Awaitable[Any]])
F = TypeVar('F', bound=Callable[..., Any])


def synchronize(
    *,
    key: str,
    masters: Iterable[_clients.RedisArg] = frozenset(),
    raise_on_redis_errors: bool = False,
    auto_release_time: float = _AUTO_RELEASE_TIME,
    blocking: bool = True,
    timeout: float = -1,
) -> Callable[[AF], AF]:
    """Decorator: one caller at a time runs the function, across threads, processes and machines.

    Each call holds a fresh lock on ``key`` (see the lock's class for the
    arguments); ``blocking`` and ``timeout`` say how long a call waits for
    it, and a call that cannot get it raises ``QuorumNotAchieved``.  How
    long each call waited and held the lock is logged (INFO, logger
    ``pottery_async``).
    """
    _check_timeout(blocking, timeout)
    _check_auto_release_time(auto_release_time)

    def decorator(func: AF) -> AF:
        require_coroutine_function(func, 'synchronize()')

        @functools.wraps(func)
        async def synchronized(*args: Any, **kwargs: Any) -> Any:
            lock = AIORedlock(
                key=key, masters=masters, raise_on_redis_errors=raise_on_redis_errors,
                auto_release_time=auto_release_time, context_manager_blocking=blocking,
                context_manager_timeout=timeout,
            )
            waiting = time.monotonic()
            async with lock:
                holding = time.monotonic()
                try:
                    return await func(*args, **kwargs)
                finally:
                    logger.info(
                        '%s() waited for %s for %d ms; held it for %d ms', func.__qualname__, lock.key,
                        (holding - waiting) * 1000, (time.monotonic() - holding) * 1000,
                    )

        return cast(AF, synchronized)

    return decorator
