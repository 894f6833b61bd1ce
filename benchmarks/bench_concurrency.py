"""Concurrency: pottery_async under a service's load (issue 12), on one server.

Run ``python benchmarks/bench_concurrency.py [--quick]``.  Uses ``$REDIS_URL``
if set, else starts a private server and stops it afterwards.  See
benchmarks/README.md for the conventions (interleaved repetitions, medians,
ratios of medians from the same run).  What is measured:

1. errors under concurrency: 200 and 1,000 asyncio tasks at once, each doing
   a few rounds of operations on one shared object of every structure, on a
   default ``redis.asyncio.Redis.from_url(url)`` client (redis-py 8's pool
   of 100 connections raises ``MaxConnectionsError`` when they are all
   taken), each cell on a fresh client: multiplexed (pottery_async as is)
   and with ``pottery_async.multiplexing(client, False)`` (each command
   through the pool, as before issue 12).  A task stops at its first error
   (a wrong result counts as one), so errors = failed tasks.  The clients
   get a ``client_name`` (nothing else changes) so that ``CLIENT LIST``
   tells their connections apart;
2. getitem throughput with 200 tasks: ``await d.getitem(k)`` against a bare
   ``await r.hget(...)`` on a client with a ``BlockingConnectionPool`` of
   100 (redis.asyncio at its best: tasks wait for a connection instead of
   failing), the same number of commands, timed in interleaved repetitions
   (beside them, informational: pottery_async with multiplexing off on the
   same kind of pool);
3. one task alone: ``await d.getitem(k)`` against a bare ``await hget`` on
   the same default client, and sync ``d[k]`` against Pottery 3.0.1's;
4. uncontended AIORedlock against Pottery's AIORedlock: bench_redlock.py
   reports it (nothing here);
5. waiting queue consumers: 500 tasks in ``await q.get(timeout=30)`` on one
   queue, then 500 puts: the server's connections of that client during
   the wait, and whether every item was delivered exactly once;
6. the sync API in a thread pool: 40 threads share one sync ``redis.Redis``
   and one ``RedisDict``; the server's connections of that client while
   they work, when they are done and after the pool has shut down (and,
   informational, the operations per second beside Pottery's, a fresh
   pool and client each time, libraries in turn);
7. contended hand-off: 8 threads x 50 locked cycles on one key, 1 master,
   sync ``Redlock`` against Pottery's: cycles per second, and hand-offs (a
   cycle whose holder is not the previous cycle's).  The same threads and
   one client per library serve every round (the libraries in turn, after
   a short warm-up round each): a service's steady state.

PASS/MISS is informational; the script always exits 0.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import itertools
import json
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import bench_common as bc
import redis
import redis.asyncio
from bench_common import PA_ASYNC, PA_SYNC, POTTERY, RAW_ASYNC, Target

import pottery_async
import pottery_async.sync

with warnings.catch_warnings():
    # Pottery patches json.dumps and warns at import.
    warnings.simplefilter('ignore')
    import pottery

SMALL = 100  # fields in the hash that getitem reads
TASKS = 200  # concurrent tasks of the throughput workload
STORMS = (200, 1000)  # concurrent tasks of the error runs
PATIENCE = 60.0  # the longest any lock acquire or queue delivery may take before the run gives up
QUEUE_WAIT = 30.0  # the waiting consumers' get(timeout=...)
THREADS_GOAL_SHARED = 5  # connections besides 2 per thread that the thread-pool goal allows
QUEUE_GOAL = 10  # connections at most while the consumers wait

# Case names of the timed workloads besides bench_common's.
BARE_BLOCKING = 'redis.asyncio, BlockingConnectionPool(100)'
PA_PLAIN = 'pottery_async, plain BlockingConnectionPool(100)'

ABOUT = ('{repetitions} interleaved repetitions; per sample: {many} getitems by {tasks} tasks, {single} by'
         ' one task; error runs: {rounds} rounds per task; queue: {waiters} waiting consumers; {threads}'
         ' threads x {thread_ops} rounds, {thread_rounds} time(s) per library; hand-off: {lock_threads}'
         ' threads x {cycles} cycles, {lock_rounds} time(s) per library')
FULL = bc.Settings(ABOUT, repetitions=25, tasks=TASKS, many=TASKS * 25, single=1000, rounds=3, waiters=500,
                   threads=40, thread_ops=200, thread_rounds=3, lock_threads=8, cycles=50, lock_rounds=5)
QUICK = bc.Settings(ABOUT, repetitions=5, tasks=TASKS, many=TASKS * 5, single=200, rounds=2, waiters=500,
                    threads=40, thread_ops=50, thread_rounds=1, lock_threads=8, cycles=50, lock_rounds=1)

TARGETS = (
    Target(f'{TASKS} tasks: getitem throughput vs bare hget, BlockingConnectionPool(100)', 'many',
           PA_ASYNC, BARE_BLOCKING, 'throughput', 3.0),
    Target('one task: await d.getitem(k) time vs bare await hget', 'one', PA_ASYNC, RAW_ASYNC, 'time', 1.05),
    Target('sync d[k]: time vs Pottery (informational: no slower than today)', 'one', PA_SYNC, POTTERY,
           'time', 1.0),
)


# --- 2, 3: timed workloads ------------------------------------------------------


def concurrent_batch(tasks: int, op: Callable[[int], Awaitable[object]]) -> bc.AsyncBatch:
    'A batch of n operations shared by ``tasks`` tasks at once, each awaiting its own one after another.'

    async def batch(n: int) -> float:
        each = n // tasks

        async def worker(t: int) -> None:
            for j in range(t * each, (t + 1) * each):
                await op(j)

        start = time.perf_counter()
        await asyncio.gather(*(worker(t) for t in range(tasks)))
        return time.perf_counter() - start

    return batch


def build_workloads(
    settings: bc.Settings, setup: bc.Setup, opened: list[redis.asyncio.Redis],
) -> list[bc.Workload]:
    prefix, loop, raw = setup.prefix, setup.loop, setup.raw
    key = f'{prefix}:small'
    fields = [f'k{i}' for i in range(SMALL)]
    encoded = [json.dumps(f) for f in fields]
    raw.hset(key, mapping={json.dumps(f): json.dumps(i) for i, f in enumerate(fields)})

    def blocking_client() -> redis.asyncio.Redis:
        pool = redis.asyncio.BlockingConnectionPool.from_url(setup.url, max_connections=100)
        client = redis.asyncio.Redis(connection_pool=pool)
        opened.append(client)
        return client

    bare = blocking_client()
    plain = blocking_client()
    pottery_async.multiplexing(plain, False)
    muxed = pottery_async.RedisDict(redis=setup.aclient, key=key)
    pooled = pottery_async.RedisDict(redis=plain, key=key)
    assert loop.run_until_complete(muxed.getitem('k7')) == loop.run_until_complete(pooled.getitem('k7')) == 7

    many = bc.Workload('many', settings.many, 'op', [
        bc.async_batch_case(PA_ASYNC, loop, concurrent_batch(
            settings.tasks, lambda i: muxed.getitem(fields[i % SMALL]))),
        bc.async_batch_case(BARE_BLOCKING, loop, concurrent_batch(
            settings.tasks, lambda i: bare.hget(key, encoded[i % SMALL]))),
        bc.async_batch_case(PA_PLAIN, loop, concurrent_batch(
            settings.tasks, lambda i: pooled.getitem(fields[i % SMALL]))),
    ])
    one = bc.workload(
        'one', settings.single, 'op', setup, setup.each_library('RedisDict', key=key),
        lambda d, i: d[fields[i % SMALL]],
        aio=lambda d, i: d.getitem(fields[i % SMALL]),
        floors=lambda r, i: r.hget(key, encoded[i % SMALL]),
    )
    return [many, one]


# --- 1: errors under concurrency ------------------------------------------------


class WrongResult(Exception):
    'An operation returned what it should not have.'


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise WrongResult(what)


# One round of a task: a couple of operations on the shared object.
Step = Callable[[Any, int, int], Awaitable[None]]


async def dict_step(d: pottery_async.RedisDict, i: int, r: int) -> None:
    await d.setitem(f'k{i}', r)
    expect(await d.getitem(f'k{i}') == r, 'getitem() read another value')


async def set_step(s: pottery_async.RedisSet, i: int, r: int) -> None:
    await s.add(f'{i}:{r}')
    expect(await s.contains(f'{i}:{r}'), 'an added element is missing')


async def list_step(lst: pottery_async.RedisList, i: int, r: int) -> None:
    await lst.append(i)
    expect(isinstance(await lst.getitem(0), int), 'getitem(0) read no number')


async def counter_step(c: pottery_async.RedisCounter, i: int, r: int) -> None:
    await c.update([f'k{i % 10}'])
    expect(await c.getitem(f'k{i % 10}') >= 1, 'a counted key reads 0')


async def deque_step(d: pottery_async.RedisDeque, i: int, r: int) -> None:
    # Each task pops after it pushed: the deque is never empty then.
    await d.appendleft(i)
    expect(isinstance(await d.pop(), int), 'pop() returned no number')


async def queue_step(q: pottery_async.RedisSimpleQueue, i: int, r: int) -> None:
    # Each task gets after it put: an item always waits (no blocking read).
    await q.put(f'{i}:{r}')
    expect(isinstance(await q.get(timeout=10), str), 'get() returned no item')


async def cache_step(f: Callable[[int], Awaitable[int]], i: int, r: int) -> None:
    expect(await f(i % 50) == 2 * (i % 50), 'the cached function returned another value')


async def bloom_step(bf: pottery_async.BloomFilter, i: int, r: int) -> None:
    await bf.add(f'{i}:{r}')
    expect(await bf.contains(f'{i}:{r}'), 'an added element is missing')


async def hyper_step(hll: pottery_async.HyperLogLog, i: int, r: int) -> None:
    await hll.add(f'{i}:{r}')
    expect(await hll.len() >= 1, 'len() is 0 after add()')


async def redlock_step(made: tuple[redis.asyncio.Redis, str], i: int, r: int) -> None:
    # One key per task: uncontended.  Errors raised, not only reported as a
    # lock not taken.
    client, key = made
    lock = pottery_async.AIORedlock(key=f'{key}:{i}', masters=[client], raise_on_redis_errors=True)
    expect(await lock.acquire(timeout=10), 'acquire() failed on a free lock')
    await lock.release()


async def nextid_step(made: tuple[pottery_async.AIONextID, set[int]], i: int, r: int) -> None:
    ids, seen = made
    value = await anext(ids)
    expect(value not in seen, f'AIONextID gave {value} twice')
    seen.add(value)


def make_cache(client: redis.asyncio.Redis, key: str) -> Callable[[int], Awaitable[int]]:
    async def double(x: int) -> int:
        return 2 * x

    return pottery_async.redis_cache(redis=client, key=key)(double)


# name: (make(client, key) -> the object every task uses, one round of a task)
STRUCTURES: dict[str, tuple[Callable[[redis.asyncio.Redis, str], Any], Step]] = {
    'RedisDict setitem/getitem': (lambda c, k: pottery_async.RedisDict(redis=c, key=k), dict_step),
    'RedisSet add/contains': (lambda c, k: pottery_async.RedisSet(redis=c, key=k), set_step),
    'RedisList append/getitem': (lambda c, k: pottery_async.RedisList(redis=c, key=k), list_step),
    'RedisCounter update/getitem': (lambda c, k: pottery_async.RedisCounter(redis=c, key=k), counter_step),
    'RedisDeque appendleft/pop': (lambda c, k: pottery_async.RedisDeque(redis=c, key=k), deque_step),
    'RedisSimpleQueue put/get': (lambda c, k: pottery_async.RedisSimpleQueue(redis=c, key=k), queue_step),
    'redis_cache call': (make_cache, cache_step),
    'BloomFilter add/contains': (
        lambda c, k: pottery_async.BloomFilter(num_elements=10_000, false_positives=0.01, redis=c, key=k),
        bloom_step,
    ),
    'HyperLogLog add/len': (lambda c, k: pottery_async.HyperLogLog(redis=c, key=k), hyper_step),
    'AIORedlock acquire/release': (lambda c, k: (c, k), redlock_step),
    'AIONextID next': (lambda c, k: (pottery_async.AIONextID(key=k, masters=[c]), set()), nextid_step),
}

MODES = ('multiplexed', 'plain pool')


@dataclass
class Storm:
    'What one run of concurrent tasks met.'

    errors: list[BaseException] = field(default_factory=list)
    connections: int = 0  # the client's connections open on the server after the run
    elapsed: float = 0.0


def error_name(error: BaseException) -> str:
    'The error\'s type, and for a lock or ID error the type of the Redis error under it.'
    name = type(error).__name__
    under = list(getattr(error, 'redis_errors', ()))
    return f'{name}({type(under[0]).__name__})' if under else name


def connections(probe: redis.Redis, name: str) -> int:
    'How many connections the server has open with CLIENT SETNAME ``name``.'
    return sum(1 for c in probe.client_list() if c.get('name') == name)


async def storm(
    setup: bc.Setup, structure: str, key: str, tasks: int, rounds: int, multiplexed: bool,
) -> Storm:
    make, step = STRUCTURES[structure]
    name = f'{key}:client'
    # The default pool; the name only adds a CLIENT SETNAME on connect.
    client = redis.asyncio.Redis.from_url(setup.url, client_name=name)
    if not multiplexed:
        pottery_async.multiplexing(client, False)
    result = Storm()
    try:
        shared = make(client, key)

        async def task(i: int) -> None:
            try:
                for r in range(rounds):
                    await step(shared, i, r)
            except Exception as error:
                result.errors.append(error)

        start = time.perf_counter()
        await asyncio.gather(*(task(i) for i in range(tasks)))
        result.elapsed = time.perf_counter() - start
        result.connections = connections(setup.raw, name)
    finally:
        await client.aclose()
    return result


def measure_storms(settings: bc.Settings, setup: bc.Setup) -> dict[tuple[str, int, str], Storm]:
    results = {}
    for n, tasks in enumerate(STORMS):
        for s, structure in enumerate(STRUCTURES):
            # The two modes in turn, the first one alternating.
            modes = MODES if (n + s) % 2 == 0 else MODES[::-1]
            for mode in modes:
                key = f'{setup.prefix}:storm:{s}:{tasks}:{mode.replace(" ", "-")}'
                results[structure, tasks, mode] = setup.loop.run_until_complete(
                    storm(setup, structure, key, tasks, settings.rounds, mode == 'multiplexed'),
                )
    return results


# --- 5: waiting queue consumers ---------------------------------------------------


@dataclass
class Waiting:
    'What the waiting consumers of one client met.'

    peak: int = 0  # the client's connections during the wait, at most
    blocked: int = 0  # clients blocked on the server (the XREADs) at the end of the wait
    errors: list[BaseException] = field(default_factory=list)
    delivered: int = 0  # distinct items that a get() returned
    duplicates: int = 0  # items returned by more than one get()
    left: int = 0  # items still in the queue afterwards (their consumer failed)
    lost: int = 0  # items neither delivered nor left
    deliver: float = 0.0  # seconds from the first put to the last get() returning
    after: int = 0  # the client's connections once every get() has returned


async def waiting_consumers(setup: bc.Setup, key: str, make: Callable[[str], redis.asyncio.Redis],
                            name: str, waiters: int) -> Waiting:
    probe = setup.raw
    client = make(name)
    q = pottery_async.RedisSimpleQueue(redis=client, key=key)
    result = Waiting()
    consumers = [asyncio.ensure_future(q.get(timeout=QUEUE_WAIT)) for _ in range(waiters)]
    try:
        # Until the count of connections settles (0.5 s unchanged), 10 s at most.
        samples: list[int] = []
        for _ in range(100):
            await asyncio.sleep(0.1)
            samples.append(connections(probe, name))
            if len(samples) >= 5 and len(set(samples[-5:])) == 1:
                break
        result.peak = max(samples)
        result.blocked = int(probe.info('clients')['blocked_clients'])
        start = time.perf_counter()
        await asyncio.gather(*(q.put(i) for i in range(waiters)))
        await asyncio.wait(consumers, timeout=PATIENCE)
        result.deliver = time.perf_counter() - start
        result.after = connections(probe, name)
        got: collections.Counter[Any] = collections.Counter()
        for consumer in consumers:
            if not consumer.done():
                result.errors.append(TimeoutError(f'get() still waiting {PATIENCE} s after the puts'))
            elif consumer.exception() is not None:
                result.errors.append(consumer.exception())  # type: ignore[arg-type]
            else:
                got[consumer.result()] += 1
        result.delivered = len(got)
        result.duplicates = sum(1 for count in got.values() if count > 1)
        left = []
        with contextlib.suppress(pottery_async.QueueEmptyError):
            while True:
                left.append(await q.get_nowait())
        result.left = len(left)
        result.lost = len(set(range(waiters)) - set(got) - set(left))
    finally:
        for consumer in consumers:
            consumer.cancel()
        await asyncio.wait(consumers)
        await client.aclose(close_connection_pool=True)
    return result


def measure_waiting(settings: bc.Settings, setup: bc.Setup) -> dict[str, Waiting]:
    'The waiting consumers on a default client, then on a client whose pool has room for every one.'
    room = settings.waiters + 100
    kinds: dict[str, Callable[[str], redis.asyncio.Redis]] = {
        'default pool (100, raises when full)': lambda name: redis.asyncio.Redis.from_url(
            setup.url, client_name=name),
        f'BlockingConnectionPool({room})': lambda name: redis.asyncio.Redis(
            connection_pool=redis.asyncio.BlockingConnectionPool.from_url(
                setup.url, max_connections=room, client_name=name)),
    }
    results = {}
    for i, (kind, make) in enumerate(kinds.items()):
        key = f'{setup.prefix}:waiting:{i}'
        results[kind] = setup.loop.run_until_complete(
            waiting_consumers(setup, key, make, f'{key}:client', settings.waiters),
        )
    return results


# --- 6: the sync API in a thread pool -------------------------------------------


@dataclass
class Pooled:
    'What the threads of one library met.'

    errors: list[BaseException] = field(default_factory=list)
    peak: int = 0  # the client's connections while the threads worked, at most
    done: int = 0  # ... when every thread was done, the threads still alive
    shut: int = 0  # ... 0.5 s after the pool shut down
    elapsed: float = 0.0


def thread_pool(setup: bc.Setup, library: str, name: str, threads: int, ops: int) -> Pooled:
    key = f'{name}:dict'
    client = redis.Redis.from_url(setup.url, client_name=name)
    module: Any = pottery if library == POTTERY else pottery_async.sync
    d = module.RedisDict(redis=client, key=key)
    result = Pooled()
    stop = threading.Event()
    start = threading.Barrier(threads + 1)

    def sample() -> None:
        while not stop.wait(0.05):
            result.peak = max(result.peak, connections(setup.raw, name))

    def work(t: int) -> None:
        start.wait(timeout=PATIENCE)  # every thread at once
        for j in range(ops):
            d[f'{t}:{j % 10}'] = j
            expect(d[f'{t}:{j % 10}'] == j, 'd[k] read another value')

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(threads) as executor:
            futures = [executor.submit(work, t) for t in range(threads)]
            start.wait(timeout=PATIENCE)  # timed once every thread has started
            began = time.perf_counter()
            concurrent.futures.wait(futures)
            result.elapsed = time.perf_counter() - began
            stop.set()
            sampler.join()
            result.done = connections(setup.raw, name)
            result.peak = max(result.peak, result.done)
            result.errors = [e for e in (f.exception() for f in futures) if e is not None]
        time.sleep(0.5)
        result.shut = connections(setup.raw, name)
    finally:
        stop.set()
        sampler.join()
        client.close()
    return result


def measure_threads(settings: bc.Settings, setup: bc.Setup) -> dict[str, list[Pooled]]:
    results: dict[str, list[Pooled]] = {PA_SYNC: [], POTTERY: []}
    order = list(results)
    for round_ in range(settings.thread_rounds):
        for i in range(len(order)):
            library = order[(i + round_) % len(order)]
            # A client (and so a name) of its own each time.
            name = f'{setup.prefix}:threads:{round_}:{i}'
            results[library].append(thread_pool(setup, library, name, settings.threads, settings.thread_ops))
    return results


# --- 7: contended hand-off ------------------------------------------------------


@dataclass
class Contended:
    'One round of the lock threads.'

    cycles: int = 0
    handoffs: int = 0
    rate: float = 0.0  # cycles per second
    double_grants: int = 0
    failures: list[str] = field(default_factory=list)


def contended(
    pool: concurrent.futures.ThreadPoolExecutor, client: redis.Redis, library: str, key: str, threads: int,
    cycles: int,
) -> Contended:
    holders: list[int] = []  # who held the lock, cycle after cycle (appended by the holder)
    inside = [0]
    result = Contended()
    begin = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        lock: Any
        if library == POTTERY:
            lock = pottery.Redlock(key=key, masters={client})
        else:
            lock = pottery_async.sync.Redlock(key=key, masters=[client])
        begin.wait(timeout=PATIENCE)
        for _ in range(cycles):
            if not lock.acquire(timeout=PATIENCE):
                result.failures.append(f'acquire() timed out after {PATIENCE} s')
                return
            inside[0] += 1
            if inside[0] > 1:
                result.double_grants += 1
            holders.append(t)
            inside[0] -= 1
            lock.release()

    futures = [pool.submit(work, t) for t in range(threads)]
    begin.wait(timeout=PATIENCE)
    started = time.perf_counter()
    concurrent.futures.wait(futures)
    elapsed = time.perf_counter() - started
    result.failures += [repr(e) for e in (f.exception() for f in futures) if e is not None]
    result.cycles = len(holders)
    result.rate = len(holders) / elapsed
    result.handoffs = sum(1 for a, b in itertools.pairwise(holders) if a != b)
    return result


def measure_contended(settings: bc.Settings, setup: bc.Setup) -> dict[str, list[Contended]]:
    """Rounds of each library in turn, after one short warm-up round each.

    The same threads (a pool that lives through every round) and one
    client per library: the steady state of a service, not the start-up of
    threads and of the sync API's loops.
    """
    results: dict[str, list[Contended]] = {POTTERY: [], PA_SYNC: []}
    clients = {library: redis.Redis.from_url(setup.url) for library in results}
    order = list(results)
    threads = settings.lock_threads
    try:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            for library in order:
                contended(pool, clients[library], library, f'{setup.prefix}:contended:warm-up', threads, 5)
            for round_ in range(settings.lock_rounds):
                for i in range(len(order)):
                    library = order[(i + round_) % len(order)]
                    key = f'{setup.prefix}:contended:{round_}:{i}'
                    results[library].append(
                        contended(pool, clients[library], library, key, threads, settings.cycles),
                    )
    finally:
        for client in clients.values():
            client.close()
    return results


# --- report -------------------------------------------------------------------


@dataclass
class Measured:
    'What the script measures after the timed workloads.'

    storms: dict[tuple[str, int, str], Storm] = field(default_factory=dict)
    waiting: dict[str, Waiting] = field(default_factory=dict)
    threads: dict[str, list[Pooled]] = field(default_factory=dict)
    locks: dict[str, list[Contended]] = field(default_factory=dict)


LABELS = {
    'many': f'await d.getitem(k), {TASKS} tasks at once',
    'one': 'd[k] / await d.getitem(k), one task',
}


def timed_table(workloads: Sequence[bc.Workload]) -> list[str]:
    rows = []
    for w in workloads:
        for case in w.cases:
            rows.append([LABELS[w.name], case.name, bc.format_time(case.median), f'±{case.spread * 50:.0f}%',
                         f'{1 / case.median:,.0f}/s'])
    return ['Timed workloads:', bc.table(['workload', 'case', 'median per op', '±', 'ops/s'], rows),
            '(median time per op; ±: half the interquartile range over repetitions, relative to the median)']


def storm_sections(settings: bc.Settings, storms: dict[tuple[str, int, str], Storm]) -> list[str]:
    columns = [(tasks, mode) for tasks in STORMS for mode in MODES]
    header = ['structure', *(f'{tasks} tasks, {mode}' for tasks, mode in columns)]
    errors, usage = [], []
    for structure in STRUCTURES:
        row, used = [structure], [structure]
        for tasks, mode in columns:
            s = storms[structure, tasks, mode]
            row.append(f'{len(s.errors)} ({error_name(s.errors[0])})' if s.errors else '0')
            used.append(f'{s.connections} / {s.elapsed:.2f} s')
        errors.append(row)
        usage.append(used)
    return [
        *bc.section(
            'Errors under concurrency: failed tasks (the first error\'s type), each task doing'
            f' {settings.rounds} rounds of the operations\non one shared object, a default'
            ' redis.asyncio.Redis.from_url(url)'
            ' client per cell (pool of 100, raises when full):', header, errors,
        ),
        *bc.section('The same runs: the client\'s connections open on the server afterwards / wall time of'
                    ' the run:', header, usage),
    ]


def waiting_section(settings: bc.Settings, waiting: dict[str, Waiting]) -> list[str]:
    rows = []
    for kind, w in waiting.items():
        rows.append([
            kind, str(w.peak), str(w.blocked),
            f'{len(w.errors)} ({error_name(w.errors[0])})' if w.errors else '0',
            f'{w.delivered}/{settings.waiters}', str(w.duplicates), str(w.left), str(w.lost),
            f'{w.deliver:.2f} s', str(w.after),
        ])
    return bc.section(
        f'Waiting queue consumers: {settings.waiters} tasks in await q.get(timeout={QUEUE_WAIT:.0f}) on one'
        f' queue, then {settings.waiters} puts\n(connections: the client\'s, on the server, during the'
        ' wait; blocked: clients the server holds in a blocking command):',
        ['client', 'connections', 'blocked', 'get errors', 'delivered', 'twice', 'left in queue', 'lost',
         'delivery time', 'connections after'], rows,
    )


def threads_section(settings: bc.Settings, threads: dict[str, list[Pooled]]) -> list[str]:
    ops = 2 * settings.threads * settings.thread_ops
    rates = {library: statistics.median(ops / p.elapsed for p in times) for library, times in threads.items()}
    rows = []
    for library, times in threads.items():
        errors = [e for p in times for e in p.errors]
        rows.append([
            library, f'{len(errors)}' + (f' ({error_name(errors[0])})' if errors else ''),
            *(str(max(getattr(p, what) for p in times)) for what in ('peak', 'done', 'shut')),
            f'{rates[library]:,.0f}/s', f'{rates[library] / rates[POTTERY]:.2f}x',
        ])
    return bc.section(
        f'Sync API in a thread pool: {settings.threads} threads, one shared sync redis.Redis and RedisDict,'
        f' each thread {settings.thread_ops} x (d[k] = v, d[k]),\n{settings.thread_rounds} time(s) per'
        ' library, interleaved; the client\'s connections on the server, the most of any time (peak while'
        ' working;\nwhen done, threads alive; 0.5 s after the pool shut down); ops/s: median over the times:',
        ['library', 'errors', 'peak', 'when done', 'after shutdown', 'ops/s', 'ops/s vs Pottery'], rows,
    )


def lock_summary(rounds: list[Contended]) -> tuple[float, float, int, int, int]:
    'Median cycles/s, median hand-offs, cycles of a round, double grants and failures over all rounds.'
    return (
        statistics.median(r.rate for r in rounds), statistics.median(r.handoffs for r in rounds),
        rounds[0].cycles, sum(r.double_grants for r in rounds), sum(len(r.failures) for r in rounds),
    )


def locks_section(settings: bc.Settings, locks: dict[str, list[Contended]]) -> list[str]:
    rows = []
    for library, rounds in locks.items():
        rate, handoffs, cycles, double, failures = lock_summary(rounds)
        rows.append([
            library, f'{rate:,.0f}/s', f'{handoffs:.0f}/{cycles}',
            ', '.join(f'{r.handoffs}' for r in rounds), str(double), str(failures),
        ])
    return bc.section(
        f'Contended hand-off: {settings.lock_threads} threads x {settings.cycles} acquire/release cycles on'
        f' one key, 1 master, {settings.lock_rounds} round(s) each, interleaved (medians over rounds):',
        ['library', 'cycles/s', 'hand-offs', 'per round', 'double grants', 'failures'], rows,
    )


def more_targets(settings: bc.Settings, m: Measured) -> list[list[str]]:
    rows = []
    for tasks in STORMS:
        failed = {s: len(m.storms[s, tasks, 'multiplexed'].errors) for s in STRUCTURES}
        total = sum(failed.values())
        which = ', '.join(s.split()[0] for s, n in failed.items() if n)
        measured = f'{total} ({which})' if total else '0'
        rows.append([f'errors, {tasks} tasks, every structure, multiplexed', measured, '-', '0',
                     'PASS' if total == 0 else 'MISS'])
    default = next(iter(m.waiting.values()))
    ok = (default.peak <= QUEUE_GOAL and not default.errors and not default.duplicates
          and default.delivered == settings.waiters)
    rows.append([f'{settings.waiters} waiting get(): connections (default client), each item once',
                 f'{default.peak}, {default.delivered}/{settings.waiters} once', '-',
                 f'<= {QUEUE_GOAL}, all once', 'PASS' if ok else 'MISS'])
    peak = max(p.peak for p in m.threads[PA_SYNC])
    errors = sum(len(p.errors) for p in m.threads[PA_SYNC])
    limit = 2 * settings.threads + THREADS_GOAL_SHARED
    rows.append([f'sync API, {settings.threads} threads: peak connections', str(peak), '-',
                 f'<= {limit}', 'PASS' if peak <= limit and not errors else 'MISS'])
    rate, handoffs, cycles, double, failures = lock_summary(m.locks[PA_SYNC])
    theirs, *_ = lock_summary(m.locks[POTTERY])
    wanted = cycles // 4
    ok = rate >= theirs and handoffs >= wanted and not double and not failures
    rows.append([f'contended Redlock: cycles/s vs Pottery, hand-offs of {cycles}',
                 f'{rate / theirs:.2f}x, {handoffs:.0f}', '-', f'>= 1.00x, >= {wanted}',
                 'PASS' if ok else 'MISS'])
    return rows


def report(settings: bc.Settings, workloads: list[bc.Workload], m: Measured) -> str:
    lines = timed_table(workloads)
    if m.storms:
        lines += storm_sections(settings, m.storms)
        lines += waiting_section(settings, m.waiting)
        lines += threads_section(settings, m.threads)
        lines += locks_section(settings, m.locks)
    rows = bc.target_rows(TARGETS, workloads)
    if m.storms:
        rows += more_targets(settings, m)
    lines += bc.section(
        'Targets (ratio of medians; "per-rep IQR": quartiles of the ratio within each repetition):',
        ['target', 'measured', 'per-rep IQR', 'goal', 'result'], rows,
    )
    lines += ['', 'Uncontended AIORedlock vs Pottery\'s AIORedlock (goal 1.5x): see bench_redlock.py.']
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    settings = bc.choose_settings(bc.parse_args(__doc__, argv), FULL, QUICK)
    opened: list[redis.asyncio.Redis] = []
    measured = Measured()

    def after(setup: bc.Setup) -> None:
        for client in opened:
            setup.loop.run_until_complete(client.aclose(close_connection_pool=True))
        measured.storms = measure_storms(settings, setup)
        measured.waiting = measure_waiting(settings, setup)
        measured.threads = measure_threads(settings, setup)
        measured.locks = measure_contended(settings, setup)
        # Lock and ID keys are named after the key given, behind a prefix
        # of their own: run_benchmark() deletes only the run's prefix.
        for key in setup.raw.scan_iter(match=f'*{setup.prefix}:*'):
            setup.raw.unlink(key)

    return bc.run_benchmark(
        settings, lambda setup: build_workloads(settings, setup, opened),
        lambda workloads: report(settings, workloads, measured), after=after,
    )


if __name__ == '__main__':
    sys.exit(main())
