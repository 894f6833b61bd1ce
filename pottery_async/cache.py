"""redis_cache() and CachedOrderedDict: function results and lookups cached in a Redis hash.

``redis_cache()`` keeps one Redis hash per decorated function, at ``key``,
as Pottery 3.x does, and like Pottery refreshes the whole hash's TTL
(``timeout``) on every hit, miss and bypass.  Its fields differ on purpose:
Pottery names an entry by ``hash()`` of the arguments, which changes with
each process's hash seed, so no two processes ever share an entry.  Here an
entry's field is the JSON string of a BLAKE2b digest of the canonical JSON
encoding of ``[args, kwargs]`` (keyword arguments sorted by name), the same in
every process and on every machine.  Values are JSON, as Pottery stores them.

Opt-in, beyond Pottery:

- ``entry_ttl``: each entry expires that many seconds after it was stored.
  The test servers (Redis 7.0, Valkey 8) have no per-field expiry (HPEXPIRE
  came with Redis 7.4), so such an entry's value carries its deadline in
  server time, ``@<unix ms>@<json>`` (never valid JSON, so never mistaken
  for a plain value); the lookup script treats an entry past its deadline as
  a miss and deletes it, and every store deletes the expired entries among a
  few random ones.
- ``stampede_protection``: the first call that misses takes a short lock on
  that entry (``SET NX PX``, ``stampede_timeout`` long) in the same script
  that found the miss; concurrent calls for the same arguments, in any
  process, wait (woken by pub/sub when the value is stored or the
  computation fails) instead of computing it too.  A waiter whose holder
  died computes the value itself once the lock has expired.  The lock key,
  ``<key>:lock:<digest>{<key>}`` (see ``_base.companion``), starts with the
  cache's key, so one ACL pattern covers both, and is in its cluster hash
  slot, so both live on one node of a Redis Cluster; its waiters listen on
  the channel of the same name.

``CachedOrderedDict`` is an OrderedDict filled from a Redis hash that uses
exactly Pottery's layout (JSON field -> JSON value): it loads every key it is
given in one round trip and writes new values through.
"""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import contextlib
import functools
import hashlib
import logging
import math
import uuid
import warnings
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from typing import Any, ClassVar, NamedTuple, ParamSpec, Protocol, Self, TypeAlias, TypeVar, cast

from redis.exceptions import RedisError

from . import _clients, _wake
from ._base import (
    Container,
    Script,
    cancel_requests,
    companion,
    raise_if_cancelled,
    redis_type,
    require_coroutine_function,
)
from ._codec import JSON, JSONTypes

logger = logging.getLogger('pottery_async')

P = ParamSpec('P')
R = TypeVar('R')
R_co = TypeVar('R_co', covariant=True)

# What redis_cache() decorates: coroutine functions here, plain functions in
# the sync API (whose generated redis_cache() is typed with PlainFunction).
CoroutineFunction: TypeAlias = Callable[P, Awaitable[R]]
PlainFunction: TypeAlias = Callable[P, R]

_DEFAULT_TIMEOUT = 60  # seconds, Pottery's default for both
_STAMPEDE_TIMEOUT = 10.0
_NUM_TRIES = 3
# How many random entries each store with entry_ttl checks for expiry.
_SWEEP = 3

# Server time in milliseconds, for entry deadlines.
_NOW = '''
local function now()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
'''

# KEYS: the cache's hash, then (with stampede protection) the entry's lock.
# ARGV: field, hash TTL ms ('0': none), lock token, lock lease ms.
# {1, value} on a hit; {0} on a miss, which the caller computes (holding the
# lock if it asked for one); {2, lock PTTL} while another caller computes it.
_LOOKUP = Script(_NOW + '''
local value = redis.call('HGET', KEYS[1], ARGV[1])
if value and string.byte(value, 1) == 64 then
    local stop = string.find(value, '@', 2, true)
    if tonumber(string.sub(value, 2, stop - 1)) <= now() then
        redis.call('HDEL', KEYS[1], ARGV[1])
        value = false
    else
        value = string.sub(value, stop + 1)
    end
end
if ARGV[2] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if value then return {1, value} end
if KEYS[2] then
    if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then return {0} end
    return {2, redis.call('PTTL', KEYS[2])}
end
return {0}
''')

