"""RedisDict: a Redis hash that behaves like a dict.

Keys and values are stored JSON-encoded, as Pottery 3.x stores them.  The
async API names its coroutines after the dict protocol (``getitem``,
``setitem``, ``contains``, ``len``, ``eq``...); ``pottery_async.sync.RedisDict``
maps the protocol itself onto them.
"""

from __future__ import annotations

import collections.abc
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, TypeAlias, cast

from . import _clients
from ._base import (
    Container,
    Paged,
    Script,
    create_script,
    initializer,
    paged,
    redis_type,
    same_server,
    unwrap,
    warn_inefficient,
)
from ._codec import Codec, JSONTypes, encode_or_none
from .exceptions import KeyExistsError

InitArg: TypeAlias = 'Mapping[Any, Any] | Iterable[tuple[Any, Any]] | RedisDict'

_MISSING: Any = object()
_PAGE = 1000

# Write initial contents only if the key is new, in one atomic step.
_CREATE = create_script('HSET')

# Pop an arbitrary field and its value, atomically.  HRANDFIELD needs Redis 6.2.
_POPITEM = Script('''
local field = redis.call('HRANDFIELD', KEYS[1])
if not field then return false end
local value = redis.call('HGET', KEYS[1], field)
redis.call('HDEL', KEYS[1], field)
return {field, value}
''')


