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

import asyncio
import sys
import warnings
from dataclasses import dataclass

from bench_common import (
    PA_ASYNC,
    PA_SYNC,
    POTTERY,
    Masters,
    Setup,
    Target,
    Workload,
    async_case,
    choose_settings,
    four_more_servers,
    master_urls,
    master_workloads,
    median_table,
    parse_args,
    run_benchmark,
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

POTTERY_ASYNC = 'Pottery AIONextID'


@dataclass(frozen=True)
class Settings:
    repetitions: int
    ids: int  # IDs per sample

    def describe(self) -> str:
        return f'{self.repetitions} interleaved repetitions; {self.ids} IDs per sample'


FULL = Settings(repetitions=15, ids=300)
QUICK = Settings(repetitions=5, ids=100)

TARGETS = (
    Target('sync next(ids), 1 master: IDs/s vs Pottery', 'ids1', PA_SYNC, POTTERY, 'throughput', 3.0),
    Target('sync next(ids), 5 masters: IDs/s vs Pottery', 'ids5', PA_SYNC, POTTERY, 'throughput', 3.0),
    Target('async anext(ids), 1 master: IDs/s vs Pottery AIONextID (info)', 'ids1', PA_ASYNC, POTTERY_ASYNC,
           'throughput', 1.0),
    Target('async anext(ids), 5 masters: IDs/s vs Pottery AIONextID (info)', 'ids5', PA_ASYNC, POTTERY_ASYNC,
           'throughput', 1.0),
)

LABELS = {'ids1': 'next ID, 1 master', 'ids5': 'next ID, 5 masters'}


def ids_workload(
    settings: Settings, count: int, masters: Masters, prefix: str, loop: asyncio.AbstractEventLoop,
) -> Workload:
    pids = pottery.NextID(key=f'{prefix}:p{count}', masters=masters.pottery)
    sids = pottery_async.sync.NextID(key=f'{prefix}:s{count}', masters=masters.ours)
    aids = pottery_async.AIONextID(key=f'{prefix}:a{count}', masters=masters.aours)
    paids = pottery.AIONextID(key=f'{prefix}:pa{count}', masters=masters.apottery)

    # The implementations must agree before their speed means anything.
    assert next(pids) == next(sids) == 1
    assert loop.run_until_complete(anext(aids)) == loop.run_until_complete(paids.__anext__()) == 1

    return Workload(f'ids{count}', settings.ids, 'ID', [
        sync_case(POTTERY, lambda i: next(pids)),
        sync_case(PA_SYNC, lambda i: next(sids)),
        async_case(PA_ASYNC, loop, lambda i: anext(aids)),
        async_case(POTTERY_ASYNC, loop, lambda i: paids.__anext__()),
    ])


def report(workloads: list[Workload]) -> str:
    columns = [POTTERY, PA_SYNC, PA_ASYNC, POTTERY_ASYNC]
    out = median_table(workloads, LABELS, {POTTERY_ASYNC: POTTERY_ASYNC})
    rows = []
    for w in workloads:
        rows.append([LABELS[w.name], *(f'{1 / w.case(name).median:,.0f} IDs/s' for name in columns)])
    out.append('')
    out.append('Throughput (IDs per second, from the median time):')
    out.append(table(['workload', *columns], rows))
    out.extend(targets_table(TARGETS, workloads))
    return '\n'.join(out)


def main(argv: list[str] | None = None) -> int:
    settings = choose_settings(parse_args(__doc__, argv), FULL, QUICK)
    opened: list[Masters] = []
    with four_more_servers() as extra:

        def build(setup: Setup) -> list[Workload]:
            return master_workloads(
                master_urls(setup.url, extra), setup.loop, opened,
                lambda count, masters: ids_workload(settings, count, masters, setup.prefix, setup.loop),
            )

        def after(setup: Setup) -> None:
            for masters in opened:
                for client in masters.pottery:
                    for key in client.scan_iter(match=f'{setup.prefix}:*'):
                        client.unlink(key)
                masters.close()

        return run_benchmark(settings, build, report, after=after)


if __name__ == '__main__':
    sys.exit(main())
