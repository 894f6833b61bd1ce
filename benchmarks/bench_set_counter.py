"""RedisSet and RedisCounter: Pottery 3.0.1 vs pottery_async (both APIs), on one server.

Run ``python benchmarks/bench_set_counter.py [--quick]``.  Uses ``$REDIS_URL``
if set, else starts a private server and stops it afterwards.  See
benchmarks/README.md for how the timing works and how to read the ratios.
"""

from __future__ import annotations

import json
import sys

import bench_common as bc
import pottery
from bench_common import PA_ASYNC, PA_SYNC, POTTERY, RAW_SYNC, Target

import pottery_async
import pottery_async.sync

ELEMENTS = 1000  # distinct elements that add / contains cycle through; contains_many asks for all
BIG = 10_000  # elements in the set that list(s) reads
WORDS = 'to be or not to be'.split()  # what Counter.update() counts

ABOUT = ('{repetitions} interleaved repetitions; per sample: {single} single-element ops, {many}'
         ' contains_many() calls, {updates} update() calls, {lists} list(s) calls')
FULL = bc.Settings(ABOUT, repetitions=25, single=1000, many=20, updates=300, lists=2)
QUICK = bc.Settings(ABOUT, repetitions=5, single=200, many=5, updates=100, lists=1)


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


def build_workloads(settings: bc.Settings, setup: bc.Setup) -> list[bc.Workload]:
    prefix, loop, aclient, raw = setup.prefix, setup.loop, setup.aclient, setup.raw
    set_key, big_key, counter_key = f'{prefix}:set', f'{prefix}:big', f'{prefix}:counter'

    elements = [f'element-{i}' for i in range(ELEMENTS)]
    encoded = [json.dumps(e) for e in elements]
    raw.sadd(set_key, *encoded[::2])  # half of them are members
    for start in range(0, BIG, 1000):
        raw.sadd(big_key, *(json.dumps(f'big-{i}') for i in range(start, start + 1000)))

    # All read and write the same keys: the server-side work is the same.
    ps, ss, aset = sets = setup.each_library('RedisSet', key=set_key)
    pb, sb, ab = big_sets = setup.each_library('RedisSet', key=big_key)
    pc = pottery.RedisCounter(redis=setup.pottery_client, key=f'{counter_key}:pottery')
    sc = pottery_async.sync.RedisCounter(redis=setup.pa_client, key=f'{counter_key}:sync')
    ac = pottery_async.RedisCounter(redis=aclient, key=f'{counter_key}:async')

    # The implementations must agree before their speed means anything.
    expected = tuple(i % 2 == 0 for i in range(ELEMENTS))
    assert tuple(ps.contains_many(*elements)) == tuple(ss.contains_many(*elements)) == expected
    assert tuple(loop.run_until_complete(aset.contains_many(*elements))) == expected
    assert len(pb) == len(sb) == loop.run_until_complete(ab.len()) == BIG

    async def alist(s: pottery_async.RedisSet, _: int) -> None:
        async for _element in s:
            pass

    async def amany(s: pottery_async.RedisSet, _: int) -> None:
        tuple(await s.contains_many(*elements))

    add = bc.workload(
        'add', settings.single, 'op', setup, sets, lambda s, i: s.add(elements[i % ELEMENTS]),
        raw=lambda i: raw.sadd(set_key, encoded[i % ELEMENTS]),
    )
    contains = bc.workload(
        'contains', settings.single, 'op', setup, sets, lambda s, i: elements[i % ELEMENTS] in s,
        aio=lambda s, i: s.contains(elements[i % ELEMENTS]),
        raw=lambda i: raw.sismember(set_key, encoded[i % ELEMENTS]),
    )
    many = bc.workload(
        'contains_many', settings.many, 'call', setup, sets, lambda s, i: tuple(s.contains_many(*elements)),
        aio=amany,
        raw=lambda i: raw.smismember(set_key, encoded),
    )

    def fresh(case: bc.Case, key: str) -> bc.Case:
        # Each implementation counts into its own key, emptied before each
        # sample: Pottery 3.0.1's update() of an iterable doubles the counts
        # of keys that exist, which would otherwise grow without bound.
        run = case.run

        def run_fresh(n: int) -> float:
            raw.unlink(key)
            return run(n)

        return bc.Case(case.name, run_fresh)

    update = bc.Workload('update', settings.updates, 'call', [
        fresh(bc.sync_case(POTTERY, lambda i: pc.update(WORDS)), pc.key),
        fresh(bc.sync_case(PA_SYNC, lambda i: sc.update(WORDS)), sc.key),
        fresh(bc.async_case(PA_ASYNC, loop, lambda i: ac.update(WORDS)), ac.key),
    ])
    listing = bc.workload('list', settings.lists, 'call', setup, big_sets, lambda s, i: list(s), aio=alist)
    return [add, contains, many, update, listing]


LABELS = {
    'add': 's.add(x)  (SADD)',
    'contains': 'x in s  (SISMEMBER)',
    'contains_many': f's.contains_many({ELEMENTS} elements)',
    'update': f'c.update({len(WORDS)} words)',
    'list': f'list(s), {BIG} elements',
}

# The main table's columns of floors: case name, header.
report = bc.standard_report(LABELS, {RAW_SYNC: f'{RAW_SYNC} floor'}, TARGETS)


if __name__ == '__main__':
    sys.exit(bc.bench_main(__doc__, FULL, QUICK, build_workloads, report))
