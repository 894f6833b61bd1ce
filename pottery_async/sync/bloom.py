# Generated from pottery_async/bloom.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
"""BloomFilter: a Redis bitmap that answers "have I seen this element?".

The layout is Pottery 3.x's, so each library reads and extends the other's
filters: a Redis string of ``size()`` bits; an element's bits are the
signed 32-bit MurmurHash3 of its JSON encoding with seeds ``0 ..
num_hashes() - 1``, each taken modulo ``size()`` (Python's modulo, never
negative), numbered as SETBIT numbers them.  ``size()`` and
``num_hashes()`` follow from ``num_elements`` and ``false_positives`` by
the textbook formulas, computed exactly as Pottery computes them.

Pottery sends a command per bit.  Here one element is one command (BITFIELD
sets or reads all of its bits), and many elements are one round trip:
either one script, to which the client sends the hashes packed in one
argument and which takes them modulo ``size()`` and sets or tests the bits,
or, to test many elements against a small bitmap, one GETRANGE of the
bitmap, whose bits the client tests itself.
"""

from __future__ import annotations

import array
import math
import mmh3
import numbers
import sys
from collections.abc import Iterable, Iterator
from redis.client import NEVER_DECODE
from typing import Any
from .. import _bridge, _clients, _twin, bloom as _core
from .._base import Container, Script, SyncTwin, initializer, is_container, redis_type, unwrap, values_of, warn_inefficient
from .._codec import Codec, JSONTypes, encode_or_none


class BloomFilter(SyncTwin):
    'A Redis-backed Bloom filter: add elements, test membership, estimate the count.'

    def __init__(self, iterable: Iterable[JSONTypes]=frozenset(), *, num_elements: int, false_positives: float, redis: _clients.RedisArg=None, key: str='', codec: Codec | None=None) -> None:
        'Create the filter; initial elements are added when it is awaited.  O(n * k)'
        self._core: _core.BloomFilter = _core.BloomFilter(iterable, num_elements=num_elements, false_positives=false_positives, redis=redis, key=key, codec=codec)
        _bridge.run(self._core._initialize())

    @property
    def redis(self) -> _clients.RedisArg:
        'The client (or URL) this container was given; None for the default.'
        return self._core.redis

    @property
    def key(self) -> str:
        'The Redis key that holds this container.'
        return self._core.key

    def __repr__(self) -> str:
        names = type(self._core).__qualname__, type(self).__qualname__
        return repr(self._core).replace(*names, 1)

    def __eq__(self, other: Any) -> bool:
        'x == other: whether other is a container of this class on the same key and server.  O(1)'
        return _bridge.run(self._core.eq(other))

    def clear(self) -> None:
        'Remove every element.  O(n)'
        _bridge.run(self._core.clear())

    @property
    def num_elements(self) -> int:
        'How many elements the filter is sized for.'
        return self._core.num_elements

    @property
    def false_positives(self) -> float:
        'The false positive probability the filter is sized for.'
        return self._core.false_positives

    def size(self) -> int:
        'The number of bits (m) the filter needs for num_elements and false_positives.  O(1)'
        return self._core.size()

    def num_hashes(self) -> int:
        'The number of bits (k) each element sets, which minimises false positives.  O(1)'
        return self._core.num_hashes()

    def add(self, value: JSONTypes) -> None:
        'Add an element: one BITFIELD that sets its k bits.  O(k)'
        _bridge.run(self._core.add(value))

    def update(self, *iterables: Iterable[JSONTypes]) -> None:
        'Add the elements of every iterable, in one atomic step (one script).  O(n * k)'
        _bridge.run(self._core.update(*iterables))

    def __contains__(self, value: Any) -> bool:
        'value in bf: one BITFIELD_RO that reads its k bits; may be a false positive.  O(k)'
        return _bridge.run(self._core.contains(value))

    def contains_many(self, *values: Any) -> Iterator[bool]:
        'Whether each value is in the filter, in one round trip; each may be a false positive.  O(n * k)'
        return _bridge.run(self._core.contains_many(*values))

    def __len__(self) -> int:
        """len(bf): the approximate number of elements added (from BITCOUNT).  O(m)

        Pottery's estimate, -m / k * ln(1 - X / m) for X bits set, rounded
        down; a full bitmap (X = m, where the formula has no finite value)
        counts as m - 1 bits set.
        """
        return _bridge.run(self._core.len())
