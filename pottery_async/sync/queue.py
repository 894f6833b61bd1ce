# Generated from pottery_async/queue.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
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
from collections.abc import Iterator
from redis.exceptions import TimeoutError as RedisTimeoutError
from typing import Any
from .. import _bridge, _clients, _twin, queue as _core
from .._base import Container, Script, SyncTwin, redis_type
from .._codec import Codec, JSONTypes
from ..exceptions import QueueEmptyError


class RedisSimpleQueue(SyncTwin):
    'A Redis stream that behaves like queue.SimpleQueue: multi-producer, multi-consumer, FIFO.'

    def __init__(self, *, redis: _clients.RedisArg=None, key: str='', codec: Codec | None=None) -> None:
        'Create the queue (no I/O).  O(1)'
        self._core: _core.RedisSimpleQueue = _core.RedisSimpleQueue(redis=redis, key=key, codec=codec)

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

    def qsize(self) -> int:
        'The number of items in the queue; it may change before you use it.  O(1)'
        return _bridge.run(self._core.qsize())

    def empty(self) -> bool:
        'Whether the queue is empty; it may change before you use it.  O(1)'
        return _bridge.run(self._core.empty())

    def put(self, item: JSONTypes, block: bool=True, timeout: float | None=None) -> None:
        'Put an item at the back of the queue; never blocks (block and timeout are ignored).  O(1)'
        _bridge.run(self._core.put(item, block, timeout))

    def put_nowait(self, item: JSONTypes) -> None:
        'Put an item at the back of the queue; the same as put(item).  O(1)'
        _bridge.run(self._core.put_nowait(item))

    def get(self, block: bool=True, timeout: float | None=None) -> JSONTypes:
        """Remove and return the item at the front of the queue.  O(1)

        With block true (the default) wait for an item, for at most timeout
        seconds if timeout is not None (fractions are honoured, to the
        millisecond), and raise QueueEmptyError if none arrived.  With block
        false return an item if one is there, else raise QueueEmptyError at
        once (timeout is ignored).
        """
        return _bridge.run(self._core.get(block, timeout))

    def get_nowait(self) -> JSONTypes:
        'Remove and return the front item if there is one, else raise QueueEmptyError.  O(1)'
        return _bridge.run(self._core.get_nowait())