class RedisDict(Container):
    'A Redis hash that behaves like a dict.'

    _VAR = 'd'

    def __init__(
        self,
        arg: InitArg = (),
        *,
        redis: _clients.RedisArg = None,
        key: str = '',
        codec: Codec | None = None,
        **kwargs: JSONTypes,
    ) -> None:
        'Create the dict; initial contents are written when it is awaited.  O(n)'
        super().__init__(redis=redis, key=key, codec=codec)
        if arg or kwargs:
            source = unwrap(arg)
            if isinstance(source, RedisDict):
                # Another RedisDict is read when this one is awaited.
                self._unwritten = (source, kwargs)
            else:
                # Encode now: a value that cannot be stored fails here, and
                # nothing is written.
                self._unwritten = self._encode_items(source, kwargs)

    @redis_type('hash')
    @initializer
    async def _initialize(self, unwritten: Any) -> None:
        if isinstance(unwritten, tuple):
            source, kwargs = unwritten
            unwritten = self._encode_items(await source.to_dict(), kwargs)
        if len(unwritten) > 1:
            warn_inefficient()
        args = [part for item in unwritten.items() for part in item]
        if not await _CREATE(self._client, [self._key], args):
            raise KeyExistsError(self.redis, self._key)

    def _encode_items(self, arg: Any, kwargs: Mapping[str, Any]) -> dict[str | bytes, str | bytes]:
        encode = self._codec.encode
        items = arg.items() if isinstance(arg, collections.abc.Mapping) else arg
        encoded = {encode(k): encode(v) for k, v in items}
        for k, v in kwargs.items():
            encoded[encode(k)] = encode(v)
        return encoded

    # The dict protocol, as coroutines.

    @redis_type('hash')
    async def getitem(self, key: JSONTypes) -> JSONTypes:
        'd[key].  O(1)'
        encoded = await self._client.hget(self._key, self._codec.encode(key))  # Redis 2.0+
        if encoded is None:
            raise KeyError(key)
        value: JSONTypes = self._codec.decode(encoded)
        return value

    @redis_type('hash')
    async def setitem(self, key: JSONTypes, value: JSONTypes) -> None:
        'd[key] = value.  O(1)'
        encode = self._codec.encode
        await self._client.hset(self._key, encode(key), encode(value))  # Redis 2.0+

    @redis_type('hash')
    async def delitem(self, key: JSONTypes) -> None:
        'del d[key].  O(1)'
        if not await self._client.hdel(self._key, self._codec.encode(key)):  # Redis 2.0+
            raise KeyError(key)

    @redis_type('hash')
    async def contains(self, key: Any) -> bool:
        'key in d.  O(1)'
        encoded = encode_or_none(self._codec, key)
        if encoded is None:
            return False
        return bool(await self._client.hexists(self._key, encoded))  # Redis 2.0+

    @redis_type('hash')
    async def len(self) -> int:
        'len(d): the number of items.  O(1)'
        return int(await self._client.hlen(self._key))  # Redis 2.0+

    def __aiter__(self) -> Paged[JSONTypes]:
        'Iterate over the keys, a page of HSCAN at a time.  O(n)'
        return self.keys()

    @paged
    async def keys(self) -> AsyncIterator[list[JSONTypes]]:
        'The keys, a page of HSCAN at a time.  O(n)'
        warn_inefficient()
        decode = self._codec.decode
        async for page in self._scan():
            yield [decode(k) for k in page]

    @paged
    async def values(self) -> AsyncIterator[list[JSONTypes]]:
        'The values, a page of HSCAN at a time.  O(n)'
        decode = self._codec.decode
        async for page in self._scan():
            yield [decode(v) for v in page.values()]

    @paged
    async def items(self) -> AsyncIterator[list[tuple[JSONTypes, JSONTypes]]]:
        'The (key, value) pairs, a page of HSCAN at a time.  O(n)'
        decode = self._codec.decode
        async for page in self._scan():
            yield [(decode(k), decode(v)) for k, v in page.items()]

    async def _scan(self) -> AsyncIterator[dict[Any, Any]]:
        client = self._client
        cursor = 0
        while True:
            try:
                reply = await client.hscan(self._key, cursor, count=_PAGE)  # Redis 2.8+
            except Exception as error:
                if 'WRONGTYPE' in str(error):
                    raise await self._wrong_type('hash') from error
                raise
            cursor, page = cast(tuple[int, dict[Any, Any]], reply)
            if page:
                yield page
            if not cursor:
                return

    @redis_type('hash')
    async def eq(self, other: Any) -> bool:
        'd == other: the same items as another mapping.  O(n)'
        other = unwrap(other)
        if other is self:
            return True
        if isinstance(other, RedisDict) and other._key == self._key and same_server(self, other):
            return True
        if isinstance(other, RedisDict):
            warn_inefficient()
            theirs = await other._fetch()
        elif isinstance(other, collections.abc.Mapping):
            warn_inefficient()
            theirs = dict(other.items())
        else:
            return False
        return await self._fetch() == theirs

    # The rest of dict / MutableMapping.

    @redis_type('hash')
    async def get(self, key: JSONTypes, default: JSONTypes = None) -> JSONTypes:
        'd.get(key, default): d[key] if key is in d, else default.  O(1)'
        encoded_key = encode_or_none(self._codec, key)
        if encoded_key is None:
            return default
        encoded = await self._client.hget(self._key, encoded_key)
        if encoded is None:
            return default
        value: JSONTypes = self._codec.decode(encoded)
        return value

    @redis_type('hash')
    async def pop(self, key: JSONTypes, default: JSONTypes = _MISSING) -> JSONTypes:
        'Remove key and return its value, or default; KeyError if neither.  O(1)'
        encoded_key = self._codec.encode(key)

        async def hget_hdel(pipeline: _clients.AsyncPipeline) -> Any:
            pipeline.hget(self._key, encoded_key)
            pipeline.hdel(self._key, encoded_key)
            encoded, _ = await _clients.execute(pipeline)
            return encoded

        encoded = await _clients.transaction(self._client, self._key, hget_hdel)
        if encoded is not None:
            value: JSONTypes = self._codec.decode(encoded)
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    @redis_type('hash')
    async def popitem(self) -> tuple[JSONTypes, JSONTypes]:
        'Remove and return an arbitrary (key, value) pair; KeyError if empty.  O(1)'
        pair = await _POPITEM(self._client, [self._key], ())
        if not pair:
            raise KeyError('popitem(): dictionary is empty')
        decode = self._codec.decode
        return decode(pair[0]), decode(pair[1])

    @redis_type('hash')
    async def setdefault(self, key: JSONTypes, default: JSONTypes = None) -> JSONTypes:
        'd[key] if key is in d; else set d[key] = default and return it.  O(1)'
        encode = self._codec.encode
        encoded_key = encode(key)

        async def hsetnx_hget(pipeline: _clients.AsyncPipeline) -> Any:
            pipeline.hsetnx(self._key, encoded_key, encode(default))  # Redis 2.0+
            pipeline.hget(self._key, encoded_key)
            _, encoded = await _clients.execute(pipeline)
            return encoded

        encoded = await _clients.transaction(self._client, self._key, hsetnx_hget)
        value: JSONTypes = self._codec.decode(encoded)
        return value

    @redis_type('hash')
    async def update(self, arg: InitArg = (), /, **kwargs: JSONTypes) -> None:
        'Add the items of a mapping or iterable of pairs, and kwargs, in one step.  O(n)'
        source = unwrap(arg)
        if isinstance(source, RedisDict):
            source = await source._fetch()
        encoded = self._encode_items(source, kwargs)
        if len(encoded) > 1:
            warn_inefficient()
        if encoded:
            # One HSET: the server applies all fields or, if the command never
            # arrived whole, none of them.
            await self._client.hset(self._key, mapping=encoded)  # type: ignore[arg-type]

    @redis_type('hash')
    async def to_dict(self) -> dict[JSONTypes, JSONTypes]:
        'A plain dict with the same items, in one round trip.  O(n)'
        result = await self._fetch()
        if result:
            warn_inefficient()
        return result

    async def _fetch(self) -> dict[JSONTypes, JSONTypes]:
        decode = self._codec.decode
        encoded = await self._client.hgetall(self._key)  # Redis 2.0+
        return {decode(k): decode(v) for k, v in encoded.items()}

    @redis_type('hash')
    async def repr(self) -> str:
        "Pottery's repr, e.g. RedisDict{'jack': 4098}.  O(n)"
        return f'{type(self).__qualname__}{await self._fetch()}'
