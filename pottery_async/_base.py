"""What every container shares: client, key, codec, errors, paging, cleanup.

I/O-free except for the few coroutines every container has (``clear``) and
the helpers that run a Lua script or a WATCH/MULTI/EXEC transaction.
"""

from __future__ import annotations

import asyncio
import collections.abc
import functools
import hashlib
import inspect
import itertools
import json
import logging
import os
import sys
import uuid
import warnings
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterable
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import redis.asyncio as redis_asyncio
from redis.crc import key_slot
from redis.exceptions import NoScriptError, ResponseError

from . import _bridge, _clients
from ._codec import JSON, Codec
from .exceptions import InefficientAccessWarning, WrongTypeError, server_address

T = TypeVar('T')
P = ParamSpec('P')
C = TypeVar('C', bound='Container')

logger = logging.getLogger('pottery_async')
logger.addHandler(logging.NullHandler())

RANDOM_KEY_PREFIX = 'pottery:'
_PACKAGE_DIR = os.path.dirname(__file__)
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)
# Keep references to cleanup tasks until they finish; the loop only keeps
# weak ones.
_background: set[asyncio.Task[Any]] = set()


class SyncTwin:
    'Marker base of the generated sync classes, which wrap a core object.'

    __slots__ = ()
    _core: Any


def warn_inefficient() -> None:
    """Issue InefficientAccessWarning at the user's line of code.

    The warning is raised deep in the core, maybe under the bridge's event
    loop; it is attributed to the first frame outside this package and
    asyncio, which is the line that asked for the O(n) operation.
    """
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith((_PACKAGE_DIR, _ASYNCIO_DIR)):
        frame = frame.f_back
        level += 1
    warnings.warn(InefficientAccessWarning.__doc__ or '', InefficientAccessWarning, stacklevel=level)


def unwrap(obj: Any) -> Any:
    'The core object behind a sync twin; anything else as it is.'
    return obj._core if isinstance(obj, SyncTwin) else obj


def is_container(obj: Any) -> bool:
    'Whether ``obj`` (unwrapped) is read with ``async for``: a container of either API.'
    return hasattr(unwrap(obj), '__aiter__')


async def values_of(obj: Any) -> list[Any]:
    'The values of an iterable, or of a container of either API (read from Redis).'
    source = unwrap(obj)
    if hasattr(source, '__aiter__'):
        return [value async for value in source]
    return list(source)


def require_coroutine_function(func: object, decorator: str) -> None:
    'TypeError unless ``func`` is a coroutine function (what the async API decorates).'
    if not inspect.iscoroutinefunction(func):
        raise TypeError(
            f'{decorator} in the async API decorates coroutine functions (async def), '
            f'not {func!r}; pottery_async.sync decorates plain functions'
        )


def require_plain_function(func: object, decorator: str) -> None:
    'TypeError unless ``func`` is a plain callable (what the sync API decorates).'
    if not callable(func) or inspect.iscoroutinefunction(func):
        raise TypeError(
            f'{decorator} in the sync API decorates plain functions, not {func!r}; '
            'pottery_async decorates coroutine functions'
        )


class PotteryEncoder(json.JSONEncoder):
    'A JSON encoder that also encodes sync containers, by their contents.'

    def default(self, o: Any) -> Any:
        if isinstance(o, SyncTwin):
            for name in ('to_dict', 'to_list', 'to_set', 'to_counter'):
                convert = getattr(o, name, None)
                if convert is not None:
                    contents = convert()
                    # JSON has no sets: a RedisSet becomes an array.
                    return list(contents) if isinstance(contents, set) else contents
        return super().default(o)


class Paged(AsyncIterator[T]):
    """An async iterator over items that arrive in pages (SCAN, LRANGE, ...).

    ``async for`` sees items; the sync layer pulls ``pages`` so that each
    bridge call brings a whole page, never a single item.
    """

    __slots__ = ('_index', '_page', 'pages')

    def __init__(self, pages: AsyncIterator[list[T]]) -> None:
        self.pages = pages
        self._page: list[T] = []
        self._index = 0

    def __aiter__(self) -> Paged[T]:
        return self

    async def __anext__(self) -> T:
        while self._index >= len(self._page):
            self._page = await self.pages.__anext__()
            self._index = 0
        item = self._page[self._index]
        self._index += 1
        return item


