"""RedisDeque: a Redis list that behaves like collections.deque.

A RedisList with deque's extras (appendleft, extendleft, popleft, rotate and
``maxlen``), stored exactly as Pottery 3.x stores it: one Redis list of
JSON-encoded elements.  ``maxlen`` belongs to the object, not to the data,
as in Pottery.

With a ``maxlen``, every addition at either end pushes and trims in one Lua
script, so writers at both ends, in any number of processes, never leave
more than ``maxlen`` elements; without one, a plain LPUSH / RPUSH is already
atomic and is all that is sent.
"""

from __future__ import annotations

import collections
import operator
from collections.abc import AsyncIterable, Iterable
from typing import Any, Self

from . import _clients
from . import list as _list
from ._base import Script, redis_type, warn_inefficient
from ._codec import Codec, JSONTypes

# deque.rotate(): ARGV[1] is n as a decimal string, reduced modulo the length
# here (digit by digit: n may exceed what a Lua number holds exactly).  Moves
# the elements at whichever end makes fewer moves to the other end; returns
# how many moved, or -1 (and moves none) if that is more than ARGV[2]
# elements or about ARGV[3] bytes.
_ROTATE = Script(_list._LUA + '''
local key = KEYS[1]
local n = redis.call('LLEN', key)
if n < 2 then return 0 end
local k = 0
for digit in ARGV[1]:gmatch('%d') do k = (k * 10 + tonumber(digit)) % n end
if ARGV[1]:sub(1, 1) == '-' and k > 0 then k = n - k end
if k == 0 then return 0 end
local moves = math.min(k, n - k)
if moves > tonumber(ARGV[2]) then return -1 end
if k <= n - k then
  -- The last k to the front: read last first, pushed in that order.
  local moved = take(key, n, n - 1, k, false, tonumber(ARGV[3]))
  if #moved < k then return -1 end
  redis.call('LTRIM', key, 0, n - k - 1)
  for i = 1, k, 7000 do
    redis.call('LPUSH', key, unpack(moved, i, math.min(i + 6999, k)))
  end
  return k
end
local moved = take(key, n, 0, n - k, true, tonumber(ARGV[3]))
if #moved < n - k then return -1 end
redis.call('LTRIM', key, n - k, -1)
rpush_all(key, moved)
return n - k
''')


class RedisDeque(_list.RedisList):
    'A Redis list that behaves like collections.deque.'

    _VAR = 'd'

    _KIND = 'deque'
    _PLAIN = collections.deque

    def __init__(
        self,
        iterable: Iterable[JSONTypes] | AsyncIterable[JSONTypes] = (),
        maxlen: int | None = None,
        *,
        redis: _clients.RedisArg = None,
        key: str = '',
        codec: Codec | None = None,
    ) -> None:
        """Create the deque; initial contents are written when it is awaited.  O(n)

        Awaiting it also checks, as Pottery's constructor does, that a list
        already on the key is no longer than ``maxlen`` (IndexError if it is).
        """
        if maxlen is not None:
            try:
                maxlen = operator.index(maxlen)
            except TypeError:
                raise TypeError('an integer is required') from None
            if maxlen < 0:
                raise ValueError('maxlen must be non-negative')
        self._maxlen = maxlen
        super().__init__(iterable, redis=redis, key=key, codec=codec)

    @property
    def maxlen(self) -> int | None:
        'The maximum number of elements, or None if unbounded.'
        return self._maxlen

    # Awaiting the deque (the sync constructor does it) runs this.
    @redis_type('list')
    async def _initialize(self) -> None:
        check = self._unwritten is None and self._maxlen is not None and not self._temporary
        await super()._initialize()
        if check and self._maxlen is not None:
            if await self._client.llen(self._key) > self._maxlen:  # Redis 1.0+
                raise IndexError(f'persistent {type(self).__qualname__} beyond its maximum size')

    def _like(self, key: str) -> Self:
        return type(self)(maxlen=self._maxlen, redis=self._redis, key=key, codec=self._codec)

    @redis_type('list')
    async def appendleft(self, value: JSONTypes) -> None:
        'Add an element at the left end.  O(1)'
        await self._push([self._codec.encode(value)], 'L')

    @redis_type('list')
    async def extendleft(self, values: Iterable[JSONTypes]) -> None:
        """Add the elements of an iterable at the left end, in one step.  O(k)

        Each goes in front of the previous one, so they end up reversed:
        extendleft('abc') gives RedisDeque(['c', 'b', 'a']).
        """
        await self._push(await self._encode_all(values), 'L')

    @redis_type('list')
    async def popleft(self) -> JSONTypes:
        'Remove and return the leftmost element.  O(1)'
        encoded: Any = await self._client.lpop(self._key)  # Redis 1.0+
        if encoded is None:
            raise IndexError(f'pop from an empty {type(self).__name__}')
        value: JSONTypes = self._codec.decode(encoded)
        return value

    @redis_type('list')
    async def rotate(self, n: int = 1) -> None:
        """Rotate n steps to the right (left if n is negative), atomically.  O(min(n, len - n))

        A rotation that would move too many elements for one script call
        rebuilds the deque in bounded steps instead.  O(len) then.
        """
        steps = operator.index(n)
        if steps == 0:
            return
        moved = await _ROTATE(self._client, [self._key], [str(steps), _list._CHUNK, _list._CHUNK_BYTES])
        if moved > 1 or moved == -1:
            warn_inefficient()
        if moved != -1:
            return

        async def plan(length: int, _read: _list._Read) -> list[_list._Piece] | None:
            if length < 2 or steps % length == 0:
                return None
            # Rotated right by k, the deque starts at its element -k.
            return [_list._Copy(-steps % length, length)]

        await self._rebuild(plan)

    @redis_type('list')
    async def repr(self) -> str:
        "Pottery's repr, e.g. RedisDeque(['g', 'h'], maxlen=2).  O(n)"
        warn_inefficient()
        values = await self._fetch()
        if self._maxlen is None:
            return f'{type(self).__qualname__}({values})'
        return f'{type(self).__qualname__}({values}, maxlen={self._maxlen})'
