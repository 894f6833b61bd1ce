"""Shared helpers for the benchmarks: a server to talk to, interleaved timing, tables.

Timing rules (the machine is small and noisy):

- every implementation of a workload runs in the same process, against the
  same server, in the same repetition;
- repetitions are interleaved: each repetition runs every case of every
  workload once, and the order of the cases rotates from one repetition to
  the next, so slow phases of the machine hit all of them alike;
- results are medians over repetitions, and comparisons are ratios of
  medians from the same run, never single timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import os
import platform
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import redis
import redis.asyncio

ROOT = Path(__file__).resolve().parent.parent
# The scripts run from benchmarks/: the test rig's servers are imported from
# the project root.  Server is for the scripts that pause servers.
sys.path.insert(0, str(ROOT))

import pottery_async  # noqa: E402
import pottery_async.sync  # noqa: E402
from tests.servers import Server as Server  # noqa: E402
from tests.servers import running, server_binary  # noqa: E402

with warnings.catch_warnings():
    # Pottery patches json.dumps and warns at import.
    warnings.simplefilter('ignore')
    import pottery.exceptions

# A case runs its operation ``n`` times and returns the elapsed seconds,
# measured around the operations only (no setup, no loop start-up).
Runner = Callable[[int], float]
AsyncBatch = Callable[[int], Coroutine[Any, Any, float]]

# The implementations the benchmarks compare, as named in the tables.
POTTERY = 'Pottery 3.0.1'
PA_SYNC = 'pottery_async.sync'
PA_ASYNC = 'pottery_async'
RAW_SYNC = 'redis-py'
RAW_ASYNC = 'redis.asyncio'


@dataclass
class Case:
    'One implementation of a workload.'

    name: str
    run: Runner
    samples: list[float] = field(default_factory=list)  # wall-clock seconds per operation
    cpu: list[float] = field(default_factory=list)  # this process's CPU seconds per operation

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def spread(self) -> float:
        'Interquartile range relative to the median (0.05 = 5%).'
        if len(self.samples) < 4:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.samples, n=4)
        return (q3 - q1) / self.median


@dataclass
class Workload:
    'A set of cases timed together; ``batch`` operations per sample.'

    name: str
    batch: int
    unit: str  # what one operation is, for the table: 'op' or a batch name
    cases: list[Case] = field(default_factory=list)

    def case(self, name: str) -> Case:
        for case in self.cases:
            if case.name == name:
                return case
        raise KeyError(name)


def run_interleaved(workloads: Sequence[Workload], repetitions: int, warmup: int = 1) -> None:
    """Fill every case's samples with the time per operation, in seconds.

    One repetition runs each case of each workload once; the order of the
    cases within a workload rotates with the repetition.  The garbage
    collector stays on (it is part of what users pay) but is run before each
    sample so that no case inherits another one's garbage.

    Besides wall-clock time, the CPU time this process spends (user + system,
    so it excludes the server) is recorded: on a machine where the round trip
    to the server is slow, wall-clock ratios understate client overhead.
    """
    for _ in range(warmup):
        for workload in workloads:
            for case in workload.cases:
                case.run(workload.batch)
    for rep in range(repetitions):
        for workload in workloads:
            count = len(workload.cases)
            for i in range(count):
                case = workload.cases[(i + rep) % count]
                gc.collect()
                cpu_start = time.process_time()
                elapsed = case.run(workload.batch)
                cpu = time.process_time() - cpu_start
                case.samples.append(elapsed / workload.batch)
                case.cpu.append(cpu / workload.batch)


def sync_case(name: str, operation: Callable[[int], object]) -> Case:
    'A case whose operation takes the iteration index.'

    def run(n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            operation(i)
        return time.perf_counter() - start

    return Case(name, run)


def async_case(name: str, loop: asyncio.AbstractEventLoop, operation: Callable[[int], Any]) -> Case:
    'A case whose coroutine operation takes the iteration index, awaited inside the running loop.'

    async def batch(n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            await operation(i)
        return time.perf_counter() - start

    return async_batch_case(name, loop, batch)


def async_batch_case(name: str, loop: asyncio.AbstractEventLoop, batch: AsyncBatch) -> Case:
    'A case whose batch times itself inside the running loop (the loop start-up is not counted).'
    return Case(name, lambda n: loop.run_until_complete(batch(n)))


def workload(
    name: str,
    batch: int,
    unit: str,
    setup: Setup,
    objects: Sequence[Any],
    op: Callable[[Any, int], object],
    *,
    aio: Callable[[Any, int], Any] | None = None,
    floors: Callable[[Any, int], Any] | None = None,
    raw: Callable[[int], object] | None = None,
    araw: Callable[[int], Any] | None = None,
    more: Sequence[Case] = (),
) -> Workload:
    """A workload that times one operation, written once, on Pottery's object and on pottery_async.sync's.

    ``objects``: Pottery's, pottery_async.sync's and, if there is one,
    pottery_async's (``Setup.each_library()``).  The cases, in the tables'
    order:

    - ``op(obj, i)`` on the first two (``i``: the iteration index);
    - ``aio(obj, i)``, awaited, on the third, or ``op`` where the async API
      spells the call the same;
    - the floors, where given: ``floors(client, i)`` on the redis-py client
      and, awaited, on the redis.asyncio one, where both send the same
      command; else ``raw(i)`` and ``araw(i)`` (awaited), each if given;
    - ``more``.
    """
    loop = setup.loop
    cases = [sync_case(POTTERY, partial(op, objects[0])), sync_case(PA_SYNC, partial(op, objects[1]))]
    if len(objects) == 3:
        cases.append(async_case(PA_ASYNC, loop, partial(aio or op, objects[2])))
    if floors is not None:
        raw, araw = partial(floors, setup.raw), partial(floors, setup.aclient)
    if raw is not None:
        cases.append(sync_case(RAW_SYNC, raw))
    if araw is not None:
        cases.append(async_case(RAW_ASYNC, loop, araw))
    return Workload(name, batch, unit, [*cases, *more])


# Running a benchmark script.


class Settings:
    """How much a script measures, at full size or with --quick.

    The repetitions, and named counts of what one sample holds (the
    workloads' batches: ``settings.single`` is the count ``single``).
    ``about`` describes a run for the report: a ``str.format`` template over
    ``repetitions`` and the counts' names.
    """

    def __init__(self, about: str, repetitions: int, **counts: int) -> None:
        self.about = about
        self.repetitions = repetitions
        self.counts = counts

    def __getattr__(self, name: str) -> int:
        # Reached only for names that are not attributes: the counts.
        counts: dict[str, int] = self.__dict__.get('counts', {})
        if name in counts:
            return counts[name]
        raise AttributeError(name)

    def describe(self) -> str:
        return self.about.format(repetitions=self.repetitions, **self.counts)

    def with_repetitions(self, repetitions: int) -> Settings:
        return Settings(self.about, repetitions, **self.counts)


@dataclass(frozen=True)
class Setup:
    'What a script builds its workloads with.'

    url: str  # of the server
    prefix: str  # of every key the run makes: they are all deleted at the end
    loop: asyncio.AbstractEventLoop  # where the async cases run
    aclient: redis.asyncio.Redis  # pottery_async's, and the redis.asyncio floor's
    raw: redis.Redis  # the redis-py floor's, and for setting up data
    # Each library's own sync client (same URL, default settings), as an
    # application would make it.
    pottery_client: redis.Redis
    pa_client: redis.Redis  # pottery_async.sync's

    def each_library(self, name: str, **kwargs: Any) -> tuple[Any, Any, Any]:
        """Pottery's, pottery_async.sync's and pottery_async's class ``name``.

        Each made with ``kwargs`` and, as ``redis``, its library's client.
        """
        return (
            getattr(pottery, name)(redis=self.pottery_client, **kwargs),
            getattr(pottery_async.sync, name)(redis=self.pa_client, **kwargs),
            getattr(pottery_async, name)(redis=self.aclient, **kwargs),
        )


def parse_args(
    doc: str | None, argv: list[str] | None, skip: tuple[str, str] | None = None,
) -> argparse.Namespace:
    """The options every benchmark takes (--quick, --repetitions).

    ``skip`` = (name, what) adds ``--no-<name>``, which skips that part of
    the script (``args.no_<name>``).
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument('--quick', action='store_true', help='fewer repetitions and smaller batches')
    parser.add_argument('--repetitions', type=int, help='override the number of repetitions')
    if skip is not None:
        name, what = skip
        parser.add_argument(f'--no-{name}', action='store_true', help=f'skip {what}')
    return parser.parse_args(argv)


def choose_settings(args: argparse.Namespace, full: Settings, quick: Settings) -> Settings:
    'The settings --quick and --repetitions ask for.'
    settings = quick if args.quick else full
    if args.repetitions:
        settings = settings.with_repetitions(args.repetitions)
    return settings


def bench_main(
    doc: str | None,
    full: Settings,
    quick: Settings,
    build: Callable[[Settings, Setup], list[Workload]],
    report: Callable[[list[Workload]], str],
    argv: list[str] | None = None,
) -> int:
    'The main() of a script that only runs workloads: the settings the command line asks for, then measure.'
    chosen = choose_settings(parse_args(doc, argv), full, quick)
    return run_benchmark(chosen, lambda setup: build(chosen, setup), report)


def run_benchmark(
    settings: Settings,
    build: Callable[[Setup], list[Workload]],
    report: Callable[[list[Workload]], str],
    after: Callable[[Setup], object] | None = None,
) -> int:
    """Set up a server and clients, measure, print the tables, clean up.

    Prints the environment, the server and what the settings describe;
    builds the workloads and runs them interleaved ``settings.repetitions``
    times; runs ``after(setup)`` (further measurements) if given; prints the
    time taken and ``report(workloads)``.  Every key under the run's prefix
    is deleted at the end.
    """
    with warnings.catch_warnings(), server_url() as (url, where):
        # Both libraries warn on the slow paths (iteration, many-element
        # writes) that some workloads time on purpose.
        warnings.simplefilter('ignore', pottery.exceptions.InefficientAccessWarning)
        warnings.simplefilter('ignore', pottery_async.InefficientAccessWarning)
        loop = asyncio.new_event_loop()
        setup = Setup(
            url=url, prefix=f'pottery-bench:{uuid.uuid4()}', loop=loop,
            aclient=redis.asyncio.Redis.from_url(url), raw=redis.Redis.from_url(url),
            pottery_client=redis.Redis.from_url(url), pa_client=redis.Redis.from_url(url),
        )
        try:
            print(environment())
            print(f'server: {server_version(setup.raw)} ({where})')
            print(settings.describe())
            workloads = build(setup)
            started = time.perf_counter()
            run_interleaved(workloads, settings.repetitions)
            if after is not None:
                after(setup)
            print(f'measured in {time.perf_counter() - started:.0f} s\n')
            print(report(workloads))
        finally:
            for key in setup.raw.scan_iter(match=f'{setup.prefix}:*'):
                setup.raw.unlink(key)
            setup.raw.close()
            loop.run_until_complete(setup.aclient.aclose())
            loop.close()
    sys.stdout.flush()
    return 0


# Servers.


@contextlib.contextmanager
def server_url() -> Iterator[tuple[str, str]]:
    """Yield (url, description) of the server to benchmark against.

    ``$REDIS_URL`` if set; else a private server that the test rig
    (tests/servers.py) starts here and stops on exit, without persistence,
    so no background save forks in the middle of a measurement.
    """
    url = os.environ.get('REDIS_URL')
    if url:
        yield url, 'REDIS_URL'
        return
    with running() as server:
        yield server.url(), f'private {server_binary()}'


@contextlib.contextmanager
def four_more_servers() -> Iterator[list[str]]:
    'The URLs of four servers besides the one run_benchmark() starts (each ``$REDIS_URL`` if set).'
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(server_url())[0] for _ in range(4)]


