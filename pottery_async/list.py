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

No call makes the server work for long: a script runs while every other
client waits.  Each script call reads, moves or writes at most ``_CHUNK``
elements and about ``_CHUNK_BYTES``.  A change that would do more at once
(``l *= n``, ``l * n``, ``reverse()``, ``sort()`` or ``rotate()`` of a
long list, a large slice assignment...) is built in bounded steps instead,
in a temporary key, ``<key>:build:<uuid>{<key>}`` (it starts with the list's
key and is in its cluster hash slot), while the list is WATCHed; one
transaction then swaps it in (see ``RedisList._rebuild``).  A new list made
from this one (``l + x``, ``l * n``, ``copy()``) is built the same way, on
``<key>:copy:<uuid>{<key>}``.
Readers see the old list or the new one, never a half-built one; an
interrupted change leaves the old list, and its temporary key is deleted
(or expires within a minute if the process died).  A long ``extend()`` is
pushed in chunks of that size instead, each atomic.  Sizes that a Redis
list cannot hold are refused before anything is written, with the errors
a Python list raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import operator
import sys
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, Self

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import _clients
from ._base import (
    Container,
    Paged,
    Script,
    companion,
    initializer,
    paged,
    redis_type,
    same_server,
    unwrap,
    warn_inefficient,
)
from ._codec import Codec, JSONCodec, JSONTypes, encode_or_none
from .exceptions import KeyExistsError

_PAGE = 1000
# Lua numbers are doubles, exact up to 2**53: indexes are clamped to that
# before they are sent, which changes nothing (no list gets that long).
_BOUND = 2**53
# The most elements one script call or command writes, moves or scans, and
# about the most bytes it copies.  Measured on Valkey 8: copying 20,000
# small elements takes about 2 ms, 4 MiB of 10 KB elements about 6 ms, far
# below the ~50 ms that would make other clients wait noticeably.
_CHUNK = 20_000
_CHUNK_BYTES = 4 * 2**20
# The most elements a Redis list holds, as Redis documents it.
_MAX_LENGTH = 2**32 - 1
# How often a rebuild starts again because the list changed meanwhile before
# it gives up (WatchError): on a list that others keep changing, it would
# otherwise never end.
_ATTEMPTS = 10
# How long (ms) a half-built list outlives the last step that wrote to it:
# a process that died while building leaves nothing for long.
_BUILD_TTL = 60_000

