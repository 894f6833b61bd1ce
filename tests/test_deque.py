"""RedisDeque through both APIs, against a real server."""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import functools
import itertools
import subprocess
import sys
import time
import warnings

import pytest
import redis
import redis.asyncio

import pottery_async
from pottery_async.exceptions import InefficientAccessWarning, KeyExistsError
from pottery_async.sync import RedisDeque, RedisList
from tests.helpers import in_threads, lrange, stored, untyped
from tests.server_checks import sent_commands, temporaries_deleted

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')


# --- the sync API: everything collections.deque offers ----------------------


def test_is_a_redis_list_and_a_mutable_sequence(redis_client: redis.Redis) -> None:
    d = RedisDeque(redis=redis_client, key='d')
    assert isinstance(d, RedisList)
    assert isinstance(d, collections.abc.MutableSequence)
    assert isinstance(d, pottery_async.sync.RedisDeque)


def test_seed_example(redis_client: redis.Redis, capsys: pytest.CaptureFixture[str]) -> None:
    d = RedisDeque('ghi', redis=redis_client, key='letters')
    for elem in d:
        print(str(elem).upper())
    assert capsys.readouterr().out == 'G\nH\nI\n'
    d.append('j')
    d.appendleft('f')
    assert repr(d) == "RedisDeque(['f', 'g', 'h', 'i', 'j'])"
    assert d.pop() == 'j'
    assert d.popleft() == 'f'
    assert list(d) == ['g', 'h', 'i']
    assert d[0] == 'g'
    assert d[-1] == 'i'
    assert list(reversed(d)) == ['i', 'h', 'g']
    assert 'h' in d
    d.extend('jkl')
    assert repr(d) == "RedisDeque(['g', 'h', 'i', 'j', 'k', 'l'])"
    d.rotate(1)
    assert repr(d) == "RedisDeque(['l', 'g', 'h', 'i', 'j', 'k'])"
    d.rotate(-1)
    assert repr(d) == "RedisDeque(['g', 'h', 'i', 'j', 'k', 'l'])"
    assert repr(RedisDeque(reversed(d), redis=redis_client)) == "RedisDeque(['l', 'k', 'j', 'i', 'h', 'g'])"
    d.clear()
    d.extendleft('abc')
    assert repr(d) == "RedisDeque(['c', 'b', 'a'])"
    assert stored(redis_client, 'letters') == ['c', 'b', 'a']


@pytest.mark.parametrize('maxlen', [None, 0, 1, 3, 5])
def test_adds_at_both_ends_like_collections_deque(redis_client: redis.Redis, maxlen: int | None) -> None:
    ours = RedisDeque([1, 2], maxlen=maxlen, redis=redis_client, key=f'd{maxlen}')
    python = collections.deque([1, 2], maxlen=maxlen)
    steps = [
        ('append', 'a'), ('appendleft', 'b'), ('extend', 'cdefg'), ('extendleft', 'hi'),
        ('extend', ''), ('append', 'j'), ('extendleft', 'klmnopq'), ('appendleft', 'r'),
    ]
    for method, argument in steps:
        getattr(ours, method)(argument)
        getattr(python, method)(argument)
        assert stored(redis_client, f'd{maxlen}') == list(python), (method, argument)
        assert len(ours) == len(python)
    assert ours.maxlen == maxlen


def test_rotate_like_collections_deque(redis_client: redis.Redis) -> None:
    for length, n in itertools.product(range(6), [0, 1, 2, 3, -1, -2, -4, 7, -11, 10**12 + 3]):
        redis_client.delete('d')
        ours = RedisDeque(range(length), redis=redis_client, key='d')
        python = collections.deque(range(length))
        ours.rotate(n)
        python.rotate(n)
        assert stored(redis_client, 'd') == list(python), (length, n)
    ours = RedisDeque(range(5), redis=redis_client, key='r')
    ours.rotate()
    assert stored(redis_client, 'r') == [4, 0, 1, 2, 3]
    ours.rotate(10**40 + 2)
    assert stored(redis_client, 'r') == [2, 3, 4, 0, 1]
    ours.rotate(-(10**40) - 2)
    assert stored(redis_client, 'r') == [4, 0, 1, 2, 3]
    with pytest.raises(TypeError):
        ours.rotate(untyped(1.5))


