"""NextID / AIONextID through both APIs, against five real masters."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any, cast

import pytest
import redis
import redis.asyncio

from pottery_async import AIONextID
from pottery_async.exceptions import QuorumIsImpossible, QuorumNotAchieved
from pottery_async.sync import NextID
from tests.helpers import HANG_GUARD, in_threads, paused, untyped
from tests.servers import Server


def values(masters: list[redis.Redis], key: str) -> list[bytes | None]:
    return [cast(bytes | None, master.get(key)) for master in masters]


# --- API --------------------------------------------------------------------


def test_sync_sequence_and_values_on_every_master(masters: list[redis.Redis]) -> None:
    ids = NextID(key='tweet-ids', masters=masters)
    assert ids.key == 'nextid:tweet-ids'
    assert ids.masters == frozenset(masters)
    assert ids.quorum == 3
    assert ids.num_tries == 3
    assert ids.raise_on_redis_errors is False
    assert iter(ids) is ids
    assert repr(ids) == '<NextID key=nextid:tweet-ids>'
    assert [next(ids) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert values(masters, 'nextid:tweet-ids') == [b'5'] * 5
    # Two generators on one key share the sequence.
    other = NextID(key='tweet-ids', masters=masters)
    assert next(other) == 6
    assert next(ids) == 7
    assert values(masters, 'nextid:tweet-ids') == [b'7'] * 5


def test_one_master(pottery_module: Any, masters: list[redis.Redis]) -> None:
    ours = NextID(key='solo', masters={masters[0]})
    theirs = pottery_module.NextID(key='solo', masters={masters[0]})
    assert ours.quorum == 1
    assert [next(ours), next(theirs), next(ours), next(ours), next(theirs)] == [1, 2, 3, 4, 5]
    assert values(masters, 'nextid:solo') == [b'5', None, None, None, None]
    ours.reset()
    assert next(ours) == 1


def test_one_master_down(five_servers: list[Server]) -> None:
    client = redis.Redis.from_url(five_servers[0].url(1))
    try:
        ids = NextID(key='solo-down', masters={client})
        strict = NextID(key='solo-down', masters={client}, raise_on_redis_errors=True, num_tries=1)
        start = time.monotonic()
        with paused(five_servers[:1]):
            with pytest.raises(QuorumNotAchieved) as caught:
                next(ids)
            assert not isinstance(caught.value, QuorumIsImpossible)
            with pytest.raises(QuorumIsImpossible):
                next(strict)
        assert time.monotonic() - start < HANG_GUARD
        # An INCR sent to the paused server may still run when it resumes
        # (a hole in the sequence, as Pottery's can leave).
        value = next(ids)
        assert client.get('nextid:solo-down') == str(value).encode()
    finally:
        client.flushdb()
        client.close()


def test_reset(masters: list[redis.Redis]) -> None:
    ids = NextID(key='reset', masters=masters)
    for _ in range(3):
        next(ids)
    ids.reset()
    assert values(masters, 'nextid:reset') == [None] * 5
    assert next(ids) == 1


def test_defaults() -> None:
    ids = NextID()
    assert ids.key == 'nextid:current'
    assert ids.masters == frozenset({None})
    assert ids.quorum == 1


async def test_async_sequence(
    amasters: list[redis.asyncio.Redis], masters: list[redis.Redis],
) -> None:
    ids = AIONextID(key='async', masters=amasters)
    assert ids.__aiter__() is ids
    assert [await anext(ids) for _ in range(3)] == [1, 2, 3]
    async for value in ids:
        assert value == 4
        break
    assert await ids.__anext__() == 5
    assert values(masters, 'nextid:async') == [b'5'] * 5
    await ids.reset()
    assert values(masters, 'nextid:async') == [None] * 5
    assert await anext(ids) == 1
    assert repr(ids) == '<AIONextID key=nextid:async>'


async def test_async_concurrent_tasks_unique(
    amasters: list[redis.asyncio.Redis], masters: list[redis.Redis],
) -> None:
    async def take(n: int) -> list[int]:
        ids = AIONextID(key='tasks', masters=amasters, num_tries=1000)
        return [await anext(ids) for _ in range(n)]

    runs = await asyncio.gather(*(take(20) for _ in range(8)))
    flat = [value for run in runs for value in run]
    assert len(set(flat)) == len(flat) == 160
    for run in runs:
        assert run == sorted(set(run))
    last = max(int(v or 0) for v in values(masters, 'nextid:tasks'))
    assert last == max(flat)


async def test_async_api_refuses_sync_clients(masters: list[redis.Redis]) -> None:
    ids = AIONextID(key='refused', masters=masters)
    with pytest.raises(TypeError):
        await anext(ids)
    assert values(masters, 'nextid:refused') == [None] * 5


def test_bad_arguments_like_pottery(pottery_module: Any) -> None:
    for bad in (None, 42):
        with pytest.raises(TypeError):
            pottery_module.NextID(masters=bad)
        with pytest.raises(TypeError):
            NextID(masters=untyped(bad))
        with pytest.raises(TypeError):
            AIONextID(masters=untyped(bad))


# --- concurrency: threads and processes ------------------------------------


def test_threads_strictly_increasing_and_unique(masters: list[redis.Redis]) -> None:
    results: list[list[int]] = []

    def work() -> None:
        ids = NextID(key='threads', masters=masters, num_tries=1000)
        results.append([next(ids) for _ in range(50)])

    assert in_threads(*[work] * 4) == []
    flat = [value for run in results for value in run]
    assert len(flat) == 200
    assert len(set(flat)) == 200
    for run in results:
        assert run == sorted(set(run))  # strictly increasing


_CHILD = '''
import json, sys
import redis
from pottery_async.sync import NextID
masters = [redis.Redis.from_url(url) for url in sys.argv[2:]]
ids = NextID(key='processes', masters=masters, num_tries=1000)
print(json.dumps([next(ids) for _ in range(int(sys.argv[1]))]))
'''


def test_processes_strictly_increasing_and_unique(
    masters: list[redis.Redis], five_servers: list[Server],
) -> None:
    urls = [server.url(1) for server in five_servers]
    children = [
        subprocess.Popen([sys.executable, '-c', _CHILD, '50', *urls], stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    runs = []
    for child in children:
        out, _ = child.communicate(timeout=100)
        assert child.returncode == 0
        runs.append(json.loads(out))
    flat = [value for run in runs for value in run]
    assert len(flat) == 200
    assert len(set(flat)) == 200
    for run in runs:
        assert run == sorted(set(run))  # strictly increasing
    assert max(int(v or 0) for v in values(masters, 'nextid:processes')) == max(flat)


# --- faults: paused masters -------------------------------------------------


def test_two_of_five_paused_still_works(masters: list[redis.Redis], five_servers: list[Server]) -> None:
    ids = NextID(key='two-down', masters=masters)
    assert next(ids) == 1
    start = time.monotonic()
    with paused(five_servers[:2]):
        assert [next(ids) for _ in range(2)] == [2, 3]
        assert values(masters[2:], 'nextid:two-down') == [b'3'] * 3
    assert time.monotonic() - start < HANG_GUARD
    # The masters that missed IDs are outvoted (a claim sent to them while
    # paused may still run on resume; it stores no more than 3), then are
    # brought up to date.
    assert all(int(v or 0) <= 3 for v in values(masters[:2], 'nextid:two-down'))
    assert next(ids) == 4
    assert values(masters, 'nextid:two-down') == [b'4'] * 5


def test_three_of_five_paused_quorum_not_achieved(
    masters: list[redis.Redis], five_servers: list[Server],
) -> None:
    ids = NextID(key='three-down', masters=masters)
    assert next(ids) == 1
    start = time.monotonic()
    with paused(five_servers[:3]):
        with pytest.raises(QuorumNotAchieved) as caught:
            next(ids)
        assert not isinstance(caught.value, QuorumIsImpossible)
        assert caught.value.key == 'nextid:three-down'
        assert values(masters[3:], 'nextid:three-down') == [b'1'] * 2
    assert time.monotonic() - start < HANG_GUARD
    assert next(ids) == 2
    assert values(masters, 'nextid:three-down') == [b'2'] * 5


def test_three_of_five_paused_quorum_is_impossible(
    masters: list[redis.Redis], five_servers: list[Server],
) -> None:
    ids = NextID(key='impossible', masters=masters, raise_on_redis_errors=True)
    assert next(ids) == 1
    start = time.monotonic()
    with paused(five_servers[:3]):
        with pytest.raises(QuorumIsImpossible) as caught:
            next(ids)
        assert len(list(caught.value.redis_errors)) == 3
    assert time.monotonic() - start < HANG_GUARD
    # The resumed masters are suspected until a probe of theirs is answered
    # within the 50 ms a call waits for it (on a loaded machine, a resumed
    # server can take longer to work through what it was sent meanwhile):
    # a call may fail meanwhile, and must not for long.
    resumed = time.monotonic()
    while True:
        try:
            value = next(ids)
            break
        except QuorumIsImpossible:
            assert time.monotonic() - resumed < 5
    # Strictly increasing, and every master agrees again.
    assert value >= 2
    assert values(masters, 'nextid:impossible') == [str(value).encode()] * 5


def test_reset_needs_every_master(masters: list[redis.Redis], five_servers: list[Server]) -> None:
    ids = NextID(key='reset-down', masters=masters)
    strict = NextID(key='reset-down', masters=masters, raise_on_redis_errors=True)
    next(ids)
    start = time.monotonic()
    with paused(five_servers[:1]):
        with pytest.raises(QuorumNotAchieved) as caught:
            ids.reset()
        assert not isinstance(caught.value, QuorumIsImpossible)
        # As Pottery's: the masters that answered were reset.
        assert values(masters[1:], 'nextid:reset-down') == [None] * 4
    with paused(five_servers[:3]):
        with pytest.raises(QuorumIsImpossible):
            strict.reset()
    assert time.monotonic() - start < HANG_GUARD


async def test_async_three_of_five_paused(
    amasters: list[redis.asyncio.Redis], masters: list[redis.Redis], five_servers: list[Server],
) -> None:
    ids = AIONextID(key='async-down', masters=amasters)
    strict = AIONextID(key='async-down', masters=amasters, raise_on_redis_errors=True)
    assert await anext(ids) == 1
    start = time.monotonic()
    with paused(five_servers[2:]):
        with pytest.raises(QuorumNotAchieved):
            await anext(ids)
        with pytest.raises(QuorumIsImpossible):
            await anext(strict)
    with paused(five_servers[3:]):
        assert await anext(ids) == 2
    assert time.monotonic() - start < HANG_GUARD
    assert await anext(strict) == 3
    assert values(masters, 'nextid:async-down') == [b'3'] * 5


# --- interop with Pottery 3.0.1 ---------------------------------------------


def test_pottery_and_we_continue_one_sequence(pottery_module: Any, masters: list[redis.Redis]) -> None:
    theirs = pottery_module.NextID(key='shared', masters=masters)
    ours = NextID(key='shared', masters=masters)
    assert repr(ours) == repr(theirs)
    assert ours.key == theirs.key
    assert [next(ours), next(theirs), next(ours), next(theirs), next(theirs), next(ours)] == [
        1, 2, 3, 4, 5, 6,
    ]
    assert values(masters, 'nextid:shared') == [b'6'] * 5
    theirs.reset()
    assert next(ours) == 1
    ours.reset()
    assert next(theirs) == 1


async def test_pottery_async_and_we_continue_one_sequence(
    pottery_module: Any, amasters: list[redis.asyncio.Redis], masters: list[redis.Redis],
) -> None:
    theirs = pottery_module.AIONextID(key='ashared', masters=amasters)
    ours = AIONextID(key='ashared', masters=amasters)
    got = [await anext(ours), await theirs.__anext__(), await anext(ours), await theirs.__anext__()]
    assert got == [1, 2, 3, 4]
    assert values(masters, 'nextid:ashared') == [b'4'] * 5
