"""Checks made on the server itself: what clients send (MONITOR), what keys remain."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
import uuid
from collections.abc import Iterator

import redis
import redis.asyncio

# What a new connection sends before its first command.
_HANDSHAKE = ('HELLO', 'CLIENT', 'SELECT', 'AUTH')


@contextlib.contextmanager
def sent_commands(url: str) -> Iterator[list[str]]:
    """Collect the commands that clients send while the block runs.

    Commands that Lua scripts run are left out: the list holds what went
    over the wire, one entry per command (so per round trip, unpipelined).
    """
    client = redis.Redis.from_url(url)
    marker = f'end-of-block {uuid.uuid4()}'
    seen: list[str] = []
    try:
        with client.monitor() as monitor:  # type: ignore[no-untyped-call]

            def collect() -> None:
                for command in monitor.listen():
                    text = str(command['command'])
                    if text == f'ECHO {marker}':
                        return
                    if command['client_type'] != 'lua' and not text.startswith(_HANDSHAKE):
                        seen.append(text)

            reader = threading.Thread(target=collect, daemon=True)
            reader.start()
            try:
                yield seen
            finally:
                client.echo(marker)
                reader.join(timeout=30)
    finally:
        client.close()


@contextlib.contextmanager
def sends(url: str, *names: str) -> Iterator[list[str]]:
    'The block sends these commands (by name, in this order) and no others.'
    with sent_commands(url) as sent:
        yield sent
    assert [command.split()[0] for command in sent] == list(names)


async def temporaries_deleted(
    client: redis.asyncio.Redis | redis.asyncio.RedisCluster, within: float = 10.0,
) -> None:
    """Collect unreachable containers and wait until their random keys are gone.

    A temporary container on an async client deletes its key from a task
    scheduled when it is collected; a test waits for that before it closes
    the client.
    """
    gc.collect()
    deadline = time.monotonic() + within
    while await client.keys('pottery:*'):
        assert time.monotonic() < deadline, 'temporary keys were not deleted'
        await asyncio.sleep(0.01)
