# Generated from pottery_async/list.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
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
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, MutableSequence
from redis.exceptions import ConnectionError as RedisConnectionError, RedisError, TimeoutError as RedisTimeoutError, WatchError
from typing import Any, Self
from .. import _bridge, _clients, _twin, list as _core
from .._base import Container, Paged, Script, SyncTwin, companion, initializer, paged, redis_type, same_server, unwrap, warn_inefficient
from .._codec import Codec, JSONCodec, JSONTypes, encode_or_none
from ..exceptions import KeyExistsError


class RedisList(SyncTwin, MutableSequence[JSONTypes]):
    'A Redis list that behaves like a Python list.'

    def __init__(self, iterable: Iterable[JSONTypes] | AsyncIterable[JSONTypes]=(), *, redis: _clients.RedisArg=None, key: str='', codec: Codec | None=None) -> None:
        'Create the list; initial contents are written when it is awaited.  O(n)'
        self._core: _core.RedisList = _core.RedisList(iterable, redis=redis, key=key, codec=codec)
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
        """l == other: the same elements as another of this class or a plain one (Pottery's rule).  O(n)"""
        return _bridge.run(self._core.eq(other))

    def clear(self) -> None:
        'Remove every element (delete the key).  O(n)'
        _bridge.run(self._core.clear())

    def __getitem__(self, index: int | slice) -> Any:
        'l[index]; l[start:stop:step] returns a plain list.  O(n)'
        return _bridge.run(self._core.getitem(index))

    def __setitem__(self, index: int | slice, value: Any) -> None:
        'l[index] = value; l[start:stop:step] = iterable.  O(n)'
        _bridge.run(self._core.setitem(index, value))

    def __delitem__(self, index: int | slice) -> None:
        'del l[index]; del l[start:stop:step].  O(n)'
        _bridge.run(self._core.delitem(index))

    def __contains__(self, value: Any) -> bool:
        'value in l.  O(n)'
        return _bridge.run(self._core.contains(value))

    def __len__(self) -> int:
        'len(l): the number of elements.  O(1)'
        return _bridge.run(self._core.len())

    def __iter__(self) -> Iterator[JSONTypes]:
        'Iterate over the elements, a page of LRANGE at a time.  O(n)'
        return _bridge.iterate(self._core.__aiter__().pages)

    def __reversed__(self) -> Iterator[JSONTypes]:
        'reversed(l): the elements from last to first, a page of LRANGE at a time.  O(n)'
        return _bridge.iterate(self._core.reversed().pages)

    def __lt__(self, other: Any) -> bool:
        'l < other, comparing elements in order as lists do.  O(n)'
        return _bridge.run(self._core.lt(other))

    def __le__(self, other: Any) -> bool:
        'l <= other, comparing elements in order as lists do.  O(n)'
        return _bridge.run(self._core.le(other))

    def __gt__(self, other: Any) -> bool:
        'l > other, comparing elements in order as lists do.  O(n)'
        return _bridge.run(self._core.gt(other))

    def __ge__(self, other: Any) -> bool:
        'l >= other, comparing elements in order as lists do.  O(n)'
        return _bridge.run(self._core.ge(other))

    def __add__(self, other: Iterable[JSONTypes]) -> Self:
        'l + other: a new container, on a random key, with the elements of both.  O(n)'
        return _twin.wrap(self, type(self), _bridge.run(self._core.plus(other)))

    def __iadd__(self, values: Iterable[JSONTypes]) -> Self:
        'l += values: extend in place.  O(k)'
        return _twin.wrap(self, type(self), _bridge.run(self._core.iplus(values)))

    def __mul__(self, n: int) -> Self:
        'l * n: a new container, on a random key, with the elements repeated n times.  O(n)'
        return _twin.wrap(self, type(self), _bridge.run(self._core.mul(n)))

    def __rmul__(self, n: int) -> Self:
        'n * l: as l * n.  O(n)'
        return _twin.wrap(self, type(self), _bridge.run(self._core.rmul(n)))

    def __imul__(self, n: int) -> Self:
        'l *= n: repeat the elements in place, in bounded steps, atomically.  O(n)'
        return _twin.wrap(self, type(self), _bridge.run(self._core.imul(n)))

    def __repr__(self) -> str:
        """Pottery's repr, e.g. RedisList[1, 4, 9].  O(n)"""
        return _bridge.run(self._core.repr())

    def append(self, value: JSONTypes) -> None:
        'Add an element at the right end.  O(1)'
        _bridge.run(self._core.append(value))

    def extend(self, values: Iterable[JSONTypes]) -> None:
        'Add the elements of an iterable at the right end, atomically (per chunk, if there are many).  O(k)'
        _bridge.run(self._core.extend(values))

    def insert(self, index: int, value: JSONTypes) -> None:
        'Insert value before index, as list.insert() does.  O(n)'
        _bridge.run(self._core.insert(index, value))

    def pop(self, index: int | None=None) -> JSONTypes:
        'Remove and return the element at index (default: the last).  O(1) at either end, else O(n)'
        return _bridge.run(self._core.pop(index))

    def remove(self, value: JSONTypes) -> None:
        'Remove the first occurrence of value; ValueError if there is none.  O(n)'
        _bridge.run(self._core.remove(value))

    def index(self, value: Any, start: int=0, stop: int | None=None) -> int:
        'The first index of value in l[start:stop]; ValueError if it is not there.  O(n)'
        return _bridge.run(self._core.index(value, start, stop))

    def count(self, value: Any) -> int:
        """The number of occurrences of value.  O(n)

        A long list is counted in bounded calls: a change meanwhile may be
        seen part-way, as by iteration.
        """
        return _bridge.run(self._core.count(value))

    def reverse(self) -> None:
        'Reverse the elements in place, atomically (in bounded steps if the list is long).  O(n)'
        _bridge.run(self._core.reverse())

    def sort(self, *, key: Callable[[Any], Any] | None=None, reverse: bool=False) -> None:
        """Sort the elements in place, atomically.  O(n log n)

        A short list of numbers (at most _CHUNK of them, about _CHUNK_BYTES)
        is sorted on the server in one script (SORT ... STORE), as Pottery
        sorts numbers, when that gives Python's order.  Anything else, or
        any ``key`` function, is sorted as Python sorts it: the elements are
        read, sorted here and written back as a rebuild does, in bounded
        steps, starting again if the list changed meanwhile; elements that
        cannot be compared raise TypeError and change nothing.
        """
        _bridge.run(self._core.sort(key=key, reverse=reverse))

    def copy(self) -> Self:
        'A new container, on a random key, with the same elements.  O(n)'
        return _twin.wrap(self, type(self), _bridge.run(self._core.copy()))

    def to_list(self) -> list[JSONTypes]:
        'A plain list with the same elements, in one round trip.  O(n)'
        return _bridge.run(self._core.to_list())
