"""Wake-ups over Redis pub/sub, shared by everything waiting on one client.

A waiter (a blocking ``acquire()``) joins a channel on a client with an
``asyncio.Event``; whoever frees the resource publishes on that channel, and
each message sets the event of the channel's longest-waiting waiter (see
``_Hub.wake``).  All the waiters on one
client share one pub/sub connection and one reader task (a *hub*), however
many channels they wait on, so two hundred waiting tasks hold one extra
connection per master, not two hundred.

The hub exists only while someone waits: the first waiter opens the
connection and starts the reader, the last one to leave stops the reader and
closes the connection.  Nothing runs or stays subscribed between waits,
which matters for the sync API, whose bridge loop only runs during a call.

A wake-up is a hint, never a grant: the waiter tries again and waits again
if it lost.  When the connection breaks, every waiter is woken (and tries
again) and the next join opens a fresh hub; messages published meanwhile
are lost, which is why waiters also bound each wait (see redlock.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError

from . import _clients


class _Hub:
    'One pub/sub connection and its reader, for the waiters on one client.'

    def __init__(self, client: _clients.AsyncClient) -> None:
        self.client = client
        self.pubsub: Any = client.pubsub()
        # In arrival order: a message wakes the longest-waiting one.
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
            if event.is_set():
                # Woken, and leaving without having looked (a timeout, a
                # cancellation): the wake-up is the next waiter's.
                self.wake(channel)
            if not waiters:
                del self.waiters[channel]
        return not self.waiters

    def wake(self, channel: bytes) -> None:
        """Wake the longest-waiting waiter of ``channel``.

        One per message: the lock can go to one of them only, so waking all
        would make every waiter try (and all but one fail) at each release.
        A woken waiter that does not get the lock waits again, and is woken
        first again; the one that gets it publishes again when it releases.
        The masters of one lock each send a message per release: they all
        wake the same waiter.
        """
        for event in self.waiters.get(channel, ()):
            event.set()
            return

    async def _read(self) -> None:
        try:
            while True:
                message = await self.pubsub.get_message(timeout=None)
                if not message:
                    continue
                kind, channel = message['type'], message['channel']
                if kind == 'message':
                    self.wake(channel)
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
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await self.reader
        for confirmed in self.confirmed.values():
            confirmed.cancel()
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.aclose()
        # The socket closes on the loop's next pass: let it happen now (a
        # bridge loop may not run again for a long time).
        await asyncio.sleep(0)


# The hub of each client that has waiters.  A hub lives only while someone
# waits, so holding the client here does not keep it alive for long.
_hubs: dict[Any, _Hub] = {}


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
    for client in clients:
        hub = _hubs.get(client)
        if hub is None or hub.broken:
            hub = _hubs[client] = _Hub(client)
        hub.add(name, event)
        hubs.append(hub)
    joins = [asyncio.ensure_future(hub.subscribed(name)) for hub in hubs]
    try:
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
        yield event
    finally:
        for join in joins:
            join.cancel()
        await asyncio.wait(joins)
        for join in joins:
            if not join.cancelled():
                join.exception()  # retrieved: a failed join is only a missed wake-up
        for hub in hubs:
            if hub.leave(name, event):
                if _hubs.get(hub.client) is hub:
                    del _hubs[hub.client]
                await hub.close()


def _confirmed(join: asyncio.Future[None]) -> bool:
    return join.done() and not join.cancelled() and join.exception() is None
