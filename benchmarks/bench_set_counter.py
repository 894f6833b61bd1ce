"""RedisSet and RedisCounter: Pottery 3.0.1 vs pottery_async (both APIs), on one server.

Run ``python benchmarks/bench_set_counter.py [--quick]``.  Uses ``$REDIS_URL``
if set, else starts a private server and stops it afterwards.  See
benchmarks/README.md for how the timing works and how to read the ratios.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass

import pottery
import pottery.exceptions
import redis
import redis.asyncio
from bench_common import (
    MEDIAN_NOTE,
    PA_ASYNC,
    PA_SYNC,
    POTTERY,
    RAW_SYNC,
    Case,
    Target,
    Workload,
    async_case,
    choose_settings,
    cpu_table,
    median_rows,
    parse_args,
    run_benchmark,
    sync_case,
    table,
    targets_table,
)

import pottery_async
import pottery_async.sync

ELEMENTS = 1000  # distinct elements that add / contains cycle through; contains_many asks for all
BIG = 10_000  # elements in the set that list(s) reads
WORDS = 'to be or not to be'.split()  # what Counter.update() counts

@dataclass(frozen=True)
class Settings:
    repetitions: int
    single: int  # single-element operations per sample
    many: int  # contains_many(1000 elements) calls per sample
    updates: int  # Counter.update(words) calls per sample
    lists: int  # list(s) calls per sample


FULL = Settings(repetitions=25, single=1000, many=20, updates=300, lists=2)
QUICK = Settings(repetitions=5, single=200, many=5, updates=100, lists=1)


TARGETS = (
    Target('sync s.add(x): time vs Pottery', 'add', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync x in s: time vs Pottery', 'contains', PA_SYNC, POTTERY, 'time', 1.3),
    Target(f'sync s.contains_many({ELEMENTS}): time vs Pottery', 'contains_many', PA_SYNC, POTTERY,
           'time', 1.3),
    Target('sync c.update(a few words): throughput vs Pottery', 'update', PA_SYNC, POTTERY, 'throughput',
           3.0),
    Target('async c.update(a few words): throughput vs Pottery', 'update', PA_ASYNC, POTTERY, 'throughput',
           3.0),
    Target(f'sync list(s), {BIG} elements: throughput vs Pottery', 'list', PA_SYNC, POTTERY, 'throughput',
           1.0),
)


def build_workloads(
    settings: Settings,
    url: str,
    prefix: str,
    loop: asyncio.AbstractEventLoop,
    aclient: redis.asyncio.Redis,
) -> list[Workload]:
    set_key, big_key, counter_key = f'{prefix}:set', f'{prefix}:big', f'{prefix}:counter'
    # Each library gets its own sync client (same URL, default settings).
    pottery_client = redis.Redis.from_url(url)
    pa_client = redis.Redis.from_url(url)
    raw = redis.Redis.from_url(url)

    elements = [f'element-{i}' for i in range(ELEMENTS)]
    encoded = [json.dumps(e) for e in elements]
    raw.sadd(set_key, *encoded[::2])  # half of them are members
    for start in range(0, BIG, 1000):
        raw.sadd(big_key, *(json.dumps(f'big-{i}') for i in range(start, start + 1000)))

    # All read and write the same keys: the server-side work is the same.
    ps = pottery.RedisSet(redis=pottery_client, key=set_key)
    ss = pottery_async.sync.RedisSet(redis=pa_client, key=set_key)
    aset = pottery_async.RedisSet(redis=aclient, key=set_key)
    pb = pottery.RedisSet(redis=pottery_client, key=big_key)
    sb = pottery_async.sync.RedisSet(redis=pa_client, key=big_key)
    ab = pottery_async.RedisSet(redis=aclient, key=big_key)
    pc = pottery.RedisCounter(redis=pottery_client, key=f'{counter_key}:pottery')
    sc = pottery_async.sync.RedisCounter(redis=pa_client, key=f'{counter_key}:sync')
    ac = pottery_async.RedisCounter(redis=aclient, key=f'{counter_key}:async')

    # The implementations must agree before their speed means anything.
    expected = tuple(i % 2 == 0 for i in range(ELEMENTS))
    assert tuple(ps.contains_many(*elements)) == tuple(ss.contains_many(*elements)) == expected
    assert tuple(loop.run_until_complete(aset.contains_many(*elements))) == expected
    assert len(pb) == len(sb) == loop.run_until_complete(ab.len()) == BIG

    async def alist(_: int) -> None:
        async for _element in ab:
            pass

    async def amany(_: int) -> None:
        tuple(await aset.contains_many(*elements))

    add = Workload('add', settings.single, 'op', [
        sync_case(POTTERY, lambda i: ps.add(elements[i % ELEMENTS])),
        sync_case(PA_SYNC, lambda i: ss.add(elements[i % ELEMENTS])),
        async_case(PA_ASYNC, loop, lambda i: aset.add(elements[i % ELEMENTS])),
        sync_case(RAW_SYNC, lambda i: raw.sadd(set_key, encoded[i % ELEMENTS])),
    ])
    contains = Workload('contains', settings.single, 'op', [
        sync_case(POTTERY, lambda i: elements[i % ELEMENTS] in ps),
        sync_case(PA_SYNC, lambda i: elements[i % ELEMENTS] in ss),
        async_case(PA_ASYNC, loop, lambda i: aset.contains(elements[i % ELEMENTS])),
        sync_case(RAW_SYNC, lambda i: raw.sismember(set_key, encoded[i % ELEMENTS])),
    ])
    many = Workload('contains_many', settings.many, 'call', [
        sync_case(POTTERY, lambda i: tuple(ps.contains_many(*elements))),
        sync_case(PA_SYNC, lambda i: tuple(ss.contains_many(*elements))),
        async_case(PA_ASYNC, loop, amany),
        sync_case(RAW_SYNC, lambda i: raw.smismember(set_key, encoded)),
    ])
    def fresh(case: Case, key: str) -> Case:
        # Each implementation counts into its own key, emptied before each
        # sample: Pottery 3.0.1's update() of an iterable doubles the counts
        # of keys that exist, which would otherwise grow without bound.
        run = case.run

        def run_fresh(n: int) -> float:
            raw.unlink(key)
            return run(n)

        return Case(case.name, run_fresh)

    update = Workload('update', settings.updates, 'call', [
        fresh(sync_case(POTTERY, lambda i: pc.update(WORDS)), pc.key),
        fresh(sync_case(PA_SYNC, lambda i: sc.update(WORDS)), sc.key),
        fresh(async_case(PA_ASYNC, loop, lambda i: ac.update(WORDS)), ac.key),
    ])
    listing = Workload('list', settings.lists, 'call', [
        sync_case(POTTERY, lambda i: list(pb)),
        sync_case(PA_SYNC, lambda i: list(sb)),
        async_case(PA_ASYNC, loop, alist),
    ])
    return [add, contains, many, update, listing]


LABELS = {
    'add': 's.add(x)  (SADD)',
    'contains': 'x in s  (SISMEMBER)',
    'contains_many': f's.contains_many({ELEMENTS} elements)',
    'update': f'c.update({len(WORDS)} words)',
    'list': f'list(s), {BIG} elements',
}


def report(workloads: list[Workload]) -> str:
    by_name = {w.name: w for w in workloads}
    columns = [POTTERY, PA_SYNC, PA_ASYNC, RAW_SYNC]
    rows = median_rows(workloads, LABELS, columns)
    out = [table(
        ['workload', 'unit', POTTERY, PA_SYNC, PA_ASYNC, f'{RAW_SYNC} floor', 'sync/Pottery',
         'async/Pottery'],
        rows,
    )]
    out.append(MEDIAN_NOTE)

    out.extend(cpu_table(workloads, LABELS))

    out.extend(targets_table(TARGETS, by_name))
    return '\n'.join(out)


def main(argv: list[str] | None = None) -> int:
    settings = choose_settings(parse_args(__doc__, argv), FULL, QUICK)
    return run_benchmark(
        f'{settings.repetitions} interleaved repetitions; per sample: '
        f'{settings.single} single-element ops, {settings.many} contains_many() calls, '
        f'{settings.updates} update() calls, {settings.lists} list(s) calls',
        settings.repetitions,
        lambda url, prefix, loop, aclient: build_workloads(settings, url, prefix, loop, aclient),
        report,
        # Both libraries warn on every iteration and contains_many().
        ignore=(pottery.exceptions.InefficientAccessWarning, pottery_async.InefficientAccessWarning),
    )


if __name__ == '__main__':
    sys.exit(main())
