"""Redlock under faults: many processes and tasks, masters killed or paused, a quorum lost, a crowded client.

Every test here goes through the public API only (acquire / release /
locked / ``with`` / ``async with``).  Mutual exclusion is checked the way a
user would notice its failure: read-modify-write cycles (GET, add one in
Python, SET) on a plain Redis key, done inside the lock by several
processes or tasks, must add up.  Time is only ever checked against
generous hang guards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, cast

import pytest
import redis
import redis.asyncio

from pottery_async import AIONextID, AIORedlock, _clients, _primitive
from pottery_async import synchronize as async_synchronize
from pottery_async.exceptions import (
    QuorumIsImpossible,
    QuorumNotAchieved,
    ReleaseUnlockedLock,
)
from pottery_async.sync import NextID, Redlock, synchronize
from tests.helpers import (
    HANG_GUARD,
    drain_background,
    eventually,
    in_threads,
    lock_keys,
    paused,
    run_script,
    unique,
    untyped,
)
from tests.servers import Server, several


@pytest.fixture
def own_servers() -> Iterator[list[Server]]:
    'Five masters of this test alone, free to be killed (the session\'s five must stay up).'
    with several(5) as servers:
        yield servers


def kill(servers: list[Server]) -> None:
    'SIGKILL the servers and reap them: their ports refuse connections from now on.'
    for server in servers:
        server.executor.kill(wait=True)


def clients(servers: list[Server]) -> list[redis.Redis]:
    return [redis.Redis.from_url(server.url(1)) for server in servers]


# --- many processes ------------------------------------------------------------

# One worker process: read-modify-write cycles on a plain key of the counter
# server, each inside the lock over the masters given.  With a positive
# limit it does that many cycles; with 0 it runs until the key '<counter>:stop'
# exists.  Prints what it did and the longest acquire() and release() calls.
# A release that a majority cannot confirm (a master that held the lock died
# or paused meanwhile) raises ReleaseUnlockedLock, as Pottery's does: the
# cycle still counts (no other holder could have had a majority), and the
# test bounds how often that happens.
_WORKER = '''
import json, sys, time
import redis
from pottery_async.exceptions import ReleaseUnlockedLock
from pottery_async.sync import Redlock

counter_url, counter_key, lock_key, limit, *urls = sys.argv[1:]
limit = int(limit)
counter = redis.Redis.from_url(counter_url)
lock = Redlock(key=lock_key, masters=[redis.Redis.from_url(url) for url in urls])
cycles, missed, unconfirmed, slowest_acquire, slowest_release = 0, 0, 0, 0.0, 0.0
print('ready', flush=True)
while cycles < limit if limit else not counter.exists(counter_key + ':stop'):
    start = time.monotonic()
    acquired = lock.acquire(timeout=20)
    slowest_acquire = max(slowest_acquire, time.monotonic() - start)
    if not acquired:
        missed += 1
        continue
    value = int(counter.get(counter_key) or 0)
    time.sleep(0.001)  # widen the window a second holder would hit
    counter.set(counter_key, value + 1)
    cycles += 1
    start = time.monotonic()
    try:
        lock.release()
    except ReleaseUnlockedLock:
        unconfirmed += 1
    slowest_release = max(slowest_release, time.monotonic() - start)
print(json.dumps({'cycles': cycles, 'missed': missed, 'unconfirmed': unconfirmed,
                  'slowest_acquire': slowest_acquire, 'slowest_release': slowest_release}))
'''


class Workers:
    'Worker processes doing locked read-modify-write cycles on one counter.'

    def __init__(
        self, counter: redis.Redis, counter_url: str, urls: list[str], *, processes: int, limit: int = 0,
    ) -> None:
        self.counter = counter
        self.key = unique('counter')
        lock_key = unique('rmw')
        self.lock_key = f'redlock:{lock_key}'
        self.children = [
            run_script(_WORKER, counter_url, self.key, lock_key, str(limit), *urls) for _ in range(processes)
        ]

    def count(self) -> int:
        return int(cast(bytes | None, self.counter.get(self.key)) or 0)

    def wait_for(self, cycles: int) -> int:
        'Wait (within the hang guard) until the counter reaches ``cycles``; its value.'
        assert eventually(lambda: self.count() >= cycles, within=HANG_GUARD), (
            f'the workers stalled at {self.count()} cycles'
        )
        return self.count()

    def finish(self, *, stop: bool) -> list[dict[str, Any]]:
        'Stop the workers (if ``stop``) and collect their reports; each must have exited cleanly.'
        if stop:
            self.counter.set(f'{self.key}:stop', 1)
        reports = []
        for child in self.children:
            out, err = child.communicate(timeout=2 * HANG_GUARD)
            assert child.returncode == 0, err
            ready, report = out.splitlines()
            assert ready == 'ready'
            reports.append(json.loads(report))
        return reports

    def kill(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.communicate()


@pytest.fixture
def workers() -> Iterator[list[Workers]]:
    'Worker sets started by the test, killed if the test fails before they end.'
    started: list[Workers] = []
    yield started
    for group in started:
        group.kill()


def check_reports(
    reports: list[dict[str, Any]], final: int, *, masters_lost: int = 0, misses_allowed: int = 0,
) -> None:
    """No update lost: the counter is exactly the sum of the cycles; no call
    outlasted the guard; a release went unconfirmed at most once per master
    lost (only the holder of the moment can lose a master it held)."""
    assert sum(report['cycles'] for report in reports) == final, reports
    assert sum(report['unconfirmed'] for report in reports) <= masters_lost, reports
    for report in reports:
        assert report['missed'] <= misses_allowed, reports
        assert report['slowest_acquire'] < HANG_GUARD, reports
        assert report['slowest_release'] < HANG_GUARD, reports


def test_processes_no_lost_update(
    masters: list[redis.Redis], five_servers: list[Server], redis_client: redis.Redis, url: str,
    workers: list[Workers],
) -> None:
    group = Workers(redis_client, url, [s.url(1) for s in five_servers], processes=4, limit=25)
    workers.append(group)
    reports = group.finish(stop=False)
    assert [report['cycles'] for report in reports] == [25] * 4
    assert group.count() == 100
    check_reports(reports, 100)
    assert lock_keys(masters) == [[]] * 5


def test_processes_two_masters_killed(
    own_servers: list[Server], redis_client: redis.Redis, url: str, workers: list[Workers],
) -> None:
    group = Workers(redis_client, url, [s.url(1) for s in own_servers], processes=4)
    workers.append(group)
    before = group.wait_for(10)
    kill(own_servers[:2])
    # Work goes on with 3 of 5 masters, none of it lost.
    group.wait_for(before + 30)
    reports = group.finish(stop=True)
    check_reports(reports, group.count(), masters_lost=2)
    live = clients(own_servers[2:])
    try:
        assert lock_keys(live) == [[]] * 3
    finally:
        for client in live:
            client.close()


def test_processes_two_masters_paused(
    masters: list[redis.Redis], five_servers: list[Server], redis_client: redis.Redis, url: str,
    workers: list[Workers],
) -> None:
    group = Workers(redis_client, url, [s.url(1) for s in five_servers], processes=3)
    workers.append(group)
    before = group.wait_for(10)
    with paused(five_servers[:2]):
        # Each call now waits out the paused masters' timeout: a few cycles suffice.
        during = group.wait_for(before + 4)
    group.wait_for(during + 10)
    reports = group.finish(stop=True)
    # Hung masters are not waited on at every step (see _primitive._Health):
    # no waiter misses its 20 s acquire timeout.
    check_reports(reports, group.count(), masters_lost=2)
    # The masters that never paused hold no lock key.  (A SET sent to a paused
    # master may run when it resumes and stay until it expires.)
    assert lock_keys(masters[2:]) == [[]] * 3


# --- many tasks in one process ---------------------------------------------------


async def rmw_tasks(
    amasters: list[redis.asyncio.Redis], counter: redis.asyncio.Redis, key: str, tasks: int, cycles: int,
) -> None:
    'Read-modify-write cycles on ``key`` by ``tasks`` tasks, each cycle inside the lock.'

    async def work() -> None:
        lock = AIORedlock(key=f'{key}-lock', masters=amasters)
        for _ in range(cycles):
            assert await lock.acquire(timeout=HANG_GUARD)
            value = int(await counter.get(key) or 0)
            await asyncio.sleep(0.001)
            await counter.set(key, value + 1)
            await lock.release()

    await asyncio.gather(*(work() for _ in range(tasks)))


async def test_async_tasks_no_lost_update(
    amasters: list[redis.asyncio.Redis], masters: list[redis.Redis], aredis: redis.asyncio.Redis,
    redis_client: redis.Redis,
) -> None:
    await rmw_tasks(amasters, aredis, 'tasks', 40, 3)
    assert redis_client.get('tasks') == b'120'
    assert lock_keys(masters) == [[]] * 5


async def test_async_tasks_two_masters_killed(
    own_servers: list[Server], aredis: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    amasters = [redis.asyncio.Redis.from_url(s.url(1)) for s in own_servers]
    try:
        await rmw_tasks(amasters, aredis, 'before', 10, 2)
        kill(own_servers[3:])
        start = time.monotonic()
        await rmw_tasks(amasters, aredis, 'after', 10, 3)
        assert time.monotonic() - start < HANG_GUARD
    finally:
        for client in amasters:
            await client.aclose()
    assert redis_client.get('before') == b'20'
    assert redis_client.get('after') == b'30'
    live = clients(own_servers[:3])
    try:
        assert lock_keys(live) == [[]] * 3
    finally:
        for survivor in live:
            survivor.close()


# --- three of five down: no grant at all -------------------------------------------


def test_three_killed_nobody_gets_the_lock(own_servers: list[Server]) -> None:
    masters = clients(own_servers)
    try:
        holder = Redlock(key='gone', masters=masters)
        assert holder.acquire(blocking=False)
        kill(own_servers[:3])
        start = time.monotonic()
        # The holder can no longer show a majority.
        assert holder.locked() == 0
        lock = Redlock(key='gone', masters=masters)
        assert not lock.acquire(blocking=False)
        assert not lock.acquire(timeout=0.3)
        with pytest.raises(QuorumIsImpossible) as caught:
            Redlock(key='gone', masters=masters, raise_on_redis_errors=True).acquire(blocking=False)
        assert len(list(caught.value.redis_errors)) == 3
        with pytest.raises(QuorumNotAchieved):
            with Redlock(key='gone', masters=masters, context_manager_blocking=False):
                pytest.fail('entered a lock without a quorum')
        with pytest.raises(QuorumNotAchieved):
            with Redlock(key='gone', masters=masters, context_manager_timeout=0.3):
                pytest.fail('entered a lock without a quorum')
        # Letting go fails cleanly too: a minority cannot confirm a release.
        with pytest.raises(ReleaseUnlockedLock):
            holder.release()
        # A free key on the two live masters: still no grant, and nothing left behind.
        fresh = Redlock(key='fresh', masters=masters)
        assert not fresh.acquire(blocking=False)
        assert lock_keys(masters[3:]) == [[]] * 2
        assert time.monotonic() - start < HANG_GUARD
    finally:
        for client in masters:
            client.close()


def test_three_killed_concurrent_contenders(own_servers: list[Server]) -> None:
    'Threads racing for a free key with 3 of 5 masters dead: not one grant.'
    masters = clients(own_servers)
    kill(own_servers[2:])
    grants: list[int] = []
    start = time.monotonic()

    def contend() -> None:
        lock = Redlock(key='race', masters=masters)
        grants.extend(1 for _ in range(5) if lock.acquire(blocking=False))

    errors = in_threads(*[contend] * 6)
    try:
        assert errors == []
        assert grants == []
        assert lock_keys(masters[:2]) == [[]] * 2
        assert time.monotonic() - start < HANG_GUARD
    finally:
        for client in masters:
            client.close()


async def test_async_three_killed(own_servers: list[Server]) -> None:
    amasters = [redis.asyncio.Redis.from_url(s.url(1)) for s in own_servers]
    try:
        holder = AIORedlock(key='agone', masters=amasters)
        assert await holder.acquire(blocking=False)
        kill(own_servers[2:])
        start = time.monotonic()
        assert await holder.locked() == 0
        contenders = [AIORedlock(key=key, masters=amasters) for key in ('agone', 'afree') * 10]
        got = await asyncio.gather(*(lock.acquire(timeout=0.3) for lock in contenders))
        assert not any(got)
        strict = AIORedlock(key='afree', masters=amasters, raise_on_redis_errors=True)
        with pytest.raises(QuorumIsImpossible):
            await strict.acquire(blocking=False)
        with pytest.raises(QuorumNotAchieved):
            async with AIORedlock(key='afree', masters=amasters, context_manager_blocking=False):
                pytest.fail('entered a lock without a quorum')
        with pytest.raises(ReleaseUnlockedLock):
            await holder.release()
        assert time.monotonic() - start < HANG_GUARD
        # A SET that timed out (a loaded machine, a deadline of 0.3 s) may
        # run after its take-back: the master is asked once more, a moment
        # later; then no key is left.
        if _primitive._spawned:
            await asyncio.wait(_primitive._spawned, timeout=HANG_GUARD)
        assert await amasters[0].keys('redlock:*') == []
        assert await amasters[1].keys('redlock:*') == []
    finally:
        for client in amasters:
            await client.aclose()


async def test_hung_master_not_waited_on_at_every_step(
    amasters: list[redis.asyncio.Redis], five_servers: list[Server], masters: list[redis.Redis],
) -> None:
    """Once a paused master has let one request run into the master
    timeout, later steps wait for it briefly at most (a probe), and as soon
    as it answers again it is used again."""
    lock = AIORedlock(key='hung-steps', masters=amasters)
    with paused(five_servers[:1]):
        start = time.monotonic()
        assert await lock.acquire(blocking=False)
        # This first step found out: it waited the whole master timeout.
        assert time.monotonic() - start >= AIORedlock._MASTER_TIMEOUT
        await lock.release()
        steps = []
        for _ in range(10):
            start = time.monotonic()
            assert await lock.acquire(blocking=False)
            await lock.release()
            steps.append(time.monotonic() - start)
        # Liveness, not speed: each cycle far below one master timeout.
        assert max(steps) < AIORedlock._MASTER_TIMEOUT / 2, steps
        assert lock_keys(masters[1:]) == [[]] * 4
    # Answering again: its probe's reply clears the suspicion, and the
    # lock is stored on it again.
    assert await eventually_async(lambda: _held_on_first(lock, masters))
    await lock.release()
    # A master still suspected when the others had released is released in
    # the background, once its probe is answered.
    assert await eventually_async(_all_free(masters), within=5)


async def test_lock_steps_do_not_wait_for_a_probe_out(
    amasters: list[redis.asyncio.Redis], five_servers: list[Server], masters: list[redis.Redis],
) -> None:
    """With 2 of 5 masters paused and suspected, a lock step waits for
    their probes only while a probe is new (up to 50 ms after it is sent,
    one per master timeout): 30 steps wait less than 30 x 50 ms would,
    although a probe is out during every one of them."""
    lock = AIORedlock(key='impatient', masters=amasters)
    healths = [_primitive._health_of(_clients.resolve(client)) for client in amasters[:2]]
    probes_seen = 0
    with paused(five_servers[:2]):
        assert await lock.acquire(blocking=False)  # finds out: the whole master timeout
        await lock.release()
        start = time.monotonic()
        for _ in range(10):
            assert await lock.acquire(blocking=False)
            await lock.extend()
            probes_seen += all(health.probe is not None for health in healths)
            await lock.release()
        took = time.monotonic() - start
        assert lock_keys(masters[2:]) == [[]] * 3
    assert probes_seen == 10
    # Liveness, not speed: half of what waiting 50 ms at each step costs.
    assert took < 30 * _primitive._PROBE_WAIT / 2, took
    assert await eventually_async(_all_free(masters), within=5)


@pytest.mark.parametrize('api', ['sync', 'async'])
def test_unreachable_master_with_a_retry_policy_costs_one_timeout(
    masters: list[redis.Redis], five_servers: list[Server], refused_port: int, api: str,
) -> None:
    """A master that refuses connections while the client's retry policy
    keeps reconnecting (redis-py 6+ retries with back-off for seconds) is
    as absent as a hung one: the first step pays the master timeout, later
    ones do not wait for it again."""
    # Retries that outlast the master timeout, whatever redis-py's default.
    retry = redis.retry.Retry(redis.backoff.ConstantBackoff(0.01), 10**6)
    urls = [server.url(1) for server in five_servers[:4]]

    def cycles() -> list[float]:
        dead = redis.Redis(host='127.0.0.1', port=refused_port, db=1, retry=retry)
        lock = Redlock(key='unreachable', masters=[*masters[:4], dead])
        steps = []
        for _ in range(6):
            start = time.monotonic()
            assert lock.acquire(blocking=False)
            lock.release()
            steps.append(time.monotonic() - start)
        return steps

    async def acycles() -> list[float]:
        dead = redis.asyncio.Redis(host='127.0.0.1', port=refused_port, db=1, retry=redis.asyncio.retry.Retry(
            redis.backoff.ConstantBackoff(0.01), 10**6,
        ))
        live = [redis.asyncio.Redis.from_url(url) for url in urls]
        try:
            lock = AIORedlock(key='unreachable', masters=[*live, dead])
            steps = []
            for _ in range(6):
                start = time.monotonic()
                assert await lock.acquire(blocking=False)
                await lock.release()
                steps.append(time.monotonic() - start)
            return steps
        finally:
            await drain_background()
            for client in (*live, dead):
                await client.aclose()

    # The first cycle may pay the master timeout (before redis-py 6.0, a
    # refusal is not retried: it fails at once).
    steps = cycles() if api == 'sync' else asyncio.run(acycles())
    # Liveness, not speed: each later cycle far below one master timeout.
    assert max(steps[1:]) < AIORedlock._MASTER_TIMEOUT / 2, steps
    assert lock_keys(masters[:4]) == [[]] * 4


async def test_hung_master_suspected_by_calls_with_a_deadline(
    amasters: list[redis.asyncio.Redis], five_servers: list[Server], masters: list[redis.Redis],
) -> None:
    """acquire(timeout=...) bounds each request by its deadline; a request
    that was given the whole master timeout all the same proves its master
    hung, as one without a deadline does.  (It did not: the moment spent
    taking a request slot made it "shorter", so with only such calls every
    acquire waited a whole second for the paused master.)"""
    locks = [AIORedlock(key=f'hung-deadline-{i}', masters=amasters) for i in range(5)]
    with paused(five_servers[:1]):
        steps = []
        for lock in locks:
            start = time.monotonic()
            assert await lock.acquire(timeout=30)
            steps.append(time.monotonic() - start)
        # The first found out; the others did not wait for the paused master.
        assert steps[0] >= AIORedlock._MASTER_TIMEOUT
        assert max(steps[1:]) < AIORedlock._MASTER_TIMEOUT / 2, steps
        for lock in locks:
            await lock.release()
    assert lock_keys(masters[1:]) == [[]] * 4


async def test_take_back_reaches_a_master_once_it_answers(own_servers: list[Server]) -> None:
    """A take-back that could not be sent to a paused master (a probe was
    out) is sent once the master answers: what the paused master ran after
    it resumed does not hold it for a whole lease."""
    servers = own_servers[:3]
    amasters = [redis.asyncio.Redis.from_url(server.url()) for server in servers]
    try:
        lock = AIORedlock(key='taken-back', masters=amasters, auto_release_time=60)
        with paused(servers[2:]):
            for _ in range(5):
                assert await lock.acquire(timeout=5)
                await lock.release()
        resumed = redis.Redis.from_url(servers[2].url())
        # What the paused master was sent runs now (a SET taking the lock
        # among it); without the take-back it would hold it for a minute.
        await asyncio.sleep(0.5)

        async def none_left() -> bool:
            return resumed.keys('redlock:*') == []

        assert await eventually_async(none_left, within=10)
        resumed.close()
        # The other take-backs sent meanwhile end before the clients close.
        if _primitive._spawned:
            await asyncio.wait(_primitive._spawned, timeout=HANG_GUARD)
        assert not _primitive._spawned
    finally:
        for client in amasters:
            await client.aclose()


async def test_take_back_never_reopens_a_closed_client(own_servers: list[Server]) -> None:
    """A take-back waiting for a paused master's probe is dropped if the
    application closes its clients meanwhile: sending it would open a
    connection nobody closes."""
    servers = own_servers[:3]
    amasters = [redis.asyncio.Redis.from_url(server.url()) for server in servers]
    with paused(servers[2:]):
        first = AIORedlock(key='one', masters=amasters)
        assert await first.acquire(blocking=False)  # the paused master is suspected
        assert await AIORedlock(key='two', masters=amasters).acquire(blocking=False)  # a probe is out
        await first.release()  # its take-back on the paused master waits for the probe
        for client in amasters:
            await client.aclose()
    if _primitive._spawned:
        await asyncio.wait(_primitive._spawned, timeout=HANG_GUARD)
    pool = amasters[2].connection_pool
    assert not any(connection.is_connected for connection in pool._available_connections)
    assert not pool._in_use_connections


def test_sync_probe_left_out_between_calls_is_sent_again(
    masters: list[redis.Redis], five_servers: list[Server],
) -> None:
    """The sync API's loop runs only during calls: a probe sent while the
    master was paused outlives its deadline between calls, and its timer
    would cancel it before it read the reply waiting for it.  The next call
    sends another instead of counting the master as failed."""
    lock = Redlock(key='stale-probe', masters=masters[:1])
    assert lock.acquire(blocking=False)
    with paused(five_servers[:1]):
        assert lock.locked() == 0  # the whole master timeout: suspected
        assert lock.locked() == 0  # a probe, left out
    assert masters[0].ping()
    time.sleep(AIORedlock._MASTER_TIMEOUT * 1.2)
    lock.release()
    assert lock_keys(masters[:1]) == [[]]


async def _held_on_first(lock: AIORedlock, masters: list[redis.Redis]) -> bool:
    if not await lock.acquire(blocking=False):
        return False
    if masters[0].get(lock.key) is None:
        await lock.release()
        return False
    return True


def _all_free(masters: list[redis.Redis]) -> Callable[[], Awaitable[bool]]:
    async def all_free() -> bool:
        return lock_keys(masters) == [[]] * len(masters)

    return all_free


async def eventually_async(check: Any, within: float = HANG_GUARD) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


def test_minority_of_free_masters_is_no_grant(masters: list[redis.Redis], five_servers: list[Server]) -> None:
    """The holder has the lock on masters 0-2 only (3 and 4 held by someone
    else's stale key, since gone).  With 0-2 paused, a contender can store its
    key on 3 and 4, a minority: no grant, and its partial keys are removed."""
    for master in masters[3:]:
        master.set('redlock:split', 'someone-else', px=60_000)
    holder = Redlock(key='split', masters=masters)
    assert holder.acquire(blocking=False)
    assert [master.get('redlock:split') == b'someone-else' for master in masters] == [False] * 3 + [True] * 2
    for master in masters[3:]:
        master.delete('redlock:split')
    contender = Redlock(key='split', masters=masters)
    strict = Redlock(key='split', masters=masters, raise_on_redis_errors=True)
    start = time.monotonic()
    with paused(five_servers[:3]):
        assert not contender.acquire(blocking=False)
        assert lock_keys(masters[3:]) == [[]] * 2
        with pytest.raises(QuorumIsImpossible):
            strict.acquire(blocking=False)
        assert lock_keys(masters[3:]) == [[]] * 2
    assert time.monotonic() - start < HANG_GUARD
    # Back up: the holder still has its majority, the contender still has nothing.
    assert holder.locked() > 0
    assert not contender.acquire(blocking=False)
    holder.release()
    assert contender.acquire(blocking=False)
    contender.release()


# --- 200 concurrent pairs on one client ---------------------------------------------


@pytest.mark.parametrize('pairs', [200, 1000])
async def test_concurrent_pairs_on_one_client_own_keys(
    url: str, redis_client: redis.Redis, pairs: int,
) -> None:
    """One redis.asyncio client with its default pool as the only master.

    The pool holds at most 100 connections and raises when asked for more
    (it does not wait), so the pairs outnumber it several times over.
    """
    client = redis.asyncio.Redis.from_url(url)
    try:
        async def pair(i: int) -> None:
            lock = AIORedlock(key=f'own-{i}', masters={client})
            assert await lock.acquire()
            await lock.release()

        results = await asyncio.gather(*(pair(i) for i in range(pairs)), return_exceptions=True)
    finally:
        await client.aclose()
    failures = [f'{type(r).__name__}: {getattr(r, "redis_errors", r)}' for r in results if r is not None]
    assert failures == []
    assert redis_client.keys('redlock:*') == []


async def test_200_pairs_on_one_client_one_key(url: str, redis_client: redis.Redis) -> None:
    client = redis.asyncio.Redis.from_url(url)
    inside = 0
    overlaps = 0
    try:
        async def pair() -> None:
            nonlocal inside, overlaps
            lock = AIORedlock(key='crowded', masters={client})
            # Generous: the last of 200 waiters waits for 199 hand-offs.
            assert await lock.acquire(timeout=100)
            inside += 1
            overlaps += inside > 1
            value = int(await client.get('crowded-count') or 0)
            await client.set('crowded-count', value + 1)
            inside -= 1
            await lock.release()

        results = await asyncio.gather(*(pair() for _ in range(200)), return_exceptions=True)
    finally:
        await client.aclose()
    assert [r for r in results if r is not None] == []
    assert overlaps == 0
    assert redis_client.get('crowded-count') == b'200'
    assert redis_client.keys('redlock:*') == []


# --- bad arguments not covered in test_redlock.py ------------------------------------


async def test_async_bad_acquire_arguments(
    amasters: list[redis.asyncio.Redis], masters: list[redis.Redis],
) -> None:
    lock = AIORedlock(key='abad', masters=amasters)
    with pytest.raises(ValueError, match='non-blocking'):
        await lock.acquire(blocking=False, timeout=1)
    with pytest.raises(ValueError, match='non-blocking'):
        await lock.acquire(blocking=False, timeout=0)
    for timeout in (-2, -0.5):
        with pytest.raises(ValueError, match='timeout must be'):
            await lock.acquire(timeout=timeout)
    for bad in ('1', None, True):
        with pytest.raises(TypeError):
            await lock.acquire(timeout=untyped(bad))
    assert lock_keys(masters) == [[]] * 5


async def test_nan_timeout_is_refused(amasters: list[redis.asyncio.Redis]) -> None:
    'NaN is no timeout (threading.Lock raises ValueError): refused, never an endless wait.'
    holder = AIORedlock(key='nan', masters=amasters)
    waiter = AIORedlock(key='nan', masters=amasters)
    assert await holder.acquire()
    try:
        async with asyncio.timeout(5):
            with pytest.raises(ValueError, match='timeout'):
                await waiter.acquire(timeout=math.nan)
    finally:
        await holder.release()
    with pytest.raises(ValueError, match='timeout'):
        Redlock(key='nan', context_manager_timeout=math.nan)


@pytest.mark.parametrize('cls', [Redlock, AIORedlock])
@pytest.mark.parametrize(('kwargs', 'error'), [
    ({'context_manager_timeout': -0.5}, ValueError),
    ({'context_manager_blocking': False, 'context_manager_timeout': 0}, ValueError),
    ({'context_manager_timeout': '1'}, TypeError),
    ({'auto_release_time': None}, TypeError),
    ({'num_extensions': '3'}, TypeError),
    ({'masters': None}, TypeError),
    ({'masters': 42}, TypeError),
])
def test_bad_constructor_arguments(cls: Any, kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        cls(key='bad', **kwargs)


@pytest.mark.parametrize('kwargs', [
    {'context_manager_blocking': False, 'context_manager_timeout': 0},
    {'masters': None},
    {'masters': 42},
])
def test_pottery_refuses_the_same(pottery_module: Any, kwargs: dict[str, Any]) -> None:
    'Where Pottery checks an argument, it raises what we raise.'
    with pytest.raises((ValueError, TypeError)) as theirs:
        pottery_module.Redlock(key='bad', **kwargs)
    with pytest.raises((ValueError, TypeError)) as ours:
        Redlock(key='bad', **kwargs)
    assert type(ours.value) is type(theirs.value)


def test_sync_bad_acquire_arguments(masters: list[redis.Redis], pottery_module: Any) -> None:
    ours = Redlock(key='sbad', masters=masters)
    theirs = pottery_module.Redlock(key='sbad', masters=set(masters))
    for lock in (ours, theirs):
        with pytest.raises(ValueError, match='non-blocking'):
            lock.acquire(blocking=False, timeout=0)
    with pytest.raises(ValueError, match='timeout must be'):
        ours.acquire(timeout=-0.5)
    with pytest.raises(TypeError):
        ours.acquire(timeout=untyped(None))
    assert lock_keys(masters) == [[]] * 5


@pytest.mark.parametrize('cls', [Redlock, AIORedlock])
@pytest.mark.parametrize(('value', 'error'), [
    (0.0004, ValueError),  # PX 0, which Redis refuses
    (0.002, ValueError),  # all clock-drift allowance: never valid, a blocking acquire spins for ever
    (0.00203, ValueError),  # under a millisecond left of it: valid only on a very fast machine
    (0.0099, ValueError),
    (1e16, ValueError),  # past what Redis can expire
    (1e20, ValueError),
    (10**400, ValueError),  # not even a float
    (math.inf, ValueError),
    (-math.inf, ValueError),
    (math.nan, ValueError),
    ('10', TypeError),
    (None, TypeError),
    (True, TypeError),
])
def test_auto_release_time_redis_cannot_hold_is_refused_at_construction(
    cls: Any, value: Any, error: type, masters: list[redis.Redis],
) -> None:
    with pytest.raises(error, match='auto_release_time'):
        cls(key='lease', masters=masters, auto_release_time=value)
    lock = cls(key='lease', masters=masters, auto_release_time=5)
    with pytest.raises(error, match='auto_release_time'):
        lock.auto_release_time = value
    assert lock.auto_release_time == 5
    decorate = synchronize if cls is Redlock else async_synchronize
    with pytest.raises(error, match='auto_release_time'):
        decorate(key='lease', masters=masters, auto_release_time=value)
    assert lock_keys(masters) == [[]] * 5


@pytest.mark.parametrize('lease', [0.01, 0.05, 1e15])
def test_auto_release_time_bounds_are_usable(lease: float, masters: list[redis.Redis]) -> None:
    lock = Redlock(key='bounds', masters=masters, auto_release_time=lease)
    # The shortest lease leaves some 8 ms to be valid in: a try can miss it
    # on a loaded machine, but not every try.
    assert lock.acquire(timeout=HANG_GUARD)
    pttls = [master.pttl('redlock:bounds') for master in masters]
    assert all(pttl <= lease * 1000 for pttl in pttls)
    with contextlib.suppress(ReleaseUnlockedLock):  # the shortest may have expired by now
        lock.release()
    assert lock_keys(masters) == [[]] * 5


@pytest.mark.parametrize('cls', [Redlock, AIORedlock, NextID, AIONextID])
def test_one_client_as_masters_is_refused(
    cls: Any, masters: list[redis.Redis], amasters: list[redis.asyncio.Redis],
) -> None:
    for client in (masters[0], amasters[0]):
        with pytest.raises(TypeError, match=r'masters=\{client\}'):
            cls(key='one', masters=client)
    # What the message suggests works.
    assert cls(key='one', masters={masters[0]}).masters == {masters[0]}
    assert masters[0].keys('*') == []


async def test_call_with_a_swallowed_cancellation_pending_times_out_normally(
    amasters: list[redis.asyncio.Redis], five_servers: list[Server],
) -> None:
    """A task that comes in with a cancellation already swallowed (as
    redis-py does on Python 3.11) gets the outcome of its call, not a
    CancelledError, when a request runs into its deadline."""
    lock = AIORedlock(key='swallowed', masters=amasters)

    async def body() -> bool:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            pass  # swallowed
        assert task.cancelling() == 1
        return await lock.acquire(timeout=0.3)

    with paused(five_servers[:3]):
        assert await asyncio.ensure_future(body()) is False


async def test_deadline_swallowed_by_the_request_leaves_no_cancellation() -> None:
    """A request that ends normally although its deadline fired (redis-py on
    Python 3.11 can return a reply that came with the cancellation) leaves
    its task as it found it: the wait loops must not see a cancellation
    nobody asked for."""
    task = asyncio.current_task()
    assert task is not None

    async def swallowing_request() -> str:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            pass  # as redis-py's wait_for does when the reply came with it
        return 'reply'

    async with _primitive._timeout(0.01):
        assert await swallowing_request() == 'reply'
    assert task.cancelling() == 0
    # A genuine cancellation still goes through.
    with pytest.raises(TimeoutError):
        async with _primitive._timeout(0.01):
            await asyncio.sleep(1)
    assert task.cancelling() == 0