def test_pop_index_insert_remove(redis_client: redis.Redis) -> None:
    d = RedisDeque('abc', redis=redis_client, key='d')
    with pytest.raises(IndexError, match='deque index out of range'):
        d[3]
    with pytest.raises(IndexError, match='deque assignment index out of range'):
        d[-4] = 'x'
    with pytest.raises(TypeError, match='deque indices must be integers or slices, not str'):
        d[untyped('a')]
    d.insert(1, 'x')
    d[0] = 'A'
    del d[-1]
    assert stored(redis_client, 'd') == ['A', 'x', 'b']
    assert d.index('b') == 2
    assert d.count('x') == 1
    d.remove('x')
    with pytest.raises(ValueError, match=r'RedisDeque.remove\(x\): x not in RedisDeque'):
        d.remove('x')
    with pytest.raises(ValueError, match="'x' is not in RedisDeque"):
        d.index('x')
    d.reverse()
    assert stored(redis_client, 'd') == ['b', 'A']
    assert d.popleft() == 'b'
    assert d.pop() == 'A'
    with pytest.raises(IndexError, match='pop from an empty RedisDeque'):
        d.pop()
    with pytest.raises(IndexError, match='pop from an empty RedisDeque'):
        d.popleft()
    assert not redis_client.exists('d')


def test_maxlen_is_checked_and_read_only(redis_client: redis.Redis) -> None:
    with pytest.raises(TypeError, match='an integer is required'):
        RedisDeque(maxlen=untyped('3'), redis=redis_client, key='d')
    with pytest.raises(TypeError, match='an integer is required'):
        RedisDeque(maxlen=untyped(1.5), redis=redis_client, key='d')
    with pytest.raises(ValueError, match='maxlen must be non-negative'):
        RedisDeque(maxlen=-1, redis=redis_client, key='d')
    d = RedisDeque(maxlen=2, redis=redis_client, key='d')
    with pytest.raises(AttributeError):
        untyped(d).maxlen = 3
    assert d.maxlen == 2
    assert RedisDeque(redis=redis_client, key='d').maxlen is None
    assert not redis_client.exists('d')


def test_initial_contents_keep_the_last_maxlen(redis_client: redis.Redis) -> None:
    d = RedisDeque(range(10), maxlen=3, redis=redis_client, key='d')
    assert stored(redis_client, 'd') == [7, 8, 9]
    assert repr(d) == 'RedisDeque([7, 8, 9], maxlen=3)'
    with pytest.raises(KeyExistsError):
        RedisDeque('abc', maxlen=0, redis=redis_client, key='d')
    assert stored(redis_client, 'd') == [7, 8, 9]


def test_existing_list_longer_than_maxlen_raises(redis_client: redis.Redis) -> None:
    redis_client.rpush('d', '1', '2', '3')
    with pytest.raises(IndexError, match='persistent RedisDeque beyond its maximum size'):
        RedisDeque(maxlen=2, redis=redis_client, key='d')
    assert lrange(redis_client, 'd') == [b'1', b'2', b'3']
    assert RedisDeque(maxlen=3, redis=redis_client, key='d').to_list() == [1, 2, 3]


def test_full_deque_refuses_growth_elsewhere(redis_client: redis.Redis) -> None:
    d = RedisDeque('abc', maxlen=3, redis=redis_client, key='d')
    with pytest.raises(IndexError, match='RedisDeque already at its maximum size'):
        d.insert(1, 'x')
    with pytest.raises(IndexError, match='maximum size'):
        d[1:2] = ['x', 'y']
    assert stored(redis_client, 'd') == ['a', 'b', 'c']
    d[1:3] = ['x']
    d.insert(0, 'y')
    assert stored(redis_client, 'd') == ['y', 'a', 'x']


def test_operators_keep_maxlen(redis_client: redis.Redis) -> None:
    d = RedisDeque([1, 2, 3], maxlen=4, redis=redis_client, key='d')
    python = collections.deque([1, 2, 3], maxlen=4)
    total = d + [4, 5]  # noqa: RUF005
    assert isinstance(total, RedisDeque)
    assert total.maxlen == 4
    assert list(total) == list(python + collections.deque([4, 5])) == [2, 3, 4, 5]
    assert list(d * 3) == list(python * 3)
    assert list(2 * d) == list(2 * python)
    assert (d * 10**12).to_list() == list(python * 1000)
    copy = d.copy()
    assert isinstance(copy, RedisDeque)
    assert copy.maxlen == 4
    assert copy == collections.deque([1, 2, 3])
    d += [4, 5]
    python += [4, 5]
    assert stored(redis_client, 'd') == list(python)
    d *= 3
    python *= 3
    assert stored(redis_client, 'd') == list(python)
    unbounded = RedisDeque('ab', redis=redis_client, key='u')
    unbounded *= 2
    assert stored(redis_client, 'u') == ['a', 'b', 'a', 'b']


