# Generated from pottery_async/cache.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
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

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from .. import _bridge, _clients
from .. import cache as _core
from .._base import SyncTwin, require_plain_function
from .._codec import JSONTypes
from ..cache import (
    _DEFAULT_TIMEOUT,
    _NUM_TRIES,
    _STAMPEDE_TIMEOUT,
    CachedFunction,
    CacheInfo,
    P,
    PlainFunction,
    R,
    _check_durations,
    _Entry,
    _entry_id,
    logger,
)


class _FunctionCache(SyncTwin):
    """The Redis side of one redis_cache()-decorated function.

    All the Redis logic of redis_cache() is here (its sync twin runs it on
    the bridge); the decorator around it only calls the function.
    """

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
        "The cache of one function (no I/O)."
        self._core: _core._FunctionCache = _core._FunctionCache(
            redis=redis,
            key=key,
            timeout=timeout,
            entry_ttl=entry_ttl,
            stampede_protection=stampede_protection,
            stampede_timeout=stampede_timeout,
        )

    @property
    def redis(self) -> _clients.RedisArg:
        "The client (or URL) this container was given; None for the default."
        return self._core.redis

    @property
    def key(self) -> str:
        "The Redis key that holds this container."
        return self._core.key

    def __eq__(self, other: Any) -> bool:
        "x == other: whether other is a container of this class on the same key and server.  O(1)"
        return _bridge.run(self._core.eq(other))

    def clear(self) -> None:
        "Delete every entry (for every process) and reset the hit and miss counts.  O(1)"
        _bridge.run(self._core.clear())

    def lookup(self, entry_id: str) -> _Entry:
        """The cached value for a call; on a miss, the caller must store() or abandon().

        With stampede protection, waits while another caller computes the
        value.  One round trip for a hit or a miss.
        """
        return _bridge.run(self._core.lookup(entry_id))

    def store(self, entry: _Entry, value: Any) -> None:
        """Cache a computed value and release the entry's lock.  One round trip.

        A value JSON cannot encode raises TypeError and stores nothing.
        """
        _bridge.run(self._core.store(entry, value))

    def abandon(self, entry: _Entry) -> None:
        """Release the lock of an entry whose computation failed, waking a waiter to compute it.

        Never raises a Redis error (it runs while another error is raised):
        a lock that cannot be released expires with its lease.
        """
        _bridge.run(self._core.abandon(entry))

    def info(self) -> CacheInfo:
        """Hits and misses in this process; currsize from the server.  O(1)

        With entry_ttl, currsize also counts expired entries not yet deleted
        (a lookup or a store deletes them).
        """
        return _bridge.run(self._core.info())


class CachedOrderedDict(_core.CachedOrderedDict):
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

    def __init__(
        self,
        *,
        redis_client: _clients.RedisArg = None,
        redis_key: str | None = None,
        dict_keys: Iterable[JSONTypes] = (),
        num_tries: int = _NUM_TRIES,
        timeout: float | None = _DEFAULT_TIMEOUT,
    ) -> None:
        "Look up dict_keys in the hash at redis_key when awaited (the sync constructor does).  O(n)"
        super().__init__(
            redis_client=redis_client,
            redis_key=redis_key,
            dict_keys=dict_keys,
            num_tries=num_tries,
            timeout=timeout,
        )
        _bridge.run(self._initialize())

    def __setitem__(self, dict_key: Any, value: Any) -> None:
        "d[key] = value, written through to Redis (unless value is the miss marker).  O(1)"
        _bridge.run(super().setitem(dict_key, value))

    def setdefault(self, dict_key: Any, default: Any = None) -> Any:
        """d[key] if it is set here; else the cached value, or default, stored if none.  O(1)

        A key missing here (or a miss) takes the hash's value if another
        process has cached one meanwhile; default is written only if none.
        """
        return _bridge.run(super().setdefault(dict_key, default))

    def update(self, arg: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        "Set the items of a mapping or iterable of pairs, and kwargs; one round trip to write them.  O(n)"
        _bridge.run(super().update(arg, **kwargs))


def redis_cache(
    *,
    redis: _clients.RedisArg = None,
    key: str | None = None,
    timeout: float | None = _DEFAULT_TIMEOUT,
    entry_ttl: float | None = None,
    stampede_protection: bool = False,
    stampede_timeout: float = _STAMPEDE_TIMEOUT,
) -> Callable[[PlainFunction[P, R]], CachedFunction[P, R]]:
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

    def decorator(func: PlainFunction[P, R]) -> CachedFunction[P, R]:
        require_plain_function(func, "redis_cache()")
        cache = _FunctionCache(
            redis=redis,
            key=key,
            timeout=timeout,
            entry_ttl=entry_ttl,
            stampede_protection=stampede_protection,
            stampede_timeout=stampede_timeout,
        )
        if key is None:
            logger.warning("redis_cache(): no key given; caching %s() under %r", func.__qualname__, cache.key)

        @functools.wraps(func)
        def cached(*args: P.args, **kwargs: P.kwargs) -> R:
            entry = cache.lookup(_entry_id(args, kwargs))
            if entry.hit:
                return cast(R, entry.value)
            try:
                value = func(*args, **kwargs)
            except BaseException:
                cache.abandon(entry)
                raise
            cache.store(entry, value)
            return value

        @functools.wraps(func)
        def bypass(*args: P.args, **kwargs: P.kwargs) -> R:
            entry = _Entry(_entry_id(args, kwargs), False)
            value = func(*args, **kwargs)
            cache.store(entry, value)
            return value

        def cache_info() -> CacheInfo:
            return cache.info()

        def cache_clear() -> None:
            cache.clear()

        cached.__dict__.update(__bypass__=bypass, cache_info=cache_info, cache_clear=cache_clear)
        return cast(CachedFunction[P, R], cached)

    return decorator
