"""RedisSimpleQueue: Pottery 3.0.1 vs pottery_async (sync and async APIs), on one server.

Run ``python benchmarks/bench_queue.py [--quick]``.  Uses ``$REDIS_URL`` if
set, else starts a private server and stops it afterwards.

Two kinds of measurement:

- put, and get when an item waits: interleaved repetitions as in
  bench_dict.py (see benchmarks/README.md), ratios of medians to Pottery's;
- handoff: a consumer process is already waiting in get() when the item is
  put; the latency is the time from the put (a plain XADD, the same for
  every consumer) to that get() returning in the consumer, measured with
  CLOCK_MONOTONIC, which all processes share.  Consumers of every kind wait
  at once, on their own keys, and the rounds rotate between them.  Each put
  comes a random 20-120 ms after the previous item was taken, so a polling
  consumer is caught at every phase of its poll.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import bench_common as bc
import pottery
import redis
import redis.asyncio
from bench_common import PA_ASYNC, PA_SYNC, POTTERY, RAW_ASYNC, RAW_SYNC, Target

import pottery_async
import pottery_async.sync
from pottery_async import _bridge, _clients

# One XADD through the sync layer's bridge, with no container code: the
# floor of any one-command operation of pottery_async.sync.
BRIDGE = 'bridge'

ABOUT = ('{repetitions} interleaved repetitions of {ops} puts / gets per sample; {handoffs} handoffs per'
         ' consumer')
FULL = bc.Settings(ABOUT, repetitions=25, ops=500, handoffs=300)
QUICK = bc.Settings(ABOUT, repetitions=5, ops=100, handoffs=40)

GOAL = 1.3  # put and get: at most this multiple of Pottery's time


def build_workloads(settings: bc.Settings, setup: bc.Setup) -> list[bc.Workload]:
    prefix, loop, aclient, raw = setup.prefix, setup.loop, setup.aclient, setup.raw
    pottery_client, pa_client = setup.pottery_client, setup.pa_client
    keys = {name: f'{prefix}:{name}' for name in (POTTERY, PA_SYNC, PA_ASYNC, RAW_SYNC, RAW_ASYNC, BRIDGE)}
    pq = pottery.RedisSimpleQueue(redis=pottery_client, key=keys[POTTERY])
    sq = pottery_async.sync.RedisSimpleQueue(redis=pa_client, key=keys[PA_SYNC])
    aq = pottery_async.RedisSimpleQueue(redis=aclient, key=keys[PA_ASYNC])
    item = {'car': 'Jeep', 'doors': 4}
    encoded = json.dumps(item, sort_keys=True)

    # The implementations must agree before their speed means anything.
    pq.put(item)
    sq.put(item)
    loop.run_until_complete(aq.put(item))
    assert pq.get() == sq.get() == loop.run_until_complete(aq.get()) == item

    def fill(key: str, n: int) -> None:
        raw.unlink(key)
        with raw.pipeline(transaction=False) as pipe:
            for _ in range(n):
                pipe.xadd(key, {'item': encoded})
            pipe.execute()

    def sync_puts(name: str, put: Callable[[], object]) -> bc.Case:
        def run(n: int) -> float:
            raw.unlink(keys[name])
            start = time.perf_counter()
            for _ in range(n):
                put()
            return time.perf_counter() - start

        return bc.Case(name, run)

    def sync_gets(name: str, get: Callable[[], object]) -> bc.Case:
        def run(n: int) -> float:
            fill(keys[name], n)
            start = time.perf_counter()
            for _ in range(n):
                get()
            elapsed = time.perf_counter() - start
            assert raw.xlen(keys[name]) == 0
            return elapsed

        return bc.Case(name, run)

    async def aputs(n: int) -> float:
        await aclient.unlink(keys[PA_ASYNC])
        start = time.perf_counter()
        for _ in range(n):
            await aq.put(item)
        return time.perf_counter() - start

    async def araw_puts(n: int) -> float:
        await aclient.unlink(keys[RAW_ASYNC])
        start = time.perf_counter()
        for _ in range(n):
            await aclient.xadd(keys[RAW_ASYNC], {'item': encoded})
        return time.perf_counter() - start

    async def bridge_xadd() -> Any:
        twin = _clients.resolve(pa_client)
        return await twin.execute_command('XADD', keys[BRIDGE], '*', 'item', encoded)

    async def agets(n: int) -> float:
        fill(keys[PA_ASYNC], n)
        start = time.perf_counter()
        for _ in range(n):
            await aq.get()
        elapsed = time.perf_counter() - start
        assert raw.xlen(keys[PA_ASYNC]) == 0
        return elapsed

    put = bc.Workload('put', settings.ops, 'op', [
        sync_puts(POTTERY, lambda: pq.put(item)),
        sync_puts(PA_SYNC, lambda: sq.put(item)),
        bc.async_batch_case(PA_ASYNC, loop, aputs),
        sync_puts(RAW_SYNC, lambda: raw.xadd(keys[RAW_SYNC], {'item': json.dumps(item, sort_keys=True)})),
        sync_puts(BRIDGE, lambda: _bridge.run(bridge_xadd())),
        bc.async_batch_case(RAW_ASYNC, loop, araw_puts),
    ])
    get = bc.Workload('get', settings.ops, 'op', [
        sync_gets(POTTERY, pq.get),
        sync_gets(PA_SYNC, sq.get),
        bc.async_batch_case(PA_ASYNC, loop, agets),
    ])
    return [put, get]


# --- handoff -----------------------------------------------------------------

# A consumer process: waits in get(), and for each item records (in a Redis
# list, after the clock is read) how long ago the producer started its put.
CONSUMER = '''
import asyncio, json, sys, time, warnings
import redis, redis.asyncio
url, key, kind = sys.argv[1], sys.argv[2], sys.argv[3]
raw = redis.Redis.from_url(url)
done = key + ':latency'

def record(item):
    now = time.perf_counter()
    if item == 'stop':
        return False
    raw.rpush(done, now - item)
    return True

if kind == 'pottery_async':
    import pottery_async
    async def main():
        client = redis.asyncio.Redis.from_url(url)
        q = pottery_async.RedisSimpleQueue(redis=client, key=key)
        while record(await q.get()):
            pass
        await client.aclose()
    asyncio.run(main())
elif kind == 'pottery_async.sync':
    import pottery_async.sync
    q = pottery_async.sync.RedisSimpleQueue(redis=redis.Redis.from_url(url), key=key)
    while record(q.get()):
        pass
elif kind == 'raw':
    # The floor: one XREAD BLOCK that returns the new entry (nothing removed).
    last = '0'
    while True:
        [[_, [(last, fields)]]] = raw.xread({key: last}, count=1, block=0)
        if not record(json.loads(fields[b'item'])):
            break
else:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        import pottery
    q = pottery.RedisSimpleQueue(redis=redis.Redis.from_url(url), key=key)
    while True:
        if kind == 'pottery-timeout':
            # The bounded wait Pottery offers: it polls (XREAD BLOCK of
            # floor(timeout) ms inside WATCH, then sleeps up to 200 ms).
            item = q.get(timeout=60)
        else:
            # get() with no timeout raises QueueEmptyError when an item
            # arrives (the XADD breaks its WATCH); retry at once.
            try:
                item = q.get()
            except pottery.QueueEmptyError:
                continue
        if not record(item):
            break
'''

HANDOFF_KINDS = {
    f'{RAW_SYNC} XREAD BLOCK (floor: wake-up, no removal)': 'raw',
    PA_ASYNC: 'pottery_async',
    PA_SYNC: 'pottery_async.sync',
    f'{POTTERY} get(timeout=60)': 'pottery-timeout',
    f'{POTTERY} get(), retried on QueueEmptyError': 'pottery-retry',
}


def measure_handoffs(settings: bc.Settings, url: str, prefix: str) -> dict[str, list[float]]:
    raw = redis.Redis.from_url(url)
    keys = {name: f'{prefix}:handoff:{i}' for i, name in enumerate(HANDOFF_KINDS)}
    consumers = {
        name: subprocess.Popen([sys.executable, '-c', CONSUMER, url, keys[name], kind])
        for name, kind in HANDOFF_KINDS.items()
    }
    rng = random.Random(1)
    try:
        time.sleep(2)  # the consumers start and begin to wait
        names = list(HANDOFF_KINDS)
        for round_ in range(settings.handoffs):
            for i in range(len(names)):
                name = names[(i + round_) % len(names)]
                key = keys[name]
                time.sleep(rng.uniform(0.02, 0.12))
                # A plain XADD, what every library's put sends; the clock is
                # read just before it.
                started = time.perf_counter()
                raw.xadd(key, {'item': json.dumps(started)})
                deadline = time.monotonic() + 30
                while raw.llen(f'{key}:latency') <= round_:
                    if time.monotonic() > deadline:
                        raise SystemExit(f'{name}: the consumer took no item within 30 s')
                    time.sleep(0.001)
        for name in names:
            raw.xadd(keys[name], {'item': json.dumps('stop')})
        for consumer in consumers.values():
            consumer.wait(timeout=30)
        return {
            name: [float(x) for x in raw.lrange(f'{keys[name]}:latency', 0, -1)]
            for name in names
        }
    finally:
        for consumer in consumers.values():
            if consumer.poll() is None:
                consumer.kill()
                consumer.wait()
        raw.close()


# --- report ----------------------------------------------------------------


LABELS = {'put': 'put(item)  (XADD)', 'get': 'get() when an item waits'}
TARGETS = [
    Target(f'{name} {label}: time vs Pottery', workload, name, POTTERY, 'time', GOAL)
    for workload, label in LABELS.items()
    for name in (PA_SYNC, PA_ASYNC)
]


def report(workloads: list[bc.Workload], handoffs: dict[str, list[float]]) -> str:
    put = workloads[0]

    def ratio(ours: str, floor: str) -> str:
        return f'{put.case(ours).median / put.case(floor).median:.2f}x'

    out = [bc.report_text(
        workloads, LABELS,
        {RAW_SYNC: f'{RAW_SYNC} floor', BRIDGE: f'{BRIDGE} floor', RAW_ASYNC: f'{RAW_ASYNC} floor'},
        TARGETS,
        bc.section(
            'put over its floors (ratio of medians, time): the sync API over one bare XADD through the'
            ' bridge,\nthe async API over one XADD on the same redis.asyncio client, Pottery over redis-py:',
            ['', 'ratio'],
            [
                [f'{PA_SYNC} / {BRIDGE} floor', ratio(PA_SYNC, BRIDGE)],
                [f'{BRIDGE} floor / {RAW_SYNC}', ratio(BRIDGE, RAW_SYNC)],
                [f'{PA_ASYNC} / {RAW_ASYNC} floor', ratio(PA_ASYNC, RAW_ASYNC)],
                [f'{POTTERY} / {RAW_SYNC}', ratio(POTTERY, RAW_SYNC)],
            ],
        ),
    )]
    if handoffs:
        rows = []
        for name, latencies in handoffs.items():
            rows.append([
                name, str(len(latencies)), bc.format_time(bc.percentile(latencies, 50)),
                bc.format_time(bc.percentile(latencies, 99)), bc.format_time(max(latencies)),
            ])
        out.extend(bc.section(
            'Handoff: a consumer process already waits in get(); time from the put (XADD) to that get()'
            ' returning:', ['consumer', 'items', 'p50', 'p99', 'max'], rows,
        ))
    return '\n'.join(out)


def main(argv: list[str] | None = None) -> int:
    args = bc.parse_args(__doc__, argv, skip=('handoff', 'the handoff latency measurement'))
    settings = bc.choose_settings(args, FULL, QUICK)
    handoffs: dict[str, list[float]] = {}

    def measure_more(setup: bc.Setup) -> None:
        if not args.no_handoff:
            handoffs.update(measure_handoffs(settings, setup.url, setup.prefix))

    return bc.run_benchmark(
        settings,
        lambda setup: build_workloads(settings, setup),
        lambda workloads: report(workloads, handoffs),
        after=measure_more,
    )


if __name__ == '__main__':
    sys.exit(main())
