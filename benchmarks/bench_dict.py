"""RedisDict: Pottery 3.0.1 vs pottery_async (sync and async APIs), on one server.

Run ``python benchmarks/bench_dict.py [--quick]``.  Uses ``$REDIS_URL`` if
set, else starts a private server and stops it afterwards.  See
benchmarks/README.md for what is measured and how to read the ratios.
"""

from __future__ import annotations

import json
import sys
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

SMALL = 100  # fields in the hash that single-field operations use
UPDATE = 1000  # items per update()
BIG = 10_000  # fields in the hash that list(d) reads

RAW_GET = 'redis-py GET'


@dataclass(frozen=True)
class Settings:
    repetitions: int
    single: int  # single-field operations per sample
    updates: int  # update() calls per sample
    lists: int  # list(d) calls per sample

    def describe(self) -> str:
        return (
            f'{self.repetitions} interleaved repetitions; per sample: '
            f'{self.single} single-field ops, {self.updates} update() calls, '
            f'{self.lists} list(d) calls'
        )


FULL = Settings(repetitions=25, single=1000, updates=8, lists=2)
QUICK = Settings(repetitions=5, single=200, updates=3, lists=1)


TARGETS = (
    Target('sync d[k]: time vs Pottery', 'get', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync d[k] = v: time vs Pottery', 'set', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync k in d: time vs Pottery', 'contains', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync len(d): time vs Pottery', 'len', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync update(1000): throughput vs Pottery', 'update', PA_SYNC, POTTERY, 'throughput', 1.5),
    Target('sync list(d) 10k keys: throughput vs Pottery', 'list', PA_SYNC, POTTERY, 'throughput', 3.0),
    Target('async await d.getitem(k): time vs await hget', 'get', PA_ASYNC, RAW_ASYNC, 'time', 1.15),
)


def build_workloads(settings: Settings, setup: Setup) -> list[Workload]:
    prefix, loop, aclient, raw = setup.prefix, setup.loop, setup.aclient, setup.raw
    small_key, update_key, big_key, string_key = (
        f'{prefix}:small', f'{prefix}:update', f'{prefix}:big', f'{prefix}:string',
    )
    # Each library gets its own sync client.
    pottery_client, pa_client = setup.client(), setup.client()

    fields = [f'k{i}' for i in range(SMALL)]
    encoded = [json.dumps(f) for f in fields]
    raw.hset(small_key, mapping={json.dumps(f): json.dumps(i) for i, f in enumerate(fields)})
    raw.set(string_key, json.dumps(0))
    big = {json.dumps(f'big{i}'): json.dumps(i) for i in range(BIG)}
    for start in range(0, BIG, 1000):
        raw.hset(big_key, mapping=dict(list(big.items())[start:start + 1000]))
    items: dict[Any, Any] = {f'u{i}': i for i in range(UPDATE)}

    # All three read and write the same hashes: the server-side work is the same.
    pd = pottery.RedisDict(redis=pottery_client, key=small_key)
    sd = pottery_async.sync.RedisDict(redis=pa_client, key=small_key)
    ad = pottery_async.RedisDict(redis=aclient, key=small_key)
    pu = pottery.RedisDict(redis=pottery_client, key=update_key)
    su = pottery_async.sync.RedisDict(redis=pa_client, key=update_key)
    au = pottery_async.RedisDict(redis=aclient, key=update_key)
    pb = pottery.RedisDict(redis=pottery_client, key=big_key)
    sb = pottery_async.sync.RedisDict(redis=pa_client, key=big_key)
    ab = pottery_async.RedisDict(redis=aclient, key=big_key)

    # The implementations must agree before their speed means anything.
    assert pd['k7'] == sd['k7'] == loop.run_until_complete(ad.getitem('k7')) == 7
    assert len(pb) == len(sb) == loop.run_until_complete(ab.len()) == BIG

    async def alist(_: int) -> object:
        return [k async for k in ab]

    def pset(i: int) -> None:
        pd[fields[i % SMALL]] = i % SMALL

    def sset(i: int) -> None:
        sd[fields[i % SMALL]] = i % SMALL

    get = Workload('get', settings.single, 'op', [
        sync_case(POTTERY, lambda i: pd[fields[i % SMALL]]),
        sync_case(PA_SYNC, lambda i: sd[fields[i % SMALL]]),
        async_case(PA_ASYNC, loop, lambda i: ad.getitem(fields[i % SMALL])),
        sync_case(RAW_SYNC, lambda i: raw.hget(small_key, encoded[i % SMALL])),
        async_case(RAW_ASYNC, loop, lambda i: aclient.hget(small_key, encoded[i % SMALL])),
        sync_case(RAW_GET, lambda i: raw.get(string_key)),
    ])
    set_ = Workload('set', settings.single, 'op', [
        sync_case(POTTERY, pset),
        sync_case(PA_SYNC, sset),
        async_case(PA_ASYNC, loop, lambda i: ad.setitem(fields[i % SMALL], i % SMALL)),
        sync_case(RAW_SYNC, lambda i: raw.hset(small_key, encoded[i % SMALL], str(i % SMALL))),
        async_case(RAW_ASYNC, loop, lambda i: aclient.hset(small_key, encoded[i % SMALL], str(i % SMALL))),
    ])
    contains = Workload('contains', settings.single, 'op', [
        sync_case(POTTERY, lambda i: fields[i % SMALL] in pd),
        sync_case(PA_SYNC, lambda i: fields[i % SMALL] in sd),
        async_case(PA_ASYNC, loop, lambda i: ad.contains(fields[i % SMALL])),
        sync_case(RAW_SYNC, lambda i: raw.hexists(small_key, encoded[i % SMALL])),
        async_case(RAW_ASYNC, loop, lambda i: aclient.hexists(small_key, encoded[i % SMALL])),
    ])
    length = Workload('len', settings.single, 'op', [
        sync_case(POTTERY, lambda i: len(pd)),
        sync_case(PA_SYNC, lambda i: len(sd)),
        async_case(PA_ASYNC, loop, lambda i: ad.len()),
        sync_case(RAW_SYNC, lambda i: raw.hlen(small_key)),
        async_case(RAW_ASYNC, loop, lambda i: aclient.hlen(small_key)),
    ])
    update = Workload('update', settings.updates, 'call', [
        sync_case(POTTERY, lambda i: pu.update(items)),
        sync_case(PA_SYNC, lambda i: su.update(items)),
        async_case(PA_ASYNC, loop, lambda i: au.update(items)),
    ])
    listing = Workload('list', settings.lists, 'call', [
        sync_case(POTTERY, lambda i: list(pb)),
        sync_case(PA_SYNC, lambda i: list(sb)),
        async_case(PA_ASYNC, loop, alist),
    ])
    return [get, set_, contains, length, update, listing]