def paged(
    method: Callable[P, AsyncIterator[list[T]]],
) -> Callable[P, Paged[T]]:
    'Turn an async generator of pages into a method returning a Paged iterator.'

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Paged[T]:
        return Paged(method(*args, **kwargs))

    return wrapper


def redis_type(
    expected: str,
) -> Callable[
    [Callable[Concatenate[C, P], Coroutine[Any, Any, T]]],
    Callable[Concatenate[C, P], Coroutine[Any, Any, T]],
]:
    """Turn Redis' WRONGTYPE reply into a WrongTypeError naming both types."""

    def decorate(
        method: Callable[Concatenate[C, P], Coroutine[Any, Any, T]],
    ) -> Callable[Concatenate[C, P], Coroutine[Any, Any, T]]:
        @functools.wraps(method)
        async def wrapper(self: C, /, *args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await method(self, *args, **kwargs)
            except ResponseError as error:
                if 'WRONGTYPE' not in str(error):
                    raise
                raise await self._wrong_type(expected) from error

        return wrapper

    return decorate


def initializer(
    write: Callable[[C, Any], Coroutine[Any, Any, None]],
) -> Callable[[C], Coroutine[Any, Any, None]]:
    """Make ``write(self, contents)`` a container's ``_initialize`` (what awaiting it runs).

    ``_initialize`` hands ``write`` the initial contents the constructor
    kept, once, and does nothing when there are none.  If the write fails,
    the container gives up its temporary key: it is not deleted when the
    container is collected.
    """

    @functools.wraps(write)
    async def initialize(self: C) -> None:
        unwritten, self._unwritten = self._unwritten, None
        if unwritten is None:
            return
        try:
            await write(self, unwritten)
        except BaseException:
            self._temporary = False
            raise

    return initialize


class Script:
    'A Lua script run by EVALSHA, loaded on first use on each server.'

    __slots__ = ('sha', 'source')

    def __init__(self, source: str) -> None:
        self.source = source
        # SHA-1 is what EVALSHA names scripts by, not a security measure.
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def __call__(self, client: _clients.AsyncClient, keys: list[str], args: Iterable[Any]) -> Any:
        argv = list(args)
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *argv)
        except NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *argv)


def create_script(command: str) -> Script:
    """A script that writes ARGV on KEYS[1] with ``command`` (HSET, SADD) only if the key is new.

    One atomic step, which returns 1 if it wrote and 0 if the key existed.
    ``command`` takes the values in slices: Lua's unpack() stops at about
    8000 values.
    """
    return Script(f'''
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 1, #ARGV, 7000 do
  redis.call('{command}', KEYS[1], unpack(ARGV, i, math.min(i + 6999, #ARGV)))
end
return 1
''')


