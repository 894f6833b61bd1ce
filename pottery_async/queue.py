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

import asyncio
import copy
import logging
import math
import os
import time
import weakref
from typing import Any

from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import _bridge, _clients, _connection
from ._base import Container, Script, cancel_requests, companion, raise_if_cancelled, redis_type
from ._codec import Codec, JSONTypes
from ._primitive import is_permanent
from .exceptions import QueueEmptyError, WrongTypeError

logger = logging.getLogger('pottery_async')

# The scripts write and read Pottery's entries: {'item': <encoded value>}.
# Shared by the scripts.  Request ids are remembered in the "seen" sorted
# set as 'p' (put), 'c' (confirmed) or 'r' (released) followed by the id,
# scored by when they may be forgotten; the set itself expires once every
# id in it may be.
_LUA = '''
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function remember(seen, member, now, life)
  redis.call('ZREMRANGEBYSCORE', seen, '-inf', now)
  redis.call('ZADD', seen, now + life, member)
  if redis.call('PTTL', seen) < life then redis.call('PEXPIRE', seen, life) end
end
'''

# KEYS: stream, seen.  ARGV: id, memory (ms), encoded item.  1 if added now,
# 0 if this id was added before (a retry).
_PUT = Script(_LUA + '''
local member = 'p' .. ARGV[1]
if redis.call('ZSCORE', KEYS[2], member) then return 0 end
redis.call('XADD', KEYS[1], '*', 'item', ARGV[3])
remember(KEYS[2], member, now_ms(), tonumber(ARGV[2]))
return 1
''')

# KEYS: stream, taken, due, seen.  ARGV: id, visibility (ms).  The item this
# id took (the same for a retry); else, when there is nothing to take, the
# milliseconds until an unconfirmed take comes back, or -1.  A take left
# unconfirmed past its deadline is taken before the stream's head.  An
# entry without an 'item' field (not written by Pottery or by us) is an
# error, and is left where it is.
_TAKE = Script(_LUA + '''
local id = ARGV[1]
if redis.call('ZSCORE', KEYS[4], 'r' .. id) then return -1 end
local item = redis.call('HGET', KEYS[2], id)
if item then return item end
local now = now_ms()
local late = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1)[1]
if late then
  item = redis.call('HGET', KEYS[2], late)
  redis.call('HDEL', KEYS[2], late)
  redis.call('ZREM', KEYS[3], late)
end
if not item then
  local entry = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if not entry then
    local due = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2]
    if due then return math.max(tonumber(due) - now, 1) end
    return -1
  end
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'item' then item = fields[i + 1] end
  end
  if not item then
    return redis.error_reply('entry ' .. entry[1] .. ' of stream ' .. KEYS[1] .. ' has no item field')
  end
  redis.call('XDEL', KEYS[1], entry[1])
end
redis.call('HSET', KEYS[2], id, item)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), id)
return item
''')

# KEYS: taken, due, seen.  ARGV: id, memory (ms).  1 if the take is
# confirmed (now, or by an earlier copy of this request), 0 if it was
# released, or its deadline passed and another take has its item.
_CONFIRM = Script(_LUA + '''
local id = ARGV[1]
if redis.call('ZSCORE', KEYS[3], 'r' .. id) then return 0 end
if redis.call('HDEL', KEYS[1], id) == 1 then
  redis.call('ZREM', KEYS[2], id)
  remember(KEYS[3], 'c' .. id, now_ms(), tonumber(ARGV[2]))
  return 1
end
if redis.call('ZSCORE', KEYS[3], 'c' .. id) then return 1 end
return 0
''')

# KEYS: stream, taken, due, seen.  ARGV: id, memory (ms), '1' if the caller
# has the item (then ARGV[4]), else '0'.  Puts what the take took back at
# the end of the stream (a confirmed item only if the caller has it: the
# confirm's reply was lost), and makes a late copy of the take a no-op.
_RELEASE = Script(_LUA + '''
local id = ARGV[1]
if redis.call('ZSCORE', KEYS[4], 'r' .. id) then return 0 end
remember(KEYS[4], 'r' .. id, now_ms(), tonumber(ARGV[2]))
local item = redis.call('HGET', KEYS[2], id)
if item then
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
elseif ARGV[3] == '1' and redis.call('ZSCORE', KEYS[4], 'c' .. id) then
  item = ARGV[4]
else
  return 0
end
redis.call('XADD', KEYS[1], '*', 'item', item)
return 1
''')

