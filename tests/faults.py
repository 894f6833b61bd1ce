"""Fault machinery shared by tests/test_queue_faults.py and tools/soak.py.

A ``Staller`` stalls a server at random moments (``DEBUG SLEEP`` or SIGSTOP);
``run_queue`` runs a producer and a consumer through one API while it does;
``queue_outcome`` counts, on the server, what was delivered, lost or
duplicated.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.backoff
import redis.retry

import pottery_async
import pottery_async.sync
from pottery_async._base import companion
from pottery_async.exceptions import QueueEmptyError
from tests.helpers import entries
from tests.servers import Server

# Short enough that every stall makes requests time out.
SOCKET_TIMEOUT = 0.05


class Staller:
    """Stalls the server at random moments until stopped: DEBUG SLEEP 0.08, or SIGSTOP for 0.08 s.

    The server must run with ``--enable-debug-command yes`` for ``sleep``.
    """

    def __init__(
        self, server: Server, how: str, *, seed: int = 1, gaps: tuple[float, float] = (0.1, 0.4),
    ) -> None:
        self.server, self.how, self.gaps = server, how, gaps
        self.stalls = 0
        self.done = threading.Event()
        self.rng = random.Random(seed)
        self.control = redis.Redis.from_url(server.url(), socket_timeout=10)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(self.rng.uniform(*self.gaps)):
            if self.how == 'sleep':
                self.control.execute_command('DEBUG', 'SLEEP', 0.08)  # type: ignore[no-untyped-call]
            else:
                self.server.pause()
                time.sleep(0.08)
                self.server.resume()
            self.stalls += 1

    def stop(self) -> None:
        self.done.set()
        self.thread.join(30)
        self.server.resume()
        self.control.close()


def retry_policy(api: str, retries: bool) -> Any:
    'Three retries, 10 ms apart (what redis-py does by default, without its long back-off), or none.'
    module: Any = redis.asyncio.retry if api == 'async' else redis.retry
    if retries:
        return module.Retry(redis.backoff.ConstantBackoff(0.01), 3)
    return module.Retry(redis.backoff.NoBackoff(), 0)


@dataclass
class Tally:
    'What the producer and the consumer saw.'

    acknowledged: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    got: list[Any] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, error: BaseException) -> None:
        name = type(error).__name__
        self.errors[name] = self.errors.get(name, 0) + 1


def run_queue(
    url: str, key: str, api: str, retry: Any, items: int, tally: Tally, *, cancel: bool = False,
) -> None:
    """Put ``items`` items and get them back on two clients with a short socket timeout.

    ``cancel`` (async only): every get is cancelled after a few random
    milliseconds (asyncio.wait_for), as a cancellation storm does.
    """
    if api == 'sync':
        _run_sync(url, key, retry, items, tally)
    else:
        asyncio.run(_run_async(url, key, retry, items, tally, cancel))


def _run_sync(url: str, key: str, retry: Any, items: int, tally: Tally) -> None:
    producer_client = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, retry=retry)
    consumer_client = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, retry=retry)
    producer = pottery_async.sync.RedisSimpleQueue(redis=producer_client, key=key, visibility_timeout=2)
    consumer = pottery_async.sync.RedisSimpleQueue(redis=consumer_client, key=key, visibility_timeout=2)

    def produce() -> None:
        for i in range(items):
            try:
                producer.put(i)
                tally.acknowledged.append(i)
            except (redis.RedisError, TimeoutError) as error:
                tally.unknown.append(i)
                tally.error(error)

    thread = threading.Thread(target=produce)
    thread.start()
    quiet = 0
    while thread.is_alive() or quiet < 3:
        try:
            tally.got.append(consumer.get(timeout=0.5))
            quiet = 0
        except QueueEmptyError:
            quiet += 0 if thread.is_alive() else 1
        except (redis.RedisError, TimeoutError) as error:
            tally.error(error)
    thread.join()
    producer_client.close()
    consumer_client.close()


async def _run_async(url: str, key: str, retry: Any, items: int, tally: Tally, cancel: bool) -> None:
    producer_client = redis.asyncio.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, retry=retry)
    consumer_client = redis.asyncio.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, retry=retry)
    producer = pottery_async.RedisSimpleQueue(redis=producer_client, key=key, visibility_timeout=2)
    consumer = pottery_async.RedisSimpleQueue(redis=consumer_client, key=key, visibility_timeout=2)
    rng = random.Random(key)

    async def produce() -> None:
        for i in range(items):
            try:
                await producer.put(i)
                tally.acknowledged.append(i)
            except (redis.RedisError, TimeoutError) as error:
                tally.unknown.append(i)
                tally.error(error)

    producing = asyncio.ensure_future(produce())
    quiet = 0
    while not producing.done() or quiet < 3:
        try:
            if cancel and not producing.done():
                tally.got.append(await asyncio.wait_for(consumer.get(timeout=0.5), rng.uniform(0, 0.005)))
            else:
                tally.got.append(await consumer.get(timeout=0.5))
            quiet = 0
        except QueueEmptyError:
            quiet += 0 if not producing.done() else 1
        except (redis.RedisError, TimeoutError) as error:
            tally.error(error)
    await producing
    await producer_client.aclose()
    await consumer_client.aclose()


def in_flight(probe: redis.Redis, key: str) -> int:
    'Takes not yet confirmed nor released.'
    return int(probe.hlen(companion(key, 'taken'))) + int(probe.zcard(companion(key, 'due')))


@dataclass
class QueueOutcome:
    'What became of the items, counted on the server once nothing is in flight.'

    delivered: list[int]
    left: list[int]
    duplicated: list[int]
    lost: list[int]
    strangers: list[int]

    @property
    def sound(self) -> bool:
        return not (self.duplicated or self.lost or self.strangers)


def queue_outcome(probe: redis.Redis, key: str, tally: Tally, items: int) -> QueueOutcome:
    'Items got (or still queued): each acknowledged put exactly once, an unacknowledged one at most once.'
    left = [json.loads(fields[b'item']) for _, fields in entries(probe, key)]
    seen = tally.got + left
    counts: dict[int, int] = {}
    for item in seen:
        counts[item] = counts.get(item, 0) + 1
    return QueueOutcome(
        delivered=tally.got,
        left=left,
        duplicated=sorted(item for item, count in counts.items() if count > 1),
        lost=sorted(set(tally.acknowledged) - set(seen)),
        strangers=sorted(set(seen) - set(range(items))),
    )


def settled(probe: redis.Redis, key: str, within: float = 30.0) -> bool:
    'Wait until nothing is in flight (background releases done).'
    deadline = time.monotonic() + within
    while in_flight(probe, key):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True

