"""HyperLogLog: Pottery 3.0.1 vs pottery_async (both APIs), on one server.

Run ``python benchmarks/bench_hyper.py [--quick]``.  Uses ``$REDIS_URL`` if
set, else starts a private server and stops it afterwards.  See
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
    RAW_ASYNC,
    RAW_SYNC,
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

ELEMENTS = 5000  # in the HyperLogLog that membership is tested against (dense)
MANY = 100  # elements per contains_many() / update() call


@dataclass(frozen=True)
class Settings:
    repetitions: int
    single: int  # single-element operations per sample
    many: int  # contains_many() / update() calls per sample

    def describe(self) -> str:
        return (
            f'{self.repetitions} interleaved repetitions; a HyperLogLog of {ELEMENTS} elements (dense); '
            f'per sample: {self.single} single-element ops or merges, '
            f'{self.many} contains_many() / update() calls of {MANY} elements'
        )


FULL = Settings(repetitions=25, single=1000, many=20)
QUICK = Settings(repetitions=5, single=200, many=5)


TARGETS = (
    Target('sync hll.add(x): throughput vs Pottery', 'add', PA_SYNC, POTTERY, 'throughput', 3.0),
    # A bare redis.asyncio command already costs more than half of Pottery's
    # add: the async goal is the client's own cost.
    Target('async hll.add(x): time vs a bare await PFADD', 'add', PA_ASYNC, RAW_ASYNC, 'time', 1.15),
)


def build_workloads(settings: Settings, setup: Setup) -> list[Workload]:
    prefix, loop, aclient, raw = setup.prefix, setup.loop, setup.aclient, setup.raw
    key, other_key = f'{prefix}:hll', f'{prefix}:other'
    # Each library gets its own sync client.
    pottery_client, pa_client = setup.client(), setup.client()

    # All read and write the same HyperLogLogs: the encoding is shared.
    ph = pottery.HyperLogLog(redis=pottery_client, key=key)
    sh = pottery_async.sync.HyperLogLog(redis=pa_client, key=key)
    ah = pottery_async.HyperLogLog(redis=aclient, key=key)
    members = [f'member-{i}' for i in range(ELEMENTS)]
    encoded = [json.dumps(m) for m in members]
    sh.update(members)
    po = pottery.HyperLogLog(redis=pottery_client, key=other_key)
    so = pottery_async.sync.HyperLogLog(redis=pa_client, key=other_key)
    ao = pottery_async.HyperLogLog(redis=aclient, key=other_key)
    so.update(f'other-{i}' for i in range(ELEMENTS))
    asked = [f'member-{i}' for i in range(0, 2 * ELEMENTS, 2 * ELEMENTS // MANY)]  # half are members

    # The implementations must agree before their speed means anything.
    expected = tuple(ph.contains_many(*asked))
    assert expected[:MANY // 2] == (True,) * (MANY // 2)
    assert tuple(sh.contains_many(*asked)) == expected
    assert tuple(loop.run_until_complete(ah.contains_many(*asked))) == expected
    assert len(ph) == len(sh) == loop.run_until_complete(ah.len())

    async def amany(_: int) -> None:
        tuple(await ah.contains_many(*asked))

    add = Workload('add', settings.single, 'op', [
        sync_case(POTTERY, lambda i: ph.add(members[i % ELEMENTS])),
        sync_case(PA_SYNC, lambda i: sh.add(members[i % ELEMENTS])),
        async_case(PA_ASYNC, loop, lambda i: ah.add(members[i % ELEMENTS])),
        sync_case(RAW_SYNC, lambda i: raw.pfadd(key, encoded[i % ELEMENTS])),
        async_case(RAW_ASYNC, loop, lambda i: aclient.pfadd(key, encoded[i % ELEMENTS])),
    ])
    length = Workload('len', settings.single, 'op', [
        sync_case(POTTERY, lambda i: len(ph)),
        sync_case(PA_SYNC, lambda i: len(sh)),
        async_case(PA_ASYNC, loop, lambda i: ah.len()),
        sync_case(RAW_SYNC, lambda i: raw.pfcount(key)),
        async_case(RAW_ASYNC, loop, lambda i: aclient.pfcount(key)),
    ])
    contains = Workload('contains', settings.single, 'op', [
        sync_case(POTTERY, lambda i: asked[i % MANY] in ph),
        sync_case(PA_SYNC, lambda i: asked[i % MANY] in sh),
        async_case(PA_ASYNC, loop, lambda i: ah.contains(asked[i % MANY])),
    ])
    many = Workload('contains_many', settings.many, 'call', [
        sync_case(POTTERY, lambda i: tuple(ph.contains_many(*asked))),
        sync_case(PA_SYNC, lambda i: tuple(sh.contains_many(*asked))),
        async_case(PA_ASYNC, loop, amany),
    ])
    update = Workload('update', settings.many, 'call', [
        sync_case(POTTERY, lambda i: ph.update(members[:MANY])),
        sync_case(PA_SYNC, lambda i: sh.update(members[:MANY])),
        async_case(PA_ASYNC, loop, lambda i: ah.update(members[:MANY])),
    ])
    merge = Workload('merge', settings.single, 'op', [
        sync_case(POTTERY, lambda i: ph.update(po)),
        sync_case(PA_SYNC, lambda i: sh.update(so)),
        async_case(PA_ASYNC, loop, lambda i: ah.update(ao)),
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
report = standard_report(
    LABELS, {RAW_SYNC: f'{RAW_SYNC} floor', RAW_ASYNC: f'{RAW_ASYNC} floor'}, TARGETS,
)


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, argv, FULL, QUICK, build_workloads, report)


if __name__ == '__main__':
    sys.exit(main())