def test_equality_and_repr(redis_client: redis.Redis) -> None:
    d = RedisDeque('ab', maxlen=5, redis=redis_client, key='d')
    assert d == collections.deque('ab')
    assert d == collections.deque('ab', maxlen=2)
    assert d != ['a', 'b']
    assert d != RedisList('ab', redis=redis_client, key='l')
    assert d == RedisDeque(redis=redis_client, key='d')
    assert d == RedisDeque('ab', redis=redis_client, key='other')
    assert d < collections.deque('b')
    assert repr(d) == "RedisDeque(['a', 'b'], maxlen=5)"
    assert repr(RedisDeque(redis=redis_client, key='none')) == 'RedisDeque([])'
    assert not RedisDeque(redis=redis_client, key='none')
    assert d


def test_single_commands(redis_client: redis.Redis, url: str) -> None:
    unbounded = RedisDeque(redis=redis_client, key='u')
    bounded = RedisDeque(maxlen=2, redis=redis_client, key='b')
    bounded.append(0)  # the bridge client is connected and the scripts loaded
    bounded.rotate(1)
    with sent_commands(url) as sent:
        unbounded.append(1)
        unbounded.appendleft(2)
        unbounded.extend([3, 4])
        unbounded.extendleft([5, 6])
        assert unbounded.pop() == 4
        assert unbounded.popleft() == 6
    assert [command.split()[0] for command in sent] == ['RPUSH', 'LPUSH', 'RPUSH', 'LPUSH', 'RPOP', 'LPOP']
    with sent_commands(url) as sent:
        bounded.append(1)
        bounded.appendleft(2)
        bounded.extend([3, 4, 5])
        bounded.extendleft([6])
        bounded.rotate(1)
        assert bounded.pop() == 6
        assert bounded.popleft() == 4
    assert [command.split()[0] for command in sent] == ['EVALSHA'] * 5 + ['RPOP', 'LPOP']
    # Of extend([3, 4, 5]) only what can remain is sent.
    assert sent[2].endswith(' R 2 4 5')


def test_warns_on_slow_paths_only(redis_client: redis.Redis) -> None:
    d = RedisDeque(range(10), redis=redis_client, key='d')
    with pytest.warns(InefficientAccessWarning):
        d.rotate(3)
    with pytest.warns(InefficientAccessWarning):
        repr(d)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        d.rotate(1)
        d.rotate(-1)
        d.append(1)
        d.appendleft(1)
        d.extend([1, 2])
        d.extendleft([1, 2])
        d.pop()
        d.popleft()


# --- concurrency: maxlen holds with writers at both ends ---------------------

WRITER = '''
import sys
import redis
import pottery_async.sync as pottery
url, key, who = sys.argv[1:]
d = pottery.RedisDeque(maxlen=20, redis=url, key=key)
redis.Redis.from_url(url).blpop(key + ':go', timeout=60)
for i in range(500):
    if i % 4 == 0:
        d.append(f'{who}:{i}')
    elif i % 4 == 1:
        d.appendleft(f'{who}:{i}')
    elif i % 4 == 2:
        d.extend([f'{who}:{i}a', f'{who}:{i}b'])
    else:
        d.extendleft([f'{who}:{i}a', f'{who}:{i}b', f'{who}:{i}c'])
'''


