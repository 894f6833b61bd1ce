"""Redlock beyond Pottery: woken waiters, fencing tokens, renewal, locked_by_anyone(), synchronize()."""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import os
import threading
import time
import warnings
from typing import Any, cast

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async import AIORedlock
from pottery_async.exceptions import QuorumNotAchieved, ReleaseUnlockedLock
from pottery_async.sync import Redlock, synchronize
from tests.helpers import HANG_GUARD, Background, eventually, lock_keys, paused, subscribers, untyped
from tests.servers import Server

# Waking waiters.

def test_release_wakes_a_waiter(masters: list[redis.Redis], no_recheck: None) -> None:
    holder = Redlock(key='wake', masters=masters)
    assert holder.acquire()
    waiter = Background(lambda: Redlock(key='wake', masters=masters).acquire(timeout=8))
    # The waiter is subscribed on every master, and holds nothing.
    assert eventually(lambda: all(subscribers(m, 'redlock:wake') == 1 for m in masters))
    holder.release()
    # Neither a recheck (disabled) nor the 10 s lease could have let it in
    # within its 8 s: the release woke it.
    assert waiter.outcome() is True
    # Its lock is held on every master.  Its thread keeps its subscription
    # for its next wait, until the thread is gone: the next thread to use
    # the sync API closes what dead threads left (the server notices the
    # closed connections on its own time).
    assert len({m.get('redlock:wake') for m in masters} - {None}) == 1
    next_thread = threading.Thread(target=lambda: Redlock(key='other', masters=masters).locked_by_anyone())
    next_thread.start()
    next_thread.join()
    assert eventually(lambda: all(subscribers(m, 'redlock:wake') == 0 for m in masters))


def test_waiter_wakes_when_a_dead_holders_lease_runs_out(
    masters: list[redis.Redis], no_recheck: None,
) -> None:
    dead = Redlock(key='lease', masters=masters, auto_release_time=0.5)
    assert dead.acquire()  # and never released
    waiter = Redlock(key='lease', masters=masters)
    # If nothing woke the waiter at the lease's end, someone else takes the
    # lock 2 s in, and the waiter's last look at its deadline fails.
    late = Redlock(key='lease', masters=masters)
    grab = threading.Timer(2.0, lambda: late.acquire(blocking=False))
    grab.start()
    try:
        assert waiter.acquire(timeout=8)
    finally:
        grab.cancel()
        grab.join()
    assert late.locked() == 0
    # Woken once the dead holder's keys had expired on enough masters: the
    # waiter holds a majority (its last key may still be expiring on one).
    values = collections.Counter(m.get('redlock:lease') for m in masters)
    assert max(count for value, count in values.items() if value is not None) >= 3
    assert waiter.locked() > 0
    assert dead.locked() == 0
    waiter.release()
    assert eventually(lambda: lock_keys(masters) == [[]] * 5)


def test_waiter_timeout_is_honoured(masters: list[redis.Redis]) -> None:
    holder = Redlock(key='patience', masters=masters)
    assert holder.acquire()
    start = time.monotonic()
    for _ in range(3):
        assert not Redlock(key='patience', masters=masters).acquire(timeout=0.3)
    assert time.monotonic() - start < HANG_GUARD
    # This thread keeps one subscription per master between its waits.
    assert [subscribers(m, 'redlock:patience') for m in masters] == [1] * 5
    holder.release()


def test_pottery_holder_hands_over_to_our_waiter(pottery_module: Any, masters: list[redis.Redis]) -> None:
    # Pottery's release publishes nothing: our waiter's periodic look finds it.
    theirs = pottery_module.Redlock(key='mixed', masters=set(masters))
    assert theirs.acquire()
    waiter = Background(lambda: Redlock(key='mixed', masters=masters).acquire(timeout=8))
    assert eventually(lambda: all(subscribers(m, 'redlock:mixed') == 1 for m in masters))
    theirs.release()
    assert waiter.outcome() is True
    assert not theirs.acquire(blocking=False)


