"""RedisSimpleQueue: a Redis stream that behaves like queue.SimpleQueue.

The layout is Pottery 3.0.1's, so either library reads the other's queue:
one stream per queue, each item an entry with a single field ``item`` holding
the JSON-encoded value, appended by ``XADD key * item <json>``; ``get()``
removes the oldest entry.  Like Pottery's, an emptied queue is an empty
stream: the key stays until ``clear()``.

``get()`` never polls.  It takes the oldest entry with one Lua script (XRANGE
+ XDEL, atomic), and when the stream is empty it waits in ``XREAD BLOCK``,
which the server answers the moment an entry is added; then it takes again
(another consumer may have been faster; every waiting consumer wakes, one
wins).  ``XREAD`` only looks: a wait that is abandoned (a timeout, a
cancelled task, Ctrl-C in the sync API, a lost connection) removes nothing.

A wait never outlasts the client's timeout: redis.asyncio applies
``socket_timeout`` to each read, and the sync API's clients apply it to each
command as a whole, so a longer ``XREAD BLOCK`` would fail as a timeout.
The wait is sliced: no slice blocks for more than three quarters of the
client's ``socket_timeout``, and each slice still wakes at once when an item
arrives.  (A slice whose reply comes too late anyway is not an error: the
next step, taking, shows whether the server is alive.)  A client without
``socket_timeout`` waits for ``get(timeout=None)`` in one unbounded
``XREAD BLOCK 0``.

``get(timeout=...)`` keeps its deadline to the millisecond.  The server
expires a block only at its next tick (every 100 ms at the default ``hz``),
so at the deadline the client abandons the ``XREAD`` instead, closing that
connection (the next command opens another); nothing is taken.

Cancellation never loses an item.  The one step that removes an entry is the
script; it runs in its own task, shielded from the caller's cancellation.
If ``get()`` is cancelled while the script is on its way (the moment an item
arrives and a timeout fires together), it waits for the reply (one round
trip, bounded by the client's timeout) and, if the script took an item, puts
it back with ``XADD`` before re-raising the cancellation.  A stream can only
grow at its tail, so that item goes to the back of the queue: it is not lost,
but items put after it may be delivered before it.  What remains:

- if putting the item back fails (the server or connection died in that
  round trip), it is lost and logged as an error on the ``pottery_async``
  logger, with its encoded value;
- in the sync API, Ctrl-C arrives as a ``KeyboardInterrupt`` raised in
  whatever Python code runs at that instant.  Usually that is the event loop
  waiting on the socket, and the bridge turns it into the cancellation above;
  if instead it lands in the microseconds between the script's reply being
  parsed and ``get()`` returning, that item is lost;
- a connection that breaks after the script ran and before its reply
  arrived loses the item, as any command's reply is lost with its
  connection (if the client's retry policy then retries, the retry takes
  the next item).
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from redis.exceptions import TimeoutError as RedisTimeoutError

from . import _clients
from ._base import Container, Script, redis_type
from ._codec import Codec, JSONTypes
from .exceptions import QueueEmptyError

logger = logging.getLogger('pottery_async')

# Pottery's field name: each entry is {'item': <encoded value>}.
_FIELD = 'item'

# Take the oldest entry's item and delete the entry, atomically.  An entry
# without an 'item' field (not written by Pottery or by us) is an error, and
# is left where it is.
_POP = Script('''
local entry = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if not entry then return false end
local fields = entry[2]
for i = 1, #fields, 2 do
  if fields[i] == 'item' then
    redis.call('XDEL', KEYS[1], entry[1])
    return fields[i + 1]
  end
end
return redis.error_reply('entry ' .. entry[1] .. ' of stream ' .. KEYS[1] .. ' has no item field')
''')

# The share of the client's socket_timeout that one XREAD BLOCK may use; the
# rest is for the round trip.
_SLICE = 0.75


def _wait_limit(client: _clients.AsyncClient) -> float | None:
    'The longest one blocking command may wait on the server; None if unbounded.'
    if isinstance(client, _clients.BridgeRedis):
        timeout = client._command_timeout
    else:
        timeout = client.get_connection_kwargs().get(
            'socket_timeout', _clients._ASYNC_DEFAULT_SOCKET_TIMEOUT,
        )
    if timeout is None:
        return None
    return max(float(timeout) * _SLICE, 0.001)


class RedisSimpleQueue(Container):
    'A Redis stream that behaves like queue.SimpleQueue: multi-producer, multi-consumer, FIFO.'

    _VAR = 'q'
    _SIZE = 'qsize'

    def __init__(
        self,
        *,
        redis: _clients.RedisArg = None,
        key: str = '',
        codec: Codec | None = None,
    ) -> None:
        'Create the queue (no I/O).  O(1)'
        super().__init__(redis=redis, key=key, codec=codec)

    @redis_type('stream')
    async def qsize(self) -> int:
        'The number of items in the queue; it may change before you use it.  O(1)'
        return int(await self._client.xlen(self._key))  # Redis 5.0+

    @redis_type('stream')
    async def empty(self) -> bool:
        'Whether the queue is empty; it may change before you use it.  O(1)'
        return int(await self._client.xlen(self._key)) == 0  # Redis 5.0+

    # timeout: queue.SimpleQueue's signature (ignored here, as put never blocks).
    @redis_type('stream')
    async def put(
        self, item: JSONTypes, block: bool = True, timeout: float | None = None,  # noqa: ASYNC109
    ) -> None:
        'Put an item at the back of the queue; never blocks (block and timeout are ignored).  O(1)'
        encoded = self._codec.encode(item)
        await self._client.execute_command('XADD', self._key, '*', _FIELD, encoded)  # Redis 5.0+

    async def put_nowait(self, item: JSONTypes) -> None:
        'Put an item at the back of the queue; the same as put(item).  O(1)'
        await self.put(item)

    # timeout: queue.SimpleQueue's signature.
    @redis_type('stream')
    async def get(self, block: bool = True, timeout: float | None = None) -> JSONTypes:  # noqa: ASYNC109
        """Remove and return the item at the front of the queue.  O(1)

        With block true (the default) wait for an item, for at most timeout
        seconds if timeout is not None (fractions are honoured, to the
        millisecond), and raise QueueEmptyError if none arrived.  With block
        false return an item if one is there, else raise QueueEmptyError at
        once (timeout is ignored).
        """
        if block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        client = self._client
        encoded = await self._take(client)
        if encoded is None and block:
            encoded = await self._wait_and_take(client, timeout)
        if encoded is None:
            raise QueueEmptyError(self.redis, self._key)
        item: JSONTypes = self._codec.decode(encoded)
        return item

    async def get_nowait(self) -> JSONTypes:
        'Remove and return the front item if there is one, else raise QueueEmptyError.  O(1)'
        return await self.get(block=False)

    async def _wait_and_take(self, client: _clients.AsyncClient, seconds: float | None) -> Any:
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None or math.isinf(seconds) else loop.time() + seconds
        limit = _wait_limit(client)
        while True:
            wait = limit
            if deadline is not None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                if limit is None or remaining < limit:
                    wait = remaining
            if await self._wait_for_entry(client, wait, deadline):
                encoded = await self._take(client)
                if encoded is not None:
                    return encoded

    async def _wait_for_entry(
        self, client: _clients.AsyncClient, wait: float | None, deadline: float | None,
    ) -> bool:
        """Wait until the stream has an entry, for at most ``wait`` seconds (None: no limit).

        False if the wait ended empty-handed; True if an entry arrived, or if
        the client gave up on a slow reply (taking next tells whether the
        server is alive).  Removes nothing.
        """
        # BLOCK 0 waits for ever; a positive wait rounds up to 1 ms at least.
        milliseconds = 0 if wait is None else max(math.ceil(wait * 1000), 1)
        # The server expires a block only at its next tick (every 100 ms at
        # the default hz of 10): the caller's deadline is kept here instead,
        # by abandoning the XREAD (and so its connection).
        cut = asyncio.timeout_at(deadline)
        try:
            async with cut:
                # XREAD from ID 0 answers as soon as the stream has any entry.
                seen = await client.execute_command(  # Redis 5.0+
                    'XREAD', 'COUNT', 1, 'BLOCK', milliseconds, 'STREAMS', self._key, '0',
                )
        except (TimeoutError, RedisTimeoutError):
            if cut.expired():
                return False
            # The client's own timeout: the reply to a slice came too late.
            return True
        return bool(seen)

    async def _take(self, client: _clients.AsyncClient) -> Any:
        'The oldest encoded item, removed from the stream; None if there is none.'
        taking = asyncio.ensure_future(_POP(client, [self._key], ()))
        try:
            return await asyncio.shield(taking)
        except asyncio.CancelledError:
            # The script may already have run on the server: what it took
            # goes back into the queue before the cancellation goes on.
            await self._put_back(client, taking)
            raise

    async def _put_back(self, client: _clients.AsyncClient, taking: asyncio.Future[Any]) -> None:
        async def put_back() -> None:
            try:
                encoded = await taking
            except Exception:
                # The script failed, or its reply was lost with its
                # connection (then nothing can say whether it ran).
                return
            if encoded is None:
                return
            try:
                await client.execute_command('XADD', self._key, '*', _FIELD, encoded)
            except Exception:
                logger.exception(
                    'a cancelled get() took an item from queue %r and could not put it back: %r',
                    self._key, encoded,
                )

        restoring = asyncio.ensure_future(put_back())
        # Cancelled again meanwhile: keep waiting; the first cancellation is
        # re-raised by the caller anyway.
        while not restoring.done():
            try:
                await asyncio.shield(restoring)
            except asyncio.CancelledError:
                continue