LABELS = {
    'get': 'd[k]  (HGET)',
    'set': 'd[k] = v  (HSET)',
    'contains': 'k in d  (HEXISTS)',
    'len': 'len(d)  (HLEN)',
    'update': f'd.update({UPDATE} items)',
    'list': f'list(d), {BIG} keys',
}


def report(workloads: list[Workload]) -> str:
    get = {w.name: w for w in workloads}['get'].case(RAW_GET).median
    out = median_table(
        workloads, LABELS, {RAW_SYNC: f'{RAW_SYNC} floor', RAW_ASYNC: f'{RAW_ASYNC} floor'},
        [['floor: GET (string key)', 'per op', '-', '-', '-', format_time(get), '-', '-', '-']],
    )

    rows = []
    for w in workloads:
        if w.name in ('update', 'list'):
            continue
        row = [LABELS[w.name]]
        for name in (POTTERY, PA_SYNC, PA_ASYNC):
            floor = RAW_ASYNC if name == PA_ASYNC else RAW_SYNC
            row.append(f'{w.case(name).median / w.case(floor).median:.2f}x')
        rows.append(row)
    out.append('')
    out.append('Overhead over the raw client doing the same command (ratio of medians, time;'
               ' async compared with redis.asyncio, the others with redis-py):')
    out.append(table(['workload', POTTERY, PA_SYNC, PA_ASYNC], rows))

    rows = []
    for w in workloads:
        if w.name not in ('update', 'list'):
            continue
        items = UPDATE if w.name == 'update' else BIG
        row = [LABELS[w.name]]
        for name in (POTTERY, PA_SYNC, PA_ASYNC):
            row.append(f'{items / w.case(name).median:,.0f} items/s')
        pottery_median = w.case(POTTERY).median
        row.append(f'{pottery_median / w.case(PA_SYNC).median:.2f}x')
        row.append(f'{pottery_median / w.case(PA_ASYNC).median:.2f}x')
        rows.append(row)
    out.append('')
    out.append('Throughput (items per second, from the median time):')
    out.append(table(['workload', POTTERY, PA_SYNC, PA_ASYNC, 'sync/Pottery', 'async/Pottery'], rows))

    rows = []
    for w in workloads:
        row = [LABELS[w.name]]
        for name in (POTTERY, PA_SYNC, PA_ASYNC):
            row.append(format_time(w.case(name).cpu_median))
        pottery_cpu = w.case(POTTERY).cpu_median
        row.append(f'{w.case(PA_SYNC).cpu_median / pottery_cpu:.2f}x')
        try:
            row.append(f'{w.case(PA_ASYNC).cpu_median / w.case(RAW_ASYNC).cpu_median:.2f}x')
        except KeyError:
            row.append('-')
        rows.append(row)
    out.append('')
    out.append('Client CPU time per op/call (this process, user+system; the server excluded).  Informative:'
               ' the targets are')
    out.append('wall-clock, but where the round trip is slow, wall-clock ratios dilute client overhead:')
    out.append(table(['workload', POTTERY, PA_SYNC, PA_ASYNC, 'sync/Pottery', f'async/{RAW_ASYNC}'], rows))

    out.extend(targets_table(TARGETS, workloads))
    return '\n'.join(out)


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, argv, FULL, QUICK, build_workloads, report)


if __name__ == '__main__':
    sys.exit(main())
