"""BloomFilter: Pottery 3.0.1 vs pottery_async (both APIs), on one server.

Run ``python benchmarks/bench_bloom.py [--quick]``.  Uses ``$REDIS_URL`` if
set, else starts a private server and stops it afterwards.  See
benchmarks/README.md for how the timing works and how to read the ratios.
"""

from __future__ import annotations

import sys

import bench_common as bc
from bench_common import PA_ASYNC, PA_SYNC, POTTERY, RAW_ASYNC, RAW_SYNC, Target

import pottery_async

NUM_ELEMENTS = 10_000  # what the filter is sized for
FALSE_POSITIVES = 0.01
MANY = 1000  # elements per contains_many() / update() call

ABOUT = (
    f'{{repetitions}} interleaved repetitions; filter for {NUM_ELEMENTS} elements at {FALSE_POSITIVES} false'
    f' positives, half full; per sample: {{single}} single-element ops, {{many}} contains_many() / update()'
    f' calls of {MANY} elements'
)
FULL = bc.Settings(ABOUT, repetitions=25, single=1000, many=10)
QUICK = bc.Settings(ABOUT, repetitions=5, single=200, many=3)


TARGETS = (
    Target('sync bf.add(x): throughput vs Pottery', 'add', PA_SYNC, POTTERY, 'throughput', 2.0),
    Target('sync x in bf: throughput vs Pottery', 'contains', PA_SYNC, POTTERY, 'throughput', 2.0),
    Target(f'sync bf.contains_many({MANY}): throughput vs Pottery', 'contains_many', PA_SYNC, POTTERY,
           'throughput', 20.0),
    Target(f'async bf.contains_many({MANY}): throughput vs Pottery', 'contains_many', PA_ASYNC, POTTERY,
           'throughput', 20.0),
    # A bare redis.asyncio command already costs more than half of Pottery's
    # add: the async single-element goal is the client's own cost.
    Target('async bf.add(x): time vs a bare await BITFIELD', 'add', PA_ASYNC, RAW_ASYNC, 'time', 1.15),
    Target('async bf.contains(x): time vs a bare await BITFIELD_RO', 'contains', PA_ASYNC, RAW_ASYNC, 'time',
           1.15),
)


def build_workloads(settings: bc.Settings, setup: bc.Setup) -> list[bc.Workload]:
    prefix, loop, aclient, raw = setup.prefix, setup.loop, setup.aclient, setup.raw
    key = f'{prefix}:bloom'

    # All read and write the same filter: the layout is shared.
    pb, sb, ab = filters = setup.each_library(
        'BloomFilter', key=key, num_elements=NUM_ELEMENTS, false_positives=FALSE_POSITIVES,
    )
    members = [f'member-{i}' for i in range(NUM_ELEMENTS // 2)]
    sb.update(members)
    asked = [f'member-{i}' for i in range(0, NUM_ELEMENTS, NUM_ELEMENTS // MANY)]  # half are members
    offsets = [sorted(set(pb._bit_offsets(value))) for value in asked]
    # The commands pottery_async sends, prepared: the floor under its cost.
    set_args = [[x for o in pb._bit_offsets(m) for x in ('SET', 'u1', o, 1)] for m in members[:MANY]]
    get_args = [[x for o in pb._bit_offsets(value) for x in ('GET', 'u1', o)] for value in asked]

    # The implementations must agree before their speed means anything.
    expected = tuple(pb.contains_many(*asked))
    assert expected[:MANY // 2] == (True,) * (MANY // 2)
    assert tuple(sb.contains_many(*asked)) == expected
    assert tuple(loop.run_until_complete(ab.contains_many(*asked))) == expected
    assert [value in sb for value in asked[:50]] == [value in pb for value in asked[:50]]

    def raw_getbits(i: int) -> None:
        with raw.pipeline(transaction=False) as pipeline:
            for offset in offsets[i % MANY]:
                pipeline.getbit(key, offset)
            pipeline.execute()

    async def amany(b: pottery_async.BloomFilter, _: int) -> None:
        tuple(await b.contains_many(*asked))

    add = bc.workload(
        'add', settings.single, 'op', setup, filters, lambda b, i: b.add(members[i % MANY]),
        araw=lambda i: aclient.execute_command('BITFIELD', key, *set_args[i % MANY]),  # type: ignore[no-untyped-call]
    )
    contains = bc.workload(
        'contains', settings.single, 'op', setup, filters, lambda b, i: asked[i % MANY] in b,
        aio=lambda b, i: b.contains(asked[i % MANY]),
        raw=raw_getbits,
        araw=lambda i: aclient.execute_command('BITFIELD_RO', key, *get_args[i % MANY]),  # type: ignore[no-untyped-call]
    )
    many = bc.workload(
        'contains_many', settings.many, 'call', setup, filters, lambda b, i: tuple(b.contains_many(*asked)),
        aio=amany,
    )
    update = bc.workload(
        'update', settings.many, 'call', setup, filters, lambda b, i: b.update(members[:MANY]),
    )
    return [add, contains, many, update]


LABELS = {
    'add': 'bf.add(x)',
    'contains': 'x in bf',
    'contains_many': f'bf.contains_many({MANY} elements)',
    'update': f'bf.update({MANY} elements)',
}

# The main table's columns of floors: case name, header.
report = bc.standard_report(
    LABELS, {RAW_SYNC: f'{RAW_SYNC} GETBITs', RAW_ASYNC: f'{RAW_ASYNC} BITFIELD'}, TARGETS,
)


if __name__ == '__main__':
    sys.exit(bc.bench_main(__doc__, FULL, QUICK, build_workloads, report))