class Container:
    'Base class of the Redis-backed containers.'

    _REDIS_TYPE = ''

    def __init__(
        self,
        *,
        redis: _clients.RedisArg = None,
        key: str = '',
        codec: Codec | None = None,
    ) -> None:
        self._redis = redis
        self._temporary = False
        if key:
            self._key = key
        else:
            # A UUID4 cannot realistically collide, so the key is chosen
            # without asking the server (constructors do no I/O).
            self._key = f'{RANDOM_KEY_PREFIX}{uuid.uuid4()}'
            self._adopt_temporary_key()
        # A forked child leaves its parent's temporary keys alone.
        self._pid = os.getpid()
        self._codec = codec or JSON
        # Initial contents given to the constructor, encoded, until awaited.
        self._unwritten: Any = None

    def _adopt_temporary_key(self) -> None:
        'Treat the (random) key as this object\'s own: deleted when the object is.'
        self._temporary = True
        logger.info('Self-assigning tmp key <%s key=%r>', type(self).__qualname__, self._key)
        if not isinstance(self._redis, (redis_asyncio.Redis, redis_asyncio.RedisCluster)):
            # The sync API's: deleted when collected, or at exit.
            _temporaries.add(self)
            _bridge.start_background()

    @property
    def redis(self) -> _clients.RedisArg:
        'The client (or URL) this container was given; None for the default.'
        return self._redis

    @property
    def key(self) -> str:
        'The Redis key that holds this container.'
        return self._key

    @property
    def _client(self) -> _clients.AsyncClient:
        if self._unwritten is not None:
            raise RuntimeError(
                f'{type(self).__name__}(...) was given initial contents but not awaited; '
                f'write "await {type(self).__name__}(...)" so they are stored'
            )
        return _clients.resolve(self._redis)

    def __await__(self) -> Generator[Any, None, Self]:
        'await Container(...): write the initial contents, if any, and return the container.'
        # The container is returned here, not by _initialize(): a finished
        # task can sit in a reference cycle until the next collection, and
        # must not keep the container (and its temporary key) alive.
        initialize = getattr(self, '_initialize', None)
        if initialize is not None:
            yield from initialize().__await__()
        return self

    def __del__(self) -> None:
        if getattr(self, '_unwritten', None) is not None:
            warnings.warn(
                f'{type(self).__name__}(...) with initial contents was never awaited; '
                'its contents were not written',
                RuntimeWarning,
                stacklevel=1,
            )
        if getattr(self, '_temporary', False) and getattr(self, '_pid', None) == os.getpid():
            discard_later(self._redis, *self._all_keys())

    def __repr__(self) -> str:
        return f'<{type(self).__qualname__} key={self._key!r}>'

    # Python's protocols cannot await, so the async API names a coroutine for
    # each (the table in the README).  len(x) and x[k] raise TypeError by
    # themselves, as these classes define neither; bool(x) and x == y would
    # silently answer "true" and "the same object" without asking Redis, so
    # they raise too, naming what to await.  __len__, __iter__ and
    # __contains__ stay undefined on purpose: an object defining them passes
    # isinstance(x, Sized / Iterable / Container) checks it cannot honour.

    # What the messages call an instance, and the coroutine giving its size.
    _VAR = 'x'
    _SIZE = 'len'

    def __bool__(self) -> bool:
        name = type(self).__name__
        raise TypeError(
            f'bool() cannot ask Redis for the size of an async {name}: '
            f'use "await {self._VAR}.{self._SIZE}()" (or pottery_async.sync.{name})'
        )

    # == and != with what no container equals (None, a number, a string...)
    # answer as Python does, through NotImplemented: x == None is False.

    def __eq__(self, other: object) -> bool:
        if not _compares_by_contents(other):
            return NotImplemented
        raise self._cannot_compare('==', '', '"is" for the same object')

    def __ne__(self, other: object) -> bool:
        if not _compares_by_contents(other):
            return NotImplemented
        raise self._cannot_compare('!=', 'not ', '"is not" for another object')

    def _cannot_compare(self, operator: str, negation: str, instead: str) -> TypeError:
        'The error of ``x == y`` or ``x != y``, naming what to await instead.'
        name = type(self).__name__
        return TypeError(
            f'{operator} cannot ask Redis to compare an async {name}: '
            f'use "{negation}await {self._VAR}.eq(other)" (or {instead})'
        )

    # Hashable by identity, as before __eq__ was defined: applications key
    # dicts and sets by their containers.  Two live objects never share an
    # identity hash, so a set or dict of containers never calls __eq__.
    __hash__ = object.__hash__

    async def eq(self, other: Any) -> bool:
        'x == other: whether other is a container of this class on the same key and server.  O(1)'
        other = unwrap(other)
        if other is self:
            return True
        return type(other) is type(self) and other._key == self._key and same_server(self, other)

    def _all_keys(self) -> list[str]:
        'The keys this container writes: its own, and any companions (see companion()).'
        return [self._key]

    async def clear(self) -> None:
        'Remove every element.  O(n)'
        await self._client.unlink(*self._all_keys())  # Redis 4.0+

    async def _wrong_type(self, expected: str) -> WrongTypeError:
        try:
            found = await self._client.type(self._key)
        except Exception:
            found = ''
        if isinstance(found, bytes):
            found = found.decode()
        return WrongTypeError(self.redis, self._key, expected, found)


def _compares_by_contents(other: object) -> bool:
    'Whether a container may equal ``other``: another container, or a plain collection (not a string).'
    if isinstance(unwrap(other), Container):
        return True
    collection = (collections.abc.Mapping, collections.abc.Set, collections.abc.Sequence)
    return isinstance(other, collection) and not isinstance(other, (str, bytes, bytearray))