# Lua helpers shared by the scripts below.  Lua's unpack() stops at about
# 8000 values, so pushes go in slices of 7000.
_LUA = '''
-- A list rewritten whole (deleted, then pushed again) keeps its expiry:
-- ttl is its PTTL from before.
local function keep_ttl(key, ttl)
  if ttl > 0 and redis.call('EXISTS', key) == 1 then redis.call('PEXPIRE', key, ttl) end
end

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

-- Up to want elements of the list key, n long, read cyclically from index i
-- forward (or backward, last first), stopping once budget bytes are read:
-- at least one element, and about budget bytes at most.  LRANGE reads a
-- window at a time, sized by the elements seen so far, so that large
-- elements are not copied out far beyond the budget.  Returns them in the
-- order read, and the index to go on from.
local function take(key, n, i, want, forward, budget)
  local out, bytes, window = {}, 0, 1
  while #out < want and bytes < budget do
    local size = math.min(window, want - #out)
    local part = {}
    if forward then
      part = redis.call('LRANGE', key, i, math.min(n - 1, i + size - 1))
    else
      local span = redis.call('LRANGE', key, math.max(0, i - size + 1), i)
      for j = #span, 1, -1 do part[#part + 1] = span[j] end
    end
    if #part == 0 then break end
    local taken = 0
    for j = 1, #part do
      if bytes >= budget then break end
      out[#out + 1] = part[j]
      bytes = bytes + #part[j]
      taken = taken + 1
    end
    if forward then i = (i + taken) % n else i = (i - taken) % n end
    -- Read next as many as the bytes left allow, at the size seen so far.
    window = math.max(1, math.min(1024, math.floor((budget - bytes) * #out / math.max(bytes, 1))))
  end
  return out, i
end

-- Replace elements lo .. hi - 1 of a list of n elements with items,
-- rewriting whichever side of that span is shorter; false (and nothing
-- written) if that side holds more than about budget bytes.
local function replace(key, n, lo, hi, items, budget)
  if n - hi <= lo then
    local tail = take(key, n, hi, n - hi, true, budget)
    if #tail < n - hi then return false end
    local ttl = redis.call('PTTL', key)
    if lo == 0 then redis.call('DEL', key) else redis.call('LTRIM', key, 0, lo - 1) end
    rpush_all(key, items)
    rpush_all(key, tail)
    keep_ttl(key, ttl)
  else
    local head = take(key, n, 0, lo, true, budget)
    if #head < lo then return false end
    redis.call('LTRIM', key, hi, -1)
    lpush_all(key, items)
    lpush_all(key, head)
  end
  return true
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
# 'set' or 'del', maxlen ('' for none), the most elements to rewrite and
# about the most bytes to copy, the new elements.  Returns {0, 0} when done,
# {1, size} when an extended slice of that size got the wrong number of
# elements, {2, 0} when the result would exceed maxlen, {3, 0} when it would
# rewrite more elements or bytes than allowed; nothing is written in the
# last three cases.
_SPLICE = Script(_LUA + '''
local key = KEYS[1]
local n = redis.call('LLEN', key)
local step = tonumber(ARGV[3])
local start, stop = indices(n, ARGV[1], ARGV[2], step)
local maxlen = tonumber(ARGV[5])
local limit, budget = tonumber(ARGV[6]), tonumber(ARGV[7])
local values = {}
for i = 8, #ARGV do values[#values + 1] = ARGV[i] end
if step == 1 then
  if stop < start then stop = start end
  if maxlen and n - (stop - start) + #values > maxlen then return {2, 0} end
  -- replace() rewrites the shorter side of the slice.
  if math.min(start, n - stop) > limit then return {3, 0} end
  if (stop > start or #values > 0) and not replace(key, n, start, stop, values, budget) then
    return {3, 0}
  end
  return {0, 0}
end
local k = count(start, stop, step)
if ARGV[4] == 'set' and #values ~= k then return {1, k} end
if k == 0 then return {0, 0} end
local lo, hi = start, start + (k - 1) * step
if step < 0 then lo, hi = hi, lo end
if hi - lo + math.min(lo, n - hi - 1) > limit then return {3, 0} end
local span = take(key, n, lo, hi - lo + 1, true, budget)
if #span < hi - lo + 1 then return {3, 0} end
if ARGV[4] == 'set' then
  for j = 1, k do span[start + (j - 1) * step - lo + 1] = values[j] end
else
  local width = math.abs(step)
  local kept = {}
  for i = 1, #span do
    if (i - 1) % width ~= 0 then kept[#kept + 1] = span[i] end
  end
  span = kept
end
if not replace(key, n, lo, hi + 1, span, budget) then return {3, 0} end
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
# None), scanning at most ARGV[4] elements and about ARGV[5] bytes: {1,
# index} if found, {0, 0} if absent, {2, where to go on} if not found so far.
_INDEX = Script(_LUA + '''
local key = KEYS[1]
local n = redis.call('LLEN', key)
local start = tonumber(ARGV[2])
if start < 0 then start = math.max(start + n, 0) end
local stop = n
if ARGV[3] ~= '' then
  stop = tonumber(ARGV[3])
  if stop < 0 then stop = math.max(stop + n, 0) elseif stop > n then stop = n end
end
if start >= stop then return {0, 0} end
local page = take(key, n, start, math.min(stop - start, tonumber(ARGV[4])), true, tonumber(ARGV[5]))
for j = 1, #page do
  if page[j] == ARGV[1] then return {1, start + j - 1} end
end
if start + #page >= stop then return {0, 0} end
return {2, start + #page}
''')

# The occurrences of ARGV[1] among at most ARGV[3] elements (and about
# ARGV[4] bytes) from index ARGV[2]: {how many, where to go on (-1 at the
# end)}.
_COUNT = Script(_LUA + '''
local n = redis.call('LLEN', KEYS[1])
local i = tonumber(ARGV[2])
if i >= n then return {0, -1} end
local page = take(KEYS[1], n, i, math.min(n - i, tonumber(ARGV[3])), true, tonumber(ARGV[4]))
local found = 0
for j = 1, #page do
  if page[j] == ARGV[1] then found = found + 1 end
end
i = i + #page
if i >= n then return {found, -1} end
return {found, i}
''')

# LPUSH of the elements in order reverses them.  -1 (and nothing done) for
# a list longer than ARGV[1] elements or about ARGV[2] bytes.
_REVERSE = Script(_LUA + '''
local n = redis.call('LLEN', KEYS[1])
if n > tonumber(ARGV[1]) then return -1 end
if n < 2 then return n end
local items = take(KEYS[1], n, 0, n, true, tonumber(ARGV[2]))
if #items < n then return -1 end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
for i = 1, n, 7000 do
  redis.call('LPUSH', KEYS[1], unpack(items, i, math.min(i + 6999, n)))
end
keep_ttl(KEYS[1], ttl)
return n
''')

# SORT ... STORE sorts numbers on the server, when it orders them as Python
# does and is cheap: at most ARGV[2] elements and about ARGV[3] bytes, all
# JSON numbers that are floats or ints exact as doubles, and no two equal
# ones stored differently (1 and 1.0: SORT is not stable, Python is).  It
# would also turn a set or sorted set into a list, so the type is checked
# first.  Returns 1 when the list is not such a list (nothing changed), else
# 0.
_SORT = Script(_LUA + '''
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then return 0 end
if kind ~= 'list' then
  return redis.error_reply('WRONGTYPE Operation against a key holding the wrong kind of value')
end
local n = redis.call('LLEN', KEYS[1])
if n > tonumber(ARGV[2]) then return 1 end
local items = take(KEYS[1], n, 0, n, true, tonumber(ARGV[3]))
if #items < n then return 1 end
local seen = {}
for j = 1, n do
  local item = items[j]
  local whole, rest = item:match('^%-?(%d+)(.*)$')
  if not whole or (#whole > 1 and whole:sub(1, 1) == '0') then return 1 end
  if rest == '' then
    -- An int: exact as a double up to 15 digits.
    if #whole > 15 then return 1 end
  else
    local fraction = rest:match('^%.%d+(.*)$')
    if fraction then rest = fraction end
    if rest ~= '' and not rest:match('^[eE][-+]?%d+$') then return 1 end
  end
  local value = tonumber(item)
  if seen[value] and seen[value] ~= item then return 1 end
  seen[value] = item
end
local reply
local ttl = redis.call('PTTL', KEYS[1])
if ARGV[1] == '1' then
  reply = redis.pcall('SORT', KEYS[1], 'DESC', 'STORE', KEYS[1])
else
  reply = redis.pcall('SORT', KEYS[1], 'STORE', KEYS[1])
end
if type(reply) == 'table' and reply.err then return 1 end
keep_ttl(KEYS[1], ttl)
return 0
''')

# Building a list in bounded steps (see RedisList._rebuild).

# Append to KEYS[2] up to ARGV[2] elements of the list KEYS[1], which must
# still be ARGV[3] long, read cyclically from index ARGV[1] forward (ARGV[4]
# is '1') or backward, stopping once ARGV[5] bytes are copied; KEYS[2] then
# expires in ARGV[6] ms.  Returns how many were appended (at least one), or
# -1 if KEYS[1] is no longer ARGV[3] long.
_FILL = Script(_LUA + '''
local n = tonumber(ARGV[3])
if redis.call('LLEN', KEYS[1]) ~= n then return -1 end
local out = take(KEYS[1], n, tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[4] == '1', tonumber(ARGV[5]))
rpush_all(KEYS[2], out)
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return #out
''')

# Up to ARGV[3] elements of the list KEYS[1] from index ARGV[2], at least
# one and about ARGV[4] bytes at most; nil if the list is no longer ARGV[1]
# long.
_READ = Script(_LUA + '''
local n = tonumber(ARGV[1])
if redis.call('LLEN', KEYS[1]) ~= n then return false end
return (take(KEYS[1], n, tonumber(ARGV[2]), tonumber(ARGV[3]), true, tonumber(ARGV[4])))
''')

# RPUSH ARGV[2...] to KEYS[1], which then expires in ARGV[1] ms.
_APPEND = Script('''
for i = 2, #ARGV, 7000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 6999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
''')

# Run by EXEC (so sent whole, with EVAL): put the list built in KEYS[1] in
# place of KEYS[2], keeping KEYS[2]'s expiry, if it is ARGV[1] long (else
# it expired meanwhile: 0) and the marker KEYS[3] is still 'pending' (else
# a settle gave this attempt up: 0); the marker then says 'swapped' for
# ARGV[2] ms (see RedisList._settle).  The old list is freed in the
# background.
_SWAP = Script('''
if redis.call('GET', KEYS[3]) ~= 'pending' then return 0 end
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[3], 'swapped', 'PX', ARGV[2])
local ttl = redis.call('PTTL', KEYS[2])
redis.call('UNLINK', KEYS[2])
if ARGV[1] == '0' then return 1 end
redis.call('RENAME', KEYS[1], KEYS[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) else redis.call('PERSIST', KEYS[2]) end
return 1
''')

# Run by EXEC: keep the list built in KEYS[1] for good if it is ARGV[1] long
# and the marker KEYS[2] is still 'pending', which then says 'swapped' for
# ARGV[2] ms; else 0.
_SEAL = Script('''
if redis.call('GET', KEYS[2]) ~= 'pending' then return 0 end
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], 'swapped', 'PX', ARGV[2])
redis.call('PERSIST', KEYS[1])
return 1
''')

# After a transaction's EXEC got no reply: 1 if it put its list in place
# (the marker KEYS[1] says 'swapped'), 0 if not ('pending'), -1 if that can
# no longer be known (the marker expired).  The marker is deleted, so an
# EXEC that reaches the server only now changes nothing.
_SETTLE = Script('''
local state = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
if state == 'swapped' then return 1 end
if state == 'pending' then return 0 end
return -1
''')

# Move the list built in KEYS[1] to the new key KEYS[2], for good: 1, or 0
# if KEYS[2] exists (KEYS[1] is deleted), or -1 if KEYS[1] is not ARGV[1]
# long (it expired meanwhile).
_PLACE = Script('''
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('UNLINK', KEYS[1])
  return 0
end
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return -1 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('PERSIST', KEYS[2])
return 1
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


@dataclasses.dataclass(frozen=True)
class _Copy:
    'Part of a list being built: ``count`` elements of the list itself, read cyclically from ``start``.'

    start: int
    count: int
    forward: bool = True

    def shortened(self, drop: int, *, length: int) -> _Copy:
        'This without its first ``drop`` elements.'
        start = self.start + drop if self.forward else self.start - drop
        return dataclasses.replace(self, start=start % length, count=self.count - drop)


@dataclasses.dataclass(frozen=True)
class _Values:
    'Part of a list being built: elements given by the caller, encoded.'

    encoded: list[Any]

    @property
    def count(self) -> int:
        return len(self.encoded)

    def shortened(self, drop: int, *, length: int) -> _Values:
        'This without its first ``drop`` elements.'
        return _Values(self.encoded[drop:])


_Piece = _Copy | _Values
# LRANGE of the list being rebuilt, as it is while WATCHed.
_Read = Callable[[int, int], Awaitable[list[Any]]]
# What a rebuild makes of the list (its length, and how to read it): the new
# list's pieces, or None to leave it as it is.
_Plan = Callable[[int, _Read], Awaitable[list[_Piece] | None]]


def _kept(pieces: list[_Piece], keep: int, *, length: int) -> list[_Piece]:
    'The pieces cut down to their last ``keep`` elements.'
    drop = sum(piece.count for piece in pieces) - keep
    if drop <= 0:
        return pieces
    kept: list[_Piece] = []
    for piece in pieces:
        if drop >= piece.count:
            drop -= piece.count
            continue
        kept.append(piece.shortened(drop, length=length) if drop else piece)
        drop = 0
    return kept


def _chunks(encoded: list[Any]) -> Iterator[list[Any]]:
    'Consecutive slices of at most _CHUNK elements and about _CHUNK_BYTES (at least one element each).'
    start = 0
    while start < len(encoded):
        stop, size = start, 0
        while stop < len(encoded) and stop - start < _CHUNK and (size < _CHUNK_BYTES or stop == start):
            size += len(encoded[stop])
            stop += 1
        yield encoded[start:stop]
        start = stop


def _small(encoded: list[Any]) -> bool:
    'Whether one command may write all of these.'
    return len(encoded) <= _CHUNK and sum(map(len, encoded)) <= _CHUNK_BYTES


def _check_length(total: int) -> None:
    if total > _MAX_LENGTH:
        raise MemoryError(f'{total} elements: a Redis list holds at most {_MAX_LENGTH}')


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
    @initializer
    async def _initialize(self, unwritten: Any) -> None:
        if isinstance(unwritten, tuple):
            (source,) = unwritten
            unwritten = await self._encode_all(source)
            if isinstance(source, RedisList) and not unwritten:
                # An empty list given as contents is no contents (Pottery).
                return
        if len(unwritten) > 1:
            warn_inefficient()
        if not await self._create(self._fit(unwritten)):
            raise KeyExistsError(self.redis, self._key)

    async def _create(self, encoded: list[Any]) -> bool:
        'Write the elements on the key if it is new, at once; whether it was.'
        client = self._client
        if _small(encoded):
            return bool(await _CREATE(client, [self._key], encoded))
        _check_length(len(encoded))
        while True:
            # Built aside in bounded steps, then put in place in one.
            building = self._building_key()
            try:
                await self._fill(client, building, [_Values(encoded)], 0)
                placed = await _PLACE(client, [building, self._key], [len(encoded)])
            except BaseException:
                await asyncio.shield(client.unlink(building))
                raise
            if placed != -1:
                return bool(placed)

    # Helpers, I/O-free or shared.

    def _fit(self, encoded: list[Any]) -> list[Any]:
        'The elements that remain after adding encoded at the right end of nothing.'
        maxlen = self._maxlen
        if maxlen is None or len(encoded) <= maxlen:
            return encoded
        return encoded[len(encoded) - maxlen:]

    def _like(self, key: str) -> Self:
        'An empty container like this one, on ``key``.'
        return type(self)(redis=self._redis, key=key, codec=self._codec)

    def _new(self) -> Self:
        'An empty container like this one, on a new random key (see _building_key()), to be built from it.'
        new = self._like(self._building_key('copy'))
        new._adopt_temporary_key()
        return new

    def _building_key(self, kind: str = 'build') -> str:
        """A new random key that starts with this list's key and is in its cluster hash slot.

        So one ACL key pattern covers the list and what is built from it,
        and one transaction can swap them on a cluster.
        """
        return companion(self._key, f'{kind}:{uuid.uuid4()}')

    def _bounded(self, pieces: list[_Piece], length: int) -> list[_Piece]:
        'The pieces of a list whose elements are added at the right end: the last maxlen of them.'
        if self._maxlen is None:
            _check_length(sum(piece.count for piece in pieces))
            return pieces
        return _kept(pieces, self._maxlen, length=length)

    async def _rebuild(self, plan: _Plan, into: str | None = None) -> None:
        """Replace the list with what ``plan`` makes of it, in bounded steps, atomically.

        ``plan(length, read)`` returns the new list's pieces (of this list, as
        it is while WATCHed, and elements given), or None to leave it as it
        is; it raises, before anything is written, for a list that cannot be.
        Each step writes at most _CHUNK elements (about _CHUNK_BYTES), so the
        server keeps answering other clients in between.  The pieces are
        built in a temporary key in the list's cluster hash slot, which one
        transaction then puts in place of the list, unless the list changed
        meanwhile: then it all starts again from the new list, at most
        _ATTEMPTS times in all (then WatchError, the list left as it is).
        So readers see the old list or the new one; an interrupted rebuild
        leaves the old one, and deletes its temporary key (which expires on
        its own after _BUILD_TTL if the process died).

        With ``into`` (a new container's key, in this list's slot), the
        result is built there instead, from a snapshot of this list, which
        is left as it is.
        """

        async def rebuild(pipe: _clients.AsyncPipeline) -> None:
            for _ in range(_ATTEMPTS):
                if await self._attempt(pipe, plan, into):
                    return
                # The list changed while it was read: start again.
                await pipe.reset()  # type: ignore[no-untyped-call]
            raise WatchError(
                f'{type(self).__name__} {self._key!r} kept changing while it was being '
                f'rebuilt (or the connection kept breaking): gave up after {_ATTEMPTS} '
                'attempts; nothing of this change was applied'
            )

        # On a cluster whose client has no transactions with scripts (redis-py < 8),
        # through a plain client on the list's master.
        await _clients.transaction(self._client, self._key, rebuild)

    async def _attempt(self, pipe: _clients.AsyncPipeline, plan: _Plan, into: str | None) -> bool:
        'One try of _rebuild: True if done, False if the list changed meanwhile (nothing written to it).'
        client = self._client
        await pipe.watch(self._key)
        length = int(await pipe.llen(self._key))  # Redis 1.0+
        # WATCHing, the pipeline runs scripts at once, as a client does.
        watching: Any = pipe

        async def read(first: int, last: int) -> list[Any]:
            'Elements first .. last, a bounded amount per call; WatchError if the list changed.'
            out: list[Any] = []
            while first + len(out) <= last:
                args = [length, first + len(out), min(last + 1 - first - len(out), _CHUNK), _CHUNK_BYTES]
                part = await _READ(watching, [self._key], args)
                if part is None:
                    raise WatchError(f'{self._key!r} changed while it was read')
                out += part
            return out

        try:
            pieces = await plan(length, read)
        except WatchError:
            return False
        if pieces is None:
            return True
        building = into or self._building_key()
        # Says whether the EXEC below ran, if its reply is lost.
        marker = companion(building, 'marker')
        total = sum(piece.count for piece in pieces)
        try:
            if await self._fill(watching, building, pieces, length) != total:
                await client.unlink(building)
                return False
            await pipe.set(marker, 'pending', px=_BUILD_TTL)  # Redis 2.6.12+
            pipe.multi()  # type: ignore[no-untyped-call]
            if into is None:
                pipe.eval(_SWAP.source, 3, building, self._key, marker, total, _BUILD_TTL)
            else:
                pipe.eval(_SEAL.source, 2, building, marker, total, _BUILD_TTL)
        except WatchError:
            # The connection broke before EXEC was sent.
            await client.unlink(building, marker)
            return False
        except BaseException:
            await asyncio.shield(client.unlink(building, marker))
            raise
        try:
            done = await _clients.execute(pipe) == [1]
        except (WatchError, RedisConnectionError, RedisTimeoutError) as error:
            # EXEC found the list changed, or its reply was lost: ask.
            done = await self._settle(marker, error)
        except BaseException:
            await asyncio.shield(client.unlink(building, marker))
            raise
        # What is left: the marker, and the half-built list unless it is in place.
        leftovers = [marker] if done else [building, marker]
        with contextlib.suppress(RedisError):  # they expire soon anyway
            await client.unlink(*leftovers)
        return done

    async def _settle(self, marker: str, error: RedisError) -> bool:
        'Whether the transaction with this marker ran (its EXEC raised ``error``); from now on it never will.'
        try:
            state = await _SETTLE(self._client, [marker], ())
        except (RedisConnectionError, RedisTimeoutError) as failure:
            raise RedisConnectionError(
                f'the connection broke while {type(self).__name__} {self._key!r} was being replaced, '
                f'and asking whether it was failed too: whether the change was made is unknown ({error})'
            ) from failure
        if state == -1:
            raise RedisConnectionError(
                f'the connection broke while {type(self).__name__} {self._key!r} was being replaced, '
                f'and the server no longer knows whether the change was made ({error})'
            ) from error
        return bool(state)

    async def _fill(self, client: Any, building: str, pieces: list[_Piece], length: int) -> int:
        'Append the pieces to ``building``, a bounded amount per call; how many, or -1 if the list changed.'
        written = 0
        for piece in pieces:
            if isinstance(piece, _Values):
                for chunk in _chunks(piece.encoded):
                    await _APPEND(client, [building], [_BUILD_TTL, *chunk])
                    written += len(chunk)
                continue
            start, left = piece.start, piece.count
            while left:
                args = [start, min(left, _CHUNK), length, int(piece.forward), _CHUNK_BYTES, _BUILD_TTL]
                appended = int(await _FILL(client, [self._key, building], args))
                if appended < 0:
                    return -1
                start = (start + appended if piece.forward else start - appended) % length
                left -= appended
                written += appended
        return written

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
            await self._splice(index, args, encoded)
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
            await self._splice(index, self._slice_args(index), None)
            return
        i = _clamp(self._index(index))
        length, encoded = await _DELETE_AT(self._client, [self._key], [i, _sentinel()])
        if encoded is None:
            raise IndexError(f'{self._KIND} assignment index out of range')
        if i not in (0, -1, length - 1):
            warn_inefficient()

    async def _splice(self, index: slice, args: list[Any], encoded: list[Any] | None) -> None:
        'l[index] = the encoded elements, or del l[index] (None): in one script if it is small.'
        if encoded is None or _small(encoded):
            maxlen = '' if self._maxlen is None else self._maxlen
            operation = ['del', ''] if encoded is None else ['set', maxlen]
            status, size = await _SPLICE(
                self._client, [self._key], [*args, *operation, _CHUNK, _CHUNK_BYTES, *(encoded or ())],
            )
            if status == 1:
                raise self._wrong_size(encoded or [], size)
            if status == 2:
                raise IndexError(f'{type(self).__name__} would exceed its maximum size')
            if status != 3:
                return

        async def plan(length: int, read: _Read) -> list[_Piece] | None:
            start, stop, step = index.indices(length)
            if step == 1:
                stop = max(stop, start)
                middle = encoded or []
                if self._maxlen is not None and length - (stop - start) + len(middle) > self._maxlen:
                    raise IndexError(f'{type(self).__name__} would exceed its maximum size')
                if stop == start and not middle:
                    return None
                pieces: list[_Piece] = [_Copy(0, start), _Values(middle), _Copy(stop, length - stop)]
                _check_length(sum(piece.count for piece in pieces))
                return [piece for piece in pieces if piece.count]
            positions = range(start, stop, step)
            if encoded is not None and len(encoded) != len(positions):
                raise self._wrong_size(encoded, len(positions))
            if not positions:
                return None
            low, high = min(positions[0], positions[-1]), max(positions[0], positions[-1])
            # The span is rewritten here, as the script would.
            span = await read(low, high)
            if encoded is None:
                gone = {position - low for position in positions}
                span = [item for i, item in enumerate(span) if i not in gone]
            else:
                for position, item in zip(positions, encoded, strict=True):
                    span[position - low] = item
            pieces = [_Copy(0, low), _Values(span), _Copy(high + 1, length - high - 1)]
            return [piece for piece in pieces if piece.count]

        await self._rebuild(plan)

    @staticmethod
    def _wrong_size(encoded: list[Any], size: int) -> ValueError:
        return ValueError(
            f'attempt to assign sequence of size {len(encoded)} to extended slice of size {size}'
        )

    @redis_type('list')
    async def contains(self, value: Any) -> bool:
        'value in l.  O(n)'
        encoded: Any = encode_or_none(self._codec, value)
        if encoded is None:
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
        new = self._new()

        async def plan(length: int, _read: _Read) -> list[_Piece] | None:
            return self._bounded([_Copy(0, length), _Values(theirs)], length)

        await self._rebuild(plan, into=new._key)
        return new

    @redis_type('list')
    async def iplus(self, values: Iterable[JSONTypes]) -> Self:
        'l += values: extend in place.  O(k)'
        await self.extend(values)
        return self

    def _times(self, n: Any) -> int:
        try:
            times = operator.index(n)
        except TypeError:
            raise TypeError(f"can't multiply sequence by non-int of type '{type(n).__name__}'") from None
        if not -sys.maxsize - 1 <= times <= sys.maxsize:
            # What a Python list raises for such a count.
            raise OverflowError("cannot fit 'int' into an index-sized integer")
        return times

    def _repeated(self, times: int) -> _Plan:
        'The plan of the list repeated ``times`` (> 0) times: MemoryError if Redis could not hold it.'

        async def plan(length: int, _read: _Read) -> list[_Piece] | None:
            if not length:
                return None
            # The result has period length: cut down to maxlen, it starts
            # where the last maxlen elements of all the copies start.
            total = length * times
            keep = total if self._maxlen is None else min(total, self._maxlen)
            _check_length(keep)
            return [_Copy((total - keep) % length, keep)]

        return plan

    @redis_type('list')
    async def mul(self, n: int) -> Self:
        'l * n: a new container, on a random key, with the elements repeated n times.  O(n)'
        times = self._times(n)
        warn_inefficient()
        new = self._new()
        if times > 0:
            await self._rebuild(self._repeated(times), into=new._key)
        return new

    @redis_type('list')
    async def _rmul(self, n: int) -> Self:
        'n * l: as l * n.  O(n)'
        return await self.mul(n)

    @redis_type('list')
    async def imul(self, n: int) -> Self:
        'l *= n: repeat the elements in place, in bounded steps, atomically.  O(n)'
        times = self._times(n)
        if times == 1:
            return self
        warn_inefficient()
        if times <= 0:
            await _CLEAR(self._client, [self._key], ())
        else:
            await self._rebuild(self._repeated(times))
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
        await self._push([self._codec.encode(value)], 'R')

    @redis_type('list')
    async def extend(self, values: Iterable[JSONTypes]) -> None:
        'Add the elements of an iterable at the right end, atomically (per chunk, if there are many).  O(k)'
        await self._push(await self._encode_all(values), 'R')

    async def _push(self, encoded: list[Any], end: str) -> None:
        """Add the elements at the left (L) or right (R) end, one command per chunk.

        A chunk is at most _CHUNK elements (about _CHUNK_BYTES), pushed
        atomically; a longer push is several chunks, which other clients may
        see one by one.
        """
        maxlen = self._maxlen
        # Of what is pushed, only the last maxlen elements can remain.
        kept = encoded if maxlen is None or len(encoded) <= maxlen else encoded[len(encoded) - maxlen:]
        push = self._client.lpush if end == 'L' else self._client.rpush
        for chunk in _chunks(kept):
            if maxlen is None:
                await push(self._key, *chunk)  # Redis 1.0+
            else:
                await _PUSH_BOUNDED(self._client, [self._key], [end, maxlen, *chunk])

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
        found: Any = None
        encoded: Any = encode_or_none(self._codec, value)
        if encoded is not None:
            warn_inefficient()
            if start == 0 and stop is None:
                found = await self._client.lpos(self._key, encoded)  # Redis 6.0.6+
            else:
                # A bounded scan per call: a long list is scanned in several,
                # and a change meanwhile may be seen part-way, as by iteration.
                end = '' if stop is None else stop
                while True:
                    args = [encoded, start, end, _CHUNK, _CHUNK_BYTES]
                    status, where = await _INDEX(self._client, [self._key], args)
                    if status != 2:
                        found = where if status == 1 else None
                        break
                    start = where
        if found is None:
            raise ValueError(f'{value!r} is not in {type(self).__name__}')
        return int(found)

    @redis_type('list')
    async def count(self, value: Any) -> int:
        """The number of occurrences of value.  O(n)

        A long list is counted in bounded calls: a change meanwhile may be
        seen part-way, as by iteration.
        """
        encoded = encode_or_none(self._codec, value)
        if encoded is None:
            return 0
        warn_inefficient()
        total, start = 0, 0
        while start != -1:
            found, start = await _COUNT(self._client, [self._key], [encoded, start, _CHUNK, _CHUNK_BYTES])
            total += int(found)
        return total

    @redis_type('list')
    async def reverse(self) -> None:
        'Reverse the elements in place, atomically (in bounded steps if the list is long).  O(n)'
        warn_inefficient()
        if await _REVERSE(self._client, [self._key], [_CHUNK, _CHUNK_BYTES]) == -1:

            async def plan(length: int, _read: _Read) -> list[_Piece] | None:
                return [_Copy(length - 1, length, forward=False)] if length > 1 else None

            await self._rebuild(plan)

    @redis_type('list')
    async def sort(self, *, key: Callable[[Any], Any] | None = None, reverse: bool = False) -> None:
        """Sort the elements in place, atomically.  O(n log n)

        A short list of numbers (at most _CHUNK of them, about _CHUNK_BYTES)
        is sorted on the server in one script (SORT ... STORE), as Pottery
        sorts numbers, when that gives Python's order.  Anything else, or
        any ``key`` function, is sorted as Python sorts it: the elements are
        read, sorted here and written back as a rebuild does, in bounded
        steps, starting again if the list changed meanwhile; elements that
        cannot be compared raise TypeError and change nothing.
        """
        warn_inefficient()
        if key is None and isinstance(self._codec, JSONCodec):
            args = ['1' if reverse else '0', _CHUNK, _CHUNK_BYTES]
            if not await _SORT(self._client, [self._key], args):
                return
        decode = self._codec.decode

        async def plan(length: int, read: _Read) -> list[_Piece] | None:
            if length < 2:
                return None
            encoded = await read(0, length - 1)
            values = [decode(item) for item in encoded]
            keys = values if key is None else [key(value) for value in values]
            order = sorted(range(length), key=keys.__getitem__, reverse=reverse)
            # The elements as they were stored, only reordered.
            return [_Values([encoded[i] for i in order])]

        await self._rebuild(plan)

    @redis_type('list')
    async def clear(self) -> None:
        'Remove every element (delete the key).  O(n)'
        await _CLEAR(self._client, [self._key], ())

    @redis_type('list')
    async def copy(self) -> Self:
        'A new container, on a random key, with the same elements.  O(n)'
        warn_inefficient()
        new = self._new()

        async def plan(length: int, _read: _Read) -> list[_Piece] | None:
            return self._bounded([_Copy(0, length)], length) if length else None

        await self._rebuild(plan, into=new._key)
        return new

    @redis_type('list')
    async def to_list(self) -> list[JSONTypes]:
        'A plain list with the same elements, in one round trip.  O(n)'
        result = await self._fetch()
        if result:
            warn_inefficient()
        return result
