"""RedisCounter: a Redis hash that counts, like collections.Counter.

Stored as Pottery 3.x stores it: a hash from JSON-encoded keys to JSON
numbers, so each library reads and updates the other's counters.  Missing
keys count 0.  ``update()`` and ``subtract()`` add to the counts on the
server in one atomic step (HINCRBY, inside one Lua script), so concurrent
writers lose nothing; counts that are not plain integers (floats, numbers
beyond 64 bits) are added in Python inside a WATCH/MULTI transaction
instead.  The operators return plain ``collections.Counter`` objects, as
Pottery's do; the in-place ones change the hash in one transaction.
"""

from __future__ import annotations

import collections
import collections.abc
import itertools
import operator
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeAlias, cast

from redis.exceptions import ResponseError, WatchError

from . import _clients
from . import dict as _dict
from ._base import Container, Script, initializer, paged, redis_type, same_server, unwrap, warn_inefficient
from ._codec import Codec, JSONCodec, JSONTypes
from .exceptions import KeyExistsError

CounterArg: TypeAlias = 'Mapping[Any, Any] | Iterable[Any] | _dict.RedisDict'

_PAGE = 1000

# HINCRBY adds 64-bit integers: increments and counts below these bounds
# cannot overflow (|count| < 10**18, |increment| < 10**18, sum < 2**63).
_MAX_INCREMENT = 10**18

# Add ARGV's increments (field, increment, field, increment...) to the
# counts.  First check that every count touched is an integer HINCRBY can
# add to without overflowing; if one is not, change nothing and return 0 so
# that the caller does the arithmetic itself.  A script is atomic, but a
# failing command half-way would leave the earlier increments applied.
_INCREMENT = Script('''
for i = 1, #ARGV, 2 do
  local count = redis.call('HGET', KEYS[1], ARGV[i])
  if count and count ~= '0' and not (#count <= 18 and string.match(count, '^%-?[1-9]%d*$')) then
    return 0
  end
end
for i = 1, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
''')


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


async def _contents(source: _dict.RedisDict) -> dict[JSONTypes, JSONTypes]:
    'Another container\'s items, in one round trip; a WRONGTYPE names its key.'
    try:
        return await source._fetch()
    except ResponseError as error:
        if 'WRONGTYPE' not in str(error):
            raise
        raise await source._wrong_type('hash') from error


def _plain(other: Any) -> bool:
    'Whether other is a Counter the operators accept (a Counter or RedisCounter).'
    return isinstance(other, (collections.Counter, RedisCounter))


