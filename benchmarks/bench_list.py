"""RedisList and RedisDeque: Pottery 3.0.1 vs pottery_async (sync and async APIs), on one server.

Run ``python benchmarks/bench_list.py [--quick]``.  Uses ``$REDIS_URL`` if
set, else starts a private server and stops it afterwards.  See
benchmarks/README.md for how the timing is done and how to read the ratios.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pottery
from bench_common import (
    PA_ASYNC,
    PA_SYNC,
    POTTERY,
    RAW_ASYNC,
    RAW_SYNC,
    Setup,
    Target,
    Workload,
    async_case,
    bench_main,
    format_time,
    median_table,
    sync_case,
    table,
    targets_table,
)

import pottery_async
import pottery_async.sync

DEQUE = 100  # elements in the deques that appendleft + popleft work on
MAXLEN = 100  # the bounded deque's maxlen (it is kept full)
ITERATED = 1000  # elements in the list that list(l) reads

@dataclass(frozen=True)
class Settings:
    repetitions: int
    single: int  # operations per sample
    lists: int  # list(l) calls per sample

    def describe(self) -> str:
        return (
            f'{self.repetitions} interleaved repetitions; per sample: '
            f'{self.single} single operations (or appendleft + popleft pairs), '
            f'{self.lists} list(l) calls'
        )


FULL = Settings(repetitions=25, single=1000, lists=2)
QUICK = Settings(repetitions=5, single=200, lists=1)


TARGETS = (
    Target('sync l.append(v): time vs Pottery', 'append', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync d.appendleft(v) + d.popleft(): throughput vs Pottery', 'deque', PA_SYNC, POTTERY,
           'throughput', 3.0),
    Target('same, maxlen deque: throughput vs Pottery', 'bounded', PA_SYNC, POTTERY, 'throughput', 3.0),
)

LABELS = {
    'append': 'l.append(v)  (RPUSH)',
    'deque': 'd.appendleft(v); d.popleft()',
    'bounded': f'same, maxlen={MAXLEN}, full',
    'index': 'l[0]  (LINDEX)',
    'list': f'list(l), {ITERATED} elements',
}


def build_workloads(settings: Settings, setup: Setup) -> list[Workload]:
    prefix, loop, aclient, raw = setup.prefix, setup.loop, setup.aclient, setup.raw
    append_key, deque_key, bounded_key, iterated_key = (
        f'{prefix}:append', f'{prefix}:deque', f'{prefix}:bounded', f'{prefix}:iterated',
    )
    # Each library gets its own sync client.
    pottery_client, pa_client = setup.client(), setup.client()
    raw.rpush(deque_key, *[str(i) for i in range(DEQUE)])
    raw.rpush(bounded_key, *[str(i) for i in range(MAXLEN)])
    raw.rpush(iterated_key, *[str(i) for i in range(ITERATED)])

    # All implementations work on the same Redis lists: the server does the
    # same work for each.
    pl = pottery.RedisList(redis=pottery_client, key=append_key)
    sl = pottery_async.sync.RedisList(redis=pa_client, key=append_key)
    al = pottery_async.RedisList(redis=aclient, key=append_key)
    pd = pottery.RedisDeque(redis=pottery_client, key=deque_key)
    sd = pottery_async.sync.RedisDeque(redis=pa_client, key=deque_key)
    ad = pottery_async.RedisDeque(redis=aclient, key=deque_key)
    pb = pottery.RedisDeque(maxlen=MAXLEN, redis=pottery_client, key=bounded_key)
    sb = pottery_async.sync.RedisDeque(maxlen=MAXLEN, redis=pa_client, key=bounded_key)
    ab = pottery_async.RedisDeque(maxlen=MAXLEN, redis=aclient, key=bounded_key)
    pi = pottery.RedisList(redis=pottery_client, key=iterated_key)
    si = pottery_async.sync.RedisList(redis=pa_client, key=iterated_key)
    ai = pottery_async.RedisList(redis=aclient, key=iterated_key)

    # The implementations must agree before their speed means anything.
    assert list(pi) == list(si) == loop.run_until_complete(ai.to_list()) == list(range(ITERATED))
    assert pb.maxlen == sb.maxlen == ab.maxlen == MAXLEN

    def pair(d: Any) -> Callable[[int], object]:
        def operation(_: int) -> object:
            d.appendleft(7)
            return d.popleft()

        return operation

    def apair(d: pottery_async.RedisDeque) -> Callable[[int], Awaitable[object]]:
        async def operation(_: int) -> object:
            await d.appendleft(7)
            return await d.popleft()

        return operation

    def raw_pair(_: int) -> object:
        raw.lpush(deque_key, '7')
        return raw.lpop(deque_key)

    async def araw_pair(_: int) -> object:
        await aclient.lpush(deque_key, '7')
        return await aclient.lpop(deque_key)

    async def alist(_: int) -> object:
        return [v async for v in ai]

    append = Workload('append', settings.single, 'op', [
        sync_case(POTTERY, lambda i: pl.append(1)),
        sync_case(PA_SYNC, lambda i: sl.append(1)),
        async_case(PA_ASYNC, loop, lambda i: al.append(1)),
        sync_case(RAW_SYNC, lambda i: raw.rpush(append_key, '1')),
        async_case(RAW_ASYNC, loop, lambda i: aclient.rpush(append_key, '1')),
    ])
    deque = Workload('deque', settings.single, 'pair', [
        sync_case(POTTERY, pair(pd)),
        sync_case(PA_SYNC, pair(sd)),
        async_case(PA_ASYNC, loop, apair(ad)),
        sync_case(RAW_SYNC, raw_pair),
        async_case(RAW_ASYNC, loop, araw_pair),
    ])
    bounded = Workload('bounded', settings.single, 'pair', [
        sync_case(POTTERY, pair(pb)),
        sync_case(PA_SYNC, pair(sb)),
        async_case(PA_ASYNC, loop, apair(ab)),
    ])
    index = Workload('index', settings.single, 'op', [
        sync_case(POTTERY, lambda i: pi[0]),
        sync_case(PA_SYNC, lambda i: si[0]),
        async_case(PA_ASYNC, loop, lambda i: ai.getitem(0)),
        sync_case(RAW_SYNC, lambda i: raw.lindex(iterated_key, 0)),
        async_case(RAW_ASYNC, loop, lambda i: aclient.lindex(iterated_key, 0)),
    ])
    listing = Workload('list', settings.lists, 'call', [
        sync_case(POTTERY, lambda i: list(pi)),
        sync_case(PA_SYNC, lambda i: list(si)),
        async_case(PA_ASYNC, loop, alist),
    ])
    return [append, deque, bounded, index, listing]


def report(workloads: list[Workload]) -> str:
    out = median_table(workloads, LABELS, {RAW_SYNC: f'{RAW_SYNC} floor', RAW_ASYNC: f'{RAW_ASYNC} floor'})

    rows = []
    for w in workloads:
        pottery_median = w.case(POTTERY).median
        rows.append([
            LABELS[w.name],
            f'{pottery_median / w.case(PA_SYNC).median:.2f}x',
            f'{pottery_median / w.case(PA_ASYNC).median:.2f}x',
            format_time(w.case(POTTERY).cpu_median),
            format_time(w.case(PA_SYNC).cpu_median),
        ])
    out.append('')
    out.append('Throughput relative to Pottery (Pottery time / ours, higher is faster), and client CPU per'
               ' unit (this process):')
    out.append(table(['workload', 'sync', 'async', f'{POTTERY} CPU', f'{PA_SYNC} CPU'], rows))

    out.extend(targets_table(TARGETS, workloads))
    return '\n'.join(out)


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, argv, FULL, QUICK, build_workloads, report)


if __name__ == '__main__':
    sys.exit(main())