# KEYS: as _LOOKUP's.  ARGV: field, encoded value, hash TTL ms, entry TTL ms
# ('0': none), lock token.  Stores the value, releases the lock if this
# caller holds it, and wakes the waiters: they see the value, since the
# script runs whole before they can look (and if a command fails half-way,
# as on a key of another type, they look and see that instead).  A user
# without permission for the channel still stores (its waiters poll).
_STORE = Script(_NOW + '''
if KEYS[2] then
    if ARGV[5] ~= '' and redis.call('GET', KEYS[2]) == ARGV[5] then redis.call('DEL', KEYS[2]) end
    redis.pcall('PUBLISH', KEYS[2], 'stored')
end
local value = ARGV[2]
if ARGV[4] ~= '0' then
    local time = now()
    local sample = redis.call('HRANDFIELD', KEYS[1], ''' + str(_SWEEP) + ''', 'WITHVALUES')
    for i = 1, #sample, 2 do
        local old = sample[i + 1]
        if string.byte(old, 1) == 64 then
            local stop = string.find(old, '@', 2, true)
            if tonumber(string.sub(old, 2, stop - 1)) <= time then
                redis.call('HDEL', KEYS[1], sample[i])
            end
        end
    end
    value = '@' .. string.format('%.0f', time + tonumber(ARGV[4])) .. '@' .. value
end
redis.call('HSET', KEYS[1], ARGV[1], value)
if ARGV[3] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
''')

# Release the entry lock KEYS[1] if it holds ARGV[1], and wake the waiters
# (one of them computes the value instead), if allowed to publish.
_ABANDON = Script('''
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    redis.pcall('PUBLISH', KEYS[1], 'abandoned')
end
''')

# Delete the cache's hash, but never a key of another type.
_CLEAR = Script('''
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'hash' and kind ~= 'none' then
    return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value')
end
redis.call('UNLINK', KEYS[1])
''')


class CacheInfo(NamedTuple):
    """A cache's statistics, like functools' CacheInfo.

    ``hits`` and ``misses`` count this process's calls of one decorated
    function; ``currsize`` is the number of entries on the server, written
    by every process.  ``maxsize`` is always None: the cache is unbounded.
    """

    hits: int = 0
    misses: int = 0
    maxsize: int | None = None
    currsize: int = 0


class CachedFunction(Protocol[P, R_co]):
    'A function decorated by redis_cache() in the sync API (pottery_async.sync).'

    @property
    def __wrapped__(self) -> Callable[P, R_co]: ...

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def __bypass__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def cache_info(self) -> CacheInfo: ...

    def cache_clear(self) -> None: ...


class AsyncCachedFunction(Protocol[P, R_co]):
    'A coroutine function decorated by redis_cache() in the async API.'

    @property
    def __wrapped__(self) -> Callable[P, Awaitable[R_co]]: ...

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    async def __bypass__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    async def cache_info(self) -> CacheInfo: ...

    async def cache_clear(self) -> None: ...