async def test_async_waiters_share_one_subscription_per_master(
    amasters: list[redis.asyncio.Redis], masters: list[redis.Redis], no_recheck: None,
) -> None:
    holder = AIORedlock(key='crowd', masters=amasters)
    assert await holder.acquire()

    def subscribed_connections() -> list[int]:
        return [sum(int(c['sub']) > 0 for c in m.client_list()) for m in masters]

    before = subscribed_connections()
    masters[0].set('crowd-counter', 0)

    async def wait_and_count() -> None:
        lock = AIORedlock(key='crowd', masters=amasters)
        assert await lock.acquire(timeout=20)
        value = int(cast(bytes, await amasters[0].get('crowd-counter')))
        await amasters[0].set('crowd-counter', value + 1)
        await lock.release()

    waiters = [asyncio.ensure_future(wait_and_count()) for _ in range(30)]
    for _ in range(500):
        await asyncio.sleep(0.01)
        if all(subscribers(m, 'redlock:crowd') == 1 for m in masters):
            break
    # Thirty waiters, one subscribed connection per master.
    assert [subscribers(m, 'redlock:crowd') for m in masters] == [1] * 5
    assert subscribed_connections() == [n + 1 for n in before]
    await holder.release()
    await asyncio.gather(*waiters)
    assert masters[0].get('crowd-counter') == b'30'
    assert [subscribers(m, 'redlock:crowd') for m in masters] == [0] * 5
    assert lock_keys(masters) == [[]] * 5


def test_waiters_on_two_of_five_paused(five_servers: list[Server], masters: list[redis.Redis]) -> None:
    counter = masters[2]
    counter.set('paused-counter', 0)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            lock = Redlock(key='paused-wait', masters=masters)
            for _ in range(3):
                assert lock.acquire(timeout=HANG_GUARD)
                value = int(cast(bytes, counter.get('paused-counter')))
                counter.set('paused-counter', value + 1)
                lock.release()
        except BaseException as error:
            errors.append(error)

    start = time.monotonic()
    with paused(five_servers[:2]):
        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert counter.get('paused-counter') == b'6'
    assert time.monotonic() - start < 2 * HANG_GUARD
    for master in masters[2:]:
        assert not master.exists('redlock:paused-wait')


async def test_cancelled_acquire_takes_back_what_it_stored(
    five_servers: list[Server], amasters: list[redis.asyncio.Redis], masters: list[redis.Redis],
) -> None:
    lock = AIORedlock(key='cancelled', masters=amasters)
    with paused(five_servers[:1]):
        # The paused master keeps the attempt in flight while the other
        # four have stored the value; then the caller gives up.
        attempt = asyncio.ensure_future(lock.acquire(blocking=False))
        assert await asyncio.to_thread(
            eventually, lambda: sum(bool(m.exists('redlock:cancelled')) for m in masters[1:]) == 4,
        )
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
        assert [bool(m.exists('redlock:cancelled')) for m in masters[1:]] == [False] * 4
    assert await lock.locked() == 0
    other = AIORedlock(key='cancelled', masters=amasters)
    assert await other.acquire(blocking=False)
    await other.release()


# Fencing tokens.

def test_fencing_tokens_increase(masters: list[redis.Redis]) -> None:
    lock = Redlock(key='fenced', masters=masters, fencing=True)
    assert lock.fencing
    assert lock.fencing_token is None
    tokens: list[Any] = []
    for _ in range(3):
        with lock:
            tokens.append(lock.fencing_token)
    assert tokens == [1, 2, 3]
    assert lock.fencing_token == 3  # kept after release
    assert {m.get('redlock:fenced:fence{redlock:fenced}') for m in masters} == {b'3'}
    plain = Redlock(key='plain', masters=masters)
    with plain:
        assert plain.fencing_token is None
    assert not any(m.exists('redlock:plain:fence{redlock:plain}') for m in masters)


