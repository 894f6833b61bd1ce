"""RedisList: a Redis list that behaves like a Python list.

Each element is one element of a Redis list, stored JSON-encoded, as Pottery
3.x stores it.  The async API names its coroutines after the list protocol
(``getitem``, ``setitem``, ``delitem``, ``contains``, ``len``, ``eq``,
``plus`` for ``+``, ``mul`` for ``*``...); ``pottery_async.sync.RedisList``
maps the protocol itself onto them.

Every change is one command or one Lua script, so it is atomic: indexes are
resolved on the server, against the list as it is when the change runs.
Elements compare by their encoding on the server (``in``, ``index``,
``count``, ``remove``): ``1`` and ``1.0`` are different elements there, as
they are different keys of a RedisDict.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any, Self

from redis.exceptions import WatchError

from . import _clients
from ._base import Container, Paged, Script, paged, redis_type, same_server, unwrap, warn_inefficient
from ._codec import Codec, JSONTypes
from .exceptions import KeyExistsError

_PAGE = 1000
# Lua numbers are doubles, exact up to 2**53: indexes are clamped to that
# before they are sent, which changes nothing (no list gets that long).
_BOUND = 2**53

# Lua helpers shared by the scripts below.  Lua's unpack() stops at about
# 8000 values, so pushes go in slices of 7000.
_LUA = '''
local function rpush_all(key, items)
  for i = 1, #items, 7000 do
    redis.call('RPUSH', key, unpack(items, i, math.min(i + 6999, #items)))
  end
end

-- Push items to the head of the list, keeping their order.
local function lpush_all(key, items)
  local i = #items
  while i >= 1 do
    local first = math.max(1, i - 6999)
    local chunk = {}
    for j = i, first, -1 do chunk[#chunk + 1] = items[j] end
    redis.call('LPUSH', key, unpack(chunk))
    i = first - 1
  end
end

-- Replace elements lo .. hi - 1 of a list of n elements with items,
-- rewriting whichever side of that span is shorter.
local function replace(key, n, lo, hi, items)
  if n - hi <= lo then
    local tail = redis.call('LRANGE', key, hi, -1)
    if lo == 0 then redis.call('DEL', key) else redis.call('LTRIM', key, 0, lo - 1) end
    rpush_all(key, items)
    rpush_all(key, tail)
  else
    local head = {}
    if lo > 0 then head = redis.call('LRANGE', key, 0, lo - 1) end
    redis.call('LTRIM', key, hi, -1)
    lpush_all(key, items)
    lpush_all(key, head)
  end
end

-- Python's slice.indices(n) for one bound ('' when omitted).
local function bound(value, n, step, default)
  if value == '' then return default end
  local i = tonumber(value)
  if i < 0 then
    i = i + n
    if i < 0 then
      if step < 0 then i = -1 else i = 0 end
    end
  elseif i >= n then
    if step < 0 then i = n - 1 else i = n end
  end
  return i
end

local function indices(n, start, stop, step)
  if step < 0 then return bound(start, n, step, n - 1), bound(stop, n, step, -1) end
  return bound(start, n, step, 0), bound(stop, n, step, n)
end

-- len(range(start, stop, step))
local function count(start, stop, step)
  if step > 0 then
    if start < stop then return math.floor((stop - start - 1) / step) + 1 end
  elseif stop < start then
    return math.floor((start - stop - 1) / -step) + 1
  end
  return 0
end
'''

# Write initial contents only if the key is new, in one atomic step.
_CREATE = Script(_LUA + '''
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
rpush_all(KEYS[1], ARGV)
return 1
''')

# {length, element at ARGV[1] or nil}
_GET_INDEX = Script('''
return {redis.call('LLEN', KEYS[1]), redis.call('LINDEX', KEYS[1], ARGV[1])}
''')

# l[start:stop:step] (ARGV: start, stop, step; '' for None)
_GET_SLICE = Script(_LUA + '''
local key = KEYS[1]
local step = tonumber(ARGV[3])
local start, stop = indices(redis.call('LLEN', key), ARGV[1], ARGV[2], step)
local k = count(start, stop, step)
if k == 0 then return {} end
local last = start + (k - 1) * step
local out = {}
if step > 0 then
  local span = redis.call('LRANGE', key, start, last)
  if step == 1 then return span end
  for i = 1, #span, step do out[#out + 1] = span[i] end
else
  local span = redis.call('LRANGE', key, last, start)
  for i = #span, 1, step do out[#out + 1] = span[i] end
end
return out
''')

# l[i] = value (ARGV: i, value); the length, or -1 if i is out of range.
_SET_INDEX = Script('''
local n = redis.call('LLEN', KEYS[1])
local i = tonumber(ARGV[1])
if i < 0 then i = i + n end
if i < 0 or i >= n then return -1 end
redis.call('LSET', KEYS[1], i, ARGV[2])
return n
''')

# Remove and return the element at index ARGV[1]: {length, element or nil}.
# A middle element is overwritten with a unique sentinel (ARGV[2]) that LREM
# then removes, scanning from the nearer end.
_DELETE_AT = Script('''
local key = KEYS[1]
local n = redis.call('LLEN', key)
local i = tonumber(ARGV[1])
if i < 0 then i = i + n end
if i < 0 or i >= n then return {n, false} end
local value
if i == 0 then
  value = redis.call('LPOP', key)
elseif i == n - 1 then
  value = redis.call('RPOP', key)
else
  value = redis.call('LINDEX', key, i)
  redis.call('LSET', key, i, ARGV[2])
  if i < n / 2 then redis.call('LREM', key, 1, ARGV[2]) else redis.call('LREM', key, -1, ARGV[2]) end
end
return {n, value}
''')

# Slice assignment and deletion.  ARGV: start, stop, step ('' for None),
# 'set' or 'del', maxlen ('' for none), the new elements.  Returns {0, 0} when
# done, {1, size} when an extended slice of that size got the wrong number of
# elements, {2, 0} when the result would exceed maxlen; nothing is written
# in the last two cases.
_SPLICE = Script(_LUA + '''
local key = KEYS[1]
local n = redis.call('LLEN', key)
local step = tonumber(ARGV[3])
local start, stop = indices(n, ARGV[1], ARGV[2], step)
local maxlen = tonumber(ARGV[5])
local values = {}
for i = 6, #ARGV do values[#values + 1] = ARGV[i] end
if step == 1 then
  if stop < start then stop = start end
  if maxlen and n - (stop - start) + #values > maxlen then return {2, 0} end
  if stop > start or #values > 0 then replace(key, n, start, stop, values) end
  return {0, 0}
end
local k = count(start, stop, step)
if ARGV[4] == 'set' and #values ~= k then return {1, k} end
if k == 0 then return {0, 0} end
local lo, hi = start, start + (k - 1) * step
if step < 0 then lo, hi = hi, lo end
local span = redis.call('LRANGE', key, lo, hi)
if ARGV[4] == 'set' then
  for j = 1, k do span[start + (j - 1) * step - lo + 1] = values[j] end
  replace(key, n, lo, hi + 1, span)
else
  local width = math.abs(step)
  local kept = {}
  for i = 1, #span do
    if (i - 1) % width ~= 0 then kept[#kept + 1] = span[i] end
  end
  replace(key, n, lo, hi + 1, kept)
end
return {0, 0}
''')

# Insert ARGV[2] before index ARGV[1], as list.insert() does.  ARGV[3]: a
# unique sentinel; ARGV[4]: maxlen ('' for none).  Returns {length before,
# index used}, or -1 if the list is already at maxlen.  A middle insert
# marks the pivot with the sentinel, inserts before it and restores it.
_INSERT = Script('''
local key = KEYS[1]
local n = redis.call('LLEN', key)
local maxlen = tonumber(ARGV[4])
if maxlen and n >= maxlen then return -1 end
local i = tonumber(ARGV[1])
if i < 0 then i = math.max(i + n, 0) elseif i > n then i = n end
if i == 0 then
  redis.call('LPUSH', key, ARGV[2])
elseif i == n then
  redis.call('RPUSH', key, ARGV[2])
else
  local pivot = redis.call('LINDEX', key, i)
  redis.call('LSET', key, i, ARGV[3])
  redis.call('LINSERT', key, 'BEFORE', ARGV[3], ARGV[2])
  redis.call('LSET', key, i + 1, pivot)
end
return {n, i}
''')

# The first index of ARGV[1] in l[start:stop] (ARGV[2], ARGV[3]; '' for
# None), scanning a page at a time; -1 if absent.
_INDEX = Script('''
local key = KEYS[1]
local n = redis.call('LLEN', key)
local start = tonumber(ARGV[2])
if start < 0 then start = math.max(start + n, 0) end
local stop = n
if ARGV[3] ~= '' then
  stop = tonumber(ARGV[3])
  if stop < 0 then stop = math.max(stop + n, 0) elseif stop > n then stop = n end
end
local i = start
while i < stop do
  local last = math.min(i + 999, stop - 1)
  local page = redis.call('LRANGE', key, i, last)
  for j = 1, #page do
    if page[j] == ARGV[1] then return i + j - 1 end
  end
  i = last + 1
end
return -1
''')

_COUNT = Script('''
return #redis.call('LPOS', KEYS[1], ARGV[1], 'COUNT', 0)
''')

# LPUSH of the elements in order reverses them.
_REVERSE = Script('''
local items = redis.call('LRANGE', KEYS[1], 0, -1)
if #items < 2 then return #items end
redis.call('DEL', KEYS[1])
for i = 1, #items, 7000 do
  redis.call('LPUSH', KEYS[1], unpack(items, i, math.min(i + 6999, #items)))
end
return #items
''')

# SORT ... STORE sorts numbers on the server.  It would also turn a set or
# sorted set into a list, so the type is checked first.  Returns 1 when the
# elements are not all numbers (nothing changed), else 0.
_SORT = Script('''
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then return 0 end
if kind ~= 'list' then
  return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value')
end
local reply
if ARGV[1] == '1' then
  reply = redis.pcall('SORT', KEYS[1], 'DESC', 'STORE', KEYS[1])
else
  reply = redis.pcall('SORT', KEYS[1], 'STORE', KEYS[1])
end
if type(reply) == 'table' and reply.err then return 1 end
return 0
''')

# l *= ARGV[1], the result trimmed to the last ARGV[2] elements if given.
_REPEAT = Script(_LUA + '''
local key = KEYS[1]
local n = redis.call('LLEN', key)
local times = tonumber(ARGV[1])
local maxlen = tonumber(ARGV[2])
if n == 0 or times == 1 then return n end
if times <= 0 then
  redis.call('DEL', key)
  return 0
end
if maxlen then
  -- The result repeats with period n: enough copies to fill maxlen will do.
  times = math.min(times, math.floor(maxlen / n) + 2)
end
local items = redis.call('LRANGE', key, 0, -1)
for t = 2, times do rpush_all(key, items) end
if maxlen then
  if maxlen == 0 then redis.call('DEL', key) else redis.call('LTRIM', key, -maxlen, -1) end
end
return n
''')

# Delete the key, unless it holds something other than a list.
_CLEAR = Script('''
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'list' and kind ~= 'none' then
  return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value')
end
return redis.call('UNLINK', KEYS[1])
''')

# The elements, or nil if there are not exactly ARGV[1] of them.
_FETCH_IF_LENGTH = Script('''
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return false end
return redis.call('LRANGE', KEYS[1], 0, -1)
''')

# Push at either end and trim to maxlen, atomically, so that writers at both
# ends never leave more than maxlen elements.  ARGV: 'L' or 'R', maxlen, the
# elements.
_PUSH_BOUNDED = Script('''
local key = KEYS[1]
local maxlen = tonumber(ARGV[2])
local command = 'RPUSH'
if ARGV[1] == 'L' then command = 'LPUSH' end
for i = 3, #ARGV, 7000 do
  redis.call(command, key, unpack(ARGV, i, math.min(i + 6999, #ARGV)))
end
if maxlen == 0 then
  redis.call('LTRIM', key, 1, 0)
elseif command == 'RPUSH' then
  redis.call('LTRIM', key, -maxlen, -1)
else
  redis.call('LTRIM', key, 0, maxlen - 1)
end
''')


def _clamp(index: int) -> int:
    return max(-_BOUND, min(index, _BOUND))


def _sentinel() -> str:
    # Not JSON, so not anything the default codec writes; unique per call.
    return f'pottery_async sentinel {uuid.uuid4()}'


class RedisList(Container):
    'A Redis list that behaves like a Python list.'

    _VAR = 'l'

    # The Python type this class stands in for (named in error messages),
    # and the plain sequences that can compare equal to it (Pottery's rule).
    _KIND = 'list'
    _PLAIN: type[Iterable[Any]] = list
    # RedisDeque's bound; a RedisList has none.
    _maxlen: int | None = None

    def __init__(
        self,
        iterable: Iterable[JSONTypes] | AsyncIterable[JSONTypes] = (),
        *,
        redis: _clients.RedisArg = None,
        key: str = '',
        codec: Codec | None = None,
    ) -> None:
        'Create the list; initial contents are written when it is awaited.  O(n)'
        super().__init__(redis=redis, key=key, codec=codec)
        source = unwrap(iterable)
        if isinstance(source, RedisList) or hasattr(source, '__aiter__'):
            # Read (and encoded) when this one is awaited.
            self._unwritten = (source,)
        elif iterable:
            # Encode now: an element that cannot be stored fails here, and
            # nothing is written.
            encode = self._codec.encode
            self._unwritten = [encode(value) for value in source]

    @redis_type('list')
    async def _initialize(self) -> None:
        unwritten, self._unwritten = self._unwritten, None
        if unwritten is None:
            return
        try:
            if isinstance(unwritten, tuple):
                (source,) = unwritten
                unwritten = await self._encode_all(source)
                if isinstance(source, RedisList) and not unwritten:
                    # An empty list given as contents is no contents (Pottery).
                    return
            if len(unwritten) > 1:
                warn_inefficient()
            if not await _CREATE(self._client, [self._key], self._fit(unwritten)):
                raise KeyExistsError(self.redis, self._key)
        except BaseException:
            self._temporary = False
            raise

    # Helpers, I/O-free or shared.

    def _fit(self, encoded: list[Any]) -> list[Any]:
        'The elements that remain after adding encoded at the right end of nothing.'
        maxlen = self._maxlen
        if maxlen is None or len(encoded) <= maxlen:
            return encoded
        return encoded[len(encoded) - maxlen:]

    def _new(self) -> Self:
        'An empty container like this one, on a random key.'
        return type(self)(redis=self._redis, codec=self._codec)

    async def _new_with(self, encoded: list[Any]) -> Self:
        new = self._new()
        encoded = self._fit(encoded)
        if encoded:
            await _CREATE(new._client, [new._key], encoded)
        return new

    def _index(self, index: Any) -> int:
        try:
            return operator.index(index)
        except TypeError:
            raise TypeError(
                f'{self._KIND} indices must be integers or slices, not {type(index).__name__}'
            ) from None

    @staticmethod
    def _slice_args(index: slice) -> list[Any]:
        try:
            step = 1 if index.step is None else operator.index(index.step)
            bounds = ['' if b is None else _clamp(operator.index(b)) for b in (index.start, index.stop)]
        except TypeError:
            raise TypeError('slice indices must be integers or None or have an __index__ method') from None
        if step == 0:
            raise ValueError('slice step cannot be zero')
        return [*bounds, _clamp(step)]

    async def _encode_all(self, values: Any) -> list[Any]:
        'The encoded elements of an iterable, async iterable or container.'
        source = unwrap(values)
        encode = self._codec.encode
        if isinstance(source, RedisList):
            encoded: list[Any] = await source._fetch_encoded()
            if source._codec is self._codec:
                return encoded
            decode = source._codec.decode
            return [encode(decode(item)) for item in encoded]
        if hasattr(source, '__aiter__'):
            return [encode(value) async for value in source]
        return [encode(value) for value in source]

    @redis_type('list')
    async def _fetch_encoded(self) -> list[Any]:
        return await self._client.lrange(self._key, 0, -1)  # Redis 1.0+

    async def _fetch(self) -> list[JSONTypes]:
        decode = self._codec.decode
        return [decode(item) for item in await self._fetch_encoded()]

    @redis_type('list')
    async def _range(self, start: int, stop: int) -> list[Any]:
        return await self._client.lrange(self._key, start, stop)  # Redis 1.0+

    # The list protocol, as coroutines.

    @redis_type('list')
    async def getitem(self, index: int | slice) -> Any:
        'l[index]; l[start:stop:step] returns a plain list.  O(n)'
        decode = self._codec.decode
        if isinstance(index, slice):
            warn_inefficient()
            encoded = await _GET_SLICE(self._client, [self._key], self._slice_args(index))
            return [decode(item) for item in encoded]
        i = _clamp(self._index(index))
        if i in (0, -1):
            encoded = await self._client.lindex(self._key, i)  # Redis 1.0+
        else:
            length, encoded = await _GET_INDEX(self._client, [self._key], [i])
            if i != length - 1:
                warn_inefficient()
        if encoded is None:
            raise IndexError(f'{self._KIND} index out of range')
        return decode(encoded)

    @redis_type('list')
    async def setitem(self, index: int | slice, value: Any) -> None:
        'l[index] = value; l[start:stop:step] = iterable.  O(n)'
        if isinstance(index, slice):
            warn_inefficient()
            args = self._slice_args(index)
            if not isinstance(unwrap(value), Iterable | AsyncIterable):
                raise TypeError('can only assign an iterable')
            encoded = await self._encode_all(value)
            maxlen = '' if self._maxlen is None else self._maxlen
            status, size = await _SPLICE(self._client, [self._key], [*args, 'set', maxlen, *encoded])
            if status == 1:
                raise ValueError(
                    f'attempt to assign sequence of size {len(encoded)} to extended slice of size {size}'
                )
            if status == 2:
                raise IndexError(f'{type(self).__name__} would exceed its maximum size')
            return
        i = _clamp(self._index(index))
        length = await _SET_INDEX(self._client, [self._key], [i, self._codec.encode(value)])
        if length < 0:
            raise IndexError(f'{self._KIND} assignment index out of range')
        if i not in (0, -1, length - 1):
            warn_inefficient()

    @redis_type('list')
    async def delitem(self, index: int | slice) -> None:
        'del l[index]; del l[start:stop:step].  O(n)'
        if isinstance(index, slice):
            warn_inefficient()
            await _SPLICE(self._client, [self._key], [*self._slice_args(index), 'del', ''])
            return
        i = _clamp(self._index(index))
        length, encoded = await _DELETE_AT(self._client, [self._key], [i, _sentinel()])
        if encoded is None:
            raise IndexError(f'{self._KIND} assignment index out of range')
        if i not in (0, -1, length - 1):
            warn_inefficient()

    @redis_type('list')
    async def contains(self, value: Any) -> bool:
        'value in l.  O(n)'
        try:
            encoded: Any = self._codec.encode(value)
        except TypeError:
            return False
        warn_inefficient()
        return await self._client.lpos(self._key, encoded) is not None  # Redis 6.0.6+

    @redis_type('list')
    async def len(self) -> int:
        'len(l): the number of elements.  O(1)'
        return int(await self._client.llen(self._key))  # Redis 1.0+

    def __aiter__(self) -> Paged[JSONTypes]:
        'Iterate over the elements, a page of LRANGE at a time.  O(n)'
        return Paged(self._pages())

    async def _pages(self) -> AsyncIterator[list[JSONTypes]]:
        warn_inefficient()
        decode = self._codec.decode
        start = 0
        while True:
            page = await self._range(start, start + _PAGE - 1)
            if page:
                yield [decode(item) for item in page]
            if len(page) < _PAGE:
                return
            start += _PAGE

    @paged
    async def reversed(self) -> AsyncIterator[list[JSONTypes]]:
        'reversed(l): the elements from last to first, a page of LRANGE at a time.  O(n)'
        warn_inefficient()
        decode = self._codec.decode
        stop = -1
        while True:
            page = await self._range(stop - _PAGE + 1, stop)
            if page:
                yield [decode(item) for item in page[::-1]]
            if len(page) < _PAGE:
                return
            stop -= _PAGE

    @redis_type('list')
    async def eq(self, other: Any) -> bool:
        "l == other: the same elements as another of this class or a plain one (Pottery's rule).  O(n)"
        other = unwrap(other)
        if other is self:
            return True
        if isinstance(other, RedisList):
            if type(other) is not type(self):
                return False
            if other._key == self._key and same_server(self, other):
                return True
            theirs = await other._fetch()
        elif isinstance(other, self._PLAIN):
            theirs = list(other)
        else:
            return False
        encoded = await _FETCH_IF_LENGTH(self._client, [self._key], [len(theirs)])
        if encoded is None:
            return False
        warn_inefficient()
        decode = self._codec.decode
        return [decode(item) for item in encoded] == theirs

    async def _compare(self, other: Any, compare: Callable[[Any, Any], bool], symbol: str) -> bool:
        source = unwrap(other)
        if isinstance(source, RedisList) and type(source) is type(self):
            theirs = await source._fetch()
        elif isinstance(source, self._PLAIN):
            theirs = list(source)
        else:
            raise TypeError(
                f"'{symbol}' not supported between instances of "
                f"'{type(self).__name__}' and '{type(other).__name__}'"
            )
        warn_inefficient()
        return compare(await self._fetch(), theirs)

    @redis_type('list')
    async def lt(self, other: Any) -> bool:
        'l < other, comparing elements in order as lists do.  O(n)'
        return await self._compare(other, operator.lt, '<')

    @redis_type('list')
    async def le(self, other: Any) -> bool:
        'l <= other, comparing elements in order as lists do.  O(n)'
        return await self._compare(other, operator.le, '<=')

    @redis_type('list')
    async def gt(self, other: Any) -> bool:
        'l > other, comparing elements in order as lists do.  O(n)'
        return await self._compare(other, operator.gt, '>')

    @redis_type('list')
    async def ge(self, other: Any) -> bool:
        'l >= other, comparing elements in order as lists do.  O(n)'
        return await self._compare(other, operator.ge, '>=')

    @redis_type('list')
    async def plus(self, other: Iterable[JSONTypes]) -> Self:
        'l + other: a new container, on a random key, with the elements of both.  O(n)'
        warn_inefficient()
        theirs = await self._encode_all(other)
        return await self._new_with(await self._fetch_encoded() + theirs)

    @redis_type('list')
    async def iplus(self, values: Iterable[JSONTypes]) -> Self:
        'l += values: extend in place.  O(k)'
        await self.extend(values)
        return self

    def _times(self, n: Any) -> int:
        try:
            return operator.index(n)
        except TypeError:
            raise TypeError(f"can't multiply sequence by non-int of type '{type(n).__name__}'") from None

    @redis_type('list')
    async def mul(self, n: int) -> Self:
        'l * n: a new container, on a random key, with the elements repeated n times.  O(n)'
        times = self._times(n)
        warn_inefficient()
        encoded = await self._fetch_encoded()
        if encoded and self._maxlen is not None:
            # Only the last maxlen elements remain; the result has period len.
            times = min(times, self._maxlen // len(encoded) + 1)
        return await self._new_with(encoded * max(times, 0))

    @redis_type('list')
    async def rmul(self, n: int) -> Self:
        'n * l: as l * n.  O(n)'
        return await self.mul(n)

    @redis_type('list')
    async def imul(self, n: int) -> Self:
        'l *= n: repeat the elements in place.  O(n)'
        times = _clamp(self._times(n))
        if times != 1:
            warn_inefficient()
            maxlen = '' if self._maxlen is None else self._maxlen
            await _REPEAT(self._client, [self._key], [times, maxlen])
        return self

    @redis_type('list')
    async def repr(self) -> str:
        "Pottery's repr, e.g. RedisList[1, 4, 9].  O(n)"
        warn_inefficient()
        return f'{type(self).__qualname__}{await self._fetch()}'

    # The rest of list / MutableSequence.

    @redis_type('list')
    async def append(self, value: JSONTypes) -> None:
        'Add an element at the right end.  O(1)'
        encoded = self._codec.encode(value)
        if self._maxlen is None:
            await self._client.rpush(self._key, encoded)  # Redis 1.0+
        else:
            await _PUSH_BOUNDED(self._client, [self._key], ['R', self._maxlen, encoded])

    @redis_type('list')
    async def extend(self, values: Iterable[JSONTypes]) -> None:
        'Add the elements of an iterable at the right end, in one step.  O(k)'
        await self._push(await self._encode_all(values), 'R')

    async def _push(self, encoded: list[Any], end: str) -> None:
        maxlen = self._maxlen
        if maxlen is None:
            if encoded:
                push = self._client.lpush if end == 'L' else self._client.rpush
                await push(self._key, *encoded)  # Redis 1.0+
            return
        # Of what is pushed, only the last maxlen elements can remain.
        kept = encoded[len(encoded) - maxlen:] if len(encoded) > maxlen else encoded
        await _PUSH_BOUNDED(self._client, [self._key], [end, maxlen, *kept])

    @redis_type('list')
    async def insert(self, index: int, value: JSONTypes) -> None:
        'Insert value before index, as list.insert() does.  O(n)'
        i = _clamp(self._index(index))
        maxlen = '' if self._maxlen is None else self._maxlen
        reply = await _INSERT(self._client, [self._key], [i, self._codec.encode(value), _sentinel(), maxlen])
        if reply == -1:
            raise IndexError(f'{type(self).__name__} already at its maximum size')
        length, used = reply
        if 0 < used < length:
            warn_inefficient()

    @redis_type('list')
    async def pop(self, index: int | None = None) -> JSONTypes:
        'Remove and return the element at index (default: the last).  O(1) at either end, else O(n)'
        encoded: Any
        i = -1 if index is None else _clamp(self._index(index))
        if i == -1:
            encoded = await self._client.rpop(self._key)  # Redis 1.0+
        elif i == 0:
            encoded = await self._client.lpop(self._key)  # Redis 1.0+
        else:
            length, encoded = await _DELETE_AT(self._client, [self._key], [i, _sentinel()])
            if length and encoded is None:
                raise IndexError('pop index out of range')
            if encoded is not None and i != length - 1:
                warn_inefficient()
        if encoded is None:
            raise IndexError(f'pop from an empty {type(self).__name__}')
        value: JSONTypes = self._codec.decode(encoded)
        return value

    @redis_type('list')
    async def remove(self, value: JSONTypes) -> None:
        'Remove the first occurrence of value; ValueError if there is none.  O(n)'
        encoded: Any = self._codec.encode(value)
        warn_inefficient()
        if not await self._client.lrem(self._key, 1, encoded):  # Redis 1.0+
            name = type(self).__name__
            raise ValueError(f'{name}.remove(x): x not in {name}')

    @redis_type('list')
    async def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        'The first index of value in l[start:stop]; ValueError if it is not there.  O(n)'
        start = _clamp(operator.index(start))
        stop = None if stop is None else _clamp(operator.index(stop))
        found: Any
        try:
            encoded: Any = self._codec.encode(value)
        except TypeError:
            found = None
        else:
            warn_inefficient()
            if start == 0 and stop is None:
                found = await self._client.lpos(self._key, encoded)  # Redis 6.0.6+
            else:
                bounds = [start, '' if stop is None else stop]
                found = await _INDEX(self._client, [self._key], [encoded, *bounds])
                if found == -1:
                    found = None
        if found is None:
            raise ValueError(f'{value!r} is not in {type(self).__name__}')
        return int(found)

    @redis_type('list')
    async def count(self, value: Any) -> int:
        'The number of occurrences of value.  O(n)'
        try:
            encoded = self._codec.encode(value)
        except TypeError:
            return 0
        warn_inefficient()
        return int(await _COUNT(self._client, [self._key], [encoded]))  # Redis 6.0.6+

    @redis_type('list')
    async def reverse(self) -> None:
        'Reverse the elements in place, in one step.  O(n)'
        warn_inefficient()
        await _REVERSE(self._client, [self._key], ())

    @redis_type('list')
    async def sort(self, *, key: Callable[[Any], Any] | None = None, reverse: bool = False) -> None:
        """Sort the elements in place, in one step.  O(n log n)

        Numbers are sorted on the server (SORT ... STORE), as Pottery sorts
        them.  Anything else, or any ``key`` function, is sorted as Python
        sorts it: the elements are read, sorted here and written back in one
        transaction, retried if the list changed meanwhile; elements that
        cannot be compared raise TypeError and change nothing.
        """
        warn_inefficient()
        if key is None and not await _SORT(self._client, [self._key], ['1' if reverse else '0']):
            return
        decode = self._codec.decode

        async def rewrite(pipeline: _clients.AsyncPipeline) -> None:
            while True:
                try:
                    await pipeline.watch(self._key)
                    encoded = await pipeline.lrange(self._key, 0, -1)
                    values = [decode(item) for item in encoded]
                    if key is None:
                        order = sorted(range(len(values)), key=values.__getitem__, reverse=reverse)
                    else:
                        keys = [key(v) for v in values]
                        order = sorted(range(len(values)), key=keys.__getitem__, reverse=reverse)
                    pipeline.multi()  # type: ignore[no-untyped-call]
                    pipeline.delete(self._key)
                    if encoded:
                        # The elements as they were stored, only reordered.
                        pipeline.rpush(self._key, *[encoded[i] for i in order])
                    await pipeline.execute()
                    return
                except WatchError:
                    continue

        await _clients.transaction(self._client, self._key, rewrite)

    @redis_type('list')
    async def clear(self) -> None:
        'Remove every element (delete the key).  O(n)'
        await _CLEAR(self._client, [self._key], ())

    @redis_type('list')
    async def copy(self) -> Self:
        'A new container, on a random key, with the same elements.  O(n)'
        warn_inefficient()
        return await self._new_with(await self._fetch_encoded())

    @redis_type('list')
    async def to_list(self) -> list[JSONTypes]:
        'A plain list with the same elements, in one round trip.  O(n)'
        result = await self._fetch()
        if result:
            warn_inefficient()
        return result
