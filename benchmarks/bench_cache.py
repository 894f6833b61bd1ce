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
from typing import Any

import bench_common as bc
from bench_common import PA_ASYNC, PA_SYNC, POTTERY, RAW_SYNC, Target

import pottery_async
import pottery_async.sync

with warnings.catch_warnings():
    # Pottery patches json.dumps and warns at import.
    warnings.simplefilter('ignore')
    import pottery

HOT = 100  # distinct arguments the hit workload cycles through
KEYS = 100  # dict_keys per CachedOrderedDict, half of them cached

ABOUT = ('{repetitions} interleaved repetitions; per sample: {calls} decorated calls or d[k] = v, {loads}'
         ' CachedOrderedDict loads')
FULL = bc.Settings(ABOUT, repetitions=25, calls=500, loads=20)
QUICK = bc.Settings(ABOUT, repetitions=5, calls=100, loads=5)

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


def build_workloads(settings: bc.Settings, setup: bc.Setup) -> list[bc.Workload]:
    prefix, loop, aclient, raw = setup.prefix, setup.loop, setup.aclient, setup.raw
    pottery_client, pa_client = setup.pottery_client, setup.pa_client

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
    hit_p, hit_s, hit_a = hits = caches('hit')
    misses = caches('miss')
    ohit_p, ohit_s = ohits = caches('hit-opts', **options)[:2]  # timed on the sync API only
    omisses = caches('miss-opts', **options)[:2]
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

    hit = bc.workload(
        'hit', settings.calls, 'call', setup, hits, lambda f, i: f(i % HOT),
        raw=lambda i: json.loads(raw.hget(raw_key, raw_field)),  # type: ignore[arg-type]
    )
    miss = bc.workload('miss', settings.calls, 'call', setup, misses, lambda f, i: f(next(fresh)))
    hit_opts = bc.workload('hit_opts', settings.calls, 'call', setup, ohits, lambda f, i: f(i % HOT))
    miss_opts = bc.workload('miss_opts', settings.calls, 'call', setup, omisses, lambda f, i: f(next(fresh)))

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
    dicts = pottery_load(), sync_load(), loop.run_until_complete(aload())

    def set_document(d: Any, i: int) -> None:
        d[dict_keys[i % KEYS]] = f'document {i}'

    load = bc.Workload('load', settings.loads, 'dict', [
        bc.sync_case(POTTERY, pottery_load),
        bc.sync_case(PA_SYNC, sync_load),
        bc.async_case(PA_ASYNC, loop, aload),
    ])
    set_ = bc.workload(
        'set', settings.calls, 'op', setup, dicts, set_document,
        aio=lambda d, i: d.setitem(dict_keys[i % KEYS], f'document {i}'),
    )
    return [hit, miss, hit_opts, miss_opts, load, set_]


def report(workloads: list[bc.Workload]) -> str:
    rows = []
    for w in workloads:
        pottery_cpu = w.case(POTTERY).cpu_median
        rows.append([
            LABELS[w.name], bc.format_time(pottery_cpu), bc.format_time(w.case(PA_SYNC).cpu_median),
            f'{w.case(PA_SYNC).cpu_median / pottery_cpu:.2f}x',
        ])
    return bc.report_text(
        workloads, LABELS, {RAW_SYNC: f'{RAW_SYNC} HGET'}, TARGETS,
        bc.section('Client CPU time per call (this process, user+system; the server excluded), informative:',
                   ['workload', POTTERY, PA_SYNC, 'sync/Pottery'], rows),
    )


if __name__ == '__main__':
    sys.exit(bc.bench_main(__doc__, FULL, QUICK, build_workloads, report))
