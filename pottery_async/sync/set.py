# Generated from pottery_async/set.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
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
import redis.asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, MutableSet
from redis.crc import key_slot
from redis.exceptions import ResponseError
from typing import Any, Literal, TypeAlias, TypeVar, cast
from .. import _bridge, _clients, _twin, set as _core
from .._base import Container, Paged, Script, SyncTwin, create_script, initializer, redis_type, same_server, unwrap, warn_inefficient
from .._codec import Codec, JSONTypes, encode_or_none
from ..exceptions import KeyExistsError
from ..set import InitArg, Operand


class RedisSet(SyncTwin, MutableSet[JSONTypes]):
    'A Redis set that behaves like a set.'

    def __init__(self, iterable: InitArg=(), *, redis: _clients.RedisArg=None, key: str='', codec: Codec | None=None) -> None:
        'Create the set; initial contents are written when it is awaited.  O(n)'
        self._core: _core.RedisSet = _core.RedisSet(iterable, redis=redis, key=key, codec=codec)
        _bridge.run(self._core._initialize())

    @property
    def redis(self) -> _clients.RedisArg:
        'The client (or URL) this container was given; None for the default.'
        return self._core.redis

    @property
    def key(self) -> str:
        'The Redis key that holds this container.'
        return self._core.key

    def __eq__(self, other: Any) -> bool:
        's == other: the same elements as another set.  O(n)'
        return _bridge.run(self._core.eq(other))

    def clear(self) -> None:
        'Remove every element.  O(n)'
        _bridge.run(self._core.clear())

    def __contains__(self, value: Any) -> bool:
        'value in s.  O(1)'
        return _bridge.run(self._core.contains(value))

    def contains_many(self, *values: Any) -> Iterator[bool]:
        'Whether each value is in the set, in one command (SMISMEMBER, Redis 6.2+).  O(n)'
        return _bridge.run(self._core.contains_many(*values))

    def __len__(self) -> int:
        'len(s): the number of elements.  O(1)'
        return _bridge.run(self._core.len())

    def __iter__(self) -> Iterator[JSONTypes]:
        'Iterate over the elements, a page of SSCAN at a time.  O(n)'
        return _bridge.iterate(self._core.__aiter__().pages)

    def add(self, value: JSONTypes) -> None:
        'Add an element.  O(1)'
        _bridge.run(self._core.add(value))

    def discard(self, value: JSONTypes) -> None:
        'Remove an element if it is a member.  O(1)'
        _bridge.run(self._core.discard(value))

    def remove(self, value: JSONTypes) -> None:
        'Remove an element; KeyError if it is not a member.  O(1)'
        _bridge.run(self._core.remove(value))

    def pop(self) -> JSONTypes:
        'Remove and return an arbitrary element; KeyError if empty.  O(1)'
        return _bridge.run(self._core.pop())

    def __le__(self, other: Any) -> bool:
        's <= other: every element of s is in the set other.  O(n)'
        return _bridge.run(self._core.le(other))

    def __lt__(self, other: Any) -> bool:
        's < other: s <= other and s != other.  O(n)'
        return _bridge.run(self._core.lt(other))

    def __ge__(self, other: Any) -> bool:
        's >= other: every element of the set other is in s.  O(n)'
        return _bridge.run(self._core.ge(other))

    def __gt__(self, other: Any) -> bool:
        's > other: s >= other and s != other.  O(n)'
        return _bridge.run(self._core.gt(other))

    def isdisjoint(self, other: Operand) -> bool:
        'Whether s and other (any iterable) have no element in common.  O(n)'
        return _bridge.run(self._core.isdisjoint(other))

    def issubset(self, other: Operand) -> bool:
        'Whether every element of s is in other (any iterable).  O(n)'
        return _bridge.run(self._core.issubset(other))

    def issuperset(self, other: Operand) -> bool:
        'Whether every element of other (any iterable) is in s.  O(n)'
        return _bridge.run(self._core.issuperset(other))

    def union(self, *others: Operand) -> set[JSONTypes]:
        'A new set with the elements of s and of all others.  O(n)'
        return _bridge.run(self._core.union(*others))

    def intersection(self, *others: Operand) -> set[JSONTypes]:
        'A new set with the elements common to s and all others.  O(n)'
        return _bridge.run(self._core.intersection(*others))

    def difference(self, *others: Operand) -> set[JSONTypes]:
        'A new set with the elements of s that are in none of the others.  O(n)'
        return _bridge.run(self._core.difference(*others))

    def symmetric_difference(self, other: Operand) -> set[JSONTypes]:
        'A new set with the elements in exactly one of s and other.  O(n)'
        return _bridge.run(self._core.symmetric_difference(other))

    def __or__(self, other: Operand) -> set[JSONTypes]:
        's | other: a new set with the elements of both.  O(n)'
        return _bridge.run(self._core.or_(other))

    def __ror__(self, other: Operand) -> set[JSONTypes]:
        'other | s.  O(n)'
        return _bridge.run(self._core.ror(other))

    def __and__(self, other: Operand) -> set[JSONTypes]:
        's & other: a new set with the elements common to both.  O(n)'
        return _bridge.run(self._core.and_(other))

    def __rand__(self, other: Operand) -> set[JSONTypes]:
        'other & s.  O(n)'
        return _bridge.run(self._core.rand(other))

    def __sub__(self, other: Operand) -> set[JSONTypes]:
        's - other: a new set with the elements of s not in other.  O(n)'
        return _bridge.run(self._core.sub(other))

    def __rsub__(self, other: Operand) -> set[JSONTypes]:
        'other - s: a new set with the elements of other not in s.  O(n)'
        return _bridge.run(self._core.rsub(other))

    def __xor__(self, other: Operand) -> set[JSONTypes]:
        's ^ other: a new set with the elements in exactly one of them.  O(n)'
        return _bridge.run(self._core.xor(other))

    def __rxor__(self, other: Operand) -> set[JSONTypes]:
        'other ^ s.  O(n)'
        return _bridge.run(self._core.rxor(other))

    def update(self, *others: Operand) -> None:
        'Add the elements of all others.  O(n)'
        _bridge.run(self._core.update(*others))

    def difference_update(self, *others: Operand) -> None:
        'Remove the elements of all others.  O(n)'
        _bridge.run(self._core.difference_update(*others))

    def intersection_update(self, *others: Operand) -> None:
        'Keep only the elements found in all others.  O(n)'
        _bridge.run(self._core.intersection_update(*others))

    def symmetric_difference_update(self, other: Operand) -> None:
        'Keep the elements in exactly one of s and other.  O(n)'
        _bridge.run(self._core.symmetric_difference_update(other))

    def __ior__(self, other: Operand) -> RedisSet:
        's |= other.  O(n)'
        return _twin.wrap(self, RedisSet, _bridge.run(self._core.ior(other)))

    def __iand__(self, other: Operand) -> RedisSet:
        's &= other.  O(n)'
        return _twin.wrap(self, RedisSet, _bridge.run(self._core.iand(other)))

    def __isub__(self, other: Operand) -> RedisSet:
        's -= other.  O(n)'
        return _twin.wrap(self, RedisSet, _bridge.run(self._core.isub(other)))

    def __ixor__(self, other: Operand) -> RedisSet:
        's ^= other.  O(n)'
        return _twin.wrap(self, RedisSet, _bridge.run(self._core.ixor(other)))

    def to_set(self) -> set[JSONTypes]:
        'A plain set with the same elements, in one round trip.  O(n)'
        return _bridge.run(self._core.to_set())

    def __repr__(self) -> str:
        """Pottery's repr, e.g. RedisSet{'apple', 'pear'}; RedisSet{} when empty.  O(n)"""
        return _bridge.run(self._core.repr())
