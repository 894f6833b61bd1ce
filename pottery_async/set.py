"""RedisSet: a Redis set that behaves like a set.

Elements are stored JSON-encoded, as Pottery 3.x stores them, and Redis
decides membership: two elements are the same element when they encode to
the same string (so ``1`` and ``1.0`` are different members, as in Pottery).

Operators and the non-mutating set methods (``a | b``, ``a.union(b)``...)
return a plain Python ``set``, computed on the server (SUNION, SINTER,
SDIFF) when every operand is a RedisSet that one command can read with this
one.  In-place operators and the ``*_update`` methods change the Redis set
in one atomic step and return the RedisSet itself.
"""

from __future__ import annotations

import collections.abc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, Literal, TypeAlias, TypeVar, cast

import redis.asyncio
from redis.crc import key_slot
from redis.exceptions import ResponseError

from . import _clients
from ._base import (
    Container,
    Paged,
    Script,
    create_script,
    initializer,
    redis_type,
    same_server,
    unwrap,
    warn_inefficient,
)
from ._codec import Codec, JSONTypes, encode_or_none
from .exceptions import KeyExistsError

T = TypeVar('T')
InitArg: TypeAlias = 'Iterable[JSONTypes] | RedisSet'
# What set methods and operators take: any iterable, or a RedisSet.
Operand: TypeAlias = 'Iterable[Any] | RedisSet'
Encoded: TypeAlias = 'str | bytes'

_PAGE = 1000

# Write initial contents only if the key is new, in one atomic step.
_CREATE = create_script('SADD')

# How this set relates to another: {|self|, |other|, |self & other|}, from
# one consistent state.  The other is KEYS[2] (a set on the same server and
# slot) or the distinct members in ARGV.  Every set comparison follows from
# these three numbers.
_RELATE = Script('''
local mine = redis.call('SCARD', KEYS[1])
local members = ARGV
if #KEYS == 2 then members = redis.call('SMEMBERS', KEYS[2]) end
local common = 0
for i = 1, #members do
  common = common + redis.call('SISMEMBER', KEYS[1], members[i])
end
return {mine, #members, common}
''')

# The members in exactly one of two sets (Redis has no SXOR).
_XOR = Script('''
local members = redis.call('SDIFF', KEYS[1], KEYS[2])
for _, member in ipairs(redis.call('SDIFF', KEYS[2], KEYS[1])) do
  members[#members + 1] = member
end
return members
''')

# Keep only the members listed in ARGV (intersection_update with values that
# are not in a set this server can read).
_KEEP = Script('''
local keep = {}
for i = 1, #ARGV do keep[ARGV[i]] = true end
local drop = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not keep[member] then drop[#drop + 1] = member end
end
for i = 1, #drop, 7000 do
  redis.call('SREM', KEYS[1], unpack(drop, i, math.min(i + 6999, #drop)))
end
return #drop
''')

# Toggle each member of the other set (KEYS[2]) or of ARGV: remove it if
# present, add it if not (symmetric_difference_update).  The other set is
# read whole before the first change, so s ^= s empties s.
_TOGGLE = Script('''
local members = ARGV
if #KEYS == 2 then members = redis.call('SMEMBERS', KEYS[2]) end
for i = 1, #members do
  if redis.call('SREM', KEYS[1], members[i]) == 0 then
    redis.call('SADD', KEYS[1], members[i])
  end
end
return #members
''')


def _as_bytes(encoded: Encoded) -> bytes:
    return encoded.encode() if isinstance(encoded, str) else encoded


def _operand(other: Any) -> Any:
    'The core RedisSet behind a sync one; any other iterable as it is.'
    core = unwrap(other)
    return core if isinstance(core, RedisSet) else other


def _is_set(other: Any) -> bool:
    return isinstance(other, (RedisSet, collections.abc.Set))


def _is_iterable(other: Any) -> bool:
    return isinstance(_operand(other), (RedisSet, collections.abc.Iterable))