def test_fencing_tokens_increase_across_master_failures(
    five_servers: list[Server], masters: list[redis.Redis],
) -> None:
    lock = Redlock(key='failing', masters=masters, fencing=True)
    seen = [0]

    def take() -> None:
        assert lock.acquire(timeout=HANG_GUARD)
        assert lock.fencing_token is not None
        assert lock.fencing_token > seen[-1]
        seen.append(lock.fencing_token)
        lock.release()

    for _ in range(3):
        take()
    # Two masters miss every acquisition while paused...
    with paused(five_servers[:2]):
        take()
        take()
    # ...then come back far behind, while two others lose their counter
    # (a restart without persistence): a later majority may overlap the
    # stale masters, and still counts past every earlier token.
    for master in masters[2:4]:
        master.delete('redlock:failing:fence{redlock:failing}')
    for _ in range(3):
        take()
    with paused(five_servers[2:4]):
        take()
    with paused(five_servers[4:]):
        take()
    assert seen == sorted(set(seen))
    # A counter ahead of the others is not lost either.
    masters[0].set('redlock:failing:fence{redlock:failing}', 1000)
    take()
    assert seen[-1] >= 1001
    # (Raised on every master that granted it: a majority at least.)
    fences = [cast(bytes, m.get('redlock:failing:fence{redlock:failing}')) for m in masters]
    assert sum(int(fence) >= 1001 for fence in fences) >= 3


async def test_fencing_async_and_sync_share_the_counter(
    amasters: list[redis.asyncio.Redis], masters: list[redis.Redis],
) -> None:
    alock = AIORedlock(key='shared-fence', masters=amasters, fencing=True)
    async with alock:
        first = alock.fencing_token
    slock = Redlock(key='shared-fence', masters=masters, fencing=True)
    await asyncio.to_thread(slock.acquire)
    await asyncio.to_thread(slock.release)
    assert first is not None
    assert slock.fencing_token == first + 1



def test_fence_counter_failure_leaves_no_lock(masters: list[redis.Redis]) -> None:
    'A counter that cannot be incremented: the server\'s error, no lock key left, the counter untouched.'
    fence = 'redlock:jammed:fence{redlock:jammed}'
    lock = Redlock(key='jammed', masters=masters, fencing=True)
    # On one master of five: the others granted, and take it back.
    masters[2].rpush(fence, 'not', 'a counter')
    with pytest.raises(redis.ResponseError) as caught:
        lock.acquire(blocking=False)
    # The counters alone: no lock key.
    assert lock_keys(masters) == [[fence.encode()]] * 5
    assert 'WRONGTYPE' in str(caught.value)
    assert 'fencing counter redlock:jammed:fence{redlock:jammed}' in str(caught.value)
    assert masters[2].lrange(fence, 0, -1) == [b'not', b'a counter']
    assert [m.get(fence) for m in (*masters[:2], *masters[3:])] == [b'1'] * 4
    assert lock.fencing_token is None
    # On every master, blocking: raised at once, nothing held anywhere.
    for master in masters:
        master.delete(fence)
        master.set(fence, 'seven')
    with pytest.raises(redis.ResponseError) as caught:
        lock.acquire(timeout=HANG_GUARD)
    assert 'not an integer' in str(caught.value)
    assert lock_keys(masters) == [[fence.encode()]] * 5
    assert [m.get(fence) for m in masters] == [b'seven'] * 5
    assert not lock.locked_by_anyone()


# Who holds it.

def test_locked_by_anyone(pottery_module: Any, masters: list[redis.Redis]) -> None:
    mine = Redlock(key='who', masters=masters)
    other = Redlock(key='who', masters=masters)
    assert mine.locked_by_anyone() == 0
    assert other.acquire()
    assert mine.locked() == 0  # Pottery's meaning: this instance only
    assert 9 < mine.locked_by_anyone() <= 10
    other.release()
    assert mine.locked_by_anyone() == 0
    theirs = pottery_module.Redlock(key='who', masters=set(masters), auto_release_time=5)
    assert theirs.acquire()
    assert 4 < mine.locked_by_anyone() <= 5
    theirs.release()
    # Held on a minority only: nobody holds the lock.
    for master in masters[:2]:
        master.set('redlock:who', 'stray', px=10000)
    assert mine.locked_by_anyone() == 0
    # Held without expiry (set by hand): forever.
    for master in masters:
        master.set('redlock:who', 'forever')
    assert mine.locked_by_anyone() == math.inf
    for master in masters:
        master.delete('redlock:who')


