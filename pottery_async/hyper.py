"""HyperLogLog: a Redis HyperLogLog that counts distinct elements.

Elements are added JSON-encoded, as Pottery 3.x adds them, so PFCOUNT
agrees whichever library added them, and each library extends the other's
HyperLogLogs.  ``add()`` is one PFADD; ``update()`` with other
HyperLogLogs merges them with PFMERGE when one command can read them (same
server, and on a cluster the same hash slot), and otherwise copies their
registers over.  Membership (``in``, ``contains_many()``) is Pottery's
trick, done on the server in one script: PFADD each element to a scratch
copy of the HyperLogLog; if no register changed, the element may have been
added before; if one did, it certainly was not.  The scratch copy lives
only inside the script, at ``<key>:scratch{<key>}`` (see
``_base.companion``): it starts with the HyperLogLog's key, so one ACL
pattern covers both, and is in its cluster hash slot.  One name per
HyperLogLog is enough, as no two scripts run at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any, TypeAlias, cast

import redis.asyncio
from redis.client import NEVER_DECODE
from redis.crc import key_slot
from redis.exceptions import ResponseError

from . import _clients
from ._base import (
    Container,
    Script,
    SyncTwin,
    companion,
    initializer,
    is_container,
    redis_type,
    same_server,
    unwrap,
    values_of,
    warn_inefficient,
)
from ._codec import Codec, JSONTypes, encode_or_none

# What update() and union() take: iterables of elements, or HyperLogLogs
# (of either API).
Operand: TypeAlias = 'HyperLogLog | SyncTwin | Iterable[JSONTypes]'

# Redis' HyperLogLog header: 'HYLL', then the encoding (0 dense, 1 sparse);
# a dense one is always 16 + 16384 * 6 / 8 bytes long.
_MAGIC = b'HYLL'
_DENSE, _SPARSE = 0, 1
_DENSE_LENGTH = 16 + 12288

# For each element in ARGV: '1' if PFADD to a copy of KEYS[1] changes no
# register (it may have been added), else '0', as one string.  The copy is
# KEYS[2], a scratch key in the same slot, copied again only after a PFADD
# changed it, and always deleted before the script ends (an error reply from
# PFADD is returned after the clean-up, not raised before it).  Nothing the
# script writes outlives it, so none of it goes to replicas or the AOF.
# COPY needs Redis 6.2.
_CONTAINS = Script('''
redis.set_repl(redis.REPL_NONE)
if redis.call('EXISTS', KEYS[1]) == 0 then return string.rep('0', #ARGV) end
local scratch = KEYS[2]
local found = {}
local fresh = false
for i = 1, #ARGV do
  if not fresh then redis.call('COPY', KEYS[1], scratch, 'REPLACE') end
  local changed = redis.pcall('PFADD', scratch, ARGV[i])
  if type(changed) == 'table' then
    redis.call('DEL', scratch)
    return changed
  end
  fresh = changed == 0
  found[i] = fresh and '1' or '0'
end
redis.call('DEL', scratch)
return table.concat(found)
''')

# Merge into KEYS[1] the HyperLogLogs KEYS[2..] and the serialised ones
# ARGV[2 .. ARGV[1] + 1] (copied to KEYS[#KEYS], a scratch key in the same
# slot, deleted before the script ends; replicas see the copy, as PFMERGE
# reads it there too), then PFADD the rest of ARGV.
# PFMERGE checks every key before it writes, and the serialised ones were
# checked by the client, so a key of another type changes nothing.  PFMERGE
# and PFADD take their arguments in slices: Lua's unpack() stops at about
# 8000 values.
_MERGE = Script('''
local dest = KEYS[1]
local serialised = tonumber(ARGV[1])
local last = #KEYS
if serialised > 0 then last = last - 1 end
for i = 2, last, 7000 do
  redis.call('PFMERGE', dest, unpack(KEYS, i, math.min(i + 6999, last)))
end
if serialised > 0 then
  local scratch = KEYS[#KEYS]
  for i = 2, serialised + 1 do
    redis.call('SET', scratch, ARGV[i])
    local merged = redis.pcall('PFMERGE', dest, scratch)
    if merged.err then
      redis.call('DEL', scratch)
      return merged
    end
  end
  redis.call('DEL', scratch)
end
for i = serialised + 2, #ARGV, 7000 do
  redis.call('PFADD', dest, unpack(ARGV, i, math.min(i + 6999, #ARGV)))
end
return 0
''')


def _is_hyperloglog(head: bytes, length: int) -> bool:
    'Whether a string with this head (its first 5 bytes or more) and length is a HyperLogLog to Redis.'
    if length < 16 or head[:4] != _MAGIC:
        return False
    return head[4] == _SPARSE or (head[4] == _DENSE and length == _DENSE_LENGTH)


async def _read_containers(objs: Iterable[Operand]) -> list[Operand]:
    'The operands, with the values of containers other than HyperLogLogs read from Redis.'
    return [
        await values_of(obj) if is_container(obj) and not isinstance(unwrap(obj), HyperLogLog) else obj
        for obj in objs
    ]


class HyperLogLog(Container):
    'A Redis HyperLogLog: add elements and estimate how many distinct ones there are.'

    _VAR = 'hll'

    def __init__(
        self,
        iterable: Operand = frozenset(),
        *,
        redis: _clients.RedisArg = None,
        key: str = '',
        codec: Codec | None = None,
    ) -> None:
        'Create the HyperLogLog; initial elements are added when it is awaited.  O(n)'
        super().__init__(redis=redis, key=key, codec=codec)
        # Encode now: an element that cannot be stored fails here, and
        # nothing is written.  Another HyperLogLog is merged in when this one
        # is awaited, as Pottery's constructor merges one.
        if is_container(iterable) and not isinstance(unwrap(iterable), HyperLogLog):
            # Another container is read when this one is awaited.
            self._unwritten = unwrap(iterable)
        else:
            others, encoded = self._split([iterable])
            if others or encoded:
                self._unwritten = (others, encoded)

    @initializer
    async def _initialize(self, unwritten: Any) -> None:
        if not isinstance(unwritten, tuple):
            unwritten = self._split([await values_of(unwritten)])
        await self._update(*unwritten)

    def _split(self, operands: Iterable[Operand]) -> tuple[list[HyperLogLog], list[str | bytes]]:
        '(the HyperLogLogs, every other element encoded); TypeError if one cannot be encoded.'
        others: list[HyperLogLog] = []
        encoded: list[str | bytes] = []
        encode = self._codec.encode
        for operand in operands:
            source = unwrap(operand)
            if isinstance(source, HyperLogLog):
                others.append(source)
            else:
                encoded.extend(encode(value) for value in cast('Iterable[Any]', source))
        return others, encoded

    # The HyperLogLog's operations.

    @redis_type('HyperLogLog')
    async def add(self, value: JSONTypes) -> None:
        'Add an element: one PFADD.  O(1)'
        await self._client.pfadd(self._key, self._codec.encode(value))  # Redis 2.8.9+

    async def update(self, *objs: Operand) -> None:
        'Add the elements of iterables, and merge in other HyperLogLogs, in one atomic step.  O(n)'
        others, encoded = self._split(await _read_containers(objs))
        await self._update(others, encoded)

    async def union(self, *objs: Operand, redis: _clients.RedisArg = None, key: str = '') -> HyperLogLog:
        """A new HyperLogLog of this one, the others and the elements given.  O(n)

        It is stored at ``key`` (or a random key, deleted when the object is
        garbage-collected) on ``redis``, this HyperLogLog's server unless
        given.
        """
        new = HyperLogLog(redis=self._redis if redis is None else redis, key=key, codec=self._codec)
        others, encoded = new._split([self, *await _read_containers(objs)])
        await new._update(others, encoded)
        return new

    async def _update(self, others: list[HyperLogLog], encoded: list[str | bytes]) -> None:
        if others or len(encoded) > 1:
            warn_inefficient()
        if not others:
            if encoded:
                await self._pfadd(encoded)
            return
        nearby = [other for other in others if self._reads(other)]
        remote = [other for other in others if not self._reads(other)]
        keys = [other._key for other in nearby]
        serialised = [blob for blob in await asyncio.gather(*(o._serialised() for o in remote)) if blob]
        if not keys and not serialised:
            # Only empty HyperLogLogs from elsewhere: nothing to merge.
            if encoded:
                await self._pfadd(encoded)
            return
        scratch = [companion(self._key, 'scratch')] if serialised else []
        try:
            await _MERGE(self._client, [self._key, *keys, *scratch], [len(serialised), *serialised, *encoded])
        except ResponseError as error:
            if 'WRONGTYPE' not in str(error):
                raise
            for container in (self, *nearby):
                if not await container._holds_hyperloglog():
                    raise await container._wrong_type('HyperLogLog') from error
            raise

    @redis_type('HyperLogLog')
    async def _pfadd(self, encoded: list[str | bytes]) -> None:
        # One PFADD: all the elements or, if it never arrived whole, none.
        await self._client.pfadd(self._key, *encoded)  # Redis 2.8.9+

    def _reads(self, other: HyperLogLog) -> bool:
        'Whether one command on this server can read the other HyperLogLog with this one.'
        if not same_server(self, other):
            return False
        if isinstance(self._client, redis.asyncio.RedisCluster):
            return key_slot(self._key.encode()) == key_slot(other._key.encode())
        return True

    async def _serialised(self) -> bytes | None:
        'This HyperLogLog as Redis stores it (None if empty); WrongTypeError if it is none.'
        client = self._client
        try:
            blob = await client.execute_command('GET', self._key, **{NEVER_DECODE: True})
        except ResponseError as error:
            if 'WRONGTYPE' not in str(error):
                raise
            raise await self._wrong_type('HyperLogLog') from error
        if blob is not None and not _is_hyperloglog(blob, len(blob)):
            raise await self._wrong_type('HyperLogLog')
        return cast('bytes | None', blob)

    async def _holds_hyperloglog(self) -> bool:
        'Whether the key is missing or holds a HyperLogLog (on an error path only).'
        client = self._client
        found = await client.type(self._key)
        found = found.decode() if isinstance(found, bytes) else found
        if found == 'none':
            return True
        if found != 'string':
            return False
        head = await client.execute_command('GETRANGE', self._key, 0, 4, **{NEVER_DECODE: True})
        return _is_hyperloglog(head, int(await client.strlen(self._key)))

    @redis_type('HyperLogLog')
    async def len(self) -> int:
        'len(hll): the approximate number of distinct elements added (PFCOUNT).  O(1)'
        return int(await self._client.pfcount(self._key))  # Redis 2.8.9+

    async def contains(self, value: Any) -> bool:
        'value in hll: Pottery\'s PFADD-to-a-copy test, in one script; may be a false positive.  O(1)'
        return next(await self._contains([value]))

    async def contains_many(self, *values: Any) -> Iterator[bool]:
        'Whether each value is in the HyperLogLog, in one round trip (one script).  O(n)'
        if len(values) > 1:
            warn_inefficient()
        return await self._contains(values)

    @redis_type('HyperLogLog')
    async def _contains(self, values: Iterable[Any]) -> Iterator[bool]:
        # None for what cannot be stored, so was never added.
        asked = [encode_or_none(self._codec, value) for value in values]
        encoded = [e for e in asked if e is not None]
        if not encoded:
            return iter([False] * len(asked))
        reply = await _CONTAINS(self._client, [self._key, companion(self._key, 'scratch')], encoded)
        found = iter(reply.encode() if isinstance(reply, str) else reply)
        # b'1' is 49.
        return iter([e is not None and next(found) == 49 for e in asked])

    async def repr(self) -> str:
        "Pottery's repr, e.g. <HyperLogLog key=searches len=10>.  O(1)"
        return f'<{type(self).__qualname__} key={self._key} len={await self.len()}>'
