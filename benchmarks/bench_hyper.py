"""HyperLogLog: Pottery 3.0.1 vs pottery_async (both APIs), on one server.

Run ``python benchmarks/bench_hyper.py [--quick]``.  Uses ``$REDIS_URL`` if
set, else starts a private server and stops it afterwards.  See
benchmarks/README.md for how the timing works and how to read the ratios.
"""

from __future__ import annotations

import json
import sys

import bench_common as bc
from bench_common import PA_ASYNC, PA_SYNC, POTTERY, RAW_ASYNC, RAW_SYNC, Target

import pottery_async

ELEMENTS = 5000  # in the HyperLogLog that membership is tested against (dense)
MANY = 100  # elements per contains_many() / update() call

ABOUT = (
    f'{{repetitions}} interleaved repetitions; a HyperLogLog of {ELEMENTS} elements (dense); per sample:'
    f' {{single}} single-element ops or merges, {{many}} contains_many() / update() calls of {MANY} elements'
)
FULL = bc.Settings(ABOUT, repetitions=25, single=1000, many=20)
QUICK = bc.Settings(ABOUT, repetitions=5, single=200, many=5)


TARGETS = (
    Target('sync hll.add(x): throughput vs Pottery', 'add', PA_SYNC, POTTERY, 'throughput', 3.0),
    # A bare redis.asyncio command already costs more than half of Pottery's
    # add: the async goal is the client's own cost.
    Target('async hll.add(x): time vs a bare await PFADD', 'add', PA_ASYNC, RAW_ASYNC, 'time', 1.15),
)


def build_workloads(settings: bc.Settings, setup: bc.Setup) -> list[bc.Workload]:
    prefix, loop = setup.prefix, setup.loop
    key, other_key = f'{prefix}:hll', f'{prefix}:other'

    # All read and write the same HyperLogLogs: the encoding is shared.
    ph, sh, ah = hlls = setup.each_library('HyperLogLog', key=key)
    members = [f'member-{i}' for i in range(ELEMENTS)]
    encoded = [json.dumps(m) for m in members]
    sh.update(members)
    po, so, ao = setup.each_library('HyperLogLog', key=other_key)
    so.update(f'other-{i}' for i in range(ELEMENTS))
    asked = [f'member-{i}' for i in range(0, 2 * ELEMENTS, 2 * ELEMENTS // MANY)]  # half are members

    # The implementations must agree before their speed means anything.
    expected = tuple(ph.contains_many(*asked))
    assert expected[:MANY // 2] == (True,) * (MANY // 2)
    assert tuple(sh.contains_many(*asked)) == expected
    assert tuple(loop.run_until_complete(ah.contains_many(*asked))) == expected
    assert len(ph) == len(sh) == loop.run_until_complete(ah.len())

    async def amany(h: pottery_async.HyperLogLog, _: int) -> None:
        tuple(await h.contains_many(*asked))

    add = bc.workload(
        'add', settings.single, 'op', setup, hlls, lambda h, i: h.add(members[i % ELEMENTS]),
        floors=lambda r, i: r.pfadd(key, encoded[i % ELEMENTS]),
    )
    length = bc.workload(
        'len', settings.single, 'op', setup, hlls, lambda h, i: len(h),
        aio=lambda h, i: h.len(),
        floors=lambda r, i: r.pfcount(key),
    )
    contains = bc.workload(
        'contains', settings.single, 'op', setup, hlls, lambda h, i: asked[i % MANY] in h,
        aio=lambda h, i: h.contains(asked[i % MANY]),
    )
    many = bc.workload(
        'contains_many', settings.many, 'call', setup, hlls, lambda h, i: tuple(h.contains_many(*asked)),
        aio=amany,
    )
    update = bc.workload(
        'update', settings.many, 'call', setup, hlls, lambda h, i: h.update(members[:MANY]),
    )
    # Each merges its own library's other HyperLogLog.
    merge = bc.Workload('merge', settings.single, 'op', [
        bc.sync_case(POTTERY, lambda i: ph.update(po)),
        bc.sync_case(PA_SYNC, lambda i: sh.update(so)),
        bc.async_case(PA_ASYNC, loop, lambda i: ah.update(ao)),
    ])
    return [add, length, contains, many, update, merge]


LABELS = {
    'add': 'hll.add(x)  (PFADD)',
    'len': 'len(hll)  (PFCOUNT)',
    'contains': 'x in hll',
    'contains_many': f'hll.contains_many({MANY} elements)',
    'update': f'hll.update({MANY} elements)',
    'merge': 'hll.update(other_hll)',
}

# The main table's columns of floors: case name, header.
report = bc.standard_report(LABELS, {RAW_SYNC: f'{RAW_SYNC} floor', RAW_ASYNC: f'{RAW_ASYNC} floor'}, TARGETS)


if __name__ == '__main__':
    sys.exit(bc.bench_main(__doc__, FULL, QUICK, build_workloads, report))