def _entry_id(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The name of the cache entry for a call, the same in every process.

    Unhashable arguments raise TypeError, as with functools.cache; so do
    hashable ones that JSON cannot encode (they would have no stable name).
    """
    hash((args, *kwargs.values()))
    try:
        canonical = JSON.encode([args, kwargs])
    except (TypeError, ValueError) as error:
        raise TypeError(f'redis_cache() arguments must be JSON-serializable: {error}') from None
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def _milliseconds(name: str, seconds: float | None, *, zero_is_none: bool = False) -> int:
    'A duration in whole milliseconds (at least 1), 0 for None; ValueError unless positive.'
    if seconds is None or (zero_is_none and seconds == 0):
        return 0
    if not 0 < seconds < math.inf:
        raise ValueError(f'{name} must be a positive number of seconds, not {seconds!r}')
    return max(1, round(seconds * 1000))


def _check_durations(timeout: float | None, entry_ttl: float | None, stampede_timeout: float) -> None:
    'ValueError for a negative timeout or a non-positive entry_ttl or stampede_timeout.'
    _milliseconds('timeout', timeout, zero_is_none=True)
    _milliseconds('entry_ttl', entry_ttl)
    _milliseconds('stampede_timeout', stampede_timeout)


class _Entry:
    'What lookup() found for one call: a hit and its value, or a miss this call computes.'

    __slots__ = ('hit', 'id', 'token', 'value')

    def __init__(self, id: str, hit: bool, value: Any = None, token: str = '') -> None:
        self.id = id
        self.hit = hit
        self.value = value
        # The stampede lock this call holds until it stores or abandons.
        self.token = token


class _FunctionCache(Container):
    """The Redis side of one redis_cache()-decorated function.

    All the Redis logic of redis_cache() is here (its sync twin runs it on
    the bridge); the decorator around it only calls the function.
    """

    _REDIS_TYPE = 'hash'

    def __init__(
        self,
        *,
        redis: _clients.RedisArg = None,
        key: str | None = None,
        timeout: float | None = _DEFAULT_TIMEOUT,
        entry_ttl: float | None = None,
        stampede_protection: bool = False,
        stampede_timeout: float = _STAMPEDE_TIMEOUT,
    ) -> None:
        'The cache of one function (no I/O).'
        super().__init__(redis=redis, key=key or '')
        # Pottery refreshes the hash's TTL only "if timeout": 0 means none.
        self._timeout = str(_milliseconds('timeout', timeout, zero_is_none=True))
        self._entry_ttl = str(_milliseconds('entry_ttl', entry_ttl))
        self._lease = str(_milliseconds('stampede_timeout', stampede_timeout))
        self._stampede_protection = bool(stampede_protection)
        self.hits = 0
        self.misses = 0

    def _lock_key(self, entry_id: str) -> str:
        'The key (and wake-up channel) of the stampede lock of an entry.'
        return companion(self._key, f'lock:{entry_id}')

    def _keys(self, entry_id: str) -> list[str]:
        if self._stampede_protection:
            return [self._key, self._lock_key(entry_id)]
        return [self._key]

    @redis_type('hash')
    async def lookup(self, entry_id: str) -> _Entry:
        """The cached value for a call; on a miss, the caller must store() or abandon().

        With stampede protection, waits while another caller computes the
        value.  One round trip for a hit or a miss.
        """
        token = uuid.uuid4().hex if self._stampede_protection else ''
        client = self._client
        # A cancellation that redis-py swallows is noticed by the wait loop.
        cancelling = cancel_requests()
        keys = self._keys(entry_id)
        args = (f'"{entry_id}"', self._timeout, token, self._lease)
        try:
            reply = await _LOOKUP(client, keys, args)
            if reply[0] == 2:
                reply = await self._wait(client, keys, args, cancelling)
        except BaseException:
            # Cancelled or failed with the reply unread: the lock may be
            # ours.  Let it go (only if it holds our token), or every caller
            # of these arguments would wait for its whole lease.
            if token:
                await asyncio.shield(self._abandon_soon(_Entry(entry_id, False, token=token)))
            raise
        if reply[0] == 1:
            self.hits += 1
            return _Entry(entry_id, True, self._codec.decode(reply[1]))
        self.misses += 1
        return _Entry(entry_id, False, token=token)

    async def _wait(
        self, client: _clients.AsyncClient, keys: list[str], args: tuple[str, ...], cancelling: int,
    ) -> Any:
        'Wait while another caller holds the lock; the first other reply of _LOOKUP.'
        async with _wake.listening([client], keys[1], needed=1, patience=_wake.SUBSCRIBE_TIMEOUT) as woken:
            while True:
                raise_if_cancelled(cancelling)
                woken.clear()
                # Asked again once subscribed: a value stored meanwhile was
                # published before we listened.
                reply = await _LOOKUP(client, keys, args)
                if reply[0] != 2:
                    return reply
                # The holder's lease bounds the wait: if it died, its lock
                # expires and the next look takes it.
                pttl = int(reply[1])
                wait = _wake.RECHECK if pttl < 0 else min(pttl / 1000 + 0.001, _wake.RECHECK)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await woken.wait()

    @redis_type('hash')
    async def store(self, entry: _Entry, value: Any) -> None:
        """Cache a computed value and release the entry's lock.  One round trip.

        A value JSON cannot encode raises TypeError and stores nothing.
        """
        try:
            encoded = self._codec.encode(value)
        except TypeError:
            await self.abandon(entry)
            raise
        args = (f'"{entry.id}"', encoded, self._timeout, self._entry_ttl, entry.token)
        try:
            await _STORE(self._client, self._keys(entry.id), args)
        except BaseException:
            # Not stored (or not known to be): let the lock go all the same.
            await asyncio.shield(self._abandon_soon(entry))
            raise

    async def abandon(self, entry: _Entry) -> None:
        """Release the lock of an entry whose computation failed, waking a waiter to compute it.

        Never raises a Redis error (it runs while another error is raised):
        a lock that cannot be released expires with its lease.
        """
        if entry.token:
            try:
                await _ABANDON(self._client, [self._lock_key(entry.id)], (entry.token,))
            except RedisError as error:
                logger.warning('redis_cache(): could not release the lock of an entry: %s', error)

    async def _abandon_soon(self, entry: _Entry) -> None:
        # While an error or a cancellation is on its way: bounded, so that a
        # paused server does not hold the caller (the lock then expires).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_wake.SUBSCRIBE_TIMEOUT):
                await self.abandon(entry)

    @redis_type('hash')
    async def info(self) -> CacheInfo:
        """Hits and misses in this process; currsize from the server.  O(1)

        With entry_ttl, currsize also counts expired entries not yet deleted
        (a lookup or a store deletes them).
        """
        currsize = int(await self._client.hlen(self._key))  # Redis 2.0+
        return CacheInfo(self.hits, self.misses, None, currsize)

    @redis_type('hash')
    async def clear(self) -> None:
        'Delete every entry (for every process) and reset the hit and miss counts.  O(1)'
        await _CLEAR(self._client, [self._key], ())
        self.hits = self.misses = 0


def redis_cache(
    *,
    redis: _clients.RedisArg = None,
    key: str | None = None,
    timeout: float | None = _DEFAULT_TIMEOUT,
    entry_ttl: float | None = None,
    stampede_protection: bool = False,
    stampede_timeout: float = _STAMPEDE_TIMEOUT,
) -> Callable[[CoroutineFunction[P, R]], AsyncCachedFunction[P, R]]:
    """Decorator: cache a function's return values in a Redis hash, like functools.cache.

    Pottery's arguments: ``redis``, ``key`` (the hash; a random one, logged,
    if None), ``timeout`` (seconds: the whole cache expires that long after
    its last hit, miss or bypass; None or 0 for never).  Arguments must be
    hashable and JSON-serializable, return values JSON-serializable (else
    TypeError, and nothing is cached).  Calls with equal arguments share an
    entry across processes and machines; keyword order does not matter, but
    ``f(1)`` and ``f(x=1)`` are different entries, as in functools.

    Beyond Pottery: ``entry_ttl`` (seconds each entry lives after it is
    stored) and ``stampede_protection`` (concurrent misses for the same
    arguments, in any process, compute the value once; the others wait up to
    ``stampede_timeout`` seconds for it, after which one of them computes it).

    The decorated function has ``cache_info()``, ``cache_clear()``,
    ``__wrapped__`` (the function itself) and ``__bypass__`` (call the
    function and cache its result, without looking it up; counted as
    neither a hit nor a miss).
    """
    _check_durations(timeout, entry_ttl, stampede_timeout)

    def decorator(func: CoroutineFunction[P, R]) -> AsyncCachedFunction[P, R]:
        require_coroutine_function(func, 'redis_cache()')
        cache = _FunctionCache(
            redis=redis, key=key, timeout=timeout, entry_ttl=entry_ttl,
            stampede_protection=stampede_protection, stampede_timeout=stampede_timeout,
        )
        if key is None:
            logger.warning('redis_cache(): no key given; caching %s() under %r', func.__qualname__, cache.key)

        @functools.wraps(func)
        async def cached(*args: P.args, **kwargs: P.kwargs) -> R:
            entry = await cache.lookup(_entry_id(args, kwargs))
            if entry.hit:
                return cast(R, entry.value)
            try:
                value = await func(*args, **kwargs)
            except BaseException:
                await cache.abandon(entry)
                raise
            await cache.store(entry, value)
            return value

        @functools.wraps(func)
        async def bypass(*args: P.args, **kwargs: P.kwargs) -> R:
            entry = _Entry(_entry_id(args, kwargs), False)
            value = await func(*args, **kwargs)
            await cache.store(entry, value)
            return value

        async def cache_info() -> CacheInfo:
            return await cache.info()

        async def cache_clear() -> None:
            await cache.clear()

        cached.__dict__.update(__bypass__=bypass, cache_info=cache_info, cache_clear=cache_clear)
        return cast(AsyncCachedFunction[P, R], cached)

    return decorator


class _Hash(Container):
    'The Redis hash behind a CachedOrderedDict: reads and writes that refresh its TTL.'

    _REDIS_TYPE = 'hash'

    def __init__(self, *, redis: _clients.RedisArg, key: str, timeout: float | None) -> None:
        super().__init__(redis=redis, key=key)
        self._timeout = str(_milliseconds('timeout', timeout, zero_is_none=True))

    @redis_type('hash')
    async def load(self, fields: list[str]) -> list[bytes | None]:
        'HMGET the fields, in one round trip.'
        return cast(list[bytes | None], await _LOAD(self._client, [self._key], (self._timeout, *fields)))

    @redis_type('hash')
    async def store(self, mapping: Mapping[str, str]) -> None:
        'HSET the fields, in one round trip.'
        args = [self._timeout]
        for item in mapping.items():
            args += item
        await _STORE_ITEMS(self._client, [self._key], args)

    @redis_type('hash')
    async def store_default(self, field: str, value: str) -> bytes:
        "HSETNX, then the field's value, in one round trip."
        return cast(bytes, await _SETDEFAULT(self._client, [self._key], (self._timeout, field, value)))


# ARGV[1]: the hash's TTL ms ('0': none) in the three scripts below, which
# refresh it (Pottery's CachedOrderedDict does so after every write).  A key
# of another type fails the first hash command, before anything changes.

# The values of fields ARGV[2...] (false for a miss).  HMGET takes them in
# slices: Lua's unpack() stops at about 8000 values.
_LOAD = Script('''
local values = {}
if #ARGV == 1 then redis.call('HLEN', KEYS[1]) end
for i = 2, #ARGV, 7000 do
    local part = redis.call('HMGET', KEYS[1], unpack(ARGV, i, math.min(i + 6999, #ARGV)))
    for j = 1, #part do values[#values + 1] = part[j] end
end
if ARGV[1] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return values
''')

# HSET the field, value pairs ARGV[2...].
_STORE_ITEMS = Script('''
for i = 2, #ARGV, 7000 do
    redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 6999, #ARGV)))
end
if ARGV[1] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
''')

# HSETNX ARGV[2] ARGV[3]; the field's value, whoever set it.
_SETDEFAULT = Script('''
redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
local value = redis.call('HGET', KEYS[1], ARGV[2])
if ARGV[1] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return value
''')


class CachedOrderedDict(collections.OrderedDict[Any, Any]):
    """An OrderedDict of ``dict_keys``, filled with the values a Redis hash holds for them.

    Pottery's use case: a search returns document IDs in order; the
    documents already cached are loaded at once (one HMGET), ``misses()``
    names the others, and the values you then set are written through to
    the hash for the next lookup.  A miss maps to ``CachedOrderedDict._SENTINEL``
    until set.  Only setting a value (``d[k] = v``, ``update()``,
    ``setdefault()``) writes to Redis; reads, deletions and reordering are
    local, as in Pottery.  Each write, and the load, refreshes the hash's TTL
    (``timeout`` seconds; None or 0 for never).

    In the async API, ``await CachedOrderedDict(...)`` loads it, and writes
    are ``await d.setitem(k, v)``, ``await d.update(...)`` and
    ``await d.setdefault(k, v)``; ``d[k] = v`` raises TypeError there.  Reads
    are the OrderedDict's own, in both APIs; an async one raises TypeError
    for them until awaited.
    """

    _SENTINEL: ClassVar[object] = object()

    def __init__(
        self,
        *,
        redis_client: _clients.RedisArg = None,
        redis_key: str | None = None,
        dict_keys: Iterable[JSONTypes] = (),
        num_tries: int = _NUM_TRIES,
        timeout: float | None = _DEFAULT_TIMEOUT,
    ) -> None:
        'Look up dict_keys in the hash at redis_key when awaited (the sync constructor does).  O(n)'
        super().__init__()
        keys = tuple(dict_keys)
        # Encoded first: a key that cannot be stored fails here, before any I/O.
        fields = [JSON.encode(k) for k in keys]
        self._hash = _Hash(redis=redis_client, key=redis_key or '', timeout=timeout)
        # Kept for Pottery's signature: its WATCH retries; our writes are
        # scripts, which never need retrying.
        self._num_tries = num_tries
        self._misses: set[Any] = set()
        self._unloaded: tuple[tuple[Any, ...], list[str]] | None = (keys, fields)

    def __await__(self) -> Generator[Any, None, Self]:
        'await CachedOrderedDict(...): load the values of dict_keys, and return the dict.'
        yield from self._initialize().__await__()
        return self

    async def _initialize(self) -> None:
        loading, self._unloaded = self._unloaded, None
        if loading is None:
            return
        keys, fields = loading
        values = await self._hash.load(fields)
        decode = JSON.decode
        for dict_key, encoded in zip(keys, values, strict=True):
            if encoded is None:
                self._misses.add(dict_key)
                value = self._SENTINEL
            else:
                value = decode(encoded)
            collections.OrderedDict.__setitem__(self, dict_key, value)

    def _check_loaded(self) -> None:
        # TypeError, as bool() of an async container: the object cannot
        # answer without I/O, which only awaiting it does.
        if self._unloaded is not None and self._unloaded[0]:
            raise TypeError(
                'CachedOrderedDict(...) was given dict_keys but not awaited, so it holds nothing yet; '
                'write "await CachedOrderedDict(...)" so that they are looked up'
            )

    def __repr__(self) -> str:
        if self._unloaded is not None and self._unloaded[0]:
            return f'<{type(self).__qualname__} key={self._hash.key!r}, not awaited: holds nothing yet>'
        return super().__repr__()

    def __del__(self) -> None:
        unloaded = getattr(self, '_unloaded', None)
        if unloaded is not None and unloaded[0]:
            warnings.warn(
                'CachedOrderedDict(...) with dict_keys was never awaited; nothing was looked up',
                RuntimeWarning,
                stacklevel=1,
            )

    def misses(self) -> frozenset[Any]:
        'The keys that were not cached and have not been set since.'
        self._check_loaded()
        return frozenset(self._misses)

    # Its contents are local, so bool(), == and every read need no Redis
    # once loaded; before that, an empty dict would be a silent wrong answer
    # (the reads are refused below the class).

    def __bool__(self) -> bool:
        self._check_loaded()
        return len(self) > 0

    def __eq__(self, other: object) -> bool:
        self._check_loaded()
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        self._check_loaded()
        return super().__ne__(other)

    def __setitem__(self, dict_key: Any, value: Any) -> None:
        raise TypeError(
            'CachedOrderedDict in the async API writes through to Redis: '
            'use "await d.setitem(key, value)" (or pottery_async.sync.CachedOrderedDict)'
        )

    async def setitem(self, dict_key: Any, value: Any) -> None:
        'd[key] = value, written through to Redis (unless value is the miss marker).  O(1)'
        self._check_loaded()
        if value is not self._SENTINEL:
            await self._hash.store({JSON.encode(dict_key): JSON.encode(value)})
            self._misses.discard(dict_key)
        collections.OrderedDict.__setitem__(self, dict_key, value)

    async def setdefault(self, dict_key: Any, default: Any = None) -> Any:
        """d[key] if it is set here; else the cached value, or default, stored if none.  O(1)

        A key missing here (or a miss) takes the hash's value if another
        process has cached one meanwhile; default is written only if none.
        """
        self._check_loaded()
        value = self.get(dict_key, self._SENTINEL)
        if value is not self._SENTINEL:
            return value
        encoded = await self._hash.store_default(JSON.encode(dict_key), JSON.encode(default))
        value = JSON.decode(encoded)
        self._misses.discard(dict_key)
        collections.OrderedDict.__setitem__(self, dict_key, value)
        return value

    async def update(  # type: ignore[override]
        self, arg: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (), /, **kwargs: Any,
    ) -> None:
        'Set the items of a mapping or iterable of pairs, and kwargs; one round trip to write them.  O(n)'
        self._check_loaded()
        pairs = arg.items() if isinstance(arg, collections.abc.Mapping) else arg
        items: list[tuple[Any, Any]] = [*pairs, *kwargs.items()]
        encode = JSON.encode
        # Everything is encoded before anything changes, here or on Redis.
        to_cache = {encode(k): encode(v) for k, v in items if v is not self._SENTINEL}
        if to_cache:
            await self._hash.store(to_cache)
        for dict_key, value in items:
            if value is not self._SENTINEL:
                self._misses.discard(dict_key)
            collections.OrderedDict.__setitem__(self, dict_key, value)


    def copy(self) -> collections.OrderedDict[Any, Any]:  # type: ignore[override]
        'A plain OrderedDict of the same items: a snapshot, not tied to the Redis hash.  O(n)'
        self._check_loaded()
        return collections.OrderedDict(self)

    def __or__(self, other: Any) -> collections.OrderedDict[Any, Any]:  # type: ignore[override]
        'A plain OrderedDict of these items updated with ``other``\'s (see copy()).  O(n)'
        if not isinstance(other, dict):
            return NotImplemented
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other: Any) -> collections.OrderedDict[Any, Any]:  # type: ignore[override]
        'A plain OrderedDict of ``other``\'s items updated with these (see copy()).  O(n)'
        if not isinstance(other, dict):
            return NotImplemented
        self._check_loaded()
        merged = collections.OrderedDict(other)
        merged.update(self)
        return merged


def _loaded_first(name: str) -> Callable[..., Any]:
    'OrderedDict\'s method ``name``, refused (TypeError) until the dict is loaded.'
    method = getattr(collections.OrderedDict, name)

    @functools.wraps(method)
    def checked(self: CachedOrderedDict, /, *args: Any, **kwargs: Any) -> Any:
        self._check_loaded()
        return method(self, *args, **kwargs)

    return checked


# What reads (or changes locally) an OrderedDict: before the load it would
# see an empty dict.
for _name in (
    '__contains__', '__delitem__', '__getitem__', '__ior__', '__iter__', '__len__', '__reversed__', 'clear',
    'get', 'items', 'keys', 'move_to_end', 'pop', 'popitem', 'values',
):
    setattr(CachedOrderedDict, _name, _loaded_first(_name))