async def test_locked_by_anyone_async(amasters: list[redis.asyncio.Redis]) -> None:
    lock = AIORedlock(key='who-async', masters=amasters)
    other = AIORedlock(key='who-async', masters=amasters, auto_release_time=3)
    assert await lock.locked_by_anyone() == 0
    async with other:
        assert 2 < await lock.locked_by_anyone() <= 3
        assert await lock.locked() == 0


# Automatic renewal.

def test_auto_renew(masters: list[redis.Redis]) -> None:
    lock = Redlock(key='renewed', masters=masters, auto_release_time=0.4, auto_renew=True, num_extensions=0)
    assert lock.auto_renew
    assert lock.acquire()
    # Held well past its lease, while this thread makes no call at all.
    time.sleep(1.5)
    assert lock.locked() > 0
    assert not Redlock(key='renewed', masters=masters).acquire(blocking=False)
    lock.release()
    assert lock_keys(masters) == [[]] * 5
    # Renewal stopped with the release: nothing brings the key back.
    time.sleep(0.5)
    assert lock_keys(masters) == [[]] * 5


def test_auto_renew_stops_when_renewal_fails(
    masters: list[redis.Redis], caplog: pytest.LogCaptureFixture,
) -> None:
    lock = Redlock(key='lost', masters=masters, auto_release_time=0.4, auto_renew=True)
    assert lock.acquire()
    for master in masters:
        master.delete('redlock:lost')  # as if the lease had run out
    with caplog.at_level(logging.WARNING, logger='pottery_async'):
        assert eventually(lambda: 'could not renew' in caplog.text)
    assert lock_keys(masters) == [[]] * 5
    assert lock.locked() == 0
    with pytest.raises(ReleaseUnlockedLock):
        lock.release()


async def test_auto_renew_async(amasters: list[redis.asyncio.Redis], masters: list[redis.Redis]) -> None:
    lock = AIORedlock(key='arenewed', masters=amasters, auto_release_time=0.4, auto_renew=True)
    async with lock:
        await asyncio.sleep(1.5)
        assert await lock.locked() > 0
    await asyncio.sleep(0.5)
    assert lock_keys(masters) == [[]] * 5


# synchronize().