# KEYS: stream, due.  The entries, and the takes left unconfirmed past their
# deadline.
_COUNT = Script(_LUA + '''
return redis.call('XLEN', KEYS[1]) + redis.call('ZCOUNT', KEYS[2], '-inf', now_ms())
''')

# The share of the client's socket_timeout that one XREAD BLOCK may use; the
# rest is for the round trip.
_SLICE = 0.75

# How long a failed or cancelled get() tries to release its take before it
# leaves that to the background.
_RELEASE_WAIT = 1.0

# How long an abandoned XREAD is given to close its connection.
_ABANDON_WAIT = 0.1

# How long request ids are remembered at least (ms): longer than any retry
# policy keeps re-sending a request (a copy that comes later does its work
# again).  Twice the visibility timeout when that is longer.
_MEMORY = 60_000


def _wait_limit(client: _clients.AsyncClient) -> float | None:
    'The longest one blocking command may wait on the server; None if unbounded.'
    timeout = _connection.command_timeout(client)
    if timeout is None:
        return None
    return max(float(timeout) * _SLICE, 0.001)


def _request_id() -> str:
    return os.urandom(8).hex()


def _check_timeout(timeout: float) -> None:
    "queue.SimpleQueue's checks of a blocking get()'s timeout."
    if math.isnan(timeout):
        raise ValueError('Invalid value NaN (not a number)')
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


def _retrieve(task: asyncio.Future[Any]) -> None:
    'Done callback of an abandoned request: its outcome is read, so never reported as unread.'
    if not task.cancelled():
        task.exception()


