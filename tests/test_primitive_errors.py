"""Redlock and NextID tell a permanent error (credentials, ACL, a refused request) from a master being down.

A permanent error raises at once, as redis-py raised it, naming the master;
a transient one (refused connection, pause, BUSY...) keeps the quorum
semantics.  Real servers with real ACL users; nothing may be left behind.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
import redis.asyncio

from pottery_async import AIONextID, AIORedlock, _wake, redis_cache
from pottery_async._primitive import is_permanent
from pottery_async.sync import NextID, Redlock
from tests.helpers import NO_RETRY, as_user, as_user_async, eventually, set_acl_user
from tests.servers import Server

# Each user may do everything Redlock and NextID need, but one thing.
USERS = {
    'locker': ['~redlock:*', '~nextid:*', '&redlock:*', '+@all'],
    'nokeys': ['~other:*', '&redlock:*', '+@all'],
    'nochannels': ['~redlock:*', '~nextid:*', 'resetchannels', '+@all'],
    'noscripts': ['~redlock:*', '~nextid:*', '&redlock:*', '+@all', '-@scripting'],
    # What "ACL SETUSER anykey on >pw ~* +@all" makes on Redis 7.
    'anykey': ['~*', 'resetchannels', '+@all'],
}
# Generous: a permanent error raises within about one master timeout (1 s).
PROMPTLY = 5.0


@pytest.fixture(scope='module', autouse=True)
def users(acl_servers: list[Server]) -> None:
    for user, rules in USERS.items():
        set_acl_user(acl_servers, user, *rules)


def nothing_stored(admins: list[redis.Redis]) -> bool:
    return all(admin.keys('*') == [] for admin in admins)


def raises_promptly(error: type[BaseException], operation: Callable[[], object]) -> pytest.ExceptionInfo[Any]:
    started = time.monotonic()
    with pytest.raises(error) as caught:
        operation()
    assert time.monotonic() - started < PROMPTLY
    return caught


def names_a_master(caught: pytest.ExceptionInfo[Any], servers: list[Server]) -> None:
    notes = ' '.join(getattr(caught.value, '__notes__', []))
    assert any(f'master {s.host}:{s.port}' in notes for s in servers), notes


# --- a wrong password -----------------------------------------------------------------


def test_wrong_password_raises_at_once_instead_of_waiting_for_ever(
    acl_servers: list[Server], admins: list[redis.Redis],
) -> None:
    masters = as_user(acl_servers, 'locker', 'wrong password')
    # Blocking with no timeout: it used to retry for ever, silently.
    lock = Redlock(key='printer', masters=masters)
    caught = raises_promptly(redis.AuthenticationError, lock.__enter__)
    names_a_master(caught, acl_servers)
    raises_promptly(redis.AuthenticationError, lambda: lock.acquire(blocking=False))
    raises_promptly(redis.AuthenticationError, lambda: next(NextID(key='ids', masters=masters)))
    assert nothing_stored(admins)


async def test_async_wrong_password_raises_at_once(
    acl_servers: list[Server], admins: list[redis.Redis],
) -> None:
    masters = as_user_async(acl_servers, 'locker', 'wrong password')
    try:
        started = time.monotonic()
        with pytest.raises(redis.AuthenticationError) as caught:
            async with AIORedlock(key='printer', masters=masters):
                pass
        with pytest.raises(redis.AuthenticationError):
            await anext(AIONextID(key='ids', masters=masters))
        assert time.monotonic() - started < 2 * PROMPTLY
        names_a_master(caught, acl_servers)
    finally:
        for master in masters:
            await master.aclose()
    assert nothing_stored(admins)


# --- ACL permissions ------------------------------------------------------------------


# The server's own words, which Redis and Valkey put differently: each
# must appear in the error.
@pytest.mark.parametrize(('user', 'words'), [
    ('nokeys', ('permissions to access', 'key')),
    ('noscripts', ("no permissions to run the 'evalsha' command",)),
])
def test_missing_acl_permission_raises_at_once(
    acl_servers: list[Server], admins: list[redis.Redis], user: str, words: tuple[str, ...],
) -> None:
    masters = as_user(acl_servers, user)
    lock = Redlock(key='printer', masters=masters)
    caught = raises_promptly(redis.exceptions.NoPermissionError, lock.__enter__)
    assert all(word in str(caught.value) for word in words), str(caught.value)
    names_a_master(caught, acl_servers)
    raises_promptly(redis.exceptions.NoPermissionError, lambda: next(NextID(key='ids', masters=masters)))
    assert nothing_stored(admins)


async def test_async_missing_acl_permission_raises_at_once(
    acl_servers: list[Server], admins: list[redis.Redis],
) -> None:
    masters = as_user_async(acl_servers, 'nokeys')
    try:
        with pytest.raises(redis.exceptions.NoPermissionError):
            await AIORedlock(key='printer', masters=masters).acquire(timeout=PROMPTLY * 2)
        with pytest.raises(redis.exceptions.NoPermissionError):
            await anext(AIONextID(key='ids', masters=masters))
    finally:
        for master in masters:
            await master.aclose()
    assert nothing_stored(admins)


def test_without_channel_permission_locks_work_and_waiters_poll(
    acl_servers: list[Server], admins: list[redis.Redis], caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    'Nobody can publish or subscribe (Redis 7\'s default for a new user): releases release, waiters poll.'
    # This process may have refused these servers already (said once).
    monkeypatch.setattr(_wake, '_refusing', set(), raising=False)
    caplog.set_level(logging.WARNING, logger='pottery_async')
    first = Redlock(key='printer', masters=as_user(acl_servers, 'nochannels'))
    second = Redlock(key='printer', masters=as_user(acl_servers, 'nochannels'))
    assert first.acquire(blocking=False)
    got: list[float] = []

    def wait_for(waiter: Redlock) -> None:
        assert waiter.acquire(timeout=PROMPTLY)
        got.append(time.monotonic())

    for holder, waiter in ((first, second), (second, first)):
        got.clear()
        thread = threading.Thread(target=wait_for, args=(waiter,))
        thread.start()
        # The waiter tried, was refused its subscriptions, and waits.
        time.sleep(0.5)
        assert thread.is_alive()
        released = time.monotonic()
        holder.release()
        thread.join(PROMPTLY * 2)
        assert got, 'the waiter never got the lock'
        # Polled for: within a poll or two of the release.
        assert got[0] - released < 1.0
        # Held by the waiter on a majority (a master slow enough to be
        # suspected on a loaded machine is not waited for).
        assert sum(admin.exists('redlock:printer') for admin in admins) >= 2
        assert waiter.locked()
    first.release()
    assert nothing_stored(admins)
    said = [record.getMessage() for record in caplog.records if 'Wake-ups are off' in record.getMessage()]
    # Once per server, for both waits.
    assert len(said) == 3, said
    for server in acl_servers:
        assert sum(f'{server.host}:{server.port}:' in text for text in said) == 1
    assert all('waiters there poll every 0.25 s' in text for text in said)


async def test_cache_without_channel_permission_computes_once(
    acl_servers: list[Server], admins: list[redis.Redis],
) -> None:
    (client,) = as_user_async(acl_servers[:1], 'anykey')
    calls = 0

    @redis_cache(redis=client, key='cached', stampede_protection=True)
    async def slow(n: int) -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.5)
        return n * 2

    try:
        async with asyncio.timeout(PROMPTLY * 2):
            assert list(await asyncio.gather(slow(21), slow(21), slow(21))) == [42, 42, 42]
    finally:
        await client.aclose()
    assert calls == 1
    assert admins[0].keys('*') == [b'cached']
    assert list(admins[0].hgetall('cached').values()) == [b'42']


def test_one_misconfigured_master_is_not_hidden_by_the_quorum(
    acl_servers: list[Server], admins: list[redis.Redis],
) -> None:
    good = as_user(acl_servers[:2], 'locker')
    (bad,) = as_user(acl_servers[2:], 'nokeys')
    lock = Redlock(key='printer', masters=[*good, bad])
    caught = raises_promptly(redis.exceptions.NoPermissionError, lambda: lock.acquire(blocking=False))
    assert f'master {acl_servers[2].host}:{acl_servers[2].port}' in ' '.join(caught.value.__notes__)
    # What the two good masters stored was taken back.
    assert nothing_stored(admins)
    assert not Redlock(key='printer', masters=good).locked_by_anyone()


# --- what is permanent, from real replies --------------------------------------------------


def test_replies_classified(admins: list[redis.Redis], acl_servers: list[Server]) -> None:
    admin = admins[0]
    replies: dict[str, Callable[[], object]] = {
        'invalid expire time': lambda: admin.set('redlock:k', 'v', px=2**63 - 1),
        'WRONGTYPE': lambda: (admin.rpush('other', 'x'), admin.get('other')),
        'unknown command': lambda: admin.execute_command('NOSUCHCOMMAND'),  # type: ignore[no-untyped-call]
        'NOPERM': lambda: as_user(acl_servers, 'nokeys')[0].get('redlock:k'),
        'WRONGPASS': lambda: as_user(acl_servers, 'locker', 'wrong', retry=NO_RETRY)[0].ping(),
    }
    for name, reply in replies.items():
        with pytest.raises(redis.RedisError) as caught:
            reply()
        assert is_permanent(caught.value), name
    refused = redis.Redis(host='127.0.0.1', port=1, retry=NO_RETRY)
    with pytest.raises(redis.ConnectionError) as caught:
        refused.ping()
    assert not is_permanent(caught.value)
    assert admin.keys('redlock:*') == []


def test_busy_master_keeps_quorum_semantics(
    acl_servers: list[Server], admins: list[redis.Redis],
) -> None:
    'BUSY (a long script) is a master that cannot serve now: two of three still grant the lock.'
    busy = admins[2]
    busy.config_set('busy-reply-threshold', 50)
    spin = '''
local start = redis.call('TIME')
while true do
  local now = redis.call('TIME')
  if (now[1] - start[1]) * 1000000 + (now[2] - start[2]) > 1500000 then return 1 end
end
'''
    runner = threading.Thread(target=lambda: redis.Redis(host=acl_servers[2].host, port=acl_servers[2].port)
                              .eval(spin, 0))
    runner.start()
    try:
        probe = redis.Redis(host=acl_servers[2].host, port=acl_servers[2].port, retry=NO_RETRY)
        replies: list[redis.ResponseError] = []

        def answers_busy() -> bool:
            try:
                probe.ping()
            except redis.ResponseError as error:
                replies.append(error)
                return True
            return False

        assert eventually(answers_busy, within=PROMPTLY, interval=0.005), 'the server never got busy'
        assert str(replies[0]).startswith('BUSY')
        assert not is_permanent(replies[0])
        lock = Redlock(key='printer', masters=as_user(acl_servers, 'locker'))
        assert lock.acquire(blocking=False)
        assert [admin.exists('redlock:printer') for admin in admins[:2]] == [1, 1]
    finally:
        runner.join()
        busy.config_set('busy-reply-threshold', 5000)
    lock.release()
    assert nothing_stored(admins)