def cancel_requests() -> int:
    """How many cancellations of the current task are pending (see raise_if_cancelled())."""
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


def raise_if_cancelled(since: int) -> None:
    """Raise CancelledError if the current task was cancelled after ``since`` (a cancel_requests()).

    redis-py can swallow a cancellation: on Python 3.11 its sends go through
    asyncio.wait_for, which returns a result that arrived with the cancel
    instead of raising.  The task then runs on with cancelling() raised; a
    wait loop that checks this at each turn ends as it was asked to.
    """
    if cancel_requests() > since:
        raise asyncio.CancelledError


@functools.lru_cache(maxsize=4096)
def companion(key: str, name: str) -> str:
    """The key of a structure's companion ``name``: it starts with ``key``, and is in its cluster hash slot.

    One ACL key pattern (``key*``) covers a structure and its companions,
    and a script can use them together on a cluster.  ``jobs`` gives
    ``jobs:taken{jobs}``; a key with a hash tag of its own keeps it
    (``{app}:jobs:taken``); a key whose braces make no tag gets a numeric
    suffix of the same slot (found by search, once per key).
    """
    opening = key.find('{')
    closing = key.find('}', opening + 1) if opening != -1 else -1
    if closing > opening + 1:
        return f'{key}:{name}'
    if key and '{' not in key and '}' not in key:
        return f'{key}:{name}{{{key}}}'
    # A suffix without braces leaves the whole key hashed: one in 16384
    # has the key's slot.
    slot = key_slot(key.encode())
    return next(
        candidate for i in itertools.count()
        if key_slot((candidate := f'{key}:{name}:{i}').encode()) == slot
    )


def same_server(a: Container, b: Container) -> bool:
    """Whether two containers talk to the same server and database.

    Their clients (of either API, or URLs) need not be the same objects:
    what counts is where they connect (host, port and db, or socket path
    and db), read from their settings, without I/O.  Sentinel-managed
    clients only match themselves.
    """
    if a._redis is b._redis:
        return True
    where = server_address(a._redis)
    # Sentinel-managed clients name a service, not the sentinels: two
    # deployments may both call theirs mymaster.
    return where is not None and not where.startswith('sentinel:') and where == server_address(b._redis)


def discard_later(redis_arg: _clients.RedisArg, *keys: str) -> None:
    """Delete a temporary container's keys now if that is safe, else soon (for __del__).

    The sync API's keys go now when the collecting thread is not inside a
    call (as Pottery deletes them), else on the background loop; the async
    API's from a task on the running loop.
    """

    async def unlink() -> None:
        await _clients.resolve(redis_arg).unlink(*keys)

    async_client = isinstance(redis_arg, (redis_asyncio.Redis, redis_asyncio.RedisCluster))
    loop = _bridge._get_running_loop()
    if async_client and loop is not None:
        loop.call_soon(_spawn, unlink)
        return
    if not async_client and _bridge.discard(unlink):
        return
    logger.warning('Left temporary keys %r on Redis: no event loop to delete them from', keys)


# The sync API's containers with temporary keys, deleted at exit if still
# alive then (module-level ones, say), as Pottery's are when the interpreter
# collects them.
_temporaries: weakref.WeakSet[Container] = weakref.WeakSet()


def _discard_temporaries() -> None:
    pid = os.getpid()
    keys: dict[int, tuple[_clients.RedisArg, list[str]]] = {}
    for container in list(_temporaries):
        if container._temporary and container._pid == pid:
            container._temporary = False
            keys.setdefault(id(container._redis), (container._redis, []))[1].extend(container._all_keys())

    async def unlink(redis_arg: _clients.RedisArg, names: list[str]) -> None:
        await _clients.resolve(redis_arg).unlink(*names)

    for redis_arg, names in keys.values():
        try:
            _bridge.run(unlink(redis_arg, names), _bridge.CLOSE_TIMEOUT)
        except Exception:
            logger.warning('Left %d temporary keys on Redis at exit', len(names), exc_info=True)


_bridge.before_exit(_discard_temporaries)


def _spawn(factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
    task = asyncio.ensure_future(factory())
    _background.add(task)
    task.add_done_callback(_background.discard)
