"""Redlock / AIORedlock through both APIs, against five real masters."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, cast

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async import AIORedlock
from pottery_async.exceptions import (
    ExtendUnlockedLock,
    QuorumIsImpossible,
    QuorumNotAchieved,
    ReleaseUnlockedLock,
    TooManyExtensions,
)
from pottery_async.sync import Redlock
from tests.helpers import HANG_GUARD, lock_keys, paused, untyped
from tests.servers import Server


@pytest.mark.parametrize(('sync_name', 'async_name'), [('Redlock', 'AIORedlock'), ('NextID', 'AIONextID')])
def test_exports(sync_name: str, async_name: str) -> None:
    'Each primitive: its async class in both namespaces (as in Pottery), its sync class in the sync one.'
    twin = getattr(pottery_async, async_name)
    assert getattr(pottery_async.sync, async_name) is twin
    assert getattr(pottery_async.sync, sync_name) is not twin
    assert {sync_name, async_name} <= set(pottery_async.sync.__all__)
    assert async_name in pottery_async.__all__


def test_defaults_and_state_on_masters(masters: list[redis.Redis]) -> None:
    lock = Redlock(key='printer', masters=masters)
    assert lock.key == 'redlock:printer'
    assert lock.masters == frozenset(masters)
    assert lock.auto_release_time == 10
    assert lock.num_extensions == 3
    assert lock.context_manager_blocking is True
    assert lock.context_manager_timeout == -1
    assert lock.raise_on_redis_errors is False
    assert repr(lock) == '<Redlock key=redlock:printer>'
    assert lock.locked() == 0
    assert lock.acquire()
    values = {master.get('redlock:printer') for master in masters}
    assert len(values) == 1
    assert None not in values
    (value,) = values
    assert len(cast(bytes, value).decode()) == 36  # a UUID, as Pottery stores
    for master in masters:
        assert 9000 < master.pttl('redlock:printer') <= 10000
    assert 9 < lock.locked() <= 10
    lock.release()
    assert lock.locked() == 0
    assert lock_keys(masters) == [[]] * 5
    with pytest.raises(ReleaseUnlockedLock):
        lock.release()


def test_exclusion_and_release_by_others(masters: list[redis.Redis]) -> None:
    first = Redlock(key='excl', masters=masters)
    second = Redlock(key='excl', masters=masters)
    assert first.acquire(blocking=False)
    assert not second.acquire(blocking=False)
    assert not second.acquire(timeout=0.2)
    # A failed acquire leaves the holder's key alone.
    assert len({master.get('redlock:excl') for master in masters} - {None}) == 1
    with pytest.raises(ReleaseUnlockedLock):
        second.release()
    assert first.locked() > 0
    first.release()
    assert second.acquire(blocking=False)
    second.release()
    assert lock_keys(masters) == [[]] * 5


def test_extend(masters: list[redis.Redis]) -> None:
    lock = Redlock(key='ext', masters=masters, auto_release_time=2, num_extensions=2)
    with pytest.raises(ExtendUnlockedLock):
        lock.extend()
    assert lock.acquire()
    for master in masters:
        master.pexpire('redlock:ext', 500)
    lock.extend()
    assert all(master.pttl('redlock:ext') > 1000 for master in masters)
    lock.extend()
    with pytest.raises(TooManyExtensions):
        lock.extend()
    lock.release()
    # A new acquisition may be extended again; a released one may not.
    assert lock.acquire()
    lock.extend()
    lock.release()
    with pytest.raises(ExtendUnlockedLock):
        lock.extend()
    unlimited = Redlock(key='ext', masters=masters, num_extensions=-1)
    assert unlimited.acquire()
    for _ in range(5):
        unlimited.extend()
    unlimited.release()
    assert lock_keys(masters) == [[]] * 5


def test_expiry(masters: list[redis.Redis]) -> None:
    lock = Redlock(key='short', masters=masters, auto_release_time=0.2)
    assert lock.acquire()
    for master in masters:
        master.delete('redlock:short')  # as if the lease expired
    assert lock.locked() == 0
    other = Redlock(key='short', masters=masters)
    assert other.acquire(blocking=False)
    other.release()


def test_context_manager(masters: list[redis.Redis]) -> None:
    lock = Redlock(key='ctx', masters=masters)
    with lock as held:
        assert held is lock
        assert lock.locked() > 0
        assert all(master.exists('redlock:ctx') for master in masters)
    assert lock.locked() == 0
    assert lock_keys(masters) == [[]] * 5
    holder = Redlock(key='ctx', masters=masters)
    assert holder.acquire()
    impatient = Redlock(key='ctx', masters=masters, context_manager_blocking=False)
    with pytest.raises(QuorumNotAchieved):
        with impatient:
            pass
    timed = Redlock(key='ctx', masters=masters, context_manager_timeout=0.1)
    with pytest.raises(QuorumNotAchieved):
        with timed:
            pass
    holder.release()


@pytest.mark.parametrize(('kwargs', 'error'), [
    ({'context_manager_blocking': False, 'context_manager_timeout': 1}, ValueError),
    ({'context_manager_timeout': -2}, ValueError),
    ({'auto_release_time': 0}, ValueError),
    ({'auto_release_time': -1}, ValueError),
    ({'auto_release_time': '10'}, TypeError),
    ({'num_extensions': -2}, ValueError),
    ({'num_extensions': 1.5}, TypeError),
])
def test_bad_arguments(masters: list[redis.Redis], kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        Redlock(key='bad', masters=masters, **kwargs)


def test_bad_acquire_arguments(masters: list[redis.Redis]) -> None:
    lock = Redlock(key='bad', masters=masters)
    with pytest.raises(ValueError, match='non-blocking'):
        lock.acquire(blocking=False, timeout=1)
    with pytest.raises(ValueError, match='timeout must be'):
        lock.acquire(timeout=-2)
    with pytest.raises(TypeError):
        lock.acquire(timeout=untyped('1'))
    assert lock_keys(masters) == [[]] * 5


def test_mutual_exclusion_threads(masters: list[redis.Redis]) -> None:
    counter = masters[0]
    counter.set('counter', 0)
    rounds, workers = 25, 4
    errors: list[BaseException] = []

    def work() -> None:
        try:
            lock = Redlock(key='rmw', masters=masters)
            for _ in range(rounds):
                with lock:
                    value = int(cast(bytes, counter.get('counter')))
                    counter.set('counter', value + 1)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counter.get('counter') == str(rounds * workers).encode()
    assert lock_keys(masters) == [[]] * 5


async def test_async_mutual_exclusion_no_stale_keys(
    amasters: list[redis.asyncio.Redis], masters: list[redis.Redis],
) -> None:
    await amasters[0].set('acounter', 0)

    async def work() -> None:
        lock = AIORedlock(key='arwm', masters=amasters)
        for _ in range(30):
            async with lock:
                value = int(cast(bytes, await amasters[0].get('acounter')))
                await asyncio.sleep(0)
                await amasters[0].set('acounter', value + 1)

    await asyncio.gather(*(work() for _ in range(5)))
    assert masters[0].get('acounter') == b'150'
    assert lock_keys(masters) == [[]] * 5


def test_no_stale_keys_after_many_cycles(masters: list[redis.Redis]) -> None:
    locks = [Redlock(key=f'cycle{i}', masters=masters) for i in range(3)]
    for _ in range(50):
        for lock in locks:
            assert lock.acquire(blocking=False)
        for lock in locks:
            lock.release()
    assert lock_keys(masters) == [[]] * 5


async def test_async_api(amasters: list[redis.asyncio.Redis], masters: list[redis.Redis]) -> None:
    lock = AIORedlock(key='aio', masters=amasters, auto_release_time=5)
    assert repr(lock) == '<AIORedlock key=redlock:aio>'
    assert await lock.locked() == 0
    async with lock as held:
        assert held is lock
        assert 4 < await lock.locked() <= 5
        await lock.extend()
        other = AIORedlock(key='aio', masters=amasters)
        assert not await other.acquire(blocking=False)
    assert await lock.locked() == 0
    with pytest.raises(ReleaseUnlockedLock):
        await lock.release()
    assert lock_keys(masters) == [[]] * 5


def test_pottery_interop(pottery_module: Any, masters: list[redis.Redis]) -> None:
    theirs = pottery_module.Redlock(key='shared', masters=set(masters))
    ours = Redlock(key='shared', masters=masters)
    assert theirs.acquire(blocking=False)
    assert not ours.acquire(blocking=False)
    theirs.release()
    assert ours.acquire(blocking=False)
    assert not theirs.acquire(blocking=False)
    assert theirs.locked() == 0
    assert ours.locked() > 0
    ours.release()
    assert theirs.acquire(blocking=False)
    theirs.release()


def test_two_of_five_paused(five_servers: list[Server], masters: list[redis.Redis]) -> None:
    lock = Redlock(key='two-down', masters=masters)
    other = Redlock(key='two-down', masters=masters)
    start = time.monotonic()
    with paused(five_servers[:2]):
        assert lock.acquire(blocking=False)
        assert not other.acquire(blocking=False)
        assert lock.locked() > 0
        lock.extend()
        lock.release()
        assert other.acquire(blocking=False)
        other.release()
    assert time.monotonic() - start < HANG_GUARD
    for master in masters[2:]:
        assert not master.exists('redlock:two-down')


def test_three_of_five_paused(five_servers: list[Server], masters: list[redis.Redis]) -> None:
    lock = Redlock(key='three-down', masters=masters)
    strict = Redlock(key='three-down', masters=masters, raise_on_redis_errors=True)
    impatient = Redlock(key='three-down', masters=masters, context_manager_blocking=False)
    start = time.monotonic()
    with paused(five_servers[:3]):
        assert not lock.acquire(blocking=False)
        assert not lock.acquire(timeout=0.5)
        with pytest.raises(QuorumIsImpossible):
            strict.acquire(blocking=False)
        assert not lock.acquire(blocking=False, raise_on_redis_errors=False)
        with pytest.raises(QuorumNotAchieved):
            with impatient:
                pass
        # Nothing stays behind on the masters that answered.
        for master in masters[3:]:
            assert not master.exists('redlock:three-down')
    assert time.monotonic() - start < HANG_GUARD