class RedisSet(Container):
    'A Redis set that behaves like a set.'

    _VAR = 's'

    def __init__(
        self,
        iterable: InitArg = (),
        *,
        redis: _clients.RedisArg = None,
        key: str = '',
        codec: Codec | None = None,
    ) -> None:
        'Create the set; initial contents are written when it is awaited.  O(n)'
        super().__init__(redis=redis, key=key, codec=codec)
        source = unwrap(iterable)
        if isinstance(source, RedisSet):
            # Another RedisSet is read when this one is awaited (asking it
            # whether it is empty would be I/O).
            self._unwritten = source
        elif iterable:
            # Encode now: an element that cannot be stored fails here, and
            # nothing is written.
            self._unwritten = self._encode_all(cast('Iterable[Any]', iterable))

    @redis_type('set')
    @initializer
    async def _initialize(self, unwritten: Any) -> None:
        if isinstance(unwritten, RedisSet):
            unwritten = list(await self._encoded_members(unwritten))
            if not unwritten:
                # An empty set is no initial contents (as in Pottery).
                return
        if not await _CREATE(self._client, [self._key], unwritten):
            raise KeyExistsError(self.redis, self._key)

    def _encode_all(self, values: Iterable[Any]) -> list[Encoded]:
        'Encode every value, distinct and in order; TypeError if one cannot be.'
        encode = self._codec.encode
        return list(dict.fromkeys(encode(value) for value in values))

    def _split(self, values: Iterable[Any]) -> tuple[dict[bytes, Any], list[Any]]:
        """({encoded: value} for what can be encoded, [the rest]).

        The rest cannot be members of any RedisSet, but are still elements
        of the other set.
        """
        encoded: dict[bytes, Any] = {}
        rest: list[Any] = []
        for value in values:
            data = encode_or_none(self._codec, value)
            if data is None:
                rest.append(value)
            else:
                encoded.setdefault(_as_bytes(data), value)
        return encoded, rest

    # The set protocol, as coroutines.

    @redis_type('set')
    async def contains(self, value: Any) -> bool:
        'value in s.  O(1)'
        encoded = encode_or_none(self._codec, value)
        if encoded is None:
            return False
        return bool(await self._client.sismember(self._key, encoded))  # type: ignore[arg-type]  # Redis 1.0+

    @redis_type('set')
    async def contains_many(self, *values: Any) -> Iterator[bool]:
        'Whether each value is in the set, in one command (SMISMEMBER, Redis 6.2+).  O(n)'
        warn_inefficient()
        # None for what cannot be stored, so cannot be a member.
        encoded = [encode_or_none(self._codec, value) for value in values]
        asked = [e for e in encoded if e is not None]
        replies = iter(await self._client.smismember(self._key, asked) if asked else ())
        return iter([e is not None and bool(next(replies)) for e in encoded])

    @redis_type('set')
    async def len(self) -> int:
        'len(s): the number of elements.  O(1)'
        return int(await self._client.scard(self._key))  # Redis 1.0+

    def __aiter__(self) -> Paged[JSONTypes]:
        'Iterate over the elements, a page of SSCAN at a time.  O(n)'
        return Paged(self._pages())

    async def _pages(self) -> AsyncIterator[list[JSONTypes]]:
        warn_inefficient()
        decode = self._codec.decode
        client = self._client
        cursor = 0
        while True:
            try:
                reply = await client.sscan(self._key, cursor, count=_PAGE)  # Redis 2.8+
            except Exception as error:
                if 'WRONGTYPE' in str(error):
                    raise await self._wrong_type('set') from error
                raise
            cursor, page = cast(tuple[int, list[Any]], reply)
            if page:
                yield [decode(member) for member in page]
            if not cursor:
                return

    @redis_type('set')
    async def add(self, value: JSONTypes) -> None:
        'Add an element.  O(1)'
        await self._client.sadd(self._key, self._codec.encode(value))  # Redis 1.0+

    @redis_type('set')
    async def discard(self, value: JSONTypes) -> None:
        'Remove an element if it is a member.  O(1)'
        await self._client.srem(self._key, self._codec.encode(value))  # Redis 1.0+

    @redis_type('set')
    async def remove(self, value: JSONTypes) -> None:
        'Remove an element; KeyError if it is not a member.  O(1)'
        if not await self._client.srem(self._key, self._codec.encode(value)):  # Redis 1.0+
            raise KeyError(value)

    @redis_type('set')
    async def pop(self) -> JSONTypes:
        'Remove and return an arbitrary element; KeyError if empty.  O(1)'
        encoded = await self._client.spop(self._key)  # Redis 1.0+
        if encoded is None:
            raise KeyError('pop from an empty set')
        value: JSONTypes = self._codec.decode(cast(bytes, encoded))
        return value

    # Reading other sets.

    def _server_keys(self, others: Iterable[Operand]) -> list[str] | None:
        """The keys of the other sets if one command on this set's server can
        read them all with this one (same server, same codec, and on a
        cluster the same hash slot); else None."""
        keys = []
        cluster: bool | None = None
        slot = 0
        for other in others:
            if not isinstance(other, RedisSet) or other._codec != self._codec or not same_server(self, other):
                return None
            if cluster is None:
                cluster = isinstance(self._client, redis.asyncio.RedisCluster)
                slot = key_slot(self._key.encode())
            if cluster and key_slot(other._key.encode()) != slot:
                return None
            keys.append(other._key)
        return keys

    async def _encoded_members(self, other: RedisSet) -> set[bytes]:
        'The members of another RedisSet, encoded with this set\'s codec.'
        try:
            members = await other._client.smembers(other._key)  # Redis 1.0+
        except ResponseError as error:
            if 'WRONGTYPE' in str(error):
                raise await other._wrong_type('set') from error
            raise
        if other._codec == self._codec:
            return {_as_bytes(m) for m in members}
        decode, encode = other._codec.decode, self._codec.encode
        return {_as_bytes(encode(decode(m))) for m in members}

    async def _elements(self, other: Operand) -> tuple[dict[bytes, Any], list[Any]]:
        'Another set\'s elements: ({encoded: element}, [elements that cannot be encoded]).'
        if isinstance(other, RedisSet):
            decode = self._codec.decode
            return {m: decode(m) for m in await self._encoded_members(other)}, []
        return self._split(other)

    async def _mine(self) -> set[bytes]:
        return {_as_bytes(m) for m in await self._client.smembers(self._key)}  # Redis 1.0+

    async def _relate(self, other: Operand) -> tuple[int, int, int]:
        '(|self|, |other|, |self & other|), read in one step.'
        keys = self._server_keys([other])
        args: list[bytes] = []
        unencodable = 0
        if keys is None:
            keys = []
            encoded, rest = await self._elements(other)
            args, unencodable = list(encoded), len(rest)
        reply = await self._on_server(_RELATE(self._client, [self._key, *keys], args), [other])
        mine, theirs, common = (int(n) for n in reply)
        return mine, theirs + unencodable, common

    async def _update_on_server(
        self, store: Literal['sunionstore', 'sdiffstore', 'sinterstore'], others: tuple[Operand, ...],
    ) -> tuple[Operand, ...] | None:
        """The operands of an in-place update with ``others``; None if nothing is left to do.

        Nothing is without others, nor once the server has replaced this set
        by ``store(self, *others)`` (S*STORE), as it does when they are all
        sets there.
        """
        if not others:
            return None
        warn_inefficient()
        operands = tuple(_operand(o) for o in others)
        command = getattr(self._client, store)
        keys = self._server_keys(operands)
        if keys is None:
            return operands
        await self._on_server(command(self._key, [self._key, *keys]), operands)
        return None

    async def _on_server(self, command: Awaitable[T], others: Iterable[Operand]) -> T:
        'Run a command that reads other sets too; a WRONGTYPE names the key at fault.'
        try:
            return await command
        except ResponseError as error:
            if 'WRONGTYPE' not in str(error):
                raise
            for container in (self, *others):
                if isinstance(container, RedisSet):
                    found = await container._client.type(container._key)
                    if _as_bytes(found) not in (b'set', b'none'):
                        raise await container._wrong_type('set') from error
            raise

    # Comparisons.

    @redis_type('set')
    async def eq(self, other: Any) -> bool:
        's == other: the same elements as another set.  O(n)'
        other = _operand(other)
        if other is self or (isinstance(other, RedisSet) and other._key == self._key
                             and other._codec == self._codec and same_server(self, other)):
            return True
        if not _is_set(other):
            return False
        warn_inefficient()
        mine, theirs, common = await self._relate(other)
        return mine == theirs == common

    async def _compare(self, other: Any, holds: Callable[[int, int, int], bool]) -> bool:
        'holds(|s|, |other|, |s & other|) for a set other; NotImplemented for anything else.'
        other = _operand(other)
        if not _is_set(other):
            return cast(bool, NotImplemented)
        warn_inefficient()
        return holds(*await self._relate(other))

    @redis_type('set')
    async def le(self, other: Any) -> bool:
        's <= other: every element of s is in the set other.  O(n)'
        return await self._compare(other, lambda mine, theirs, common: common == mine)

    @redis_type('set')
    async def lt(self, other: Any) -> bool:
        's < other: s <= other and s != other.  O(n)'
        return await self._compare(other, lambda mine, theirs, common: common == mine < theirs)

    @redis_type('set')
    async def ge(self, other: Any) -> bool:
        's >= other: every element of the set other is in s.  O(n)'
        return await self._compare(other, lambda mine, theirs, common: common == theirs)

    @redis_type('set')
    async def gt(self, other: Any) -> bool:
        's > other: s >= other and s != other.  O(n)'
        return await self._compare(other, lambda mine, theirs, common: common == theirs < mine)

    @redis_type('set')
    async def isdisjoint(self, other: Operand) -> bool:
        'Whether s and other (any iterable) have no element in common.  O(n)'
        warn_inefficient()
        return (await self._relate(_operand(other)))[2] == 0

    @redis_type('set')
    async def issubset(self, other: Operand) -> bool:
        'Whether every element of s is in other (any iterable).  O(n)'
        warn_inefficient()
        mine, _, common = await self._relate(_operand(other))
        return common == mine

    @redis_type('set')
    async def issuperset(self, other: Operand) -> bool:
        'Whether every element of other (any iterable) is in s.  O(n)'
        warn_inefficient()
        _, theirs, common = await self._relate(_operand(other))
        return common == theirs

    # New sets: plain Python sets.

    def _decoded(self, members: Iterable[Any]) -> set[JSONTypes]:
        decode = self._codec.decode
        return {decode(m) for m in members}

    @redis_type('set')
    async def union(self, *others: Operand) -> set[JSONTypes]:
        'A new set with the elements of s and of all others.  O(n)'
        warn_inefficient()
        others = tuple(_operand(o) for o in others)
        keys = self._server_keys(others)
        if keys is not None:
            return self._decoded(await self._on_server(self._client.sunion([self._key, *keys]), others))
        result = self._decoded(await self._mine())
        for other in others:
            if isinstance(other, RedisSet):
                result.update((await self._elements(other))[0].values())
            else:
                result.update(other)
        return result

    @redis_type('set')
    async def intersection(self, *others: Operand) -> set[JSONTypes]:
        'A new set with the elements common to s and all others.  O(n)'
        warn_inefficient()
        others = tuple(_operand(o) for o in others)
        keys = self._server_keys(others)
        if keys is not None:
            return self._decoded(await self._on_server(self._client.sinter([self._key, *keys]), others))
        # Intersect the others here, then ask the server which of the
        # remaining elements are members: s itself never crosses the network.
        common: dict[bytes, Any] | None = None
        for other in others:
            elements = (await self._elements(other))[0]
            common = elements if common is None else {e: v for e, v in common.items() if e in elements}
        if not common:
            return set()
        encoded = list(common)
        flags = await self._client.smismember(self._key, encoded)  # Redis 6.2+
        return {common[e] for e, flag in zip(encoded, flags, strict=True) if flag}

    @redis_type('set')
    async def difference(self, *others: Operand) -> set[JSONTypes]:
        'A new set with the elements of s that are in none of the others.  O(n)'
        warn_inefficient()
        others = tuple(_operand(o) for o in others)
        keys = self._server_keys(others)
        if keys is not None:
            return self._decoded(await self._on_server(self._client.sdiff([self._key, *keys]), others))
        left = await self._mine()
        for other in others:
            left.difference_update((await self._elements(other))[0])
        return self._decoded(left)

    @redis_type('set')
    async def symmetric_difference(self, other: Operand) -> set[JSONTypes]:
        'A new set with the elements in exactly one of s and other.  O(n)'
        warn_inefficient()
        other = _operand(other)
        keys = self._server_keys([other])
        if keys:
            members = await self._on_server(_XOR(self._client, [self._key, *keys], ()), [other])
            return self._decoded(members)
        mine = await self._mine()
        elements, rest = await self._elements(other)
        result = self._decoded(mine.difference(elements))
        result.update(v for e, v in elements.items() if e not in mine)
        # Elements that cannot be encoded are in other, and cannot be in s.
        result.update(rest)
        return result

    # The operators.  Like collections.abc.Set's, they take any iterable.

    async def or_(self, other: Operand) -> set[JSONTypes]:
        's | other: a new set with the elements of both.  O(n)'
        if not _is_iterable(other):
            return cast(set[JSONTypes], NotImplemented)
        return await self.union(other)

    async def _ror(self, other: Operand) -> set[JSONTypes]:
        'other | s.  O(n)'
        return await self.or_(other)

    async def and_(self, other: Operand) -> set[JSONTypes]:
        's & other: a new set with the elements common to both.  O(n)'
        if not _is_iterable(other):
            return cast(set[JSONTypes], NotImplemented)
        return await self.intersection(other)

    async def _rand(self, other: Operand) -> set[JSONTypes]:
        'other & s.  O(n)'
        return await self.and_(other)

    async def sub(self, other: Operand) -> set[JSONTypes]:
        's - other: a new set with the elements of s not in other.  O(n)'
        if not _is_iterable(other):
            return cast(set[JSONTypes], NotImplemented)
        return await self.difference(other)

    @redis_type('set')
    async def _rsub(self, other: Operand) -> set[JSONTypes]:
        'other - s: a new set with the elements of other not in s.  O(n)'
        other = _operand(other)
        if isinstance(other, RedisSet):
            return await other.difference(self)
        if not _is_iterable(other):
            return cast(set[JSONTypes], NotImplemented)
        values = list(dict.fromkeys(other))
        flags = await self.contains_many(*values)
        return {value for value, flag in zip(values, flags, strict=True) if not flag}

    async def xor(self, other: Operand) -> set[JSONTypes]:
        's ^ other: a new set with the elements in exactly one of them.  O(n)'
        if not _is_iterable(other):
            return cast(set[JSONTypes], NotImplemented)
        return await self.symmetric_difference(other)

    async def _rxor(self, other: Operand) -> set[JSONTypes]:
        'other ^ s.  O(n)'
        return await self.xor(other)

    # In-place changes: one atomic step each.

    async def _encoded_union(self, others: Iterable[Operand]) -> list[bytes]:
        'Every element of the others, encoded; TypeError if one cannot be.'
        encoded: dict[bytes, None] = {}
        for other in others:
            if isinstance(other, RedisSet):
                encoded.update(dict.fromkeys(await self._encoded_members(other)))
            else:
                encoded.update(dict.fromkeys(_as_bytes(e) for e in self._encode_all(other)))
        return list(encoded)

    async def _add_or_remove(
        self, others: tuple[Operand, ...], store: Literal['sunionstore', 'sdiffstore'],
        change: Literal['sadd', 'srem'],
    ) -> None:
        'Add (SADD) or remove (SREM) the elements of all others (see _update_on_server).'
        operands = await self._update_on_server(store, others)
        if operands is None:
            return
        encoded = await self._encoded_union(operands)
        if encoded:
            # One command: all of the elements or, if it never arrives whole, none.
            await getattr(self._client, change)(self._key, *encoded)

    @redis_type('set')
    async def update(self, *others: Operand) -> None:
        'Add the elements of all others.  O(n)'
        await self._add_or_remove(others, 'sunionstore', 'sadd')

    @redis_type('set')
    async def difference_update(self, *others: Operand) -> None:
        'Remove the elements of all others.  O(n)'
        await self._add_or_remove(others, 'sdiffstore', 'srem')

    @redis_type('set')
    async def intersection_update(self, *others: Operand) -> None:
        'Keep only the elements found in all others.  O(n)'
        operands = await self._update_on_server('sinterstore', others)
        if operands is None:
            return
        common: set[bytes] | None = None
        for other in operands:
            elements = set((await self._elements(other))[0])
            common = elements if common is None else common & elements
        await _KEEP(self._client, [self._key], list(common or ()))

    @redis_type('set')
    async def symmetric_difference_update(self, other: Operand) -> None:
        'Keep the elements in exactly one of s and other.  O(n)'
        warn_inefficient()
        other = _operand(other)
        keys = self._server_keys([other])
        if keys:
            await self._on_server(_TOGGLE(self._client, [self._key, *keys], ()), [other])
            return
        encoded = await self._encoded_union([other])
        if encoded:
            await _TOGGLE(self._client, [self._key], encoded)

    async def ior(self, other: Operand) -> RedisSet:
        's |= other.  O(n)'
        await self.update(other)
        return self

    async def iand(self, other: Operand) -> RedisSet:
        's &= other.  O(n)'
        await self.intersection_update(other)
        return self

    async def isub(self, other: Operand) -> RedisSet:
        's -= other.  O(n)'
        await self.difference_update(other)
        return self

    async def ixor(self, other: Operand) -> RedisSet:
        's ^= other.  O(n)'
        await self.symmetric_difference_update(other)
        return self

    # Copies.

    @redis_type('set')
    async def to_set(self) -> set[JSONTypes]:
        'A plain set with the same elements, in one round trip.  O(n)'
        warn_inefficient()
        decode = self._codec.decode
        return {decode(m) for m in await self._client.smembers(self._key)}  # Redis 1.0+

    @redis_type('set')
    async def repr(self) -> str:
        "Pottery's repr, e.g. RedisSet{'apple', 'pear'}; RedisSet{} when empty.  O(n)"
        elements = await self.to_set()
        return f'{type(self).__qualname__}{elements if elements else "{}"}'