def test_synchronize(masters: list[redis.Redis], caplog: pytest.LogCaptureFixture) -> None:
    counter = masters[0]
    counter.set('sync-counter', 0)

    @synchronize(key='synchronized', masters=masters, auto_release_time=5)
    def increment(by: int) -> int:
        'Read-modify-write under the lock.'
        value = int(cast(bytes, counter.get('sync-counter'))) + by
        counter.set('sync-counter', value)
        return value

    assert increment.__name__ == 'increment'
    assert increment.__doc__ == 'Read-modify-write under the lock.'
    with caplog.at_level(logging.INFO, logger='pottery_async'):
        threads = [threading.Thread(target=lambda: [increment(1) for _ in range(10)]) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert counter.get('sync-counter') == b'40'
    assert 'increment() waited for redlock:synchronized' in caplog.text
    assert lock_keys(masters) == [[]] * 5


def test_synchronize_timeout_and_errors(masters: list[redis.Redis]) -> None:
    @synchronize(key='busy', masters=masters, blocking=True, timeout=0.2)
    def busy() -> None:
        raise AssertionError('must not run')

    holder = Redlock(key='busy', masters=masters)
    assert holder.acquire()
    with pytest.raises(QuorumNotAchieved):
        busy()
    holder.release()

    @synchronize(key='raises', masters=masters)
    def raises() -> None:
        raise KeyError('inside')

    with pytest.raises(KeyError, match='inside'):
        raises()
    assert lock_keys(masters) == [[]] * 5

    async def coroutine_function() -> None:
        pass

    with pytest.raises(TypeError, match='plain functions'):
        synchronize(key='wrong', masters=masters)(coroutine_function)
    with pytest.raises(ValueError, match='non-blocking'):
        synchronize(key='wrong', masters=masters, blocking=False, timeout=1)


async def test_synchronize_async(amasters: list[redis.asyncio.Redis], masters: list[redis.Redis]) -> None:
    await amasters[0].set('async-sync-counter', 0)

    @pottery_async.synchronize(key='asynchronized', masters=amasters)
    async def increment() -> int:
        value = int(cast(bytes, await amasters[0].get('async-sync-counter'))) + 1
        await asyncio.sleep(0)
        await amasters[0].set('async-sync-counter', value)
        return value

    results = await asyncio.gather(*(increment() for _ in range(20)))
    assert sorted(results) == list(range(1, 21))
    assert masters[0].get('async-sync-counter') == b'20'

    def plain() -> None:
        pass

    with pytest.raises(TypeError, match='coroutine functions'):
        pottery_async.synchronize(key='wrong', masters=amasters)(untyped(plain))
    assert lock_keys(masters) == [[]] * 5


def test_exports() -> None:
    assert pottery_async.sync.synchronize is synchronize
    assert 'synchronize' in pottery_async.__all__
    assert 'synchronize' in pottery_async.sync.__all__


async def test_no_masters() -> None:
    # The sync API falls back to the default client, as Pottery does; the
    # async API has no default client and says so at first use.
    lock = AIORedlock(key='nowhere')
    with pytest.raises(TypeError, match='no default client'):
        await lock.acquire()
    with pytest.raises(TypeError, match='masters must be an iterable'):
        AIORedlock(key='nowhere', masters=untyped(None))
    with pytest.raises(TypeError, match='masters must be an iterable'):
        Redlock(key='nowhere', masters='redis://localhost:6379/1')


def test_configuration_can_be_assigned_as_in_pottery(masters: list[redis.Redis]) -> None:
    lock = Redlock(key='first', masters=masters[:1])
    lock.key = 'printer'
    lock.masters = masters
    lock.auto_release_time = 2
    lock.num_extensions = -1
    lock.context_manager_timeout = 0.5
    lock.raise_on_redis_errors = True
    assert (lock.key, lock.masters, lock.quorum) == ('redlock:printer', frozenset(masters), 3)
    assert (lock.auto_release_time, lock.num_extensions, lock.context_manager_timeout) == (2, -1, 0.5)
    assert lock.raise_on_redis_errors is True
    with lock:
        assert all(1000 < m.pttl('redlock:printer') <= 2000 for m in masters)
    with pytest.raises(ValueError, match='auto_release_time must be at least'):
        lock.auto_release_time = 0
    with pytest.raises(ValueError, match='non-blocking'):
        lock.context_manager_blocking = False  # while a timeout is set
    with pytest.raises(TypeError):
        lock.num_extensions = untyped(1.5)
    assert (lock.auto_release_time, lock.context_manager_blocking, lock.num_extensions) == (2, True, -1)
    ids = pottery_async.sync.NextID(key='ids', masters=masters)
    ids.key = 'other-ids'
    assert ids.key == 'nextid:other-ids'


def test_paused_master_is_cleaned_up_after_it_resumes(
    five_servers: list[Server], masters: list[redis.Redis],
) -> None:
    lock = Redlock(key='late', masters=masters)
    with paused(five_servers[:1]):
        # The SET and the release sent to the paused master wait in its
        # socket buffers, on two connections: it may run them in any order.
        assert lock.acquire()
        lock.release()
        assert not any(m.exists('redlock:late') for m in masters[1:])
    # Asked again in the background until it answers, it ends up clean
    # long before the 10 s lease would have run out.
    assert eventually(lambda: not masters[0].exists('redlock:late'), within=5)
    assert lock_keys(masters) == [[]] * 5


def test_forked_child_wakes_its_own_waiters(masters: list[redis.Redis], no_recheck: None) -> None:
    holder = Redlock(key='forked', masters=masters)
    assert holder.acquire()
    parent_results: list[bool] = []

    def parent_waiter() -> None:
        lock = Redlock(key='forked', masters=masters)
        parent_results.append(lock.acquire(timeout=20))
        lock.release()

    waiter = threading.Thread(target=parent_waiter)
    waiter.start()
    assert eventually(lambda: all(subscribers(m, 'redlock:forked') == 1 for m in masters))
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process that has threads.
        warnings.simplefilter('ignore', DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            # The parent's waiter is not the child's: a release must wake
            # the child's own waiter, which never looks again on its own
            # here: if nothing wakes it within 2 s, another holder takes the
            # lock, and its wait ends in failure.
            results: list[bool] = []
            child = threading.Thread(
                target=lambda: results.append(Redlock(key='forked', masters=masters).acquire(timeout=4)),
            )
            child.start()
            deadline = time.monotonic() + 10
            while sum(subscribers(m, 'redlock:forked') for m in masters) < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            holder.release()  # the parent's holder, inherited
            child.join(timeout=2)
            if child.is_alive():
                late = Redlock(key='forked', masters=masters)
                while not late.acquire(blocking=False):
                    time.sleep(0.01)
                child.join()
                late.release()
            code = 0 if results == [True] else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    waiter.join()
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent_results == [True]


async def test_cancelled_waiter_never_keeps_the_lock(
    amasters: list[redis.asyncio.Redis], masters: list[redis.Redis],
) -> None:
    # Cancelled at every point of its wait, on the way out included (after
    # the lock was taken, while leaving the channel): a waiter whose
    # acquire() was cancelled never holds the lock afterwards.
    cancelled = 0
    for i in range(40):
        holder = AIORedlock(key=f'sweep{i}', masters=amasters)
        assert await holder.acquire()
        waiter = AIORedlock(key=f'sweep{i}', masters=amasters, auto_renew=True, auto_release_time=3)
        task = asyncio.ensure_future(waiter.acquire())
        await asyncio.sleep(0.05)
        await holder.release()
        for _ in range(i % 20):
            await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            cancelled += 1
            assert await waiter.locked_by_anyone() == 0
        else:
            await waiter.release()
    assert cancelled > 0
    assert lock_keys(masters) == [[]] * 5


async def test_twice_cancelled_waiters_leave_no_subscription(
    amasters: list[redis.asyncio.Redis], masters: list[redis.Redis],
) -> None:
    def subscribed_connections() -> list[int]:
        return [len(m.client_list(_type='pubsub')) for m in masters]

    before = subscribed_connections()
    holder = AIORedlock(key='twice', masters=amasters)
    assert await holder.acquire()
    for _ in range(5):
        task = asyncio.ensure_future(AIORedlock(key='twice', masters=amasters).acquire())
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()  # again, while it leaves the channel
        with pytest.raises(asyncio.CancelledError):
            await task
    await holder.release()
    assert await asyncio.to_thread(eventually, lambda: subscribed_connections() == before)
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    assert others == []


def test_timeout_is_honoured_with_a_paused_master(
    five_servers: list[Server], masters: list[redis.Redis],
) -> None:
    holder = Redlock(key='paused-timeout', masters=masters)
    assert holder.acquire()
    waiter = Redlock(key='paused-timeout', masters=masters)
    with paused(five_servers[:1]):
        start = time.monotonic()
        assert not waiter.acquire(timeout=0.2)
        # Each request waits for the paused master until the deadline (50 ms
        # at least), not for the whole 1 s master timeout (the try and the
        # taking back of what it stored would take 2 s).
        assert time.monotonic() - start < 1.5
    holder.release()


def test_auto_renew_keeps_a_short_lease_with_a_paused_master(
    five_servers: list[Server], masters: list[redis.Redis],
) -> None:
    lock = Redlock(key='renew-paused', masters=masters, auto_release_time=1.2, auto_renew=True)
    assert lock.acquire()
    with paused(five_servers[:1]):
        # Renewals keep their schedule (a third of the lease), each bounded
        # by it, however long the paused master keeps them waiting.
        for _ in range(10):
            time.sleep(0.25)
            assert all(m.exists('redlock:renew-paused') for m in masters[1:])
    lock.release()
    assert not any(m.exists('redlock:renew-paused') for m in masters[1:])