def master_urls(url: str, extra: list[str]) -> list[str]:
    'Five distinct masters: the extra servers, or five databases of one server.'
    urls = [url, *extra]
    if len(set(urls)) == len(urls):
        return urls
    base = url.rsplit('/', 1)[0] if url.count('/') > 2 else url
    return [f'{base}/{db}' for db in range(5)]


class Masters:
    'Clients of the same masters for each library and API, made apart as applications would make them.'

    def __init__(self, urls: Sequence[str], loop: asyncio.AbstractEventLoop) -> None:
        self.pottery = [redis.Redis.from_url(u) for u in urls]
        self.ours = [redis.Redis.from_url(u) for u in urls]
        self.aours = [redis.asyncio.Redis.from_url(u) for u in urls]
        self.apottery = [redis.asyncio.Redis.from_url(u) for u in urls]
        self._loop = loop

    def close(self) -> None:
        for client in self.pottery + self.ours:
            client.close()
        for aclient in self.aours + self.apottery:
            self._loop.run_until_complete(aclient.aclose())


def master_workloads(
    urls: Sequence[str],
    loop: asyncio.AbstractEventLoop,
    opened: list[Masters],
    workload: Callable[[int, Masters], Workload],
) -> list[Workload]:
    'A workload at 1 master and one at 5, each on clients of its own (added to ``opened``, to close).'
    workloads = []
    for count in (1, 5):
        masters = Masters(urls[:count], loop)
        opened.append(masters)
        workloads.append(workload(count, masters))
    return workloads


