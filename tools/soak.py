"""Soak: random faults and cancellations for a few minutes, invariants checked on the server.

Run ``python tools/soak.py [--minutes 3] [--seed N]`` before a release.  It
starts its own servers through the test rig (tests/servers.py) and repeats,
until the time is up, rounds chosen at random:

- queue: a producer and a consumer (sync or async API, redis-py retrying or
  not, gets cancelled after a few milliseconds or not) while the server
  stalls at random (DEBUG SLEEP or SIGSTOP); afterwards nothing may be in
  flight, no item delivered twice, no acknowledged item lost;
- lock: 20 asyncio tasks doing locked read-modify-write cycles on one
  counter over five masters, some of their acquires cancelled after a few
  milliseconds, while random masters (two at most) are SIGSTOPped for a
  moment; afterwards the counter must equal the cycles done and no lock key
  may be left.

Prints one line per round and exits 1 at the first broken invariant (with
its details), 0 otherwise.  The CI suite runs shorter, fixed versions of
these (tests/test_queue_faults.py, tests/test_cancellation.py,
tests/test_redlock_faults.py).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import redis.asyncio  # noqa: E402

import pottery_async  # noqa: E402
from tests.faults import Staller, Tally, queue_outcome, retry_policy, run_queue, settled  # noqa: E402
from tests.servers import Server  # noqa: E402


def queue_round(server: Server, rng: random.Random, number: int) -> bool:
    how, api = rng.choice(['sleep', 'sigstop']), rng.choice(['sync', 'async'])
    retries = rng.random() < 0.5
    cancel = api == 'async' and rng.random() < 0.5
    items = rng.randint(500, 3000)
    key = f'soak-queue-{number}'
    probe = redis.Redis.from_url(server.url(), socket_timeout=30)
    tally = Tally()
    staller = Staller(server, how, seed=rng.randrange(2**32))
    try:
        run_queue(server.url(), key, api, retry_policy(api, retries), items, tally, cancel=cancel)
    finally:
        staller.stop()
    calm = settled(probe, key)
    outcome = queue_outcome(probe, key, tally, items)
    probe.delete(key)
    probe.close()
    print(
        f'queue {how:7} {api:5} retries={retries!s:5} cancel={cancel!s:5} {items} items, '
        f'{staller.stalls} stalls, errors {tally.errors}: '
        f'{"ok" if calm and outcome.sound else "BROKEN"}',
        flush=True,
    )
    if not (calm and outcome.sound):
        print(f'  in flight left: {not calm}; duplicated {outcome.duplicated[:20]}; '
              f'lost {outcome.lost[:20]}; strangers {outcome.strangers[:20]}')
    return calm and outcome.sound


async def lock_tasks(
    masters: list[Server], counter: Server, rng: random.Random, number: int,
) -> tuple[int, int]:
    'RMW cycles by 20 tasks for about 5 s, some acquires cancelled; (cycles done, counter).'
    clients = [redis.asyncio.Redis.from_url(server.url()) for server in masters]
    count = redis.asyncio.Redis.from_url(counter.url())
    key = f'soak-counter-{number}'
    done = 0
    end = time.monotonic() + 5

    async def work(seed: int) -> None:
        nonlocal done
        own = random.Random(seed)
        lock = pottery_async.AIORedlock(key=f'soak-lock-{number}', masters=clients)
        while time.monotonic() < end:
            try:
                if own.random() < 0.3:
                    acquired = await asyncio.wait_for(lock.acquire(timeout=20), own.uniform(0, 0.01))
                else:
                    acquired = await lock.acquire(timeout=20)
            except TimeoutError:
                continue
            if not acquired:
                continue
            try:
                value = int(await count.get(key) or 0)
                await asyncio.sleep(0.001)
                await count.set(key, value + 1)
                done += 1
            finally:
                try:
                    await lock.release()
                except pottery_async.ReleaseUnlockedLock:
                    pass

    try:
        await asyncio.gather(*(work(rng.randrange(2**32)) for _ in range(20)))
        return done, int(await count.get(key) or 0)
    finally:
        for client in [*clients, count]:
            await client.aclose()


def lock_round(masters: list[Server], counter: Server, rng: random.Random, number: int) -> bool:
    paused = rng.sample(masters, rng.randint(0, 2))
    stallers = [Staller(server, 'sigstop', seed=rng.randrange(2**32), gaps=(0.2, 1.0)) for server in paused]
    try:
        done, counted = asyncio.run(lock_tasks(masters, counter, rng, number))
    finally:
        for staller in stallers:
            staller.stop()
    probes = [redis.Redis.from_url(server.url()) for server in masters]
    deadline = time.monotonic() + 15
    # A SET that a paused master ran after its resume expires with its lease.
    while any(probe.keys('redlock:soak-lock-*') for probe in probes) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = sum(len(probe.keys('redlock:soak-lock-*')) for probe in probes)
    for probe in probes:
        probe.close()
    sound = done == counted and left == 0
    print(f'lock  {len(paused)} masters stalling: {done} cycles, counter {counted}, lock keys left {left}: '
          f'{"ok" if sound else "BROKEN"}', flush=True)
    return sound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--minutes', type=float, default=3.0)
    parser.add_argument('--seed', type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f'seed {seed}', flush=True)
    rng = random.Random(seed)
    stalling = Server('--enable-debug-command', 'yes')
    masters = [Server() for _ in range(5)]
    counter = Server()
    try:
        end = time.monotonic() + args.minutes * 60
        number = 0
        while time.monotonic() < end:
            number += 1
            sound = (
                queue_round(stalling, rng, number) if rng.random() < 0.6
                else lock_round(masters, counter, rng, number)
            )
            if not sound:
                return 1
    finally:
        for server in [stalling, *masters, counter]:
            server.resume()
            server.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
