"""redis_cache() and CachedOrderedDict: Pottery 3.0.1 vs pottery_async (sync and async APIs).

Run ``python benchmarks/bench_cache.py [--quick]``.  Uses ``$REDIS_URL`` if
set, else starts a private server and stops it afterwards.  A hit costs
Pottery two round trips (HGET, EXPIRE) and a miss three (HGET, HSET,
EXPIRE); ours one script call for a hit and two for a miss.  The decorated
functions do no work of their own, so the cache's cost is all there is.
See benchmarks/README.md for how to read the ratios.
"""

from __future__ import annotations

import itertools
import json
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from bench_common import (
    PA_ASYNC,
    PA_SYNC,
    POTTERY,
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

with warnings.catch_warnings():
    # Pottery patches json.dumps and warns at import.
    warnings.simplefilter('ignore')
    import pottery

HOT = 100  # distinct arguments the hit workload cycles through
KEYS = 100  # dict_keys per CachedOrderedDict, half of them cached


@dataclass(frozen=True)
class Settings:
    repetitions: int
    calls: int  # decorated calls (or d[k] = v) per sample
    loads: int  # CachedOrderedDict constructions per sample

    def describe(self) -> str:
        return (
            f'{self.repetitions} interleaved repetitions; per sample: '
            f'{self.calls} decorated calls or d[k] = v, {self.loads} CachedOrderedDict loads'
        )


FULL = Settings(repetitions=25, calls=500, loads=20)
QUICK = Settings(repetitions=5, calls=100, loads=5)

TARGETS = (
    Target('sync cache hit: time vs Pottery', 'hit', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync cache miss: time vs Pottery', 'miss', PA_SYNC, POTTERY, 'time', 1.3),
    Target('async cache hit: time vs Pottery (info)', 'hit', PA_ASYNC, POTTERY, 'time', 1.3),
    Target('async cache miss: time vs Pottery (info)', 'miss', PA_ASYNC, POTTERY, 'time', 1.3),
    Target('sync hit, entry_ttl + stampede: time vs Pottery (info)', 'hit_opts', PA_SYNC, POTTERY, 'time',
           1.3),
    Target('sync miss, entry_ttl + stampede: time vs Pottery (info)', 'miss_opts', PA_SYNC, POTTERY, 'time',
           1.3),
    Target(f'sync CachedOrderedDict({KEYS} keys): time vs Pottery (info)', 'load', PA_SYNC, POTTERY, 'time',
           1.3),
    Target('sync CachedOrderedDict d[k] = v: time vs Pottery (info)', 'set', PA_SYNC, POTTERY, 'time', 1.3),
)

LABELS = {
    'hit': 'f(x), a hit',
    'miss': 'f(x), a miss',
    'hit_opts': 'hit, entry_ttl + stampede (ours)',
    'miss_opts': 'miss, entry_ttl + stampede (ours)',
    'load': f'CachedOrderedDict({KEYS} keys)',
    'set': 'CachedOrderedDict d[k] = v',
}


def build_workloads(settings: Settings, setup: Setup) -> list[Workload]:
    prefix, loop, aclient, raw = setup.prefix, setup.loop, setup.aclient, setup.raw
    # Each library gets its own sync client.
    pottery_client, pa_client = setup.client(), setup.client()

    def value(n: int) -> dict[str, Any]:
        return {'n': n, 'name': f'item {n}'}

    async def avalue(n: int) -> dict[str, Any]:
        return {'n': n, 'name': f'item {n}'}

    def caches(name: str, **options: Any) -> tuple[Any, Any, Any]:
        'The function decorated by each implementation, each on its own key.'
        theirs = pottery.redis_cache(redis=pottery_client, key=f'{prefix}:{name}:pottery')(value)
        ours = pottery_async.sync.redis_cache(redis=pa_client, key=f'{prefix}:{name}:sync', **options)(value)
        aours = pottery_async.redis_cache(redis=aclient, key=f'{prefix}:{name}:async', **options)(avalue)
        return theirs, ours, aours

    options = {'entry_ttl': 600, 'stampede_protection': True}
    hit_p, hit_s, hit_a = caches('hit')
    miss_p, miss_s, miss_a = caches('miss')
    ohit_p, ohit_s, _ = caches('hit-opts', **options)
    omiss_p, omiss_s, _ = caches('miss-opts', **options)
    for n in range(HOT):
        for f in (hit_p, hit_s, ohit_p, ohit_s):
            f(n)
        loop.run_until_complete(hit_a(n))
    # The implementations must agree before their speed means anything.
    assert hit_p(7) == hit_s(7) == ohit_s(7) == loop.run_until_complete(hit_a(7)) == value(7)
    assert hit_s.cache_info().hits == 1
    # Fresh arguments for every miss.
    fresh = itertools.count(1_000_000)
    raw_key, raw_field = f'{prefix}:hit:sync', raw.hkeys(f'{prefix}:hit:sync')[0]

    hit = Workload('hit', settings.calls, 'call', [
        sync_case(POTTERY, lambda i: hit_p(i % HOT)),
        sync_case(PA_SYNC, lambda i: hit_s(i % HOT)),
        async_case(PA_ASYNC, loop, lambda i: hit_a(i % HOT)),
        sync_case(RAW_SYNC, lambda i: json.loads(raw.hget(raw_key, raw_field))),  # type: ignore[arg-type]
    ])
    miss = Workload('miss', settings.calls, 'call', [
        sync_case(POTTERY, lambda i: miss_p(next(fresh))),
        sync_case(PA_SYNC, lambda i: miss_s(next(fresh))),
        async_case(PA_ASYNC, loop, lambda i: miss_a(next(fresh))),
    ])
    hit_opts = Workload('hit_opts', settings.calls, 'call', [
        sync_case(POTTERY, lambda i: ohit_p(i % HOT)),
        sync_case(PA_SYNC, lambda i: ohit_s(i % HOT)),
    ])
    miss_opts = Workload('miss_opts', settings.calls, 'call', [
        sync_case(POTTERY, lambda i: omiss_p(next(fresh))),
        sync_case(PA_SYNC, lambda i: omiss_s(next(fresh))),
    ])

    # CachedOrderedDict: half of the keys cached, on one hash per library
    # holding the same contents.
    cached = {n: f'document {n}' for n in range(0, KEYS * 2, 4)}
    dict_keys = list(range(0, KEYS * 2, 2))
    cod_p, cod_s, cod_a = (f'{prefix}:cod:{side}' for side in ('pottery', 'sync', 'async'))
    for key in (cod_p, cod_s, cod_a):
        raw.hset(key, mapping={json.dumps(k): json.dumps(v) for k, v in cached.items()})

    def pottery_load(_: int = 0) -> Any:
        return pottery.CachedOrderedDict(redis_client=pottery_client, redis_key=cod_p, dict_keys=dict_keys)

    def sync_load(_: int = 0) -> Any:
        return pottery_async.sync.CachedOrderedDict(
            redis_client=pa_client, redis_key=cod_s, dict_keys=dict_keys,
        )

    def aload(_: int = 0) -> Any:
        return pottery_async.CachedOrderedDict(redis_client=aclient, redis_key=cod_a, dict_keys=dict_keys)

    theirs, ours = pottery_load(), sync_load()
    assert theirs.misses() == ours.misses()
    assert len(ours.misses()) == KEYS // 2
    assert [(k, v) for k, v in theirs.items() if k not in theirs.misses()] == [
        (k, v) for k, v in ours.items() if k not in ours.misses()
    ]
    set_p, set_s = pottery_load(), sync_load()
    set_a = loop.run_until_complete(aload())

    def pset(i: int) -> None:
        set_p[dict_keys[i % KEYS]] = f'document {i}'

    def sset(i: int) -> None:
        set_s[dict_keys[i % KEYS]] = f'document {i}'

    load = Workload('load', settings.loads, 'dict', [
        sync_case(POTTERY, pottery_load),
        sync_case(PA_SYNC, sync_load),
        async_case(PA_ASYNC, loop, aload),
    ])
    set_ = Workload('set', settings.calls, 'op', [
        sync_case(POTTERY, pset),
        sync_case(PA_SYNC, sset),
        async_case(PA_ASYNC, loop, lambda i: set_a.setitem(dict_keys[i % KEYS], f'document {i}')),
    ])
    return [hit, miss, hit_opts, miss_opts, load, set_]


def report(workloads: list[Workload]) -> str:
    out = median_table(workloads, LABELS, {RAW_SYNC: f'{RAW_SYNC} HGET'})
    rows = []
    for w in workloads:
        pottery_cpu = w.case(POTTERY).cpu_median
        rows.append([
            LABELS[w.name], format_time(pottery_cpu), format_time(w.case(PA_SYNC).cpu_median),
            f'{w.case(PA_SYNC).cpu_median / pottery_cpu:.2f}x',
        ])
    out.append('')
    out.append('Client CPU time per call (this process, user+system; the server excluded), informative:')
    out.append(table(['workload', POTTERY, PA_SYNC, 'sync/Pottery'], rows))
    out.extend(targets_table(TARGETS, workloads))
    return '\n'.join(out)


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, argv, FULL, QUICK, build_workloads, report)


if __name__ == '__main__':
    sys.exit(main())
