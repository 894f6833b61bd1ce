# Generated from pottery_async/deque.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
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

from collections.abc import AsyncIterable, Iterable

from .. import _bridge, _clients
from .. import deque as _core
from .._codec import Codec, JSONTypes
from .list import RedisList


class RedisDeque(RedisList):
    "A Redis list that behaves like collections.deque."

    def __init__(
        self,
        iterable: Iterable[JSONTypes] | AsyncIterable[JSONTypes] = (),
        maxlen: int | None = None,
        *,
        redis: _clients.RedisArg = None,
        key: str = "",
        codec: Codec | None = None,
    ) -> None:
        """Create the deque; initial contents are written when it is awaited.  O(n)

        Awaiting it also checks, as Pottery's constructor does, that a list
        already on the key is no longer than ``maxlen`` (IndexError if it is).
        """
        self._core: _core.RedisDeque = _core.RedisDeque(iterable, maxlen, redis=redis, key=key, codec=codec)
        _bridge.run(self._core._initialize())

    @property
    def maxlen(self) -> int | None:
        "The maximum number of elements, or None if unbounded."
        return self._core.maxlen

    def appendleft(self, value: JSONTypes) -> None:
        "Add an element at the left end.  O(1)"
        _bridge.run(self._core.appendleft(value))

    def extendleft(self, values: Iterable[JSONTypes]) -> None:
        """Add the elements of an iterable at the left end, in one step.  O(k)

        Each goes in front of the previous one, so they end up reversed:
        extendleft('abc') gives RedisDeque(['c', 'b', 'a']).
        """
        _bridge.run(self._core.extendleft(values))

    def popleft(self) -> JSONTypes:
        "Remove and return the leftmost element.  O(1)"
        return _bridge.run(self._core.popleft())

    def rotate(self, n: int = 1) -> None:
        """Rotate n steps to the right (left if n is negative), atomically.  O(min(n, len - n))

        A rotation that would move too many elements for one script call
        rebuilds the deque in bounded steps instead.  O(len) then.
        """
        _bridge.run(self._core.rotate(n))

    def __repr__(self) -> str:
        """Pottery's repr, e.g. RedisDeque(['g', 'h'], maxlen=2).  O(n)"""
        return _bridge.run(self._core.repr())
