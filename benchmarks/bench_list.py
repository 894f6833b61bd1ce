"""RedisList and RedisDeque: Pottery 3.0.1 vs pottery_async (sync and async APIs), on one server.

Run ``python benchmarks/bench_list.py [--quick]``.  Uses ``$REDIS_URL`` if
set, else starts a private server and stops it afterwards.  See
benchmarks/README.md for how the timing is done and how to read the ratios.
"""

from __future__ import annotations

import sys
from typing import Any

import bench_common as bc
from bench_common import PA_ASYNC, PA_SYNC, POTTERY, RAW_ASYNC, RAW_SYNC, Target

import pottery_async

DEQUE = 100  # elements in the deques that appendleft + popleft work on
MAXLEN = 100  # the bounded deque's maxlen (it is kept full)
ITERATED = 1000  # elements in the list that list(l) reads

ABOUT = ('{repetitions} interleaved repetitions; per sample: {single} single operations (or appendleft +'
         ' popleft pairs), {lists} list(l) calls')
FULL = bc.Settings(ABOUT, repetitions=25, single=1000, lists=2)
QUICK = bc.Settings(ABOUT, repetitions=5, single=200, lists=1)


TARGETS = (
    Target('sync l.append(v): time vs Pottery', 'append', PA_SYNC, POTTERY, 'time', 1.3),
    Target('sync d.appendleft(v) + d.popleft(): throughput vs Pottery', 'deque', PA_SYNC, POTTERY,
           'throughput', 3.0),
    Target('same, maxlen deque: throughput vs Pottery', 'bounded', PA_SYNC, POTTERY, 'throughput', 3.0),
)

LABELS = {
    'append': 'l.append(v)  (RPUSH)',
    'deque': 'd.appendleft(v); d.popleft()',
    'bounded': f'same, maxlen={MAXLEN}, full',
    'index': 'l[0]  (LINDEX)',
    'list': f'list(l), {ITERATED} elements',
}


def build_workloads(settings: bc.Settings, setup: bc.Setup) -> list[bc.Workload]:
    prefix, loop, aclient, raw = setup.prefix, setup.loop, setup.aclient, setup.raw
    append_key, deque_key, bounded_key, iterated_key = (
        f'{prefix}:append', f'{prefix}:deque', f'{prefix}:bounded', f'{prefix}:iterated',
    )
    raw.rpush(deque_key, *[str(i) for i in range(DEQUE)])
    raw.rpush(bounded_key, *[str(i) for i in range(MAXLEN)])
    raw.rpush(iterated_key, *[str(i) for i in range(ITERATED)])

    # All implementations work on the same Redis lists: the server does the
    # same work for each.
    appended = setup.each_library('RedisList', key=append_key)
    deques = setup.each_library('RedisDeque', key=deque_key)
    pb, sb, ab = bounded_deques = setup.each_library('RedisDeque', maxlen=MAXLEN, key=bounded_key)
    pi, si, ai = iterated = setup.each_library('RedisList', key=iterated_key)

    # The implementations must agree before their speed means anything.
    assert list(pi) == list(si) == loop.run_until_complete(ai.to_list()) == list(range(ITERATED))
    assert pb.maxlen == sb.maxlen == ab.maxlen == MAXLEN

    def pair(d: Any, _: int) -> object:
        d.appendleft(7)
        return d.popleft()

    async def apair(d: pottery_async.RedisDeque, _: int) -> object:
        await d.appendleft(7)
        return await d.popleft()

    def raw_pair(_: int) -> object:
        raw.lpush(deque_key, '7')
        return raw.lpop(deque_key)

    async def araw_pair(_: int) -> object:
        await aclient.lpush(deque_key, '7')
        return await aclient.lpop(deque_key)

    async def alist(lst: pottery_async.RedisList, _: int) -> object:
        return [v async for v in lst]

    append = bc.workload(
        'append', settings.single, 'op', setup, appended, lambda lst, i: lst.append(1),
        floors=lambda r, i: r.rpush(append_key, '1'),
    )
    deque = bc.workload(
        'deque', settings.single, 'pair', setup, deques, pair,
        aio=apair,
        raw=raw_pair,
        araw=araw_pair,
    )
    bounded = bc.workload('bounded', settings.single, 'pair', setup, bounded_deques, pair, aio=apair)
    index = bc.workload(
        'index', settings.single, 'op', setup, iterated, lambda lst, i: lst[0],
        aio=lambda lst, i: lst.getitem(0),
        floors=lambda r, i: r.lindex(iterated_key, 0),
    )
    listing = bc.workload(
        'list', settings.lists, 'call', setup, iterated, lambda lst, i: list(lst),
        aio=alist,
    )
    return [append, deque, bounded, index, listing]


def report(workloads: list[bc.Workload]) -> str:
    rows = []
    for w in workloads:
        pottery_median = w.case(POTTERY).median
        rows.append([
            LABELS[w.name],
            f'{pottery_median / w.case(PA_SYNC).median:.2f}x',
            f'{pottery_median / w.case(PA_ASYNC).median:.2f}x',
            bc.format_time(w.case(POTTERY).cpu_median),
            bc.format_time(w.case(PA_SYNC).cpu_median),
        ])
    return bc.report_text(
        workloads, LABELS, {RAW_SYNC: f'{RAW_SYNC} floor', RAW_ASYNC: f'{RAW_ASYNC} floor'}, TARGETS,
        bc.section('Throughput relative to Pottery (Pottery time / ours, higher is faster), and client CPU'
                   ' per unit (this process):',
                   ['workload', 'sync', 'async', f'{POTTERY} CPU', f'{PA_SYNC} CPU'], rows),
    )


if __name__ == '__main__':
    sys.exit(bc.bench_main(__doc__, FULL, QUICK, build_workloads, report))
