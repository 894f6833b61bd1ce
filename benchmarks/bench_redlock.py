"""Redlock / AIORedlock: Pottery 3.0.1 vs pottery_async, at 1 and 5 masters.

Run ``python benchmarks/bench_redlock.py [--quick]``.  Starts five private
servers (or, with ``$REDIS_URL``, uses databases 0-4 of that server as the
five masters) and stops them afterwards.  Two kinds of measurement:

- uncontended: one ``acquire()`` + ``release()`` cycle on a free lock, sync
  (``Redlock``) and async (``AIORedlock`` on ``redis.asyncio`` clients, both
  libraries), timed in interleaved repetitions as in bench_dict.py (see
  benchmarks/README.md), ratios of medians to Pottery's;
- contended hand-off: four workers (threads, then processes) loop on ONE
  key: acquire (blocking), a tiny critical section, release.  A holder lets
  go only once the three others are inside ``acquire()``, and a worker that
  has released rejoins only once another worker has taken the lock, so every
  hand-off goes to a worker that was already waiting (no barging by the
  releaser).  The latency is the time from the holder's call to
  ``release()`` to the next holder's ``acquire()`` returning, read from
  CLOCK_MONOTONIC (``time.monotonic()``, shared by all processes); p50 and
  p99 over all hand-offs of the run.  The configurations (library x threads
  or processes x 1 or 5 masters) run in chunks whose order rotates.

PASS/MISS is informational; the script always exits 0.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import multiprocessing.queues
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import bench_common as bc
import redis
import redis.asyncio
from bench_common import PA_ASYNC, PA_SYNC, POTTERY, Target

import pottery_async
import pottery_async.sync

with warnings.catch_warnings():
    # Pottery patches json.dumps and warns at import.
    warnings.simplefilter('ignore')
    import pottery

POTTERY_ASYNC = 'Pottery AIORedlock'
WORKERS = 4
# A worker that waits longer than this for its turn or for the lock gives up
# (and the run reports it): a broken lock must not hang the benchmark.
PATIENCE = 60.0
HANDOFF_GOAL = 0.1  # our p99 hand-off at most this fraction of Pottery's


ABOUT = ('{repetitions} interleaved repetitions; {cycles} uncontended cycles per sample; contended: {chunks}'
         ' chunk(s) of {handoffs} hand-offs per configuration')
FULL = bc.Settings(ABOUT, repetitions=15, cycles=200, handoffs=100, chunks=2)
QUICK = bc.Settings(ABOUT, repetitions=5, cycles=50, handoffs=25, chunks=1)

TARGETS = (
    Target('sync acquire+release, 1 master: cycles/s vs Pottery', 'lock1', PA_SYNC, POTTERY,
           'throughput', 3.0),
    Target('sync acquire+release, 5 masters: cycles/s vs Pottery', 'lock5', PA_SYNC, POTTERY,
           'throughput', 3.0),
    Target('async acquire+release, 1 master: cycles/s vs Pottery AIORedlock', 'lock1', PA_ASYNC,
           POTTERY_ASYNC, 'throughput', 1.5),
    Target('async acquire+release, 5 masters: cycles/s vs Pottery AIORedlock', 'lock5', PA_ASYNC,
           POTTERY_ASYNC, 'throughput', 1.5),
)

LABELS = {'lock1': 'acquire+release, 1 master', 'lock5': 'acquire+release, 5 masters'}


# --- uncontended --------------------------------------------------------------


class SyncLock(Protocol):
    def acquire(self) -> bool: ...
    def release(self) -> None: ...


def sync_cycles(lock: SyncLock) -> Callable[[int], float]:
    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            if not lock.acquire():
                raise SystemExit('an uncontended acquire() failed')
            lock.release()
        return time.perf_counter() - start

    return run


def async_cycles(lock: Any) -> Callable[[int], Any]:
    async def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            if not await lock.acquire():
                raise SystemExit('an uncontended acquire() failed')
            await lock.release()
        return time.perf_counter() - start

    return run


def lock_workload(
    settings: bc.Settings, count: int, masters: bc.Masters, prefix: str, loop: asyncio.AbstractEventLoop,
) -> bc.Workload:
    theirs = pottery.Redlock(key=f'{prefix}:p{count}', masters=set(masters.pottery))
    ours = pottery_async.sync.Redlock(key=f'{prefix}:s{count}', masters=masters.ours)
    aours = pottery_async.AIORedlock(key=f'{prefix}:a{count}', masters=masters.aours)
    atheirs = pottery.AIORedlock(key=f'{prefix}:pa{count}', masters=set(masters.apottery))

    # The two libraries must exclude each other before their speed means anything.
    shared_theirs = pottery.Redlock(key=f'{prefix}:x{count}', masters=set(masters.pottery))
    shared_ours = pottery_async.sync.Redlock(key=f'{prefix}:x{count}', masters=masters.ours)
    assert shared_ours.acquire(blocking=False)
    assert not shared_theirs.acquire(blocking=False)
    shared_ours.release()
    assert shared_theirs.acquire(blocking=False)
    assert not shared_ours.acquire(blocking=False)
    shared_theirs.release()

    return bc.Workload(f'lock{count}', settings.cycles, 'cycle', [
        bc.Case(POTTERY, sync_cycles(theirs)),
        bc.Case(PA_SYNC, sync_cycles(ours)),
        bc.async_batch_case(PA_ASYNC, loop, async_cycles(aours)),
        bc.async_batch_case(POTTERY_ASYNC, loop, async_cycles(atheirs)),
    ])


def stale_keys(urls: list[str], prefix: str) -> dict[str, int]:
    'Lock keys of the uncontended runs still on the masters, per implementation; then delete them all.'
    names = {'p': POTTERY, 's': PA_SYNC, 'a': PA_ASYNC, 'pa': POTTERY_ASYNC, 'x': 'interop check'}
    left = dict.fromkeys(names.values(), 0)
    for url in urls:
        with redis.Redis.from_url(url) as client:
            for key in client.scan_iter(match=f'redlock:{prefix}:*'):
                tag = key.decode().rsplit(':', 1)[1].rstrip('0123456789')
                left[names.get(tag, 'contended')] = left.get(names.get(tag, 'contended'), 0) + 1
                client.unlink(key)
    return left


# --- contended hand-off -------------------------------------------------------


class Shared(Protocol):
    'An integer that workers share (a threading or a multiprocessing value).'

    value: int

    def get_lock(self) -> Any: ...


class ThreadShared:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock


@dataclass
class Board:
    'What the workers of one run share.'

    taken: Shared  # acquisitions so far (the generation of the lock)
    waiting: Shared  # workers inside acquire()
    holders: Shared  # workers inside the critical section (more than one: a double grant)
    target: int  # acquisitions to make


@dataclass
class Outcome:
    'What one worker reports.'

    sections: list[tuple[float, float]] = field(default_factory=list)  # (acquired, released)
    double_grants: int = 0
    failures: list[str] = field(default_factory=list)


def add(shared: Shared, delta: int) -> None:
    with shared.get_lock():
        shared.value += delta


def wait_until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0002)
    return True


def make_lock(library: str, urls: list[str], key: str) -> tuple[Any, list[redis.Redis]]:
    clients = [redis.Redis.from_url(u) for u in urls]
    if library == POTTERY:
        return pottery.Redlock(key=key, masters=set(clients)), clients
    return pottery_async.sync.Redlock(key=key, masters=clients), clients


def work(library: str, urls: list[str], key: str, board: Board) -> Outcome:
    'One worker: take turns at the lock until the board has seen ``target`` acquisitions.'
    outcome = Outcome()
    lock, clients = make_lock(library, urls, key)
    mine = -1  # the generation of my last acquisition
    try:
        while True:
            # Rejoin once someone else has had the lock since my release.
            last = mine
            if not wait_until(lambda: board.taken.value != last):  # noqa: B023 (read at once)
                outcome.failures.append('no other worker took the lock')
                break
            if board.taken.value > board.target:
                break
            add(board.waiting, 1)
            acquired = lock.acquire(timeout=PATIENCE)
            now = time.monotonic()
            add(board.waiting, -1)
            if not acquired:
                outcome.failures.append(f'acquire() timed out after {PATIENCE} s')
                break
            add(board.holders, 1)
            if board.holders.value > 1:
                outcome.double_grants += 1
            mine = board.taken.value + 1
            board.taken.value = mine
            done = mine > board.target
            # Let go only once every other worker waits in acquire().
            if not done and not wait_until(
                lambda: board.waiting.value >= WORKERS - 1 or board.taken.value > board.target,
            ):
                outcome.failures.append('the other workers did not come back to acquire()')
                done = True
            add(board.holders, -1)
            released = time.monotonic()
            lock.release()
            if done:
                break
            outcome.sections.append((now, released))
    finally:
        for client in clients:
            client.close()
    return outcome


def process_main(
    library: str, urls: list[str], key: str, board: Board, results: multiprocessing.queues.Queue[Outcome],
) -> None:
    results.put(work(library, urls, key, board))


def run_contended(library: str, mode: str, urls: list[str], key: str, handoffs: int) -> Outcome:
    'One chunk: WORKERS threads or processes, ``handoffs`` + 1 critical sections in all.'
    outcomes: list[Outcome] = []
    if mode == 'threads':
        board = Board(ThreadShared(), ThreadShared(), ThreadShared(), handoffs + 1)
        threads = [
            threading.Thread(target=lambda: outcomes.append(work(library, urls, key, board)))
            for _ in range(WORKERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        # fork: the children inherit the imports; each builds its own clients and lock.
        context = multiprocessing.get_context('fork')
        board = Board(context.Value('q', 0), context.Value('q', 0), context.Value('q', 0), handoffs + 1)
        results: multiprocessing.queues.Queue[Outcome] = context.Queue()
        processes = [
            context.Process(target=process_main, args=(library, urls, key, board, results))
            for _ in range(WORKERS)
        ]
        for process in processes:
            process.start()
        try:
            outcomes = [results.get(timeout=4 * PATIENCE) for _ in processes]
        finally:
            for process in processes:
                process.join(timeout=10)
                if process.is_alive():
                    process.kill()
                    process.join()
    merged = Outcome()
    for outcome in outcomes:
        merged.sections.extend(outcome.sections)
        merged.double_grants += outcome.double_grants
        merged.failures.extend(outcome.failures)
    return merged


@dataclass
class Handoffs:
    'The hand-off latencies of one configuration, over all its chunks.'

    gaps: list[float] = field(default_factory=list)
    double_grants: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        sections = sorted(outcome.sections)
        # Consecutive critical sections: next acquire() returned - previous release() called.
        self.gaps.extend(b[0] - a[1] for a, b in itertools.pairwise(sections))
        self.double_grants += outcome.double_grants + sum(
            1 for a, b in itertools.pairwise(sections) if b[0] < a[1]
        )
        self.failures.extend(outcome.failures)


CONFIGS = [(mode, count) for mode in ('threads', 'processes') for count in (1, 5)]
LIBRARIES = (POTTERY, PA_SYNC)


def measure_contended(
    settings: bc.Settings, urls: list[str], prefix: str,
) -> dict[tuple[str, str, int], Handoffs]:
    results = {(library, mode, count): Handoffs() for mode, count in CONFIGS for library in LIBRARIES}
    order = list(results)
    for chunk in range(settings.chunks):
        for i in range(len(order)):
            library, mode, count = order[(i + chunk) % len(order)]
            key = f'{prefix}:contended:{i}:{chunk}'
            results[library, mode, count].add(
                run_contended(library, mode, urls[:count], key, settings.handoffs),
            )
    return results


# --- report -----------------------------------------------------------------


def report(workloads: list[bc.Workload], contended: dict[tuple[str, str, int], Handoffs],
           stale: dict[str, int]) -> str:
    columns = [POTTERY, PA_SYNC, PA_ASYNC, POTTERY_ASYNC]
    rows = [[LABELS[w.name], *(f'{1 / w.case(name).median:,.0f}/s' for name in columns)] for w in workloads]
    out = [bc.report_text(
        workloads, LABELS, {POTTERY_ASYNC: POTTERY_ASYNC}, TARGETS,
        bc.section('Throughput (uncontended acquire+release cycles per second, from the median time):',
                   ['workload', *columns], rows),
    )]
    if stale:
        out.append('')
        out.append('Lock keys left on the masters after the uncontended runs (stale SETs that a release'
                   ' overtook; they expire after auto_release_time): '
                   + ', '.join(f'{name}: {n}' for name, n in stale.items()))
    if not contended:
        return '\n'.join(out)
    rows = []
    target_rows = []
    for mode, count in CONFIGS:
        for library in LIBRARIES:
            h = contended[library, mode, count]
            rows.append([
                f'{WORKERS} {mode}, {count} master{"s" if count > 1 else ""}', library, str(len(h.gaps)),
                *((bc.format_time(bc.percentile(h.gaps, p)) for p in (50, 99)) if h.gaps else ('-', '-')),
                bc.format_time(max(h.gaps)) if h.gaps else '-',
                str(h.double_grants), str(len(h.failures)),
            ])
        ours, theirs = contended[PA_SYNC, mode, count], contended[POTTERY, mode, count]
        if ours.gaps and theirs.gaps:
            p99 = bc.percentile(ours.gaps, 99) / bc.percentile(theirs.gaps, 99)
            p50 = bc.percentile(ours.gaps, 50) / bc.percentile(theirs.gaps, 50)
            ok = p99 <= HANDOFF_GOAL and not ours.double_grants and not ours.failures
            target_rows.append([
                f'hand-off p99, {WORKERS} {mode}, {count} master{"s" if count > 1 else ""}: vs Pottery',
                f'{p99:.3f}x', f'{p50:.3f}x', f'<= {HANDOFF_GOAL:.2f}x', 'PASS' if ok else 'MISS',
            ])
    out.extend(bc.section(
        f'Contended hand-off: {WORKERS} workers on one key, each hand-off to a worker already waiting;'
        ' time from release() called to the next acquire() returning:',
        ['workers, masters', 'library', 'hand-offs', 'p50', 'p99', 'max', 'double grants', 'failures'], rows,
    ))
    out.extend(bc.section(
        'Hand-off targets (ratio of our percentile to Pottery\'s, time: lower is better):',
        ['target', 'p99 ratio', 'p50 ratio', 'goal', 'result'], target_rows,
    ))
    for (library, mode, count), h in contended.items():
        for failure in sorted(set(h.failures)):
            out.append(f'failure: {library}, {mode}, {count} masters: {failure}')
    return '\n'.join(out)


def main(argv: list[str] | None = None) -> int:
    args = bc.parse_args(__doc__, argv, skip=('contended', 'the contended hand-off runs'))
    settings = bc.choose_settings(args, FULL, QUICK)
    opened: list[bc.Masters] = []
    contended: dict[tuple[str, str, int], Handoffs] = {}
    stale: dict[str, int] = {}
    with bc.four_more_servers() as extra:
        urls: list[str] = []

        def build(setup: bc.Setup) -> list[bc.Workload]:
            urls.extend(bc.master_urls(setup.url, extra))
            return bc.master_workloads(
                urls, setup.loop, opened,
                lambda count, masters: lock_workload(settings, count, masters, setup.prefix, setup.loop),
            )

        def after(setup: bc.Setup) -> None:
            for masters in opened:
                masters.close()
            stale.update(stale_keys(urls, setup.prefix))
            if not args.no_contended:
                contended.update(measure_contended(settings, urls, setup.prefix))
            stale_keys(urls, setup.prefix)

        return bc.run_benchmark(
            settings, build, lambda workloads: report(workloads, contended, stale), after=after,
        )


if __name__ == '__main__':
    sys.exit(main())
