# Generated from pottery_async/counter.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
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
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from pottery_async.sync.dict import RedisDict
from redis.exceptions import ResponseError, WatchError
from typing import Any, TypeAlias, cast
from .. import _bridge, _clients, _twin, counter as _core, dict as _dict
from .._base import Container, Script, SyncTwin, initializer, paged, redis_type, same_server, unwrap, warn_inefficient
from .._codec import Codec, JSONCodec, JSONTypes
from ..exceptions import KeyExistsError
from ..counter import CounterArg


class RedisCounter(RedisDict):
    'A Redis hash that counts, like collections.Counter.'

    def __init__(self, arg: CounterArg=(), *, redis: _clients.RedisArg=None, key: str='', codec: Codec | None=None, **kwargs: int) -> None:
        'Create the counter; initial counts are written when it is awaited.  O(n)'
        self._core: _core.RedisCounter = _core.RedisCounter(arg, redis=redis, key=key, codec=codec, **kwargs)
        _bridge.run(self._core._initialize())

    def __getitem__(self, key: JSONTypes) -> int:
        'c[key]: the count of key, 0 if missing.  O(1)'
        return _bridge.run(self._core.getitem(key))

    def __delitem__(self, key: JSONTypes) -> None:
        'del c[key]: forget key; no error if missing.  O(1)'
        _bridge.run(self._core.delitem(key))

    def __eq__(self, other: Any) -> bool:
        'c == other: as Counter, missing keys count 0 against a Counter.  O(n)'
        return _bridge.run(self._core.eq(other))

    def __repr__(self) -> str:
        """Pottery's repr, most common first, e.g. RedisCounter{'a': 3, 'b': 0}.  O(n)"""
        return _bridge.run(self._core.repr())

    def update(self, arg: CounterArg=(), /, **kwargs: int) -> None:  # type: ignore[override]
        'Add counts: of the elements of an iterable, of a mapping, of kwargs; atomically.  O(n)'
        _bridge.run(self._core.update(arg, **kwargs))

    def subtract(self, arg: CounterArg=(), /, **kwargs: int) -> None:
        'Subtract counts, like update() adds them; counts may go to zero or below.  O(n)'
        _bridge.run(self._core.subtract(arg, **kwargs))

    def elements(self) -> Iterator[JSONTypes]:
        'Each key repeated as many times as its count (if positive), a page at a time.  O(n)'
        return _bridge.iterate(self._core.elements().pages)

    def most_common(self, n: int | None=None) -> list[tuple[JSONTypes, int]]:
        'The n most common keys and their counts, most common first (all if n is None).  O(n)'
        return _bridge.run(self._core.most_common(n))

    def total(self) -> int:
        'The sum of the counts, read a page at a time.  O(n)'
        return _bridge.run(self._core.total())

    def to_counter(self) -> collections.Counter[JSONTypes]:
        'A plain collections.Counter with the same counts, in one round trip.  O(n)'
        return _bridge.run(self._core.to_counter())

    def __add__(self, other: Any) -> collections.Counter[JSONTypes]:
        'c + other: add counts, keep the positive ones.  O(n)'
        return _bridge.run(self._core.plus(other))

    def __radd__(self, other: Any) -> collections.Counter[JSONTypes]:
        'other + c.  O(n)'
        return _bridge.run(self._core.rplus(other))

    def __sub__(self, other: Any) -> collections.Counter[JSONTypes]:
        'c - other: subtract counts, keep the positive ones.  O(n)'
        return _bridge.run(self._core.sub(other))

    def __rsub__(self, other: Any) -> collections.Counter[JSONTypes]:
        'other - c.  O(n)'
        return _bridge.run(self._core.rsub(other))

    def __or__(self, other: Any) -> collections.Counter[JSONTypes]:
        'c | other: the larger of each count (union), keep the positive ones.  O(n)'
        return _bridge.run(self._core.or_(other))

    def __ror__(self, other: Any) -> collections.Counter[JSONTypes]:
        'other | c.  O(n)'
        return _bridge.run(self._core.ror(other))

    def __and__(self, other: Any) -> collections.Counter[JSONTypes]:
        'c & other: the smaller of each count (intersection), keep the positive ones.  O(n)'
        return _bridge.run(self._core.and_(other))

    def __rand__(self, other: Any) -> collections.Counter[JSONTypes]:
        'other & c.  O(n)'
        return _bridge.run(self._core.rand(other))

    def __pos__(self) -> collections.Counter[JSONTypes]:
        '+c: the positive counts.  O(n)'
        return _bridge.run(self._core.pos())

    def __neg__(self) -> collections.Counter[JSONTypes]:
        '-c: the negative counts, negated.  O(n)'
        return _bridge.run(self._core.neg())

    def __le__(self, other: Any) -> bool:
        """c <= other: no count is above the other's.  O(n)"""
        return _bridge.run(self._core.le(other))

    def __lt__(self, other: Any) -> bool:
        'c < other: c <= other and c != other.  O(n)'
        return _bridge.run(self._core.lt(other))

    def __ge__(self, other: Any) -> bool:
        """c >= other: no count is below the other's.  O(n)"""
        return _bridge.run(self._core.ge(other))

    def __gt__(self, other: Any) -> bool:
        'c > other: c >= other and c != other.  O(n)'
        return _bridge.run(self._core.gt(other))

    def __iadd__(self, other: Any) -> RedisCounter:
        'c += other: add counts, keep the positive ones.  O(n)'
        return _twin.wrap(self, RedisCounter, _bridge.run(self._core.iplus(other)))

    def __isub__(self, other: Any) -> RedisCounter:
        'c -= other: subtract counts, keep the positive ones.  O(n)'
        return _twin.wrap(self, RedisCounter, _bridge.run(self._core.isub(other)))

    def __ior__(self, other: Any) -> RedisCounter:
        'c |= other: the larger of each count, keep the positive ones.  O(n)'
        return _twin.wrap(self, RedisCounter, _bridge.run(self._core.ior(other)))

    def __iand__(self, other: Any) -> RedisCounter:
        'c &= other: the smaller of each count, keep the positive ones.  O(n)'
        return _twin.wrap(self, RedisCounter, _bridge.run(self._core.iand(other)))
