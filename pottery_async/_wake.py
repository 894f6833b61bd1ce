"""Wake-ups over Redis pub/sub, shared by everything waiting on one client.

A waiter (a blocking ``acquire()``) joins a channel on a client with an
``asyncio.Event``; whoever frees the resource publishes on that channel, and
each message sets the event of the channel's longest-waiting waiter in
this process (see ``_wake_first``).  All the waiters on one
client share one pub/sub connection and one reader task (a *hub*), however
many channels they wait on, so two hundred waiting tasks hold one extra
connection per master, not two hundred.

On the application's loops (the async API) a hub exists only while someone
waits: the first waiter opens the connection and starts the reader, the
last one to leave stops the reader and closes the connection.  A bridge loop
(the sync API) keeps its hubs between waits, subscribed, and closes them
with the loop; while that loop does not run, messages wait in the socket
and are read (as harmless extra wake-ups) at the next wait.

A wake-up is a hint, never a grant: the waiter tries again and waits again
if it lost.  When the connection breaks, every waiter is woken (and tries
again) and the next join opens a fresh hub; messages published meanwhile
are lost, which is why waiters also bound each wait (see redlock.py).  A
server that refuses the subscription for good (a user without permission for
the channel: Redis 7's default for new ACL users) wakes nobody; its waiters
only poll, and a WARNING says so once (see ``_refused``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError

from . import _bridge, _clients
from ._primitive import is_permanent
from .exceptions import describe_error, describe_server

logger = logging.getLogger('pottery_async')


class _Hub:
    'One pub/sub connection and its reader, for the waiters on one client.'

    def __init__(self, client: _clients.AsyncClient) -> None:
        self.client = client
        self.pubsub: Any = _clients.pubsub(client)
        # The waiters using this hub (which lives as long as there are).
        self.waiters: dict[bytes, dict[asyncio.Event, None]] = {}
        # Channel -> resolved when the server confirms the subscription.
        # Channels stay subscribed for the hub's life (it ends when the last
        # waiter leaves): unsubscribing one could race a new waiter's join.
        self.confirmed: dict[bytes, asyncio.Future[None]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.broken = False
        self.setup = asyncio.Lock()

    def add(self, channel: bytes, event: asyncio.Event) -> None:
        'Register ``event`` for ``channel`` (synchronously: the hub is in use from now on).'
        self.waiters.setdefault(channel, {})[event] = None

    async def subscribed(self, channel: bytes) -> None:
        'Return once the server has subscribed this hub to ``channel``.'
        confirmed = self.confirmed.get(channel)
        if confirmed is None:
            confirmed = self.confirmed[channel] = asyncio.get_running_loop().create_future()
            try:
                async with self.setup:
                    await self.pubsub.subscribe(channel)
                    if self.reader is None:
                        self.reader = asyncio.ensure_future(self._read())
            except BaseException:
                # Interrupted half-way (a paused server, a deadline): this
                # connection is in an unknown state; new waiters get a fresh
                # hub, and this one closes when its waiters leave.
                self.broken = True
                raise
        # Shielded: one waiter's cancellation must not fail the others.
        await asyncio.shield(confirmed)

    def leave(self, channel: bytes, event: asyncio.Event) -> bool:
        'Unregister ``event``; whether the hub is now unused.'
        waiters = self.waiters.get(channel)
        if waiters is not None:
            waiters.pop(event, None)
            if not waiters:
                del self.waiters[channel]
        return not self.waiters

    async def _read(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            while True:
                message = await self.pubsub.get_message(timeout=None)
                if task.cancelling():
                    # redis-py can return a message it read after this task
                    # was cancelled, swallowing the cancellation (seen on
                    # Python 3.11 with a subscribe confirmation): the reader
                    # then read on, with no timeout, and closing its loop
                    # waited for it for ever.  Stop as asked.
                    raise asyncio.CancelledError
                if not message:
                    continue
                kind, channel = message['type'], _as_bytes(message['channel'])
                if kind == 'message':
                    if _as_bytes(message['data']) in EVERYONE:
                        _wake_all(channel)
                    else:
                        _wake_first(channel)
                elif kind == 'subscribe':
                    confirmed = self.confirmed.get(channel)
                    if confirmed is not None and not confirmed.done():
                        confirmed.set_result(None)
        except (RedisError, OSError) as error:
            # The connection broke: wake everyone, so that they look again
            # (and join a fresh hub if they still have to wait).
            self.broken = True
            for waiters in self.waiters.values():
                for event in waiters:
                    event.set()
            for confirmed in self.confirmed.values():
                if not confirmed.done():
                    confirmed.set_exception(error)
                    # Retrieved here: no waiter may be left to look at it.
                    confirmed.exception()

    async def close(self) -> None:
        reader = self.reader
        if reader is not None:
            reader.cancel()
            # Waited for without awaiting it: its cancellation is not ours.
            await asyncio.wait([reader], timeout=_READER_STOP)
            connection = self.pubsub.connection
            if not reader.done() and connection is not None:
                # Still reading (a cancellation lost inside redis-py): close
                # the socket under it, which ends the read.
                await connection.disconnect(nowait=True)
                await asyncio.wait([reader], timeout=_READER_STOP)
            if reader.done() and not reader.cancelled():
                reader.exception()
        for confirmed in self.confirmed.values():
            confirmed.cancel()
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.aclose()
        # The socket closes on the loop's next pass: let it happen now (a
        # bridge loop may not run again for a long time).
        await asyncio.sleep(0)


# How long a cancelled hub reader may take to stop before its connection
# is closed under it, and again after that.
_READER_STOP = 5.0

# A waiter looks again at least this often (seconds) even if nobody woke it:
# a holder that never publishes (Pottery's Redlock) or a wake-up lost with a
# broken connection costs at most this much.
RECHECK = 0.25
# The longest a waiter waits for its subscriptions before it starts waiting
# anyway (a paused server may never confirm them).
SUBSCRIBE_TIMEOUT = 1.0

# Messages that wake every waiter of their channel (a value every waiter can
# use, as a cached result); any other message wakes one (see _wake_first).
EVERYONE = frozenset({b'stored'})

# Every waiter of this process, per channel, in arrival order, with its
# loop: each thread of the sync API has its own loop and hubs, and each hub
# gets its own copy of every message, but a message wakes one waiter of the
# whole process, the longest-waiting (see _wake_first).
_queues: dict[bytes, dict[asyncio.Event, asyncio.AbstractEventLoop]] = {}
_queues_lock = threading.Lock()


def _wake_first(channel: bytes) -> None:
    """Wake the process's longest-waiting waiter of ``channel``.

    One per message: the lock can go to one of them only, so waking all
    would make every waiter try (and all but one fail) at each release.  A
    woken waiter that does not get the lock waits again, first in line; the
    one that gets it publishes again when it releases.  The copies of a
    message (one per master, per hub) all wake the same waiter.
    """
    with _queues_lock:
        queue = _queues.get(channel)
        first = next(iter(queue.items()), None) if queue else None
    if first is not None:
        _set(*first)


def _wake_all(channel: bytes) -> None:
    'Wake every waiter of ``channel`` in this process (what they wait for is there for all).'
    with _queues_lock:
        waiters = list(_queues.get(channel, {}).items())
    for event, loop in waiters:
        _set(event, loop)


def _set(event: asyncio.Event, loop: asyncio.AbstractEventLoop) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is running:
        event.set()
    else:
        with contextlib.suppress(RuntimeError):  # its loop has closed
            loop.call_soon_threadsafe(event.set)


def _as_bytes(value: bytes | str) -> bytes:
    # A client with decode_responses=True gives str.
    return value.encode() if isinstance(value, str) else value


def _enqueue(channel: bytes, event: asyncio.Event) -> None:
    with _queues_lock:
        _queues.setdefault(channel, {})[event] = asyncio.get_running_loop()


def _dequeue(channel: bytes, event: asyncio.Event) -> None:
    with _queues_lock:
        queue = _queues.get(channel)
        if queue is not None:
            queue.pop(event, None)
            if not queue:
                del _queues[channel]
    if event.is_set():
        # Woken, and leaving without having looked (a timeout, a
        # cancellation): the wake-up is the next waiter's.
        _wake_first(channel)


# The hub of each client that has waiters, on the application's loops (the
# async API): a hub lives only while someone waits there, so holding the
# client here does not keep it alive for long, and nothing of ours outlives
# the wait on a loop that is not ours.  The sync API's bridge loops keep
# their hubs between waits instead (LoopState.hubs: reconnecting and
# subscribing again on every contended acquire costs more than the wait),
# and close them with the loop.
_hubs: dict[Any, _Hub] = {}
# A kept hub subscribed to more channels than this is replaced: channels are
# never unsubscribed, and each brings messages that nobody may wait for.
_MAX_KEPT_CHANNELS = 64


@contextlib.asynccontextmanager
async def listening(
    clients: list[_clients.AsyncClient], channel: str, *, needed: int, patience: float,
) -> AsyncIterator[asyncio.Event]:
    """Wait-for-wake-ups context: an event set by a message on ``channel``.

    Joins the channel on every client at once and enters as soon as
    ``needed`` of them have confirmed the subscription, or all have answered,
    or ``patience`` seconds have passed (a dead or paused master must not
    hold up a waiter that the others can wake).  The slower subscriptions go
    on in the background until the context exits.
    """
    name = channel.encode()
    event = asyncio.Event()
    hubs: list[_Hub] = []
    joins: list[asyncio.Future[None]] = []
    state = _bridge.current_state()
    registry: dict[Any, _Hub] = _hubs if state is None else state.hubs
    retired: list[_Hub] = []
    _enqueue(name, event)
    try:
        for client in clients:
            hub = registry.get(client)
            crowded = hub is not None and not hub.waiters and len(hub.confirmed) > _MAX_KEPT_CHANNELS
            if hub is not None and (hub.broken or crowded):
                retired.append(hub)
                hub = None
            if hub is None:
                hub = registry[client] = _Hub(client)
            hub.add(name, event)
            hubs.append(hub)
        for hub in retired:
            if not hub.waiters:
                await hub.close()
        joins = [asyncio.ensure_future(hub.subscribed(name)) for hub in hubs]
        pending = set(joins)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while pending and sum(_confirmed(join) for join in joins) < needed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            _, pending = await asyncio.wait(
                pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED,
            )
        for hub, join in zip(hubs, joins, strict=True):
            refused = join.exception() if join.done() and not join.cancelled() else None
            if isinstance(refused, RedisError) and is_permanent(refused):
                _refused(hub.client, refused, channel)
        yield event
    finally:
        # The bookkeeping first, with no await that a second cancellation
        # could interrupt; then the waiting.
        _dequeue(name, event)
        unused = []
        for hub in hubs:
            if hub.leave(name, event) and (state is None or hub.broken):
                if registry.get(hub.client) is hub:
                    del registry[hub.client]
                unused.append(hub)
        for join in joins:
            join.cancel()
        # As a task, shielded: a second cancellation must not leave a hub's
        # connection and reader behind.
        cleanup = asyncio.ensure_future(_finish(joins, unused))
        _cleanups.add(cleanup)
        cleanup.add_done_callback(_cleanups.discard)
        await asyncio.shield(cleanup)


_cleanups: set[asyncio.Future[None]] = set()


async def _finish(joins: list[asyncio.Future[None]], unused: list[_Hub]) -> None:
    if joins:
        await asyncio.wait(joins)
    for join in joins:
        if not join.cancelled():
            join.exception()  # retrieved: a failed join is only a missed wake-up
    for hub in unused:
        await hub.close()


def _refused(client: _clients.AsyncClient, error: RedisError, channel: str) -> None:
    """A server refused a subscription to ``channel`` for good (no permission for it, say).

    Its waiters poll instead (every ``RECHECK`` at most), as Pottery's do,
    and its users' releases still release (they publish with ``pcall``).
    Said once per server per process: a WARNING, since every wait there now
    costs up to ``RECHECK`` more.
    """
    server = describe_server(client)
    with _queues_lock:
        if server in _refusing:
            return
        _refusing.add(server)
    logger.warning(
        'Wake-ups are off on %s: it refused the subscription to %r (%s); waiters there poll every %g s '
        'instead. Give the user the wake-up channels (ACL SETUSER ... &%s, or a pattern that matches '
        'it) to turn them on.', server, channel, describe_error(error), RECHECK, channel,
    )


# The servers that refused a subscription (described), each said once.
_refusing: set[str] = set()


def _confirmed(join: asyncio.Future[None]) -> bool:
    return join.done() and not join.cancelled() and join.exception() is None


def _after_fork_in_child() -> None:
    # The parent's waiters and hubs are not this process's: a wake-up must
    # never go to them.  What they hold stays referenced, never touched (see
    # _bridge._after_fork_in_child).
    global _queues, _queues_lock, _hubs, _refusing
    _inherited.append((_queues, _hubs))
    _queues, _hubs, _refusing = {}, {}, set()
    _queues_lock = threading.Lock()


_inherited: list[object] = []
os.register_at_fork(after_in_child=_after_fork_in_child)
