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

from redis.exceptions import RedisError

from . import _clients
from ._base import Script
from ._primitive import Primitive
from .exceptions import QuorumNotAchieved

# Store ARGV[1] unless the key already holds that much or more; return 1 if
# stored.  (The comparison is numeric; the value is stored as given.)
_CLAIM = Script('''
local held = tonumber(redis.call('GET', KEYS[1]))
if held ~= nil and held >= tonumber(ARGV[1]) then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
''')

_NUM_TRIES = 3


class AIONextID(Primitive):
    """Distributed strictly increasing ID generator, Pottery's NextID / AIONextID.

    ``next(ids)`` in the sync API, ``await anext(ids)`` (or ``async for``) in
    the async API, gives the next ID; ``reset()`` starts again from 1.
    """

    _KEY_PREFIX = 'nextid'

    def __init__(
        self,
        *,
        key: str = 'current',
        masters: Iterable[_clients.RedisArg] = frozenset(),
        raise_on_redis_errors: bool = False,
        num_tries: int = _NUM_TRIES,
    ) -> None:
        super().__init__(key=key, masters=masters, raise_on_redis_errors=raise_on_redis_errors)
        self._num_tries = num_tries

    @property
    def num_tries(self) -> int:
        'How many times to try for a quorum before raising QuorumNotAchieved.'
        return self._num_tries

    def __aiter__(self) -> AIONextID:
        return self

    async def __anext__(self) -> int:
        'The next ID.'
        if len(self.masters) == 1:
            return await self._increment()
        errors: list[RedisError] = []
        for _ in range(self._num_tries):
            current, errors = await self._current()
            if current is None:
                continue
            claimed, errors = await self._claim(current + 1)
            if claimed:
                return current + 1
        # The last try's errors say why it failed, if the masters did.
        raise QuorumNotAchieved(self.key, self.masters, redis_errors=errors)

    async def _increment(self) -> int:
        # One master is its own majority: INCR reads and claims in one step
        # (the same value stored, the same race outcome as the two steps).
        key = self.key

        async def incr(client: _clients.AsyncClient) -> Any:
            return await client.incr(key)

        errors: list[RedisError] = []
        for _ in range(self._num_tries):
            ids, errors = await self._fan_out(incr)
            if ids:
                return int(ids[0])
            self._check_enough_masters_up(errors)
        raise QuorumNotAchieved(self.key, self.masters, redis_errors=errors)

    async def _current(self) -> tuple[int | None, list[RedisError]]:
        'The greatest ID a majority of masters hold (None without a majority), and the errors.'
        key = self.key

        async def get(client: _clients.AsyncClient) -> Any:
            return await client.get(key)

        values, errors = await self._fan_out(get)
        if len(values) >= self.quorum:
            return max(int(value or 0) for value in values), errors
        self._check_enough_masters_up(errors)
        return None, errors

    async def _claim(self, value: int) -> tuple[bool, list[RedisError]]:
        'Whether a majority of masters stored ``value`` as the last ID, and the errors.'
        keys = [self.key]
        args = (value,)

        async def claim(client: _clients.AsyncClient) -> Any:
            return await _CLAIM(client, keys, args)

        stored, errors = await self._fan_out(claim)
        if sum(1 for result in stored if result == 1) >= self.quorum:
            return True, errors
        self._check_enough_masters_up(errors)
        return False, errors

    async def reset(self) -> None:
        'Start the sequence again: the next ID is 1.  Every master must answer.'
        key = self.key

        async def delete(client: _clients.AsyncClient) -> Any:
            return await client.delete(key)

        _, errors = await self._fan_out(delete)
        if errors:
            self._check_enough_masters_up(errors)
            raise QuorumNotAchieved(self.key, self.masters, redis_errors=errors)

    def __repr__(self) -> str:
        return f'<{type(self).__qualname__} key={self.key}>'
