"""RedisDict: Pottery 3.0.1 vs pottery_async (sync and async APIs), on one server.

Run ``python benchmarks/bench_dict.py [--quick]``.  Uses ``$REDIS_URL`` if
set, else starts a private server and stops it afterwards.  See
benchmarks/README.md for what is measured and how to read the ratios.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import bench_common as bc
from bench_common import PA_ASYNC, PA_SYNC, POTTERY, RAW_ASYNC, RAW_SYNC, Target

import pottery_async

SMALL = 100  # fields in the hash that single-field operations use
UPDATE = 1000  # items per update()
BIG = 10_000  # fields in the hash that list(d) reads

RAW_GET = 'redis-py GET'

ABOUT = ('{repetitions} interleaved repetitions; per sample: {single} single-field ops, {updates} update()'
         ' calls, {lists} list(d) calls')
FULL = bc.Settings(ABOUT, repetitions=25, single=1000, updates=8, lists=2)
QUICK = bc.Settings(ABOUT, repetitions=5, single=200, updates=3, lists=1)


TARGETS = (
    Target('sync d[k]: time vs Pottery', 'get', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync d[k] = v: time vs Pottery', 'set', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync k in d: time vs Pottery', 'contains', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync len(d): time vs Pottery', 'len', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync update(1000): throughput vs Pottery', 'update', PA_SYNC, POTTERY, 'throughput', 1.5),
    Target('sync list(d) 10k keys: throughput vs Pottery', 'list', PA_SYNC, POTTERY, 'throughput', 3.0),
    Target('async await d.getitem(k): time vs await hget', 'get', PA_ASYNC, RAW_ASYNC, 'time', 1.15),
)


def build_workloads(settings: bc.Settings, setup: bc.Setup) -> list[bc.Workload]:
    prefix, loop, raw = setup.prefix, setup.loop, setup.raw
    small_key, update_key, big_key, string_key = (
        f'{prefix}:small', f'{prefix}:update', f'{prefix}:big', f'{prefix}:string',
    )

    fields = [f'k{i}' for i in range(SMALL)]
    encoded = [json.dumps(f) for f in fields]
    raw.hset(small_key, mapping={json.dumps(f): json.dumps(i) for i, f in enumerate(fields)})
    raw.set(string_key, json.dumps(0))
    big = {json.dumps(f'big{i}'): json.dumps(i) for i in range(BIG)}
    for start in range(0, BIG, 1000):
        raw.hset(big_key, mapping=dict(list(big.items())[start:start + 1000]))
    items: dict[Any, Any] = {f'u{i}': i for i in range(UPDATE)}

    # All three read and write the same hashes: the server-side work is the same.
    pd, sd, ad = small = setup.each_library('RedisDict', key=small_key)
    updated = setup.each_library('RedisDict', key=update_key)
    pb, sb, ab = listed = setup.each_library('RedisDict', key=big_key)

    # The implementations must agree before their speed means anything.
    assert pd['k7'] == sd['k7'] == loop.run_until_complete(ad.getitem('k7')) == 7
    assert len(pb) == len(sb) == loop.run_until_complete(ab.len()) == BIG

    async def alist(d: pottery_async.RedisDict, _: int) -> object:
        return [k async for k in d]

    def set_field(d: Any, i: int) -> None:
        d[fields[i % SMALL]] = i % SMALL

    get = bc.workload(
        'get', settings.single, 'op', setup, small, lambda d, i: d[fields[i % SMALL]],
        aio=lambda d, i: d.getitem(fields[i % SMALL]),
        floors=lambda r, i: r.hget(small_key, encoded[i % SMALL]),
        more=[bc.sync_case(RAW_GET, lambda i: raw.get(string_key))],
    )
    set_ = bc.workload(
        'set', settings.single, 'op', setup, small, set_field,
        aio=lambda d, i: d.setitem(fields[i % SMALL], i % SMALL),
        floors=lambda r, i: r.hset(small_key, encoded[i % SMALL], str(i % SMALL)),
    )
    contains = bc.workload(
        'contains', settings.single, 'op', setup, small, lambda d, i: fields[i % SMALL] in d,
        aio=lambda d, i: d.contains(fields[i % SMALL]),
        floors=lambda r, i: r.hexists(small_key, encoded[i % SMALL]),
    )
    length = bc.workload(
        'len', settings.single, 'op', setup, small, lambda d, i: len(d),
        aio=lambda d, i: d.len(),
        floors=lambda r, i: r.hlen(small_key),
    )
    update = bc.workload('update', settings.updates, 'call', setup, updated, lambda d, i: d.update(items))
    listing = bc.workload('list', settings.lists, 'call', setup, listed, lambda d, i: list(d), aio=alist)
    return [get, set_, contains, length, update, listing]


LABELS = {
    'get': 'd[k]  (HGET)',
    'set': 'd[k] = v  (HSET)',
    'contains': 'k in d  (HEXISTS)',
    'len': 'len(d)  (HLEN)',
    'update': f'd.update({UPDATE} items)',
    'list': f'list(d), {BIG} keys',
}


def report(workloads: list[bc.Workload]) -> str:
    columns = (POTTERY, PA_SYNC, PA_ASYNC)
    get = {w.name: w for w in workloads}['get'].case(RAW_GET).median

    overhead = []
    for w in workloads:
        if w.name in ('update', 'list'):
            continue
        row = [LABELS[w.name]]
        for name in columns:
            floor = RAW_ASYNC if name == PA_ASYNC else RAW_SYNC
            row.append(f'{w.case(name).median / w.case(floor).median:.2f}x')
        overhead.append(row)

    throughput = []
    for w in workloads:
        if w.name not in ('update', 'list'):
            continue
        items = UPDATE if w.name == 'update' else BIG
        row = [LABELS[w.name]]
        for name in columns:
            row.append(f'{items / w.case(name).median:,.0f} items/s')
        pottery_median = w.case(POTTERY).median
        row.append(f'{pottery_median / w.case(PA_SYNC).median:.2f}x')
        row.append(f'{pottery_median / w.case(PA_ASYNC).median:.2f}x')
        throughput.append(row)

    cpu = []
    for w in workloads:
        row = [LABELS[w.name]]
        for name in columns:
            row.append(bc.format_time(w.case(name).cpu_median))
        pottery_cpu = w.case(POTTERY).cpu_median
        row.append(f'{w.case(PA_SYNC).cpu_median / pottery_cpu:.2f}x')
        try:
            row.append(f'{w.case(PA_ASYNC).cpu_median / w.case(RAW_ASYNC).cpu_median:.2f}x')
        except KeyError:
            row.append('-')
        cpu.append(row)

    return bc.report_text(
        workloads, LABELS, {RAW_SYNC: f'{RAW_SYNC} floor', RAW_ASYNC: f'{RAW_ASYNC} floor'}, TARGETS,
        bc.section('Overhead over the raw client doing the same command (ratio of medians, time;'
                   ' async compared with redis.asyncio, the others with redis-py):',
                   ['workload', *columns], overhead),
        bc.section('Throughput (items per second, from the median time):',
                   ['workload', *columns, 'sync/Pottery', 'async/Pottery'], throughput),
        bc.section('Client CPU time per op/call (this process, user+system; the server excluded).'
                   '  Informative: the targets are\nwall-clock, but where the round trip is slow,'
                   ' wall-clock ratios dilute client overhead:',
                   ['workload', *columns, 'sync/Pottery', f'async/{RAW_ASYNC}'], cpu),
        more_rows=[['floor: GET (string key)', 'per op', '-', '-', '-', bc.format_time(get), '-', '-', '-']],
    )


if __name__ == '__main__':
    sys.exit(bc.bench_main(__doc__, FULL, QUICK, build_workloads, report))
