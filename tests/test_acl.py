"""Restricted users are first-class: each structure works for an ACL user limited to what README.md says.

The table of README.md's "Running as a restricted ACL user" is read here,
so the docs and the tests cannot drift: each structure runs its typical
operations, through both APIs, as a user with exactly its row (keys,
commands, and the wake-up channels or not), and the server's contents are
checked.  A user missing a key pattern or a command gets a clear error and
changes nothing.  Every key a structure writes starts with its key
(``_base.companion``), which is what lets one pattern cover it.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
import redis
import redis.asyncio
from redis.crc import key_slot

import pottery_async
import pottery_async.sync as pottery
from pottery_async import CacheInfo, _wake
from pottery_async._base import companion
from pottery_async.exceptions import KeyExistsError, QueueEmptyError, WrongTypeError
from tests.helpers import as_user, as_user_async, eventually, ordered, set_acl_user, subscribers
from tests.servers import Server

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')

README = Path(__file__).resolve().parent.parent / 'README.md'


# --- the README's table ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    'One row of the table: what a structure (or one of its options, "…") needs, as ACL rules.'

    names: tuple[str, ...]
    option: bool
    keys: tuple[str, ...]
    commands: tuple[str, ...]
    channels: tuple[str, ...]


def _section() -> str:
    text = README.read_text()
    start = text.index('## Running as a restricted ACL user')
    return text[start:text.index('\n## ', start)]


def _rules(cell: str) -> tuple[str, ...]:
    'The ACL rules in a cell\'s `code` spans.'
    return tuple(rule for span in re.findall(r'`([^`]*)`', cell) for rule in span.split())


def _table() -> list[Row]:
    rows = []
    for line in _section().splitlines():
        if not line.startswith('| ') or line.startswith('| Structure'):
            continue
        structure, keys, commands, channels = line.split('|')[1:-1]
        rows.append(Row(
            tuple(re.findall(r'`([^`]*)`', structure)), structure.strip().startswith('…'),
            _rules(keys), _rules(commands), _rules(channels),
        ))
    return rows


TABLE = _table()


def rules(structure: str, *options: str, key: str, channels: bool = True) -> list[str]:
    'The rules README.md gives ``structure`` with ``options``, for ``key``; without its channels if told.'
    start = next(i for i, row in enumerate(TABLE) if not row.option and structure in row.names)
    chosen = [TABLE[start]]
    for row in TABLE[start + 1:]:
        if not row.option:
            break
        if set(options) & set(row.names):
            chosen.append(row)
    assert len(chosen) == 1 + len(options), (structure, options)
    out = ['resetkeys', 'resetchannels']
    for row in chosen:
        out += [*row.keys, *row.commands, *(row.channels if channels else ())]
    return [rule.replace('<key>', key) for rule in out]


def app_line() -> list[str]:
    'The rules of the README\'s ACL SETUSER line for a typical application.'
    (line,) = [line for line in _section().splitlines() if line.startswith('ACL SETUSER ')]
    return line.split()[3:]


def test_the_table_covers_every_structure() -> None:
    names = {name for row in TABLE for name in row.names}
    assert names >= {
        'RedisDict', 'RedisCounter', 'RedisSet', 'RedisList', 'RedisDeque', 'RedisSimpleQueue', 'Redlock',
        'AIORedlock', 'synchronize()', 'NextID', 'AIONextID', 'redis_cache()', 'entry_ttl',
        'stampede_protection=True', 'fencing=True', 'CachedOrderedDict', 'BloomFilter', 'HyperLogLog',
    }
    for row in TABLE:
        assert all(rule.startswith('~') for rule in row.keys), row
        assert all(rule.startswith('+') for rule in row.commands), row
        assert all(rule.startswith(('&', '+')) for rule in row.channels), row


def test_the_app_line_grants_the_union_of_the_rows() -> None:
    line = app_line()
    assert line[:2] == ['on', '>change-me']
    commands = [rule for rule in line if rule.startswith('+')]
    assert len(commands) == len(set(commands))
    granted = {rule for row in TABLE for rule in (*row.commands, *row.channels) if rule.startswith('+')}
    assert set(commands) == granted
    assert [rule for rule in line if rule[0] in '~&-' or rule.startswith('reset')] == [
        'resetkeys', '~app:*', '~redlock:app:*', '~nextid:app:*', '~pottery:*',
        'resetchannels', '&app:*', '&redlock:app:*', '-@all',
    ]


# --- key names ---------------------------------------------------------------------------

# Keys of every shape: with and without a hash tag of their own, and with
# braces that make no tag.
KEYS = (
    'jobs', 'redlock:printer', 'with{tag}', '{tag}first', 'braces}only', '}{', 'a{}b}', 'a{b', 'ü{}', '{}',
)


def test_companion_names() -> None:
    assert companion('jobs', 'taken') == 'jobs:taken{jobs}'
    assert companion('{app}:jobs', 'taken') == '{app}:jobs:taken'
    assert companion('redlock:printer', 'fence') == 'redlock:printer:fence{redlock:printer}'


@pytest.mark.parametrize('key', KEYS)
def test_companions_start_with_the_key_and_share_its_slot(key: str) -> None:
    kinds = ('fence', 'scratch', f'lock:{"0" * 32}', f'build:{uuid.uuid4()}')
    names = [companion(key, kind) for kind in kinds]
    # A companion of a companion: a list build's marker.
    names.append(companion(names[-1], 'marker'))
    for name in names:
        assert name.startswith(f'{key}:'), name
        assert key_slot(name.encode()) == key_slot(key.encode()), name
    assert len(set(names)) == len(names)
    assert companion(key, 'fence') == names[0]


# --- clients logged in as restricted users ---------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    'Each test sees the WARNING about a refused subscription (said once per server and process) anew.'
    monkeypatch.setattr(_wake, '_refusing', set())


# A client of either API.
C = TypeVar('C', redis.Redis, redis.asyncio.Redis)


def logging_in(
    servers: list[Server], connect: Callable[[list[Server], str], list[C]], made: list[C],
) -> Callable[[list[str]], list[C]]:
    'A function that creates a user with the given rules and returns its clients (kept in ``made``).'
    def log_in(user_rules: list[str]) -> list[C]:
        user = f'user-{uuid.uuid4().hex[:8]}'
        set_acl_user(servers, user, *user_rules)
        clients = connect(servers, user)
        made.extend(clients)
        return clients

    return log_in


@pytest.fixture
def login(acl_servers: list[Server]) -> Iterator[Callable[[list[str]], list[redis.Redis]]]:
    'Sync clients on the three servers, as a new user with these rules.'
    made: list[redis.Redis] = []
    yield logging_in(acl_servers, as_user, made)
    for client in made:
        client.close()


@pytest.fixture
async def alogin(
    acl_servers: list[Server],
) -> AsyncIterator[Callable[[list[str]], list[redis.asyncio.Redis]]]:
    'Async clients on the three servers, as a new user with these rules.'
    made: list[redis.asyncio.Redis] = []
    yield logging_in(acl_servers, as_user_async, made)
    for client in made:
        await client.aclose()


def decoded_hash(admin: redis.Redis, key: str) -> dict[Any, Any]:
    return {json.loads(k): json.loads(v) for k, v in admin.hgetall(key).items()}


def decoded_list(admin: redis.Redis, key: str) -> list[Any]:
    return [json.loads(v) for v in admin.lrange(key, 0, -1)]


def decoded_set(admin: redis.Redis, key: str) -> set[Any]:
    return {json.loads(v) for v in admin.smembers(key)}


def keys(admin: redis.Redis) -> set[str]:
    return {key.decode() for key in cast(list[bytes], admin.keys('*'))}


async def settle(condition: Callable[[], bool]) -> None:
    'Let the loop run (the async API deletes random keys in a task) until ``condition()``.'
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError('never happened')


# --- each structure, as a user with exactly its row: the sync API -------------------------------


def sync_dict(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    d = pottery.RedisDict({'a': 1}, redis=client, key=key)
    d['b'] = 2
    d.update({'c': 3}, e=5)
    assert d['a'] == 1
    assert d.get('x') is None
    assert 'b' in d
    assert len(d) == 4
    assert ordered(d) == ['a', 'b', 'c', 'e']
    assert d.pop('e') == 5
    assert d.setdefault('f', 6) == 6
    popped, _ = d.popitem()
    expected: dict[Any, int] = {'a': 1, 'b': 2, 'c': 3, 'f': 6}
    del expected[popped]
    assert d.to_dict() == expected == decoded_hash(admin, key)
    with pytest.raises(KeyExistsError):
        pottery.RedisDict({'z': 0}, redis=client, key=key)
    d.clear()
    assert not admin.exists(key)
    admin.set(key, 'not a hash')
    with pytest.raises(WrongTypeError, match='holds a string'):
        d['a']


def sync_counter(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    c = pottery.RedisCounter('abracadabra', redis=client, key=key)
    c.update('aa')
    c.subtract({'b': 1})
    # Not integers: counted in a WATCH transaction.
    c.update({'z': 0.5})
    with pytest.raises(TypeError):
        c.update({'a': 'text'})
    c -= collections.Counter(r=1)
    del c['d']
    assert c['a'] == 7
    assert c.most_common(1) == [('a', 7)]
    assert decoded_hash(admin, key) == {'a': 7, 'b': 1, 'r': 1, 'c': 1, 'z': 0.5}
    c.clear()
    assert not admin.exists(key)


def sync_set(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    s = pottery.RedisSet({1, 2, 3}, redis=client, key=key)
    t = pottery.RedisSet({3, 4}, redis=client, key=f'{key}-other')
    s.add(5)
    s.discard(1)
    s.remove(2)
    assert 3 in s
    assert list(s.contains_many(3, 9)) == [True, False]
    assert len(s) == 2
    assert ordered(s) == [3, 5]
    # Computed on the server.
    assert (s | t, s & t, s - t, s ^ t) == ({3, 4, 5}, {3}, {5}, {4, 5})
    assert s.isdisjoint({7})
    assert not s <= t
    s.update(t)
    s.difference_update({4})
    s.symmetric_difference_update([9])
    s.intersection_update([3, 5, 7])
    assert decoded_set(admin, key) == {3, 5}
    s.difference_update(t)
    s.symmetric_difference_update(t)
    s.intersection_update(t)
    assert decoded_set(admin, key) == {3, 4}
    popped = s.pop()
    assert s.to_set() == {3, 4} - {popped} == decoded_set(admin, key)
    s.clear()
    assert keys(admin) == {f'{key}-other'}


def sync_list(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    # Nothing to sort: the transaction is left at once (UNWATCH).
    pottery.RedisList(redis=client, key=key).sort(key=str)
    values = pottery.RedisList([3, 1, 2], redis=client, key=key)
    values.append(4)
    values.extend([5])
    values.insert(0, 0)
    assert (values[1], values[-1], values[1:3]) == (3, 5, [3, 1])
    values[0] = 9
    del values[0]
    values.remove(4)
    assert (values.index(2), 5 in values, values.count(1)) == (2, True, 1)
    assert (values.pop(), values.pop(0)) == (5, 3)
    values.insert(1, 7)
    values[2:] = [8]
    assert values[:] == [1, 7, 8]
    values[1:] = [2]
    values.sort(reverse=True)
    values.reverse()
    # Rebuilt aside, in a key that starts with the list's, then swapped in.
    values *= 2
    assert decoded_list(admin, key) == [1, 2, 1, 2]
    doubled, copied, joined = values * 2, values.copy(), values + ['x']  # noqa: RUF005
    assert doubled.key.startswith(f'{key}:copy:')
    assert doubled.to_list() == [1, 2] * 4
    assert copied.to_list() == [1, 2] * 2
    assert joined.to_list() == [1, 2, 1, 2, 'x']
    values.sort(key=lambda value: -value)
    assert decoded_list(admin, key) == [2, 2, 1, 1]
    del doubled, copied, joined
    assert keys(admin) == {key}
    values.clear()
    assert not admin.exists(key)


def sync_deque(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    d = pottery.RedisDeque([1, 2, 3], maxlen=4, redis=client, key=key)
    d.appendleft(0)
    d.append(4)
    d.extendleft([9])
    assert d.popleft() == 9
    d.rotate(1)
    assert decoded_list(admin, key) == [3, 1, 2]
    d.rotate(-1)
    d *= 2
    assert decoded_list(admin, key) == [3, 1, 2, 3]
    assert keys(admin) == {key}


def sync_queue(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    q = pottery.RedisSimpleQueue(redis=client, key=key)
    q.put('a')
    q.put('b')
    assert (q.qsize(), q.empty()) == (2, False)
    assert q.get() == 'a'
    assert admin.xlen(key) == 1
    assert q.get() == 'b'
    with pytest.raises(QueueEmptyError):
        q.get(timeout=0.05)
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(q.get(timeout=10)))
    waiter.start()
    time.sleep(0.1)
    q.put('c')
    waiter.join()
    assert got == ['c']
    assert admin.xlen(key) == 0
    assert keys(admin) <= {key, companion(key, 'seen'), companion(key, 'taken'), companion(key, 'due')}
    q.clear()
    assert keys(admin) == set()


def sync_lock(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    lock = pottery.Redlock(key=key, masters=clients)
    other = pottery.Redlock(key=key, masters=clients)
    assert lock.acquire()
    assert [admin.exists(f'redlock:{key}') for admin in admins] == [1, 1, 1]
    assert lock.locked() > 0
    assert other.locked_by_anyone() > 0
    lock.extend()
    assert not other.acquire(blocking=False)
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(other.acquire(timeout=10)))
    waiter.start()
    time.sleep(0.1)
    lock.release()
    waiter.join()
    assert got == [True]
    other.release()

    @pottery.synchronize(key=key, masters=clients)
    def held() -> list[int]:
        return [admin.exists(f'redlock:{key}') for admin in admins]

    assert held() == [1, 1, 1]
    assert [keys(admin) for admin in admins] == [set()] * 3


def sync_fenced_lock(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    lock = pottery.Redlock(key=key, masters=clients, fencing=True)
    tokens = []
    for _ in range(2):
        with lock:
            tokens.append(lock.fencing_token)
    assert tokens == [1, 2]
    fence = f'redlock:{key}:fence{{redlock:{key}}}'
    assert [admin.get(fence) for admin in admins] == [b'2'] * 3
    assert [keys(admin) for admin in admins] == [{fence}] * 3


def sync_ids(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    ids = pottery.NextID(key=key, masters=clients)
    assert [next(ids), next(ids)] == [1, 2]
    assert [admin.get(f'nextid:{key}') for admin in admins] == [b'2'] * 3
    ids.reset()
    assert next(ids) == 1
    # One master: INCR.
    assert next(pottery.NextID(key=key, masters=clients[:1])) == 2
    assert [admin.get(f'nextid:{key}') for admin in admins] == [b'2', b'1', b'1']


def sync_cache(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    calls = []

    @pottery.redis_cache(redis=client, key=key)
    def double(n: int) -> int:
        calls.append(n)
        return n * 2

    assert [double(1), double(1), double(2), double.__bypass__(1)] == [2, 2, 4, 2]
    assert calls == [1, 2, 1]
    assert double.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=2)
    assert sorted(admin.hvals(key)) == [b'2', b'4']
    assert 0 < admin.pttl(key) <= 60_000
    double.cache_clear()
    assert not admin.exists(key)


def sync_cache_entry_ttl(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    calls = []

    @pottery.redis_cache(redis=client, key=key, entry_ttl=0.05)
    def double(n: int) -> int:
        calls.append(n)
        return n * 2

    assert double(1) == 2
    time.sleep(0.1)
    # Expired: computed again.
    assert [double(1), double(2), double(1)] == [2, 4, 2]
    assert calls == [1, 1, 2]
    assert all(value.startswith(b'@') for value in cast(list[bytes], admin.hvals(key)))


def sync_cache_stampede(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    calls = []

    @pottery.redis_cache(redis=client, key=key, stampede_protection=True)
    def slow(n: int) -> int:
        calls.append(n)
        time.sleep(0.3)
        return n

    got: list[int] = []
    callers = [threading.Thread(target=lambda: got.append(slow(7))) for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert (got, calls) == ([7, 7, 7], [7])
    assert keys(admin) == {key}
    assert admin.hvals(key) == [b'7']


def sync_cached_dict(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    admin.hset(key, '"a"', '1')
    cached = pottery.CachedOrderedDict(redis_client=client, redis_key=key, dict_keys=['a', 'b'])
    assert cached['a'] == 1
    assert cached.misses() == {'b'}
    cached['b'] = 2
    cached.update({'c': 3})
    assert cached.setdefault('d', 4) == 4
    assert decoded_hash(admin, key) == {'a': 1, 'b': 2, 'c': 3, 'd': 4}
    assert not pottery.CachedOrderedDict(redis_client=client, redis_key=key)


def sync_bloom(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    bloom = pottery.BloomFilter({'a'}, num_elements=1000, false_positives=0.01, redis=client, key=key)
    bloom.add('b')
    bloom.update(['c', 'd'])
    assert 'a' in bloom
    # Tested on the server, then (many values) by the client on the bitmap.
    assert list(bloom.contains_many('b', 'c')) == [True, True]
    assert list(bloom.contains_many(*'abcd', *map(str, range(20))))[:4] == [True] * 4
    assert 3 <= len(bloom) <= 4
    assert admin.bitcount(key) > 0
    bloom.clear()
    assert not admin.exists(key)


def sync_hyperloglog(clients: list[redis.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    other = f'{key}-other'
    hll = pottery.HyperLogLog({'a', 'b'}, redis=client, key=key)
    hll.add('c')
    assert len(hll) == 3
    assert 'a' in hll
    assert list(hll.contains_many('b', 'zz')) == [True, False]
    # Merged on this server, and copied over from another one.
    near = pottery.HyperLogLog({'d'}, redis=client, key=other)
    far = pottery.HyperLogLog({'e'}, redis=clients[1], key=other)
    hll.update(near, far, ['f'])
    assert len(hll) == 6
    union = hll.union(['g'])
    assert len(union) == 7
    assert keys(admin) == {key, other, union.key}
    del union
    assert keys(admin) == {key, other}


# --- the same, async ---------------------------------------------------------------------------


async def async_dict(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    d = await pottery_async.RedisDict({'a': 1}, redis=client, key=key)
    await d.setitem('b', 2)
    await d.update({'c': 3}, e=5)
    assert await d.getitem('a') == 1
    assert await d.get('x') is None
    assert await d.contains('b')
    assert await d.len() == 4
    assert ordered([k async for k in d]) == ['a', 'b', 'c', 'e']
    assert await d.pop('e') == 5
    assert await d.setdefault('f', 6) == 6
    popped, _ = await d.popitem()
    expected: dict[Any, int] = {'a': 1, 'b': 2, 'c': 3, 'f': 6}
    del expected[popped]
    assert await d.to_dict() == expected == decoded_hash(admin, key)
    with pytest.raises(KeyExistsError):
        await pottery_async.RedisDict({'z': 0}, redis=client, key=key)
    await d.clear()
    assert not admin.exists(key)
    admin.set(key, 'not a hash')
    with pytest.raises(WrongTypeError, match='holds a string'):
        await d.getitem('a')


async def async_counter(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    c = await pottery_async.RedisCounter('abracadabra', redis=client, key=key)
    await c.update('aa')
    await c.subtract({'b': 1})
    await c.update({'z': 0.5})
    with pytest.raises(TypeError):
        await c.update({'a': 'text'})
    await c.isub(collections.Counter(r=1))
    await c.delitem('d')
    assert await c.getitem('a') == 7
    assert await c.most_common(1) == [('a', 7)]
    assert decoded_hash(admin, key) == {'a': 7, 'b': 1, 'r': 1, 'c': 1, 'z': 0.5}
    await c.clear()
    assert not admin.exists(key)


async def async_set(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    s = await pottery_async.RedisSet({1, 2, 3}, redis=client, key=key)
    t = await pottery_async.RedisSet({3, 4}, redis=client, key=f'{key}-other')
    await s.add(5)
    await s.discard(1)
    await s.remove(2)
    assert await s.contains(3)
    assert list(await s.contains_many(3, 9)) == [True, False]
    assert await s.len() == 2
    assert ordered([m async for m in s]) == [3, 5]
    assert (await s.or_(t), await s.and_(t), await s.sub(t), await s.xor(t)) == ({3, 4, 5}, {3}, {5}, {4, 5})
    assert await s.isdisjoint({7})
    assert not await s.le(t)
    await s.update(t)
    await s.difference_update({4})
    await s.symmetric_difference_update([9])
    await s.intersection_update([3, 5, 7])
    assert decoded_set(admin, key) == {3, 5}
    await s.difference_update(t)
    await s.symmetric_difference_update(t)
    await s.intersection_update(t)
    assert decoded_set(admin, key) == {3, 4}
    popped = await s.pop()
    assert await s.to_set() == {3, 4} - {popped} == decoded_set(admin, key)
    await s.clear()
    assert keys(admin) == {f'{key}-other'}


async def async_list(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    await pottery_async.RedisList(redis=client, key=key).sort(key=str)
    values = await pottery_async.RedisList([3, 1, 2], redis=client, key=key)
    await values.append(4)
    await values.extend([5])
    await values.insert(0, 0)
    assert await values.getitem(1) == 3
    assert await values.getitem(slice(1, 3)) == [3, 1]
    await values.setitem(0, 9)
    await values.delitem(0)
    await values.remove(4)
    assert (await values.index(2), await values.contains(5), await values.count(1)) == (2, True, 1)
    assert (await values.pop(), await values.pop(0)) == (5, 3)
    await values.insert(1, 7)
    await values.setitem(slice(2, None), [8])
    assert await values.getitem(slice(None)) == [1, 7, 8]
    await values.setitem(slice(1, None), [2])
    await values.sort(reverse=True)
    await values.reverse()
    await values.imul(2)
    assert decoded_list(admin, key) == [1, 2, 1, 2]
    doubled, copied, joined = await values.mul(2), await values.copy(), await values.plus(['x'])
    assert doubled.key.startswith(f'{key}:copy:')
    assert await doubled.to_list() == [1, 2] * 4
    assert await copied.to_list() == [1, 2] * 2
    assert await joined.to_list() == [1, 2, 1, 2, 'x']
    await values.sort(key=lambda value: -value)
    assert decoded_list(admin, key) == [2, 2, 1, 1]
    del doubled, copied, joined
    await settle(lambda: keys(admin) == {key})
    await values.clear()
    assert not admin.exists(key)


async def async_deque(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    d = await pottery_async.RedisDeque([1, 2, 3], maxlen=4, redis=client, key=key)
    await d.appendleft(0)
    await d.append(4)
    await d.extendleft([9])
    assert await d.popleft() == 9
    await d.rotate(1)
    assert decoded_list(admin, key) == [3, 1, 2]
    await d.rotate(-1)
    await d.imul(2)
    assert decoded_list(admin, key) == [3, 1, 2, 3]
    assert keys(admin) == {key}


async def async_queue(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    q = pottery_async.RedisSimpleQueue(redis=client, key=key)
    await q.put('a')
    await q.put('b')
    assert (await q.qsize(), await q.empty()) == (2, False)
    assert await q.get() == 'a'
    assert admin.xlen(key) == 1
    assert await q.get() == 'b'
    with pytest.raises(QueueEmptyError):
        await q.get(timeout=0.05)
    waiter = asyncio.create_task(q.get(timeout=10))
    await asyncio.sleep(0.1)
    await q.put('c')
    assert await waiter == 'c'
    assert admin.xlen(key) == 0
    assert keys(admin) <= {key, companion(key, 'seen'), companion(key, 'taken'), companion(key, 'due')}
    await q.clear()
    assert keys(admin) == set()


async def async_lock(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    lock = pottery_async.AIORedlock(key=key, masters=clients)
    other = pottery_async.AIORedlock(key=key, masters=clients)
    assert await lock.acquire()
    assert [admin.exists(f'redlock:{key}') for admin in admins] == [1, 1, 1]
    assert await lock.locked() > 0
    assert await other.locked_by_anyone() > 0
    await lock.extend()
    assert not await other.acquire(blocking=False)
    waiter = asyncio.create_task(other.acquire(timeout=10))
    await asyncio.sleep(0.1)
    await lock.release()
    assert await waiter
    await other.release()

    @pottery_async.synchronize(key=key, masters=clients)
    async def held() -> list[int]:
        return [admin.exists(f'redlock:{key}') for admin in admins]

    assert await held() == [1, 1, 1]
    assert [keys(admin) for admin in admins] == [set()] * 3


async def async_fenced_lock(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    lock = pottery_async.AIORedlock(key=key, masters=clients, fencing=True)
    tokens = []
    for _ in range(2):
        async with lock:
            tokens.append(lock.fencing_token)
    assert tokens == [1, 2]
    fence = f'redlock:{key}:fence{{redlock:{key}}}'
    assert [admin.get(fence) for admin in admins] == [b'2'] * 3
    assert [keys(admin) for admin in admins] == [{fence}] * 3


async def async_ids(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    ids = pottery_async.AIONextID(key=key, masters=clients)
    assert [await anext(ids), await anext(ids)] == [1, 2]
    assert [admin.get(f'nextid:{key}') for admin in admins] == [b'2'] * 3
    await ids.reset()
    assert await anext(ids) == 1
    assert await anext(pottery_async.AIONextID(key=key, masters=clients[:1])) == 2
    assert [admin.get(f'nextid:{key}') for admin in admins] == [b'2', b'1', b'1']


async def async_cache(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    calls = []

    @pottery_async.redis_cache(redis=client, key=key)
    async def double(n: int) -> int:
        calls.append(n)
        return n * 2

    assert [await double(1), await double(1), await double(2), await double.__bypass__(1)] == [2, 2, 4, 2]
    assert calls == [1, 2, 1]
    assert await double.cache_info() == CacheInfo(hits=1, misses=2, maxsize=None, currsize=2)
    assert sorted(admin.hvals(key)) == [b'2', b'4']
    assert 0 < admin.pttl(key) <= 60_000
    await double.cache_clear()
    assert not admin.exists(key)


async def async_cache_entry_ttl(
    clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str,
) -> None:
    client, admin = clients[0], admins[0]
    calls = []

    @pottery_async.redis_cache(redis=client, key=key, entry_ttl=0.05)
    async def double(n: int) -> int:
        calls.append(n)
        return n * 2

    assert await double(1) == 2
    await asyncio.sleep(0.1)
    assert [await double(1), await double(2), await double(1)] == [2, 4, 2]
    assert calls == [1, 1, 2]
    assert all(value.startswith(b'@') for value in cast(list[bytes], admin.hvals(key)))


async def async_cache_stampede(
    clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str,
) -> None:
    client, admin = clients[0], admins[0]
    calls = []

    @pottery_async.redis_cache(redis=client, key=key, stampede_protection=True)
    async def slow(n: int) -> int:
        calls.append(n)
        await asyncio.sleep(0.3)
        return n

    assert (list(await asyncio.gather(slow(7), slow(7), slow(7))), calls) == ([7, 7, 7], [7])
    assert keys(admin) == {key}
    assert admin.hvals(key) == [b'7']


async def async_cached_dict(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    admin.hset(key, '"a"', '1')
    cached = await pottery_async.CachedOrderedDict(redis_client=client, redis_key=key, dict_keys=['a', 'b'])
    assert cached['a'] == 1
    assert cached.misses() == {'b'}
    await cached.setitem('b', 2)
    await cached.update({'c': 3})
    assert await cached.setdefault('d', 4) == 4
    assert decoded_hash(admin, key) == {'a': 1, 'b': 2, 'c': 3, 'd': 4}
    assert not await pottery_async.CachedOrderedDict(redis_client=client, redis_key=key)


async def async_bloom(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    bloom = await pottery_async.BloomFilter(
        {'a'}, num_elements=1000, false_positives=0.01, redis=client, key=key,
    )
    await bloom.add('b')
    await bloom.update(['c', 'd'])
    assert await bloom.contains('a')
    assert list(await bloom.contains_many('b', 'c')) == [True, True]
    assert list(await bloom.contains_many(*'abcd', *map(str, range(20))))[:4] == [True] * 4
    assert 3 <= await bloom.len() <= 4
    assert admin.bitcount(key) > 0
    await bloom.clear()
    assert not admin.exists(key)


async def async_hyperloglog(clients: list[redis.asyncio.Redis], admins: list[redis.Redis], key: str) -> None:
    client, admin = clients[0], admins[0]
    other = f'{key}-other'
    hll = await pottery_async.HyperLogLog({'a', 'b'}, redis=client, key=key)
    await hll.add('c')
    assert await hll.len() == 3
    assert await hll.contains('a')
    assert list(await hll.contains_many('b', 'zz')) == [True, False]
    near = await pottery_async.HyperLogLog({'d'}, redis=client, key=other)
    far = await pottery_async.HyperLogLog({'e'}, redis=clients[1], key=other)
    await hll.update(near, far, ['f'])
    assert await hll.len() == 6
    union = await hll.union(['g'])
    assert await union.len() == 7
    assert keys(admin) == {key, other, union.key}
    del union
    await settle(lambda: keys(admin) == {key, other})


@dataclasses.dataclass(frozen=True)
class Case:
    'A structure as one row (and options) of the table describes it, and its typical use in both APIs.'

    structure: str
    options: tuple[str, ...]
    key: str
    use: Callable[[list[redis.Redis], list[redis.Redis], str], None]
    ause: Callable[[list[redis.asyncio.Redis], list[redis.Redis], str], Awaitable[None]]
    # Keys it reads besides its own (the other structures it is used with).
    extra: tuple[str, ...] = ()


CASES = {
    'dict': Case('RedisDict', (), 'd', sync_dict, async_dict),
    'counter': Case('RedisCounter', (), 'c', sync_counter, async_counter),
    'set': Case('RedisSet', (), 's', sync_set, async_set, extra=('~<key>-other',)),
    'list': Case('RedisList', (), 'l', sync_list, async_list),
    'deque': Case('RedisDeque', (), 'dq', sync_deque, async_deque),
    'queue': Case('RedisSimpleQueue', (), 'q', sync_queue, async_queue),
    'lock': Case('Redlock', (), 'printer', sync_lock, async_lock),
    'fenced lock': Case('Redlock', ('fencing=True',), 'ledger', sync_fenced_lock, async_fenced_lock),
    'ids': Case('NextID', (), 'ids', sync_ids, async_ids),
    'cache': Case('redis_cache()', (), 'cache', sync_cache, async_cache),
    'cache entry_ttl': Case(
        'redis_cache()', ('entry_ttl',), 'cache', sync_cache_entry_ttl, async_cache_entry_ttl,
    ),
    'cache stampede': Case(
        'redis_cache()', ('stampede_protection=True',), 'cache', sync_cache_stampede, async_cache_stampede,
    ),
    'cached dict': Case('CachedOrderedDict', (), 'cod', sync_cached_dict, async_cached_dict),
    'bloom': Case('BloomFilter', (), 'bf', sync_bloom, async_bloom),
    'hyperloglog': Case(
        'HyperLogLog', (), 'h', sync_hyperloglog, async_hyperloglog, extra=('~<key>-other', '~pottery:*'),
    ),
}


def case_rules(case: Case, key: str) -> list[str]:
    extra = [rule.replace('<key>', key) for rule in case.extra]
    return [*rules(case.structure, *case.options, key=key), *extra]


@pytest.mark.parametrize('name', CASES)
def test_restricted_user(
    name: str, login: Callable[[list[str]], list[redis.Redis]], admins: list[redis.Redis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger='pottery_async')
    case = CASES[name]
    case.use(login(case_rules(case, case.key)), admins, case.key)
    assert 'Wake-ups are off' not in caplog.text


@pytest.mark.parametrize('name', CASES)
async def test_restricted_user_async(
    name: str, alogin: Callable[[list[str]], list[redis.asyncio.Redis]], admins: list[redis.Redis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger='pottery_async')
    case = CASES[name]
    await case.ause(alogin(case_rules(case, case.key)), admins, case.key)
    assert 'Wake-ups are off' not in caplog.text


# The keys of each case under the app user's prefix: locks and ID generators
# named app:..., the rest under app:.
APP_KEYS = {name: f'app:{case.key}' for name, case in CASES.items()}


def test_the_app_user_runs_everything(
    login: Callable[[list[str]], list[redis.Redis]], admins: list[redis.Redis],
) -> None:
    clients = login(app_line()[2:])
    for name, case in CASES.items():
        case.use(clients, admins, APP_KEYS[name])
        for admin in admins:
            admin.flushall()


async def test_the_app_user_runs_everything_async(
    alogin: Callable[[list[str]], list[redis.asyncio.Redis]], admins: list[redis.Redis],
) -> None:
    clients = alogin(app_line()[2:])
    for name, case in CASES.items():
        await case.ause(clients, admins, APP_KEYS[name])
        for admin in admins:
            admin.flushall()


# --- wake-up channels: woken with them, polling without ---------------------------------------


def test_lock_waiters_are_woken(
    login: Callable[[list[str]], list[redis.Redis]], admins: list[redis.Redis], no_recheck: None,
) -> None:
    clients = login(rules('Redlock', key='printer'))
    holder, waiter = (pottery.Redlock(key='printer', masters=clients) for _ in range(2))
    assert holder.acquire()
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(waiter.acquire(timeout=8)))
    thread.start()
    assert eventually(lambda: all(subscribers(admin, 'redlock:printer') == 1 for admin in admins))
    holder.release()
    thread.join()
    # Only a wake-up could let it in within 8 s: no recheck, a 10 s lease.
    assert got == [True]
    waiter.release()


def test_lock_without_channels_polls(
    login: Callable[[list[str]], list[redis.Redis]], admins: list[redis.Redis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger='pottery_async')
    clients = login(rules('Redlock', key='printer', channels=False))
    holder, waiter = (pottery.Redlock(key='printer', masters=clients) for _ in range(2))
    assert holder.acquire()
    got: list[float] = []

    def wait() -> None:
        assert waiter.acquire(timeout=8)
        got.append(time.monotonic())

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.3)
    released = time.monotonic()
    holder.release()
    thread.join()
    # Polled for: within a poll or two.
    assert got[0] - released < 1.0
    assert [admin.exists('redlock:printer') for admin in admins] == [1, 1, 1]
    waiter.release()
    said = [record.getMessage() for record in caplog.records if 'Wake-ups are off' in record.getMessage()]
    assert len(said) == 3, said
    # Naming what the server refused, and the permission that is missing.
    for text in said:
        assert 'no permissions' in text, text
        assert 'ACL SETUSER ... &redlock:printer,' in text, text


async def test_cache_waiters_are_woken(
    alogin: Callable[[list[str]], list[redis.asyncio.Redis]], admins: list[redis.Redis], no_recheck: None,
) -> None:
    (client, *_) = alogin(rules('redis_cache()', 'stampede_protection=True', key='cache'))
    lock = f'cache:lock:{pottery_async.cache._entry_id((7,), {})}{{cache}}'
    calls = []

    @pottery_async.redis_cache(redis=client, key='cache', stampede_protection=True)
    async def slow(n: int) -> int:
        calls.append(n)
        # Held while the others wait on the lock's channel.
        await settle(lambda: subscribers(admins[0], lock) == 1)
        return n

    started = time.monotonic()
    assert list(await asyncio.gather(slow(7), slow(7), slow(7))) == [7, 7, 7]
    # Woken: without a recheck, the waiters would wait out the 10 s lease.
    assert time.monotonic() - started < 5
    assert calls == [7]


async def test_cache_without_channels_polls(
    alogin: Callable[[list[str]], list[redis.asyncio.Redis]], admins: list[redis.Redis],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger='pottery_async')
    (client, *_) = alogin(rules('redis_cache()', 'stampede_protection=True', key='cache', channels=False))
    calls = []

    @pottery_async.redis_cache(redis=client, key='cache', stampede_protection=True)
    async def slow(n: int) -> int:
        calls.append(n)
        await asyncio.sleep(0.3)
        return n

    assert list(await asyncio.gather(slow(7), slow(7), slow(7))) == [7, 7, 7]
    assert calls == [7]
    assert keys(admins[0]) == {'cache'}
    said = [record.getMessage() for record in caplog.records if 'Wake-ups are off' in record.getMessage()]
    lock = f'cache:lock:{pottery_async.cache._entry_id((7,), {})}{{cache}}'
    assert len(said) == 1, said
    assert f'ACL SETUSER ... &{lock},' in said[0]


# --- a key pattern missing: a clear error, nothing changed ---------------------------------------


def test_fencing_without_the_counter_key_pattern(
    login: Callable[[list[str]], list[redis.Redis]], admins: list[redis.Redis],
) -> None:
    clients = login([*rules('Redlock', key='ledger'), '+incr'])
    lock = pottery.Redlock(key='ledger', masters=clients, fencing=True)
    with pytest.raises(redis.exceptions.NoPermissionError, match='key'):
        lock.acquire(timeout=5)
    assert [keys(admin) for admin in admins] == [set()] * 3


async def test_stampede_protection_without_the_lock_key_pattern(
    alogin: Callable[[list[str]], list[redis.asyncio.Redis]], admins: list[redis.Redis],
) -> None:
    (client, *_) = alogin([*rules('redis_cache()', key='cache'), '+set', '+get', '+del', '+pttl'])
    admins[0].hset('cache', 'old', '1')
    calls = []

    @pottery_async.redis_cache(redis=client, key='cache', stampede_protection=True)
    async def double(n: int) -> int:
        calls.append(n)
        return n * 2

    with pytest.raises(redis.exceptions.NoPermissionError, match='key'):
        await double(1)
    assert calls == []
    assert keys(admins[0]) == {'cache'}
    assert admins[0].hgetall('cache') == {b'old': b'1'}


def test_list_rebuild_without_the_companion_key_pattern(
    login: Callable[[list[str]], list[redis.Redis]], admins: list[redis.Redis],
) -> None:
    user_rules = [rule for rule in rules('RedisList', key='l') if rule != '~l:*']
    values = pottery.RedisList([1, 2], redis=login(user_rules)[0], key='l')
    with pytest.raises(redis.exceptions.NoPermissionError, match='key'):
        values *= 2
    assert decoded_list(admins[0], 'l') == [1, 2]
    assert keys(admins[0]) == {'l'}


# --- a command missing: a clear error, nothing changed ----------------------------------------


def test_without_eval_the_first_script_call_fails(
    login: Callable[[list[str]], list[redis.Redis]], admins: list[redis.Redis],
) -> None:
    'EVALSHA alone is not enough: a server that does not have a script yet is sent it with EVAL.'
    admins[0].script_flush()
    user_rules = [rule for rule in rules('RedisDict', key='d') if rule != '+eval']
    with pytest.raises(redis.exceptions.NoPermissionError, match='eval'):
        pottery.RedisDict({'a': 1}, redis=login(user_rules)[0], key='d')
    assert keys(admins[0]) == set()


def test_fencing_without_incr(
    login: Callable[[list[str]], list[redis.Redis]], admins: list[redis.Redis],
) -> None:
    'A command a script calls is checked too: the lock is let go again, and the server\'s error raised.'
    user_rules = [rule for rule in rules('Redlock', 'fencing=True', key='ledger') if rule != '+incr']
    lock = pottery.Redlock(key='ledger', masters=login(user_rules), fencing=True)
    with pytest.raises(redis.exceptions.ResponseError, match='the lock was not taken'):
        lock.acquire(timeout=5)
    assert [keys(admin) for admin in admins] == [set()] * 3
