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
import contextlib
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio
from bench_common import (
    MEDIAN_NOTE,
    PA_ASYNC,
    PA_SYNC,
    POTTERY,
    Case,
    Target,
    Workload,
    async_batch_case,
    choose_settings,
    median_rows,
    parse_args,
    run_benchmark,
    server_url,
    table,
    targets_table,
    timed,
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


def master_urls(url: str, extra: list[str]) -> list[str]:
    'Five distinct masters: the extra servers, or five databases of one server.'
    urls = [url, *extra]
    if len(set(urls)) == len(urls):
        return urls
    base = url.rsplit('/', 1)[0] if url.count('/') > 2 else url
    return [f'{base}/{db}' for db in range(5)]


def build_workloads(
    settings: Settings,
    urls: list[str],
    prefix: str,
    loop: asyncio.AbstractEventLoop,
    cleanup: list[Callable[[], object]],
) -> list[Workload]:
    workloads = []
    for count in (1, 5):
        # Each library gets its own clients (same URLs), as an application would.
        pottery_masters = [redis.Redis.from_url(u) for u in urls[:count]]
        pa_masters = [redis.Redis.from_url(u) for u in urls[:count]]
        amasters = [redis.asyncio.Redis.from_url(u) for u in urls[:count]]
        pottery_amasters = [redis.asyncio.Redis.from_url(u) for u in urls[:count]]
        ids: dict[str, Any] = {
            POTTERY: pottery.NextID(key=f'{prefix}:p{count}', masters=pottery_masters),
            PA_SYNC: pottery_async.sync.NextID(key=f'{prefix}:s{count}', masters=pa_masters),
        }

        def sync_runner(generator: Any) -> Callable[[int], float]:
            return lambda n: timed(lambda: next(generator), n)
        aids = pottery_async.AIONextID(key=f'{prefix}:a{count}', masters=amasters)
        paids = pottery.AIONextID(key=f'{prefix}:pa{count}', masters=pottery_amasters)

        # The implementations must agree before their speed means anything.
        assert next(ids[POTTERY]) == next(ids[PA_SYNC]) == 1
        assert loop.run_until_complete(anext(aids)) == loop.run_until_complete(paids.__anext__()) == 1

        async def ours(n: int, aids: Any = aids) -> float:
            start = time.perf_counter()
            for _ in range(n):
                await anext(aids)
            return time.perf_counter() - start

        async def theirs(n: int, paids: Any = paids) -> float:
            start = time.perf_counter()
            for _ in range(n):
                await paids.__anext__()
            return time.perf_counter() - start

        workloads.append(Workload(f'ids{count}', settings.ids, 'ID', [
            Case(POTTERY, sync_runner(ids[POTTERY])),
            Case(PA_SYNC, sync_runner(ids[PA_SYNC])),
            async_batch_case(PA_ASYNC, loop, ours),
            async_batch_case(POTTERY_ASYNC, loop, theirs),
        ]))

        def close(
            sync_clients: list[redis.Redis] = pottery_masters + pa_masters,
            async_clients: list[redis.asyncio.Redis] = amasters + pottery_amasters,
            count: int = count,
        ) -> None:
            for client in sync_clients[:count]:
                for key in client.scan_iter(match=f'{prefix}:*'):
                    client.unlink(key)
            for client in sync_clients:
                client.close()
            for aclient in async_clients:
                loop.run_until_complete(aclient.aclose())

        cleanup.append(close)
    return workloads


def report(workloads: list[Workload]) -> str:
    by_name = {w.name: w for w in workloads}
    columns = [POTTERY, PA_SYNC, PA_ASYNC, POTTERY_ASYNC]
    rows = median_rows(workloads, LABELS, columns)
    out = [table(['workload', 'unit', *columns, 'sync/Pottery', 'async/Pottery'], rows), MEDIAN_NOTE]
    rows = []
    for w in workloads:
        rows.append([LABELS[w.name], *(f'{1 / w.case(name).median:,.0f} IDs/s' for name in columns)])
    out.append('')
    out.append('Throughput (IDs per second, from the median time):')
    out.append(table(['workload', *columns], rows))
    out.extend(targets_table(TARGETS, by_name))
    return '\n'.join(out)


def main(argv: list[str] | None = None) -> int:
    settings = choose_settings(parse_args(__doc__, argv), FULL, QUICK)
    cleanup: list[Callable[[], object]] = []
    with contextlib.ExitStack() as stack:
        extra = [stack.enter_context(server_url())[0] for _ in range(4)]

        def build(url: str, prefix: str, loop: asyncio.AbstractEventLoop, _aclient: Any) -> list[Workload]:
            return build_workloads(settings, master_urls(url, extra), prefix, loop, cleanup)

        def after(_url: str, _prefix: str) -> None:
            for close in cleanup:
                close()

        return run_benchmark(
            f'{settings.repetitions} interleaved repetitions; {settings.ids} IDs per sample',
            settings.repetitions,
            build,
            report,
            after=after,
        )


if __name__ == '__main__':
    sys.exit(main())
