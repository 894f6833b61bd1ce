"""NextID: Pottery 3.0.1 vs pottery_async (sync and async APIs), at 1 and 5 masters.

Run ``python benchmarks/bench_nextid.py [--quick]``.  Starts five private
servers (or, with ``$REDIS_URL``, uses databases 0-4 of that server as the
five masters) and stops them afterwards.  One ID costs two round trips to
every master (read the last ID, then claim the next one): Pottery fans them
out with a thread pool per call, ours concurrently from the event loop; with
one master ours takes one round trip (INCR).  The async targets are
informational (the issue sets none).  See benchmarks/README.md for how to
read the ratios.
"""

from __future__ import annotations

import sys
import warnings

import bench_common as bc
from bench_common import PA_ASYNC, PA_SYNC, POTTERY, Target

import pottery_async
import pottery_async.sync

with warnings.catch_warnings():
    # Pottery patches json.dumps and warns at import.
    warnings.simplefilter('ignore')
    import pottery

POTTERY_ASYNC = 'Pottery AIONextID'

ABOUT = '{repetitions} interleaved repetitions; {ids} IDs per sample'
FULL = bc.Settings(ABOUT, repetitions=15, ids=300)
QUICK = bc.Settings(ABOUT, repetitions=5, ids=100)

TARGETS = (
    Target('sync next(ids), 1 master: IDs/s vs Pottery', 'ids1', PA_SYNC, POTTERY, 'throughput', 3.0),
    Target('sync next(ids), 5 masters: IDs/s vs Pottery', 'ids5', PA_SYNC, POTTERY, 'throughput', 3.0),
    Target('async anext(ids), 1 master: IDs/s vs Pottery AIONextID (info)', 'ids1', PA_ASYNC, POTTERY_ASYNC,
           'throughput', 1.0),
    Target('async anext(ids), 5 masters: IDs/s vs Pottery AIONextID (info)', 'ids5', PA_ASYNC, POTTERY_ASYNC,
           'throughput', 1.0),
)

LABELS = {'ids1': 'next ID, 1 master', 'ids5': 'next ID, 5 masters'}


def ids_workload(settings: bc.Settings, count: int, masters: bc.Masters, setup: bc.Setup) -> bc.Workload:
    prefix, loop = setup.prefix, setup.loop
    pids = pottery.NextID(key=f'{prefix}:p{count}', masters=masters.pottery)
    sids = pottery_async.sync.NextID(key=f'{prefix}:s{count}', masters=masters.ours)
    aids = pottery_async.AIONextID(key=f'{prefix}:a{count}', masters=masters.aours)
    paids = pottery.AIONextID(key=f'{prefix}:pa{count}', masters=masters.apottery)

    # The implementations must agree before their speed means anything.
    assert next(pids) == next(sids) == 1
    assert loop.run_until_complete(anext(aids)) == loop.run_until_complete(paids.__anext__()) == 1

    return bc.workload(
        f'ids{count}', settings.ids, 'ID', setup, (pids, sids, aids), lambda ids, i: next(ids),
        aio=lambda ids, i: anext(ids),
        more=[bc.async_case(POTTERY_ASYNC, loop, lambda i: paids.__anext__())],
    )


def report(workloads: list[bc.Workload]) -> str:
    columns = [POTTERY, PA_SYNC, PA_ASYNC, POTTERY_ASYNC]
    rows = [[LABELS[w.name], *(f'{1 / w.case(name).median:,.0f} IDs/s' for name in columns)]
            for w in workloads]
    return bc.report_text(
        workloads, LABELS, {POTTERY_ASYNC: POTTERY_ASYNC}, TARGETS,
        bc.section('Throughput (IDs per second, from the median time):', ['workload', *columns], rows),
    )


def main(argv: list[str] | None = None) -> int:
    settings = bc.choose_settings(bc.parse_args(__doc__, argv), FULL, QUICK)
    opened: list[bc.Masters] = []
    with bc.four_more_servers() as extra:

        def build(setup: bc.Setup) -> list[bc.Workload]:
            return bc.master_workloads(
                bc.master_urls(setup.url, extra), setup.loop, opened,
                lambda count, masters: ids_workload(settings, count, masters, setup),
            )

        def after(setup: bc.Setup) -> None:
            for masters in opened:
                for client in masters.pottery:
                    for key in client.scan_iter(match=f'{setup.prefix}:*'):
                        client.unlink(key)
                masters.close()

        return bc.run_benchmark(settings, build, report, after=after)


if __name__ == '__main__':
    sys.exit(main())
