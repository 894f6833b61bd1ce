# Generated from pottery_async/hyper.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
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
import redis.asyncio
from collections.abc import Iterable, Iterator
from redis.client import NEVER_DECODE
from redis.crc import key_slot
from redis.exceptions import ResponseError
from typing import Any, TypeAlias, cast
from .. import _bridge, _clients, _twin, hyper as _core
from .._base import Container, Script, SyncTwin, companion, initializer, is_container, redis_type, same_server, unwrap, values_of, warn_inefficient
from .._codec import Codec, JSONTypes, encode_or_none
from ..hyper import Operand


class HyperLogLog(SyncTwin):
    'A Redis HyperLogLog: add elements and estimate how many distinct ones there are.'

    def __init__(self, iterable: Operand=frozenset(), *, redis: _clients.RedisArg=None, key: str='', codec: Codec | None=None) -> None:
        'Create the HyperLogLog; initial elements are added when it is awaited.  O(n)'
        self._core: _core.HyperLogLog = _core.HyperLogLog(iterable, redis=redis, key=key, codec=codec)
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
        'x == other: whether other is a container of this class on the same key and server.  O(1)'
        return _bridge.run(self._core.eq(other))

    def clear(self) -> None:
        'Remove every element.  O(n)'
        _bridge.run(self._core.clear())

    def add(self, value: JSONTypes) -> None:
        'Add an element: one PFADD.  O(1)'
        _bridge.run(self._core.add(value))

    def update(self, *objs: Operand) -> None:
        'Add the elements of iterables, and merge in other HyperLogLogs, in one atomic step.  O(n)'
        _bridge.run(self._core.update(*objs))

    def union(self, *objs: Operand, redis: _clients.RedisArg=None, key: str='') -> HyperLogLog:
        """A new HyperLogLog of this one, the others and the elements given.  O(n)

        It is stored at ``key`` (or a random key, deleted when the object is
        garbage-collected) on ``redis``, this HyperLogLog's server unless
        given.
        """
        return _twin.wrap(self, HyperLogLog, _bridge.run(self._core.union(*objs, redis=redis, key=key)))

    def __len__(self) -> int:
        'len(hll): the approximate number of distinct elements added (PFCOUNT).  O(1)'
        return _bridge.run(self._core.len())

    def __contains__(self, value: Any) -> bool:
        """value in hll: Pottery's PFADD-to-a-copy test, in one script; may be a false positive.  O(1)"""
        return _bridge.run(self._core.contains(value))

    def contains_many(self, *values: Any) -> Iterator[bool]:
        'Whether each value is in the HyperLogLog, in one round trip (one script).  O(n)'
        return _bridge.run(self._core.contains_many(*values))

    def __repr__(self) -> str:
        """Pottery's repr, e.g. <HyperLogLog key=searches len=10>.  O(1)"""
        return _bridge.run(self._core.repr())