class _Consumer:
    """A get() of this loop waiting on a stream, in the line of every get() waiting on it (`_Watch`).

    ``wait()`` returns when an entry may be there for this consumer to take,
    or after the seconds given; in between, the consumer is busy (taking)
    until it waits again or leaves the line at the end of its get().
    """

    __slots__ = ('until', 'watch', 'woken')

    def __init__(self, client: _clients.AsyncClient, key: str, slice_: float) -> None:
        watches = _watches.setdefault(client, {})
        watch = watches.get(key)
        if watch is None:
            watch = watches[key] = _Watch(client, key, slice_)
        self.watch = watch
        self.woken: asyncio.Future[None] | None = None
        self.until = 0.0  # the loop's time when the current wait ends

    async def __aenter__(self) -> _Consumer:
        self.watch.join(self)
        return self

    async def __aexit__(self, error_type: type[BaseException] | None, *_exc: object) -> None:
        # A get() that has its item returns it: nothing may interrupt it
        # on its way out (its item would be lost).
        await self.watch.leave(self, wait=error_type is not None)

    async def wait(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        woken = self.woken = loop.create_future()
        self.until = loop.time() + seconds
        self.watch.waiting()
        try:
            async with asyncio.timeout(seconds):
                await woken
        except TimeoutError:
            pass
        finally:
            if woken.cancelled():
                # Not woken by the watch (which counts those it wakes).
                self.watch.taking()


class _Watch:
    """Every get() of one loop waiting on one stream, and the one XREAD BLOCK they share.

    The consumers are woken in the order they came, one for each entry the
    XREAD found, and the next XREAD is sent once those have tried to take:
    one entry wakes one consumer.  Whatever the number of consumers, their
    wait costs one connection per loop and stream.  XREAD only looks: a
    wait that is abandoned removes nothing.
    """

    def __init__(self, client: _clients.AsyncClient, key: str, slice_: float) -> None:
        self.client = client
        self.key = key
        self.slice = slice_
        self.consumers: dict[_Consumer, None] = {}  # in the order they came
        self.busy = 0  # consumers taking, not waiting
        self.settled = asyncio.Event()  # no consumer is busy
        self.reading: asyncio.Task[None] | None = None

    def join(self, consumer: _Consumer) -> None:
        self.consumers[consumer] = None
        self.taking()

    async def leave(self, consumer: _Consumer, *, wait: bool) -> None:
        del self.consumers[consumer]
        self.waiting()
        if self.consumers:
            return
        if _watches.get(self.client, {}).get(self.key) is self:
            del _watches[self.client][self.key]
        reading = self.reading
        if reading is not None and not reading.done():
            # Nobody waits any more: the XREAD is abandoned, and redis-py
            # closes its connection.  Unless ``wait`` is false, given a
            # moment to, since the sync API's loop stops when the call
            # returns (else it closes during the loop's next call).
            # Briefly: redis-py may swallow the cancellation and read on.
            reading.cancel()
            if wait:
                await asyncio.wait({reading}, timeout=_ABANDON_WAIT)

    def taking(self) -> None:
        self.busy += 1
        self.settled.clear()

    def waiting(self) -> None:
        self.busy -= 1
        if self.busy == 0:
            self.settled.set()
        if self.reading is None and self.consumers:
            self.reading = asyncio.get_running_loop().create_task(self._read())
            self.reading.add_done_callback(_retrieve)

    async def _read(self) -> None:
        try:
            while self.consumers:
                await self.settled.wait()
                line = [c for c in self.consumers if c.woken is not None and not c.woken.done()]
                if not line:
                    return
                # As long as the longest wait in line needs, a slice at most.
                longest = max(c.until for c in line) - asyncio.get_running_loop().time()
                milliseconds = max(math.ceil(min(longest, self.slice) * 1000), 1)
                failure: RedisError | None = None
                try:
                    # XREAD from ID 0 answers as soon as the stream has any entry.
                    reply = await self.client.execute_command(  # Redis 5.0+
                        'XREAD', 'COUNT', len(line), 'BLOCK', milliseconds, 'STREAMS', self.key, '0',
                    )
                except RedisTimeoutError:
                    # A slice whose reply came too late: taking tells whether
                    # the server is alive.
                    found = len(line)
                except RedisError as error:
                    # Refused (NOPERM...), or no connection to wait on: the
                    # consumers raise it, as one waiting alone would.
                    failure, found = error, len(line)
                else:
                    found = len(reply[0][1]) if reply else 0
                for consumer in line[:found]:
                    woken = consumer.woken
                    if woken is not None and not woken.done():
                        if failure is None:
                            woken.set_result(None)
                        else:
                            woken.set_exception(copy.copy(failure))
                        self.taking()
                if failure is not None:
                    return
        finally:
            if self.reading is asyncio.current_task():
                self.reading = None


# The waits of every stream, by the client they use (one per loop).
_watches: weakref.WeakKeyDictionary[Any, dict[str, _Watch]] = weakref.WeakKeyDictionary()


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
        visibility_timeout: float = 30.0,
    ) -> None:
        """Create the queue (no I/O).  O(1)

        ``visibility_timeout``: seconds after which an item taken by a get()
        that never confirmed it (its process died between the two steps)
        is taken again.
        """
        if isinstance(visibility_timeout, bool) or not isinstance(visibility_timeout, (int, float)):
            raise TypeError(f'visibility_timeout must be a number of seconds, not {visibility_timeout!r}')
        if not 0.001 <= visibility_timeout <= 1e9:
            raise ValueError(
                f'visibility_timeout must be between 0.001 and 1e9 seconds, not {visibility_timeout!r}',
            )
        super().__init__(redis=redis, key=key, codec=codec)
        self._visibility = float(visibility_timeout)

    @property
    def visibility_timeout(self) -> float:
        'Seconds after which an unconfirmed take is taken again.'
        return self._visibility

    def _all_keys(self) -> list[str]:
        'The stream, then its companions: taken (a hash), due and seen (sorted sets).'
        return [self._key, *(companion(self._key, name) for name in ('taken', 'due', 'seen'))]

    def _args(self) -> tuple[int, int]:
        'The visibility timeout, and how long request ids are remembered, in ms.'
        visibility = max(round(self._visibility * 1000), 1)
        return visibility, max(2 * visibility, _MEMORY)

    async def _wrong_type(self, expected: str) -> WrongTypeError:
        # The stream, or one of its companions.
        try:
            for key, kind in zip(self._all_keys(), ('stream', 'hash', 'zset', 'zset'), strict=True):
                found = await self._client.type(key)
                found = found.decode() if isinstance(found, bytes) else found
                if found not in (kind, 'none'):
                    return WrongTypeError(self.redis, key, kind, found)
        except Exception:
            # What the caller raises matters more than which key it was.
            logger.debug('queue %r: could not tell which key has the wrong type', self._key, exc_info=True)
        return await super()._wrong_type(expected)

    @redis_type('stream')
    async def qsize(self) -> int:
        'The number of items in the queue; it may change before you use it.  O(log n)'
        stream, _, due, _ = self._all_keys()
        return int(await _COUNT(self._client, [stream, due], ()))

    async def empty(self) -> bool:
        'Whether the queue is empty; it may change before you use it.  O(log n)'
        return await self.qsize() == 0

    # timeout: queue.SimpleQueue's signature (ignored here, as put never blocks).
    @redis_type('stream')
    async def put(
        self, item: JSONTypes, block: bool = True, timeout: float | None = None,  # noqa: ASYNC109
    ) -> None:
        'Put an item at the back of the queue; never blocks (block and timeout are ignored).  O(log n)'
        encoded = self._codec.encode(item)
        stream, _, _, seen = self._all_keys()
        _, memory = self._args()
        await _PUT(self._client, [stream, seen], (_request_id(), memory, encoded))

    async def put_nowait(self, item: JSONTypes) -> None:
        'Put an item at the back of the queue; the same as put(item).  O(log n)'
        await self.put(item)

    # timeout: queue.SimpleQueue's signature.
    @redis_type('stream')
    async def get(self, block: bool = True, timeout: float | None = None) -> JSONTypes:  # noqa: ASYNC109
        """Remove and return the item at the front of the queue.  O(log n)

        With block true (the default) wait for an item, for at most timeout
        seconds if timeout is not None (fractions are honoured, to the
        millisecond), and raise QueueEmptyError if none arrived.  With block
        false return an item if one is there, else raise QueueEmptyError at
        once (timeout is ignored).
        """
        if block and timeout is not None:
            _check_timeout(timeout)
        client = self._client
        # redis-py can swallow a cancellation: each step below runs its
        # request in a task of its own, and one swallowed all the same is
        # caught here, so that a cancelled get() never takes on.
        cancelling = cancel_requests()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None or math.isinf(timeout) else loop.time() + timeout
        found, taken = await self._take(client, cancelling)
        if found or not block:
            if not found:
                raise QueueEmptyError(self.redis, self._key)
            item: JSONTypes = taken
            return item
        async with _Consumer(client, self._key, self._wait_slice(client)) as consumer:
            while True:
                # Nothing there (yet): wait for an entry, or for an
                # unconfirmed take to come back.
                waits = [self._visibility]
                if taken > 0:
                    waits.append(taken / 1000)
                if deadline is not None:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise QueueEmptyError(self.redis, self._key)
                    waits.append(remaining)
                await consumer.wait(min(waits))
                raise_if_cancelled(cancelling)
                found, taken = await self._take(client, cancelling)
                if found:
                    item = taken
                    return item

    async def get_nowait(self) -> JSONTypes:
        'Remove and return the front item if there is one, else raise QueueEmptyError.  O(log n)'
        return await self.get(block=False)

    def _wait_slice(self, client: _clients.AsyncClient) -> float:
        """How long one XREAD BLOCK of the shared wait may block.

        No longer than the visibility timeout (a take left unconfirmed comes
        back without a new entry to wake anyone) nor than the client's
        timeout allows.
        """
        limit = _wait_limit(client)
        return self._visibility if limit is None else min(limit, self._visibility)

    async def _take(self, client: _clients.AsyncClient, cancelling: int) -> tuple[bool, Any]:
        """Take and confirm the oldest item: (True, the item), or (False, _TAKE's wait hint).

        A take whose confirm comes too late (its item was taken again
        meanwhile) is followed by another.
        """
        visibility, memory = self._args()
        stream, taken, due, seen = self._all_keys()
        while True:
            request = _request_id()
            item = await self._settle(
                _TAKE(client, [stream, taken, due, seen], (request, visibility)), request, None,
            )
            if isinstance(item, int):
                return False, item
            try:
                # An item that cannot be decoded is left in the queue.
                decoded = self._codec.decode(item)
            except BaseException:
                await self._release(request, item)
                raise
            confirmed = await self._settle(
                _CONFIRM(client, [taken, due, seen], (request, memory)), request, item,
            )
            if cancel_requests() > cancelling:
                # The cancellation came with the reply and was swallowed.
                await self._release(request, item)
                raise asyncio.CancelledError
            if confirmed:
                return True, decoded

    async def _settle(self, step: Any, request: str, item: Any) -> Any:
        """Run one step of a take in its own task; if it fails or is cancelled, release the take.

        ``item``: the encoded item if the take's reply came (the confirm
        step), else None.
        """
        running = asyncio.ensure_future(step)
        try:
            return await asyncio.shield(running)
        except ResponseError as error:
            # Refused by the server for good (WRONGTYPE, a foreign entry...):
            # the script stopped before it wrote anything.  A transient
            # refusal (BUSY, READONLY...) may answer a retry whose first
            # copy ran.
            if item is not None or not is_permanent(error):
                await self._release(request, item)
            raise
        except BaseException:
            # A timeout, a lost connection, a cancellation: the step may
            # have run, or may still run (a copy on its way to the server).
            running.cancel()
            running.add_done_callback(_retrieve)
            await self._release(request, item)
            raise

    async def _release(self, request: str, item: Any) -> None:
        'Put back what ``request`` took: here if that is done within _RELEASE_WAIT, else in the background.'
        releasing = asyncio.ensure_future(self._release_once(request, item))
        releasing.add_done_callback(_retrieve)
        try:
            async with asyncio.timeout(_RELEASE_WAIT):
                await asyncio.shield(releasing)
            return
        except asyncio.CancelledError:
            # Cancelled (again) meanwhile: that is what the caller raises.
            self._release_later(request, item)
            raise
        except Exception:
            logger.info('queue %r: releasing a take goes on in the background', self._key, exc_info=True)
        self._release_later(request, item)

    async def _release_once(self, request: str, item: Any) -> None:
        _, memory = self._args()
        args = (request, memory, '0', '') if item is None else (request, memory, '1', item)
        await _RELEASE(self._client, self._all_keys(), args)

    def _release_later(self, request: str, item: Any) -> None:
        'Go on releasing in the background (the first try may still be on its way: releases are idempotent).'
        try:
            _bridge.background(self._keep_releasing(request, item))
        except RuntimeError:  # the bridge has shut down
            self._log_unreleased(item)

    async def _keep_releasing(self, request: str, item: Any) -> None:
        'Retry the release until it is answered, for as long as the server remembers the request.'
        _, memory = self._args()
        end = time.monotonic() + memory / 1000
        delay = 0.1
        try:
            while time.monotonic() + delay < end:
                await asyncio.sleep(delay)
                try:
                    await self._release_once(request, item)
                    return
                except Exception as error:
                    if isinstance(error, RedisError) and is_permanent(error):
                        # A refusal (WRONGTYPE, NOPERM...): trying again cannot help.
                        logger.error('queue %r: a release was refused: %s', self._key, error)
                        break
                    logger.debug('queue %r: a release failed; trying again', self._key, exc_info=True)
                delay = min(delay * 2, 5.0)
        except asyncio.CancelledError:
            # The program is ending.
            self._log_unreleased(item)
            raise
        self._log_unreleased(item)

    def _log_unreleased(self, item: Any) -> None:
        if item is None:
            logger.error(
                'queue %r: a failed get() could not release its take; what it took comes back '
                'after the visibility timeout', self._key,
            )
        else:
            logger.error(
                'queue %r: a failed get() could not put its item back; if its confirm ran, it is lost: %r',
                self._key, item,
            )
