# Generated from pottery_async/queue.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
"""RedisSimpleQueue: a Redis stream that behaves like queue.SimpleQueue.

The layout is Pottery 3.0.1's, so either library reads the other's queue:
one stream per queue, each item an entry with a single field ``item`` holding
the JSON-encoded value, appended by ``XADD key * item <json>``; ``get()``
removes the oldest entry.  Like Pottery's, an emptied queue is an empty
stream: the key stays until ``clear()``.

Nothing is lost or delivered twice when a reply is late or lost, whatever
the client's timeouts and retry policy.  Every ``put()`` and ``get()`` carries
a request id, so a request that is sent again (by redis-py's retry policy)
does its work once:

- ``put()`` runs ``XADD`` in a script that remembers the id
  (``<key>:seen{...}``, a sorted set of ids with their expiry) for twice
  the visibility timeout, 60 s at least: longer than a retry policy keeps
  re-sending a request.  That costs about 120 bytes per put and per get
  while they are remembered; the set expires when the queue is idle;
- ``get()`` takes in two steps.  The take script moves the oldest entry's
  item into ``<key>:taken{...}`` (a hash, id -> item) with a deadline in
  ``<key>:due{...}`` (a sorted set, id -> deadline), and answers with it;
  a retry of the same take answers with the same item.  The confirm script
  then removes it from there, and only once that is answered does ``get()``
  return the item.  A confirm that comes after the deadline finds the item
  gone (taken again by someone else) and ``get()`` takes the next one.  An
  item that the codec cannot decode is put back, and the error raised.
- a ``get()`` that fails or is cancelled between the two (a timeout, a lost
  connection, a cancelled task, Ctrl-C in the sync API) releases its take:
  the item goes back to the back of the stream (where waiting consumers,
  Pottery's too, see it), and a late copy of the take, still on its way to
  the server, finds the id released and takes nothing.  The release is
  tried for up to a second, then goes on in the background (a cancelled
  ``get()`` returns within that second, and the cancellation is raised).
- a take that nobody confirms or releases (its process died) is taken again
  by the next ``get()``, before the stream's head, once its deadline
  (``visibility_timeout``, 30 s by default) has passed.

The companion keys start with the queue's key (one ACL pattern covers
them), share its cluster hash slot, and are empty, so absent, when nothing
is in flight; ``clear()`` deletes them with the stream.  Pottery 3.0.1 reads
and writes the stream as before; it does not see items in flight.

``get()`` never polls.  It takes with the script, and when nothing is there
it waits in ``XREAD BLOCK``, which the server answers the moment an entry is
added; then it takes again (a consumer elsewhere may have been faster).
The ``get()`` calls of one event loop waiting on one queue share one
``XREAD``, so that hundreds of waiting tasks cost one connection; they are
woken in the order they came, one for each entry found.  ``XREAD`` only
looks: a wait that is abandoned removes nothing.

A wait never outlasts the client's timeout: redis.asyncio applies
``socket_timeout`` to each read, and the sync API's clients apply it to each
command as a whole, so a longer ``XREAD BLOCK`` would fail as a timeout.
The wait is sliced: no slice blocks for more than three quarters of the
client's ``socket_timeout``, nor longer than the visibility timeout (a take
left unconfirmed comes back without a new entry to wake anyone), and each
slice still wakes at once when an item arrives.  (A slice whose reply comes
too late anyway is not an error: the next step, taking, shows whether the
server is alive.)

``get(timeout=...)`` keeps its deadline to the millisecond.  The server
expires a block only at its next tick (every 100 ms at the default ``hz``),
so at the deadline the client abandons the ``XREAD`` instead, closing that
connection (the next command opens another); nothing is taken.

What remains: a ``put()`` that raises (its reply was lost) may or may not
have added its item, once; in the sync API, a Ctrl-C that lands in the
microseconds between the confirm's reply and ``get()`` returning loses that
item; a release that cannot reach the server while the request is
remembered, or before the program exits, is given up with an error log
naming the item (if the confirm had run, the item is lost; otherwise it
comes back after its deadline); a retry that redis-py sends later than the
request is remembered does its work again.
"""

from __future__ import annotations

from typing import Any

from .. import _bridge, _clients
from .. import queue as _core
from .._base import SyncTwin
from .._codec import Codec, JSONTypes


class RedisSimpleQueue(SyncTwin):
    "A Redis stream that behaves like queue.SimpleQueue: multi-producer, multi-consumer, FIFO."

    def __init__(
        self,
        *,
        redis: _clients.RedisArg = None,
        key: str = "",
        codec: Codec | None = None,
        visibility_timeout: float = 30.0,
    ) -> None:
        """Create the queue (no I/O).  O(1)

        ``visibility_timeout``: seconds after which an item taken by a get()
        that never confirmed it (its process died between the two steps)
        is taken again.
        """
        self._core: _core.RedisSimpleQueue = _core.RedisSimpleQueue(
            redis=redis, key=key, codec=codec, visibility_timeout=visibility_timeout
        )

    @property
    def redis(self) -> _clients.RedisArg:
        "The client (or URL) this container was given; None for the default."
        return self._core.redis

    @property
    def key(self) -> str:
        "The Redis key that holds this container."
        return self._core.key

    def __eq__(self, other: Any) -> bool:
        "x == other: whether other is a container of this class on the same key and server.  O(1)"
        return _bridge.run(self._core.eq(other))

    def clear(self) -> None:
        "Remove every element.  O(n)"
        _bridge.run(self._core.clear())

    @property
    def visibility_timeout(self) -> float:
        "Seconds after which an unconfirmed take is taken again."
        return self._core.visibility_timeout

    def qsize(self) -> int:
        "The number of items in the queue; it may change before you use it.  O(log n)"
        return _bridge.run(self._core.qsize())

    def empty(self) -> bool:
        "Whether the queue is empty; it may change before you use it.  O(log n)"
        return _bridge.run(self._core.empty())

    def put(self, item: JSONTypes, block: bool = True, timeout: float | None = None) -> None:
        "Put an item at the back of the queue; never blocks (block and timeout are ignored).  O(log n)"
        _bridge.run(self._core.put(item, block, timeout))

    def put_nowait(self, item: JSONTypes) -> None:
        "Put an item at the back of the queue; the same as put(item).  O(log n)"
        _bridge.run(self._core.put_nowait(item))

    def get(self, block: bool = True, timeout: float | None = None) -> JSONTypes:
        """Remove and return the item at the front of the queue.  O(log n)

        With block true (the default) wait for an item, for at most timeout
        seconds if timeout is not None (fractions are honoured, to the
        millisecond), and raise QueueEmptyError if none arrived.  With block
        false return an item if one is there, else raise QueueEmptyError at
        once (timeout is ignored).
        """
        return _bridge.run(self._core.get(block, timeout))

    def get_nowait(self) -> JSONTypes:
        "Remove and return the front item if there is one, else raise QueueEmptyError.  O(log n)"
        return _bridge.run(self._core.get_nowait())