class RedisCounter(_dict.RedisDict):
    'A Redis hash that counts, like collections.Counter.'

    _VAR = 'c'

    def __init__(
        self,
        arg: CounterArg = (),
        *,
        redis: _clients.RedisArg = None,
        key: str = '',
        codec: Codec | None = None,
        **kwargs: int,
    ) -> None:
        'Create the counter; initial counts are written when it is awaited.  O(n)'
        Container.__init__(self, redis=redis, key=key, codec=codec)
        source = unwrap(arg)
        if isinstance(source, _dict.RedisDict):
            # Another RedisCounter (or RedisDict) is read when this one is
            # awaited (asking it whether it is empty would be I/O).
            self._unwritten = (source, kwargs)
        elif arg or kwargs:
            # Count now: an element that cannot be stored fails here, and
            # nothing is written.
            self._unwritten = self._counts(arg, kwargs, 1)

    @redis_type('hash')
    @initializer
    async def _initialize(self, unwritten: Any) -> None:
        if isinstance(unwritten, tuple):
            source, kwargs = unwritten
            unwritten = self._counts(await _contents(source), kwargs, 1)
            if not unwritten:
                # An empty counter is no initial contents (as in Pottery).
                return
        encode = self._codec.encode
        args = [part for field, count in unwritten.items() for part in (field, encode(count))]
        if not await _dict._CREATE(self._client, [self._key], args):
            raise KeyExistsError(self.redis, self._key)

    def _counts(self, source: Any, kwargs: Mapping[str, Any], sign: int) -> dict[bytes, Any]:
        """{encoded key: change} for update (sign 1) or subtract (sign -1).

        As Counter.update(): a mapping gives counts, any other iterable
        counts its elements once each, and kwargs are counts too.
        """
        encode = self._codec.encode
        counts: dict[bytes, Any] = {}
        pairs: Iterable[tuple[Any, Any]]
        if isinstance(source, collections.abc.Mapping):
            pairs = source.items()
        else:
            pairs = ((element, 1) for element in source)
        for element, count in itertools.chain(pairs, kwargs.items()):
            field = _as_bytes(encode(element))
            change = count if sign > 0 else -count
            counts[field] = change + counts[field] if field in counts else change
        return counts

    async def _changes(self, arg: Any, kwargs: Mapping[str, Any], sign: int) -> dict[bytes, Any]:
        source = unwrap(arg)
        if isinstance(source, _dict.RedisDict):
            return self._counts(await _contents(source), kwargs, sign)
        return self._counts(arg, kwargs, sign)

    async def _add(self, changes: dict[bytes, Any]) -> None:
        'Add changes to the counts, atomically.'
        if not changes:
            return
        if isinstance(self._codec, JSONCodec) and all(
            type(change) in (int, bool) and -_MAX_INCREMENT < change < _MAX_INCREMENT
            for change in changes.values()
        ):
            args = [part for field, change in changes.items() for part in (field, int(change))]
            if await _INCREMENT(self._client, [self._key], args):
                return
        # Floats, huge numbers or another codec: the arithmetic is Python's.
        await self._rewrite(
            list(changes),
            lambda counts: {field: change + counts.get(field, 0) for field, change in changes.items()},
        )

    async def _rewrite(
        self,
        fields: list[bytes] | None,
        compute: Callable[[dict[bytes, Any]], dict[bytes, Any]],
    ) -> None:
        """Replace counts in one WATCH/MULTI/EXEC transaction, retried on conflict.

        ``compute`` gets the current counts of ``fields`` (of every key if
        None) and returns their new counts; a key it leaves out is deleted.
        Only what changed is written.
        """
        encode, decode = self._codec.encode, self._codec.decode

        async def rewrite(pipeline: _clients.AsyncPipeline) -> None:
            while True:
                try:
                    await pipeline.watch(self._key)  # Redis 2.2+
                    if fields is None:
                        reply = await pipeline.hgetall(self._key)
                        stored = {_as_bytes(k): _as_bytes(v) for k, v in reply.items()}
                    else:
                        values = await pipeline.hmget(self._key, fields)
                        pairs = zip(fields, values, strict=True)
                        stored = {k: _as_bytes(v) for k, v in pairs if v is not None}
                    new = compute({k: decode(v) for k, v in stored.items()})
                    changed = {k: encode(v) for k, v in new.items()}
                    changed = {k: v for k, v in changed.items() if _as_bytes(v) != stored.get(k)}
                    removed = [k for k in stored if k not in new]
                    pipeline.multi()  # type: ignore[no-untyped-call]
                    if changed:
                        pipeline.hset(self._key, mapping=changed)  # type: ignore[arg-type]
                    if removed:
                        pipeline.hdel(self._key, *removed)
                    await _clients.execute(pipeline)
                    return
                except WatchError:
                    # Another client changed the counter in between: again.
                    continue

        await _clients.transaction(self._client, self._key, rewrite)

    async def _counter(self) -> collections.Counter[JSONTypes]:
        decode = self._codec.decode
        encoded = await self._client.hgetall(self._key)  # Redis 2.0+
        return collections.Counter({decode(k): decode(v) for k, v in encoded.items()})

    @staticmethod
    async def _other(other: Any) -> collections.Counter[JSONTypes]:
        if isinstance(other, RedisCounter):
            return collections.Counter(await _contents(other))
        return cast(collections.Counter[JSONTypes], other)

    # The dict protocol, Counter's way.

    @redis_type('hash')
    async def getitem(self, key: JSONTypes) -> int:
        'c[key]: the count of key, 0 if missing.  O(1)'
        encoded = await self._client.hget(self._key, self._codec.encode(key))  # Redis 2.0+
        if encoded is None:
            return 0
        count: int = self._codec.decode(encoded)
        return count

    @redis_type('hash')
    async def delitem(self, key: JSONTypes) -> None:
        'del c[key]: forget key; no error if missing.  O(1)'
        await self._client.hdel(self._key, self._codec.encode(key))  # Redis 2.0+

    @redis_type('hash')
    async def eq(self, other: Any) -> bool:
        'c == other: as Counter, missing keys count 0 against a Counter.  O(n)'
        other = unwrap(other)
        if other is self or (isinstance(other, _dict.RedisDict) and other._key == self._key
                             and same_server(self, other)):
            return True
        if not _plain(other):
            return await super().eq(other)
        warn_inefficient()
        return await self._counter() == await self._other(other)

    @redis_type('hash')
    async def repr(self) -> str:
        "Pottery's repr, most common first, e.g. RedisCounter{'a': 3, 'b': 0}.  O(n)"
        warn_inefficient()
        pairs = ', '.join(f"'{key}': {count}" for key, count in (await self._counter()).most_common())
        return f'{type(self).__qualname__}{{{pairs}}}'

    # The rest of collections.Counter.

    @redis_type('hash')
    async def update(self, arg: CounterArg = (), /, **kwargs: int) -> None:  # type: ignore[override]
        'Add counts: of the elements of an iterable, of a mapping, of kwargs; atomically.  O(n)'
        await self._add(await self._changes(arg, kwargs, 1))

    @redis_type('hash')
    async def subtract(self, arg: CounterArg = (), /, **kwargs: int) -> None:
        'Subtract counts, like update() adds them; counts may go to zero or below.  O(n)'
        await self._add(await self._changes(arg, kwargs, -1))

    @paged
    async def elements(self) -> AsyncIterator[list[JSONTypes]]:
        'Each key repeated as many times as its count (if positive), a page at a time.  O(n)'
        warn_inefficient()
        decode = self._codec.decode
        page: list[JSONTypes] = []
        async for items in self._scan():
            for encoded, encoded_count in items.items():
                element = decode(encoded)
                # An integer, as itertools.repeat() needs in Counter.elements().
                left = operator.index(decode(encoded_count))
                while left > 0:
                    take = min(left, _PAGE - len(page))
                    page.extend(itertools.repeat(element, take))
                    left -= take
                    if len(page) >= _PAGE:
                        yield page
                        page = []
        if page:
            yield page

    @redis_type('hash')
    async def most_common(self, n: int | None = None) -> list[tuple[JSONTypes, int]]:
        'The n most common keys and their counts, most common first (all if n is None).  O(n)'
        warn_inefficient()
        return (await self._counter()).most_common(n)

    @redis_type('hash')
    async def total(self) -> int:
        'The sum of the counts, read a page at a time.  O(n)'
        warn_inefficient()
        decode = self._codec.decode
        total = 0
        async for items in self._scan():
            total += sum(decode(count) for count in items.values())
        return total

    @redis_type('hash')
    async def to_counter(self) -> collections.Counter[JSONTypes]:
        'A plain collections.Counter with the same counts, in one round trip.  O(n)'
        warn_inefficient()
        return await self._counter()

    # Operators: a new plain Counter, computed as Counter computes it.

    async def _binary(
        self,
        other: Any,
        operation: Callable[[collections.Counter[JSONTypes], collections.Counter[JSONTypes]], Any],
        reflected: bool = False,
    ) -> collections.Counter[JSONTypes]:
        other = unwrap(other)
        if not _plain(other):
            return cast(collections.Counter[JSONTypes], NotImplemented)
        warn_inefficient()
        mine, theirs = await self._counter(), await self._other(other)
        result = operation(theirs, mine) if reflected else operation(mine, theirs)
        return cast(collections.Counter[JSONTypes], result)

    @redis_type('hash')
    async def plus(self, other: Any) -> collections.Counter[JSONTypes]:
        'c + other: add counts, keep the positive ones.  O(n)'
        return await self._binary(other, operator.add)

    @redis_type('hash')
    async def _rplus(self, other: Any) -> collections.Counter[JSONTypes]:
        'other + c.  O(n)'
        return await self._binary(other, operator.add, reflected=True)

    @redis_type('hash')
    async def sub(self, other: Any) -> collections.Counter[JSONTypes]:
        'c - other: subtract counts, keep the positive ones.  O(n)'
        return await self._binary(other, operator.sub)

    @redis_type('hash')
    async def _rsub(self, other: Any) -> collections.Counter[JSONTypes]:
        'other - c.  O(n)'
        return await self._binary(other, operator.sub, reflected=True)

    @redis_type('hash')
    async def or_(self, other: Any) -> collections.Counter[JSONTypes]:
        'c | other: the larger of each count (union), keep the positive ones.  O(n)'
        return await self._binary(other, operator.or_)

    @redis_type('hash')
    async def _ror(self, other: Any) -> collections.Counter[JSONTypes]:
        'other | c.  O(n)'
        return await self._binary(other, operator.or_, reflected=True)

    @redis_type('hash')
    async def and_(self, other: Any) -> collections.Counter[JSONTypes]:
        'c & other: the smaller of each count (intersection), keep the positive ones.  O(n)'
        return await self._binary(other, operator.and_)

    @redis_type('hash')
    async def _rand(self, other: Any) -> collections.Counter[JSONTypes]:
        'other & c.  O(n)'
        return await self._binary(other, operator.and_, reflected=True)

    @redis_type('hash')
    async def pos(self) -> collections.Counter[JSONTypes]:
        '+c: the positive counts.  O(n)'
        warn_inefficient()
        return +await self._counter()

    @redis_type('hash')
    async def neg(self) -> collections.Counter[JSONTypes]:
        '-c: the negative counts, negated.  O(n)'
        warn_inefficient()
        return -await self._counter()

    # Comparisons, as Counter's: multiset inclusion, missing keys count 0.

    async def _compare(self, other: Any, operation: Callable[[Any, Any], bool]) -> bool:
        other = unwrap(other)
        if not _plain(other):
            return cast(bool, NotImplemented)
        warn_inefficient()
        return operation(await self._counter(), await self._other(other))

    @redis_type('hash')
    async def le(self, other: Any) -> bool:
        'c <= other: no count is above the other\'s.  O(n)'
        return await self._compare(other, operator.le)

    @redis_type('hash')
    async def lt(self, other: Any) -> bool:
        'c < other: c <= other and c != other.  O(n)'
        return await self._compare(other, operator.lt)

    @redis_type('hash')
    async def ge(self, other: Any) -> bool:
        'c >= other: no count is below the other\'s.  O(n)'
        return await self._compare(other, operator.ge)

    @redis_type('hash')
    async def gt(self, other: Any) -> bool:
        'c > other: c >= other and c != other.  O(n)'
        return await self._compare(other, operator.gt)

    # In-place operators: one transaction each; they return the counter itself.

    async def _inplace(
        self,
        other: Any,
        change: Callable[[dict[bytes, Any], dict[bytes, Any]], None],
    ) -> RedisCounter:
        """Apply ``change(counts, theirs)`` to the counts, then keep only the
        positive ones, as Counter's in-place operators do."""
        other = unwrap(other)
        if isinstance(other, _dict.RedisDict):
            other = await _contents(other)
        if not isinstance(other, collections.abc.Mapping):
            return cast(RedisCounter, NotImplemented)
        warn_inefficient()
        theirs = self._counts(other, {}, 1)

        def compute(counts: dict[bytes, Any]) -> dict[bytes, Any]:
            change(counts, theirs)
            return {k: v for k, v in counts.items() if v > 0}

        await self._rewrite(None, compute)
        return self

    @staticmethod
    def _add_counts(counts: dict[bytes, Any], theirs: dict[bytes, Any]) -> None:
        for k, v in theirs.items():
            counts[k] = counts.get(k, 0) + v

    @staticmethod
    def _sub_counts(counts: dict[bytes, Any], theirs: dict[bytes, Any]) -> None:
        for k, v in theirs.items():
            counts[k] = counts.get(k, 0) - v

    @staticmethod
    def _max_counts(counts: dict[bytes, Any], theirs: dict[bytes, Any]) -> None:
        for k, v in theirs.items():
            if v > counts.get(k, 0):
                counts[k] = v

    @staticmethod
    def _min_counts(counts: dict[bytes, Any], theirs: dict[bytes, Any]) -> None:
        for k, v in counts.items():
            if theirs.get(k, 0) < v:
                counts[k] = theirs.get(k, 0)

    @redis_type('hash')
    async def iplus(self, other: Any) -> RedisCounter:
        'c += other: add counts, keep the positive ones.  O(n)'
        return await self._inplace(other, self._add_counts)

    @redis_type('hash')
    async def isub(self, other: Any) -> RedisCounter:
        'c -= other: subtract counts, keep the positive ones.  O(n)'
        return await self._inplace(other, self._sub_counts)

    @redis_type('hash')
    async def ior(self, other: Any) -> RedisCounter:
        'c |= other: the larger of each count, keep the positive ones.  O(n)'
        return await self._inplace(other, self._max_counts)

    @redis_type('hash')
    async def iand(self, other: Any) -> RedisCounter:
        'c &= other: the smaller of each count, keep the positive ones.  O(n)'
        return await self._inplace(other, self._min_counts)
