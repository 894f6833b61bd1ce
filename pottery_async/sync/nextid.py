# Generated from pottery_async/nextid.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
"""NextID / AIONextID: strictly increasing IDs agreed on by a majority of Redis masters.

The algorithm is the one antirez described (http://antirez.com/news/102)
and Pottery 3.x implements, on the same Redis key (``nextid:<key>``, a
string holding the last ID in decimal), so both libraries continue one
sequence:

1. read the last ID from every master and take the greatest of a majority;
2. ask every master to store that plus one, each only if it holds less;
3. the ID is ours if a majority stored it, else try again (``num_tries``).

With a single master, INCR does both steps in one round trip.

Any two majorities share a master, so an ID is never handed out twice, and
each generator's IDs strictly increase.  The requests of each step go to
all masters at once from the event loop.  IDs may skip values when many
clients race ("holes"), as in Pottery.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _bridge, _clients
from .. import nextid as _core
from .._base import SyncTwin
from ..nextid import _NUM_TRIES


class NextID(SyncTwin):
    """Distributed strictly increasing ID generator, Pottery's NextID / AIONextID.

    ``next(ids)`` in the sync API, ``await anext(ids)`` (or ``async for``) in
    the async API, gives the next ID; ``reset()`` starts again from 1.
    """

    def __init__(
        self,
        *,
        key: str = "current",
        masters: Iterable[_clients.RedisArg] = frozenset(),
        raise_on_redis_errors: bool = False,
        num_tries: int = _NUM_TRIES,
    ) -> None:
        self._core: _core.AIONextID = _core.AIONextID(
            key=key, masters=masters, raise_on_redis_errors=raise_on_redis_errors, num_tries=num_tries
        )

    @property
    def key(self) -> str:
        """The Redis key, with the primitive's prefix (as Pottery names it); assign it without."""
        return self._core.key

    @key.setter
    def key(self, value: str) -> None:
        self._core.key = value

    @property
    def masters(self) -> frozenset[Any]:
        "The Redis clients the quorum is taken over, as passed."
        return self._core.masters

    @masters.setter
    def masters(self, value: Iterable[_clients.RedisArg]) -> None:
        self._core.masters = value

    @property
    def raise_on_redis_errors(self) -> bool:
        "Whether too many failing masters raise QuorumIsImpossible."
        return self._core.raise_on_redis_errors

    @raise_on_redis_errors.setter
    def raise_on_redis_errors(self, value: bool) -> None:
        self._core.raise_on_redis_errors = value

    @property
    def quorum(self) -> int:
        "How many masters make a majority."
        return self._core.quorum

    @property
    def num_tries(self) -> int:
        "How many times to try for a quorum before raising QuorumNotAchieved."
        return self._core.num_tries

    def __iter__(self) -> NextID:
        return self

    def __next__(self) -> int:
        "The next ID."
        return _bridge.run(self._core.__anext__())

    def reset(self) -> None:
        "Start the sequence again: the next ID is 1.  Every master must answer."
        _bridge.run(self._core.reset())

    def __repr__(self) -> str:
        names = type(self._core).__qualname__, type(self).__qualname__
        return repr(self._core).replace(*names, 1)