def test_concurrent_writers_at_both_ends_never_exceed_maxlen(redis_client: redis.Redis, url: str) -> None:
    writers = [
        subprocess.Popen([sys.executable, '-c', WRITER, url, 'shared', str(who)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for who in range(4)
    ]
    try:
        # Start them together: wait until all four block on the go signal.
        deadline = time.monotonic() + 60
        while int(redis_client.info('clients')['blocked_clients']) < 4:
            assert time.monotonic() < deadline, 'the writers did not start'
            assert all(w.poll() is None for w in writers), [w.communicate() for w in writers]
            time.sleep(0.01)
        redis_client.rpush('shared:go', *'abcd')
        longest = samples = 0
        while any(w.poll() is None for w in writers):
            longest = max(longest, int(redis_client.llen('shared')))
            samples += 1
        for writer in writers:
            _, err = writer.communicate()
            assert writer.returncode == 0, err
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
    assert samples > 0
    assert 0 < longest <= 20
    final = stored(redis_client, 'shared')
    assert len(final) == 20
    assert all(isinstance(item, str) and item.split(':')[0] in '0123' for item in final)


def test_concurrent_threads_share_one_deque(redis_client: redis.Redis) -> None:
    d = RedisDeque(maxlen=10, redis=redis_client, key='threads')

    def write(who: int) -> None:
        for i in range(200):
            (d.append if i % 2 else d.appendleft)(f'{who}:{i}')
            assert len(d) <= 10

    assert in_threads(*(functools.partial(write, who) for who in range(4))) == []
    assert redis_client.llen('threads') == 10


# --- bad input: a clear error, and nothing on the server changes ------------


# --- the async API -----------------------------------------------------------


async def test_async_api(aredis: redis.asyncio.Redis) -> None:
    d = await pottery_async.RedisDeque('ghi', redis=aredis, key='letters')
    assert [elem async for elem in d] == ['g', 'h', 'i']
    await d.append('j')
    await d.appendleft('f')
    assert await d.repr() == "RedisDeque(['f', 'g', 'h', 'i', 'j'])"
    assert await d.pop() == 'j'
    assert await d.popleft() == 'f'
    assert await d.getitem(0) == 'g'
    assert await d.getitem(-1) == 'i'
    assert [elem async for elem in d.reversed()] == ['i', 'h', 'g']
    assert await d.contains('h')
    await d.extend('jkl')
    await d.rotate(1)
    assert await d.to_list() == ['l', 'g', 'h', 'i', 'j', 'k']
    await d.rotate(-1)
    backwards = await pottery_async.RedisDeque(d.reversed(), redis=aredis)
    assert await backwards.repr() == "RedisDeque(['l', 'k', 'j', 'i', 'h', 'g'])"
    await d.clear()
    await d.extendleft('abc')
    assert await d.repr() == "RedisDeque(['c', 'b', 'a'])"
    assert await d.eq(collections.deque('cba'))
    bounded = await pottery_async.RedisDeque('abc', maxlen=2, redis=aredis, key='bounded')
    assert bounded.maxlen == 2
    assert await bounded.repr() == "RedisDeque(['b', 'c'], maxlen=2)"
    more = await bounded.plus('d')
    assert isinstance(more, pottery_async.RedisDeque)
    assert await more.repr() == "RedisDeque(['c', 'd'], maxlen=2)"
    assert await bounded.iplus('xyz') is bounded
    assert await bounded.to_list() == ['y', 'z']
    del backwards, more
    await temporaries_deleted(aredis)


async def test_async_existing_list_longer_than_maxlen_raises(aredis: redis.asyncio.Redis) -> None:
    await aredis.rpush('d', '1', '2', '3')
    pending = pottery_async.RedisDeque(maxlen=2, redis=aredis, key='d')
    with pytest.raises(IndexError, match='beyond its maximum size'):
        await pending
    assert await aredis.llen('d') == 3


async def test_async_concurrent_tasks_never_exceed_maxlen(aredis: redis.asyncio.Redis, url: str) -> None:
    d = await pottery_async.RedisDeque(maxlen=7, redis=aredis, key='tasks')
    # Each task on a client of its own, so that the pushes really interleave.
    clients = [redis.asyncio.Redis.from_url(url) for _ in range(8)]
    try:
        deques = [pottery_async.RedisDeque(maxlen=7, redis=c, key='tasks') for c in clients]

        async def write(deque: pottery_async.RedisDeque, who: int) -> int:
            longest = 0
            for i in range(100):
                await (deque.append if (i + who) % 2 else deque.appendleft)(f'{who}:{i}')
                longest = max(longest, await deque.len())
            return longest

        longest = await asyncio.gather(*(write(deque, who) for who, deque in enumerate(deques)))
    finally:
        for client in clients:
            await client.aclose()
    assert max(longest) <= 7
    assert await d.len() == 7


# --- data compatibility with Pottery 3.0.1 ---------------------------------