def server_version(client: redis.Redis) -> str:
    info = client.info('server')
    if 'valkey_version' in info:
        return f"valkey {info['valkey_version']}"
    return f"redis {info['redis_version']}"


def environment() -> str:
    import importlib.metadata as md

    def version(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return 'absent'

    return (
        f'CPython {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; '
        f'redis-py {version("redis")}, hiredis {version("hiredis")}, pottery {version("pottery")}, '
        f'pottery_async {version("pottery_async")} (source sha1 {source_fingerprint()})'
    )


def source_fingerprint() -> str:
    'A short hash of the pottery_async sources measured, to tell runs of different code apart.'
    root = Path(pottery_async.__file__).parent
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(root.rglob('*.py')):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


# Formatting.


def percentile(values: Sequence[float], p: float) -> float:
    'The value at ``p`` percent of the sorted values (nearest rank), NaN if there are none.'
    ordered = sorted(values)
    if not ordered:
        return float('nan')
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


@dataclass(frozen=True)
class Target:
    'A goal for the ratio of two cases of a workload.'

    label: str
    workload: str
    ours: str
    theirs: str
    kind: str  # 'time' (ours/theirs, lower is better) or 'throughput' (theirs/ours, higher)
    goal: float


def target_rows(targets: Sequence[Target], workloads: Sequence[Workload]) -> list[list[str]]:
    'Rows of the targets table: measured ratio, its per-repetition quartiles, goal, result.'
    by_name = {w.name: w for w in workloads}
    rows = []
    for target in targets:
        w = by_name[target.workload]
        ours, theirs = w.case(target.ours), w.case(target.theirs)
        if target.kind == 'time':
            value = ours.median / theirs.median
            paired = [a / b for a, b in zip(ours.samples, theirs.samples, strict=True)]
            ok = value <= target.goal
            goal = f'<= {target.goal:.2f}x'
        else:
            value = theirs.median / ours.median
            paired = [b / a for a, b in zip(ours.samples, theirs.samples, strict=True)]
            ok = value >= target.goal
            goal = f'>= {target.goal:.2f}x'
        q = statistics.quantiles(paired, n=4) if len(paired) >= 4 else [value, value, value]
        rows.append([target.label, f'{value:.2f}x', f'{q[0]:.2f}-{q[2]:.2f}x', goal,
                     'PASS' if ok else 'MISS'])
    return rows


def section(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    'A table of a report after the main one, as lines: a blank line, its title, the table.'
    return ['', title, table(header, rows)]


def targets_table(targets: Sequence[Target], workloads: Sequence[Workload]) -> list[str]:
    'The targets section of a report, as lines.'
    return section(
        'Targets (ratio of medians; "per-rep IQR": quartiles of the ratio within each repetition):',
        ['target', 'measured', 'per-rep IQR', 'goal', 'result'], target_rows(targets, workloads),
    )


def median_table(
    workloads: Sequence[Workload],
    labels: Mapping[str, str],
    more: Mapping[str, str] | None = None,
    more_rows: Sequence[Sequence[str]] = (),
) -> list[str]:
    """The main table and its note, as lines.

    A row per workload: label, unit, the median time and spread of Pottery,
    both APIs and each case in ``more`` (name: column header; '-' where the
    workload has no such case), then sync and async over Pottery.
    ``more_rows`` go below.
    """
    columns = {POTTERY: POTTERY, PA_SYNC: PA_SYNC, PA_ASYNC: PA_ASYNC, **(more or {})}
    rows = []
    for w in workloads:
        cases = {case.name: case for case in w.cases}
        row = [labels[w.name], f'per {w.unit}']
        for name in columns:
            case = cases.get(name)
            row.append('-' if case is None else f'{format_time(case.median)} ±{case.spread * 50:.0f}%')
        pottery_median = cases[POTTERY].median
        for name in (PA_SYNC, PA_ASYNC):
            row.append(f'{cases[name].median / pottery_median:.2f}x' if name in cases else '-')
        rows.append(row)
    header = ['workload', 'unit', *columns.values(), 'sync/Pottery', 'async/Pottery']
    return [table(header, [*rows, *more_rows]), MEDIAN_NOTE]


MEDIAN_NOTE = ('(median time; ±: half the interquartile range over repetitions, relative to the median;'
               ' x/Pottery: ratio of medians, time)')


def cpu_table(workloads: Sequence[Workload], labels: Mapping[str, str]) -> list[str]:
    'The client CPU time per op of Pottery and both APIs, with the sync/Pottery ratio.'
    rows = []
    for w in workloads:
        row = [labels[w.name]]
        for name in (POTTERY, PA_SYNC, PA_ASYNC):
            row.append(format_time(w.case(name).cpu_median))
        row.append(f'{w.case(PA_SYNC).cpu_median / w.case(POTTERY).cpu_median:.2f}x')
        rows.append(row)
    return section(
        'Client CPU time per op/call (this process, user+system; the server excluded):',
        ['workload', POTTERY, PA_SYNC, PA_ASYNC, 'sync/Pottery'], rows,
    )


def report_text(
    workloads: Sequence[Workload],
    labels: Mapping[str, str],
    floors: Mapping[str, str],
    targets: Sequence[Target],
    *sections: list[str],
    more_rows: Sequence[Sequence[str]] = (),
) -> str:
    'A report: the main table (``floors``, ``more_rows``: see median_table), the ``sections``, the targets.'
    return '\n'.join([
        *median_table(workloads, labels, floors, more_rows),
        *(line for lines in sections for line in lines),
        *targets_table(targets, workloads),
    ])


def standard_report(
    labels: Mapping[str, str], floors: Mapping[str, str], targets: Sequence[Target],
) -> Callable[[list[Workload]], str]:
    'A report with the CPU table as its one section (see report_text).'
    return lambda workloads: report_text(workloads, labels, floors, targets, cpu_table(workloads, labels))


def format_time(seconds: float) -> str:
    if seconds >= 1e-1:
        return f'{seconds:.3f} s'
    if seconds >= 1e-3:
        return f'{seconds * 1e3:.2f} ms'
    return f'{seconds * 1e6:.1f} us'


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return '  '.join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    rule = '  '.join('-' * width for width in widths)
    return '\n'.join([line(header), rule, *(line(row) for row in rows)])
