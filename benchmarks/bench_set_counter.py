"""RedisSet and RedisCounter: Pottery 3.0.1 vs pottery_async (both APIs), on one server.

Run ``python benchmarks/bench_set_counter.py [--quick]``.  Uses ``$REDIS_URL``
if set, else starts a private server and stops it afterwards.  See
benchmarks/README.md for how the timing works and how to read the ratios.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import pottery
from bench_common import (
    PA_ASYNC,
    PA_SYNC,
    POTTERY,
    RAW_SYNC,
    Case,
    Setup,
    Target,
    Workload,
    async_case,
    bench_main,
    standard_report,
    sync_case,
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

    def describe(self) -> str:
        return (
            f'{self.repetitions} interleaved repetitions; per sample: '
            f'{self.single} single-element ops, {self.many} contains_many() calls, '
            f'{self.updates} update() calls, {self.lists} list(s) calls'
        )


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


def build_workloads(settings: Settings, setup: Setup) -> list[Workload]:
    prefix, loop, aclient, raw = setup.prefix, setup.loop, setup.aclient, setup.raw
    set_key, big_key, counter_key = f'{prefix}:set', f'{prefix}:big', f'{prefix}:counter'
    # Each library gets its own sync client.
    pottery_client, pa_client = setup.client(), setup.client()

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

# The main table's columns of floors: case name, header.
report = standard_report(
    LABELS, {RAW_SYNC: f'{RAW_SYNC} floor'}, TARGETS,
)


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, argv, FULL, QUICK, build_workloads, report)


if __name__ == '__main__':
    sys.exit(main())
