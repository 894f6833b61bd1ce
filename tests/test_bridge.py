"""The bridge that runs the async core for sync callers, against a real server.

Each test checks the server's side of things (keys, list lengths, the
connections in CLIENT LIST), not only that no exception was raised.  Hazards
that concern a whole process (fork, Ctrl-C, interpreter exit) run in a
child process.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import pottery_async
from pottery_async import _bridge, _clients
from pottery_async.exceptions import BlockingBridgeWarning, InefficientAccessWarning
from pottery_async.sync import RedisDict
from tests.helpers import (
    HANG_GUARD,
    blocked_clients,
    eventually,
    lock_keys,
    named_connections,
    read_line,
    reaped,
    run_script,
    unique,
    untyped,
)

ASYNCIO_DIR = os.path.dirname(asyncio.__file__)
CORE_DIR = os.path.dirname(pottery_async.__file__)


# --- helpers ----------------------------------------------------------------


def in_thread(target: Callable[[], object], within: float = 30.0) -> None:
    'Run ``target`` in a new thread; fail if it raises or does not return in time.'
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f'{target!r} did not return within {within} s (deadlock?)'
    if errors:
        raise errors[0]


def on_twin(client: redis.Redis, command: str, *args: Any) -> Any:
    'Run one command on the bridge twin of a sync client.'

    async def go() -> Any:
        return await _clients.resolve(client).execute_command(command, *args)

    return _bridge.run(go())


# Shouldn't appear in a clean child's stderr.
DIRT = ('Traceback', 'unclosed', 'ResourceWarning', 'Exception ignored', 'never awaited', 'Error')


@pytest.fixture
def quiet_blocking() -> Iterator[None]:
    'BlockingBridgeWarning ignored: for tests of calls made inside a running loop that check something else.'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', BlockingBridgeWarning)
        yield


@pytest.fixture
def client(url: str) -> Iterator[redis.Redis]:
    'A sync client whose bridge twins name their connections (see CLIENT LIST).'
    instance = redis.Redis.from_url(url, client_name=unique('bridge'))
    yield instance
    instance.close()


def client_name(client: redis.Redis) -> str:
    return str(client.connection_pool.connection_kwargs['client_name'])


# --- 1. many threads at once --------------------------------------------------


def test_many_threads_get_their_own_replies_and_dead_loops_are_reaped(
    client: redis.Redis, redis_client: redis.Redis,
) -> None:
    name = client_name(client)
    threads, rounds = 16, 300
    baseline = int(redis_client.info('clients')['connected_clients'])
    finished = threading.Barrier(threads + 1, timeout=60)
    release = threading.Event()
    states: list[_bridge.LoopState] = []
    errors: list[BaseException] = []

    async def roundtrip(key: str, value: str) -> Any:
        twin = _clients.resolve(client)
        await twin.set(key, value)
        return await twin.get(key)

    def worker(number: int) -> None:
        try:
            for i in range(rounds):
                value = f'{number}:{i}'
                assert _bridge.run(roundtrip(f'thread:{number}:{i % 7}', value)) == value.encode()
            d = RedisDict(redis=client, key=f'thread-dict:{number}')
            for i in range(rounds // 3):
                d[number] = i
                assert d[number] == i
            states.append(_bridge._local.state)
        except BaseException as error:
            errors.append(error)
        finally:
            finished.wait()
            release.wait(60)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    try:
        finished.wait()
        assert not errors, errors
        # Every value read back was the thread's own; what is on the server
        # is each thread's last write.
        last = rounds - 1
        for number in range(threads):
            assert redis_client.get(f'thread:{number}:{last % 7}') == f'{number}:{last}'.encode()
            assert redis_client.hget(f'thread-dict:{number}', str(number)) == str(rounds // 3 - 1).encode()
        # One loop, one client and one connection per thread.
        assert len({id(state) for state in states}) == threads
        assert len(named_connections(redis_client, name)) == threads
    finally:
        release.set()
        for thread in workers:
            thread.join(60)
    assert not any(thread.is_alive() for thread in workers)

    # The next thread that starts a loop has the dead threads' loops closed.
    in_thread(lambda: _bridge.run(asyncio.sleep(0)))
    assert _bridge.reaped(10)
    assert all(state.loop.is_closed() for state in states)
    assert not any(state in _bridge._states.values() for state in states)
    assert eventually(lambda: not named_connections(redis_client, name)), redis_client.client_list()
    assert eventually(lambda: int(redis_client.info('clients')['connected_clients']) <= baseline)


def test_churning_threads_finish_and_leave_nothing_behind(
    client: redis.Redis, redis_client: redis.Redis, masters: list[redis.Redis],
) -> None:
    # What a thread pool does: hundreds of short-lived threads, each using
    # the sync API (a contended lock, whose waiters keep pub/sub hubs on
    # their loops, a queue, a dict) and dying; each new one has the dead
    # ones' loops closed.  A dead thread's hub reader that ignored its
    # cancellation used to hang the next thread's first call for ever.
    from pottery_async.sync import RedisSimpleQueue, Redlock

    name = client_name(client)
    errors: list[BaseException] = []
    counter = masters[0]
    counter.set('churn-counter', 0)

    def work(number: int) -> None:
        try:
            lock = Redlock(key='churn', masters=masters, auto_release_time=5)
            with lock:
                counter.set('churn-counter', int(counter.get('churn-counter') or 0) + 1)
            q = RedisSimpleQueue(redis=client, key='churn-queue')
            q.put(number)
            d = RedisDict(redis=client, key='churn-dict')
            d[number] = q.get(timeout=5)
        except BaseException as error:
            errors.append(error)

    start = time.monotonic()
    batches, size = 30, 10
    for batch in range(batches):
        threads = [threading.Thread(target=work, args=(batch * size + i,)) for i in range(size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads), f'batch {batch} hung'
    in_thread(lambda: _bridge.run(asyncio.sleep(0)))  # has the last batch's loops closed
    assert _bridge.reaped(30)
    assert errors == []
    assert time.monotonic() - start < 120
    assert counter.get('churn-counter') == str(batches * size).encode()
    assert redis_client.hlen('churn-dict') == batches * size
    assert lock_keys(masters) == [[]] * 5
    # Every dead thread's connections are closed: no hub subscribed, none of the client's left.
    assert eventually(lambda: not named_connections(redis_client, name))
    assert eventually(lambda: all(m.pubsub_numsub('redlock:churn')[0][1] == 0 for m in masters))
    assert RedisSimpleQueue(redis=client, key='churn-queue').qsize() == 0


# --- 2. os.fork() -------------------------------------------------------------


def _child_work(number: int, d: RedisDict, client: redis.Redis, parent_id: int) -> int:
    if on_twin(client, 'CLIENT', 'ID') == parent_id:
        return 10  # reused the parent's connection
    for i in range(300):
        d[f'child{number}'] = i
        if d[f'child{number}'] != i:
            return 11
        if on_twin(client, 'ECHO', f'{number}:{i}') != f'{number}:{i}'.encode():
            return 12
    # Dropping what the parent built is harmless here too.
    gc.collect()
    return 0


def test_fork_child_starts_afresh_and_parent_keeps_its_connection(
    client: redis.Redis, redis_client: redis.Redis, tmp_path: Path,
) -> None:
    d = RedisDict(redis=client, key='forked')
    d['parent'] = -1
    parent_id = on_twin(client, 'CLIENT', 'ID')
    children = []
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process that has threads.
        warnings.simplefilter('ignore', DeprecationWarning)
        for number in range(4):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                code = 1
                try:
                    code = _child_work(number, d, client, parent_id)
                except BaseException:
                    (tmp_path / f'child{number}.txt').write_text(traceback.format_exc())
                finally:
                    os._exit(code)
            children.append(pid)

    try:
        # Meanwhile the parent keeps using its own connection.
        for i in range(300):
            d['parent'] = i
            assert d['parent'] == i
            assert on_twin(client, 'ECHO', f'parent:{i}') == f'parent:{i}'.encode()
        assert on_twin(client, 'CLIENT', 'ID') == parent_id
    finally:
        codes = {}
        deadline = time.monotonic() + 60
        while children and time.monotonic() < deadline:
            for pid in list(children):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    codes[pid] = os.waitstatus_to_exitcode(status)
                    children.remove(pid)
            time.sleep(0.02)
        for pid in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    reports = {p.name: p.read_text() for p in tmp_path.glob('child*.txt')}
    assert not children, 'a child hung'
    assert sorted(codes.values()) == [0, 0, 0, 0], (codes, reports)
    assert redis_client.hgetall('forked') == {
        b'"parent"': b'299', **{f'"child{n}"'.encode(): b'299' for n in range(4)},
    }
    # The parent's connection survived its children.
    assert parent_id in [int(c['id']) for c in named_connections(redis_client, client_name(client))]
    assert on_twin(client, 'CLIENT', 'ID') == parent_id


# --- 3. interpreter exit ------------------------------------------------------

EXIT_SCRIPT = '''
import asyncio, atexit, sys, threading, warnings

def late():
    RedisDict(redis=client, key='exit:late')['where'] = 'late'

# Registered before pottery_async is imported: runs after it has shut down.
atexit.register(late)

import redis
from pottery_async.exceptions import BlockingBridgeWarning, InefficientAccessWarning
from pottery_async.sync import RedisDict

warnings.simplefilter('ignore', BlockingBridgeWarning)
client = redis.Redis.from_url(sys.argv[1], client_name=sys.argv[2])
RedisDict(redis=client, key='exit:main')['where'] = 'main'

def work():
    RedisDict(redis=client, key='exit:thread')['where'] = 'thread'

thread = threading.Thread(target=work)
thread.start()
thread.join()

async def inside():
    d = RedisDict(redis=client, key='exit:loop')
    d['where'] = 'loop'
    return d['where']

assert asyncio.run(inside()) == 'loop'
temporary = RedisDict({'a': 1}, redis=client)
print(temporary.key, flush=True)
del temporary  # its key is deleted later, at the latest at exit
print('done', flush=True)
'''


def test_interpreter_exit_is_prompt_and_clean(url: str, redis_client: redis.Redis) -> None:
    name = unique('exit')
    child = run_script(EXIT_SCRIPT, url, name)
    try:
        out, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        pytest.fail('the child did not exit within 30 s')
    assert child.returncode == 0, err
    temporary_key, done = out.split()
    assert done == 'done'
    assert not any(word in err for word in DIRT), err
    for where in ('main', 'thread', 'loop', 'late'):
        assert redis_client.hget(f'exit:{where}', '"where"') == f'"{where}"'.encode()
    # The cleanup queued by the finalizer ran before the loops closed.
    assert temporary_key.startswith('pottery:')
    assert redis_client.exists(temporary_key) == 0


# --- 4. Ctrl-C and timeouts while a blocking command is in flight --------------

SIGINT_SCRIPT = '''
import sys
import redis
from pottery_async import _bridge, _clients

client = redis.Redis.from_url(sys.argv[1], socket_timeout=None)

async def blpop():
    return await _clients.resolve(client).blpop(sys.argv[2], 0)

async def get():
    return await _clients.resolve(client).get(sys.argv[3])

print('ready', flush=True)
try:
    print('popped', _bridge.run(blpop()), flush=True)
except KeyboardInterrupt:
    print('interrupted', flush=True)
sys.stdin.readline()
print(_bridge.run(get()).decode(), flush=True)
sys.stdin.readline()
'''


def test_ctrl_c_during_blpop_consumes_nothing_later(url: str, redis_client: redis.Redis) -> None:
    queue, key = unique('sigint-queue'), unique('sigint-key')
    redis_client.set(key, 'still in step')
    with reaped(run_script(SIGINT_SCRIPT, url, queue, key, stdin=subprocess.PIPE)) as child:
        assert child.stdin is not None
        assert read_line(child) == 'ready'
        # Wait until the BLPOP really blocks on the server, then interrupt.
        assert eventually(lambda: blocked_clients(redis_client) == 1, within=20)
        child.send_signal(signal.SIGINT)
        assert read_line(child) == 'interrupted'
        # The cancelled BLPOP's connection is gone: nothing waits on the list.
        assert eventually(lambda: blocked_clients(redis_client) == 0)
        redis_client.lpush(queue, 'item')
        assert redis_client.llen(queue) == 1
        # The bridge still works in the child, with replies in step.
        child.stdin.write('\n')
        child.stdin.flush()
        assert read_line(child) == 'still in step'
        assert redis_client.llen(queue) == 1
        child.stdin.write('\n')
        child.stdin.flush()
        _, err = child.communicate(timeout=20)
    assert child.returncode == 0, err
    assert not any(word in err for word in DIRT), err
    assert redis_client.lrange(queue, 0, -1) == [b'item']


def test_signal_handler_exception_interrupts_a_blocking_call_under_uvloop(
    url: str, redis_client: redis.Redis,
) -> None:
    # A service that installed uvloop times a blocking call out with SIGALRM:
    # the handler's exception must end the call, as with asyncio's loop
    # (uvloop's loop logs and swallows it: the call went on waiting).
    pytest.importorskip('uvloop')
    queue = unique('alarm-queue')
    script = """
import signal, sys, time
import uvloop
uvloop.install()
from pottery_async.sync import RedisSimpleQueue

class Alarm(Exception):
    pass

def ring(signum, frame):
    raise Alarm

signal.signal(signal.SIGALRM, ring)
q = RedisSimpleQueue(redis=sys.argv[1], key=sys.argv[2])
signal.setitimer(signal.ITIMER_REAL, 0.5)
start = time.monotonic()
try:
    q.get(timeout=20)
except Alarm:
    print('interrupted', round(time.monotonic() - start, 1), flush=True)
"""
    result = subprocess.run(
        [sys.executable, '-c', script, url, queue], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == 'interrupted', result.stdout
    assert float(result.stdout.split()[1]) < 5
    assert not any(word in result.stderr for word in DIRT), result.stderr
    # The interrupted get() took nothing: a later put stays there.
    assert eventually(lambda: blocked_clients(redis_client) == 0)
    from pottery_async.sync import RedisSimpleQueue

    q = RedisSimpleQueue(redis=url, key=queue)
    q.put('item')
    assert q.qsize() == 1


def test_async_client_refused_by_the_sync_api(url: str, redis_client: redis.Redis) -> None:
    import redis.asyncio

    from pottery_async.sync import Redlock

    name = unique('app')
    aclient = redis.asyncio.Redis.from_url(url, client_name=name)
    d = RedisDict(redis=aclient, key='refused')
    with pytest.raises(TypeError, match='sync client'):
        d['a'] = 1
    with pytest.raises(TypeError, match='sync client'):
        Redlock(key='refused', masters=[aclient]).acquire(blocking=False)
    # Nothing was sent with it: the application's client never connected.
    assert named_connections(redis_client, name) == []
    assert redis_client.keys('*refused*') == []


def test_timeout_during_blpop_consumes_nothing_later(url: str, redis_client: redis.Redis) -> None:
    unbounded = redis.Redis.from_url(url, socket_timeout=None)

    async def blpop() -> Any:
        return await _clients.resolve(unbounded).blpop('timeout-queue', 0)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        _bridge.run(blpop(), timeout=0.2)
    assert time.monotonic() - started < 10
    assert eventually(lambda: blocked_clients(redis_client) == 0)
    redis_client.lpush('timeout-queue', 'item')
    assert redis_client.llen('timeout-queue') == 1
    # The twin's next command gets its own reply, not the BLPOP's.
    redis_client.set('after-timeout', 'mine')
    assert on_twin(unbounded, 'GET', 'after-timeout') == b'mine'
    assert redis_client.lrange('timeout-queue', 0, -1) == [b'item']


def test_timeout_through_the_portal_consumes_nothing_later(
    client: redis.Redis, redis_client: redis.Redis, quiet_blocking: None,
) -> None:

    async def blpop() -> Any:
        return await _clients.resolve(client).blpop('portal-queue', 0)

    async def main() -> None:
        with pytest.raises(TimeoutError):
            _bridge.run(blpop(), timeout=0.2)

    asyncio.run(main())
    assert eventually(lambda: blocked_clients(redis_client) == 0)
    redis_client.lpush('portal-queue', 'item')
    assert redis_client.llen('portal-queue') == 1


# --- 5. called from inside its own calls: runs one level deeper ------------------


def test_call_from_own_loop_runs_and_bridge_stays_usable(
    client: redis.Redis, redis_client: redis.Redis,
) -> None:
    d = RedisDict(redis=client, key='reentrant')

    async def nested_sync_api(value: int) -> int:
        d['a'] = value  # the sync API, from a coroutine the sync API runs
        return int(await _clients.resolve(client).hlen('reentrant'))

    def check(value: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter('error')  # no BlockingBridgeWarning: nothing of the user's is blocked
            assert _bridge.run(nested_sync_api(value)) == 1
        assert redis_client.hgetall('reentrant') == {b'"a"': str(value).encode()}

    in_thread(lambda: check(1))  # in a thread of its own, so that a deadlock fails the test
    check(2)  # and in this one
    d['a'] = 3
    assert d['a'] == 3
    assert redis_client.hgetall('reentrant') == {b'"a"': b'3'}


def test_generators_that_call_the_sync_api_can_feed_it(
    client: redis.Redis, redis_client: redis.Redis,
) -> None:
    # Pottery idioms: user code that the core runs (the generator) calls
    # the sync API itself.
    from pottery_async.sync import RedisList, RedisSet

    redis_client.hset('gen-src', mapping={'"a"': 1, '"b"': 2, '"c"': 3})
    src = RedisDict(redis=client, key='gen-src')
    dst = RedisDict(redis=client, key='gen-dst')

    def run() -> None:
        warnings.simplefilter('ignore', InefficientAccessWarning)  # list initial contents
        dst.update((k, untyped(src[k]) * 10) for k in ('a', 'b', 'c'))
        s = RedisSet(redis=client, key='gen-set')
        s.update(x for x in src)
        lst = RedisList(redis=client, key='gen-list')
        lst.extend(src[k] for k in src)
        # Two levels: a generator whose items come from a call that itself
        # reads a generator of sync calls.
        lst.extend(len(RedisList((src[k] for k in src), redis=client, key=f'gen-inner{i}')) for i in range(2))

    with warnings.catch_warnings():
        in_thread(run)
    assert redis_client.hgetall('gen-dst') == {b'"a"': b'10', b'"b"': b'20', b'"c"': b'30'}
    assert redis_client.smembers('gen-set') == {b'"a"', b'"b"', b'"c"'}
    assert sorted(redis_client.lrange('gen-list', 0, 2)) == [b'1', b'2', b'3']
    assert redis_client.lrange('gen-list', 3, -1) == [b'3', b'3']


def test_call_from_the_portal_loop_runs_one_level_deeper(
    client: redis.Redis, redis_client: redis.Redis, quiet_blocking: None,
) -> None:
    d = RedisDict(redis=client, key='reentrant-portal')

    async def nested_sync_api() -> None:
        d['a'] = 1

    async def main() -> Any:
        # Inside a foreign loop: the call goes to this thread's portal,
        # whose coroutine calls the sync API again: that runs a level deeper.
        _bridge.run(nested_sync_api())
        d['b'] = 2
        return d['b']

    def check() -> None:
        assert asyncio.run(main()) == 2

    in_thread(check)
    assert redis_client.hgetall('reentrant-portal') == {b'"a"': b'1', b'"b"': b'2'}
    assert any(t.name == 'pottery_async-portal-1' and t.daemon for t in threading.enumerate())


def test_nested_calls_never_hold_up_renewal(client: redis.Redis, redis_client: redis.Redis) -> None:
    """User code in a nested call runs on a loop thread of its caller's own:
    however long it takes, the background loop renews other threads' locks
    meanwhile (it ran on that loop once, and a rival took a held lock)."""
    holder = pottery_async.sync.Redlock(key='renewed', masters={client}, auto_release_time=1, auto_renew=True)
    assert holder.acquire(blocking=False)
    d = RedisDict(redis=client, key='slow-outer')
    e = RedisDict(redis=client, key='slow-inner')

    def inner() -> Iterator[tuple[str, int]]:
        time.sleep(2.5)  # more than two leases
        yield 'x', 1

    def outer() -> Iterator[tuple[str, int]]:
        e.update(inner())
        yield 'y', 2

    in_thread(lambda: d.update(outer()))
    rival = pottery_async.sync.Redlock(key='renewed', masters={client})
    assert not rival.acquire(blocking=False)
    assert holder.locked() > 0
    holder.release()
    assert redis_client.keys('redlock:*') == []
    assert redis_client.hgetall('slow-inner') == {b'"x"': b'1'}


def test_nested_calls_of_two_threads_never_wait_for_each_other(client: redis.Redis) -> None:
    """Each thread's nested calls run on its own loop threads: one waiting
    for what the other's nested call puts gets it (with shared ones the put
    waited for the get to time out)."""
    q = pottery_async.sync.RedisSimpleQueue(redis=client, key='between-threads')
    got: list[Any] = []
    waiting = threading.Event()

    def waits() -> Iterator[tuple[str, Any]]:
        # Two levels deep: this generator runs on a portal's thread, and
        # blocks it while it waits.
        waiting.set()
        got.append(q.get(timeout=HANG_GUARD))
        yield 'got', got[0]

    def calls_waits() -> Iterator[tuple[str, int]]:
        RedisDict(redis=client, key='a').update(waits())
        yield 'waited', 1

    def puts() -> Iterator[tuple[str, int]]:
        q.put('item')
        yield 'put', 1

    start = time.monotonic()
    consumer = threading.Thread(
        target=lambda: RedisDict(redis=client, key='b').update(calls_waits()), daemon=True,
    )
    consumer.start()
    assert waiting.wait(HANG_GUARD)
    in_thread(lambda: RedisDict(redis=client, key='c').update(puts()))
    consumer.join(HANG_GUARD)
    assert got == ['item']
    assert time.monotonic() - start < HANG_GUARD / 2


_NESTED_AT_EXIT = """
import sys, threading, time, warnings
import redis
from pottery_async.sync import RedisDict, RedisSimpleQueue
client = redis.Redis.from_url(sys.argv[1])
q = RedisSimpleQueue(redis=client, key=sys.argv[2])
def inner():
    yield 'x', q.get(timeout=30)  # two levels deep, blocked
def outer():
    RedisDict(redis=client, key=sys.argv[2] + '-2').update(inner())
    yield 'y', 1
def work():
    try:
        RedisDict(redis=client, key=sys.argv[2] + '-1').update(outer())
    except BaseException:
        pass
threading.Thread(target=work, daemon=True).start()
time.sleep(0.5)
print('exiting', flush=True)
"""


def test_exit_with_a_thread_blocked_in_nested_calls_is_prompt(url: str) -> None:
    """Exit asks every loop thread to stop at once, then waits: a portal busy
    in a nested call stops once the deeper one it waits for has (stopped
    one by one, shallowest first, each took 5 s)."""
    child = run_script(_NESTED_AT_EXIT, url, unique('nested-exit'))
    assert read_line(child) == 'exiting'
    start = time.monotonic()
    _, err = child.communicate(timeout=HANG_GUARD)
    assert child.returncode == 0, err
    assert time.monotonic() - start < 3


def test_portals_of_threads_that_ran_foreign_loops_are_stopped(
    client: redis.Redis, redis_client: redis.Redis, quiet_blocking: None,
) -> None:
    """A thread that only ever calls the sync API from inside its own event
    loop gets a portal thread; once it has died, the next portal started
    stops it (a thread and a loop per request were kept for good)."""
    d = RedisDict(redis=client, key='foreign-threads')

    def portals() -> int:
        return sum(1 for t in threading.enumerate() if t.name.startswith('pottery_async-portal'))

    before = portals()
    for i in range(10):
        async def main(i: int = i) -> None:
            d[f'k{i}'] = i
        in_thread(lambda: asyncio.run(main()))
    assert eventually(lambda: portals() <= before + 1)
    assert len(redis_client.hgetall('foreign-threads')) == 10


# --- 6. called inside someone else's running loop -------------------------------


def test_inside_a_running_loop_works_and_warns_at_each_line(
    client: redis.Redis, redis_client: redis.Redis,
) -> None:
    async def main(value: int) -> list[Any]:
        d = RedisDict(redis=client, key='in-loop')
        d['a'] = value
        return [d['a'], len(d), 'a' in d]

    with warnings.catch_warnings(record=True) as record:
        # Python's default: a warning shows once per line of code.
        warnings.simplefilter('default')
        assert asyncio.run(main(1)) == [1, 1, True]
        first = len(record)
        assert asyncio.run(main(2)) == [2, 1, True]
        in_thread(lambda: asyncio.run(main(3)))
    assert {w.category for w in record} == {BlockingBridgeWarning}
    # Each of the three lines of main() that call the sync API, once; all
    # point at this file.
    assert first == len(record) == 3
    assert {w.filename for w in record} == {__file__}
    assert len({w.lineno for w in record}) == 3
    assert redis_client.hgetall('in-loop') == {b'"a"': b'3'}
    assert any(t.name == 'pottery_async-portal-0' and t.daemon for t in threading.enumerate())


def test_warning_as_error_inside_a_running_loop_leaves_nothing_behind(
    client: redis.Redis, redis_client: redis.Redis,
) -> None:

    async def main() -> None:
        with pytest.raises(BlockingBridgeWarning):
            on_twin(client, 'SET', 'warned', '1')

    # filterwarnings = error: the call is refused, and its coroutine closed
    # (an un-awaited coroutine would fail this test as an unraisable warning).
    asyncio.run(main())
    gc.collect()
    assert redis_client.exists('warned') == 0


# --- 7. finalizers: temporary keys deleted as soon as that is safe -----------------


def test_collected_temporary_is_deleted_at_once(client: redis.Redis, redis_client: redis.Redis) -> None:
    # Pottery's behaviour: create it in a function, collect it, the key is gone.
    def make() -> str:
        d = RedisDict({'a': 1}, redis=client)
        assert redis_client.exists(d.key) == 1
        return d.key

    key = make()
    gc.collect()
    assert key.startswith('pottery:')
    assert redis_client.exists(key) == 0


def test_finalizer_during_a_bridge_call_does_not_reenter(
    client: redis.Redis, redis_client: redis.Redis,
) -> None:
    holder = [RedisDict({'a': 1}, redis=client)]
    key = holder[0].key

    async def drop_then_look() -> int:
        holder.clear()
        gc.collect()  # the finalizer runs inside this loop: not run again here
        await asyncio.sleep(0)
        return int(await _clients.resolve(client).exists(key))

    _bridge.run(drop_then_look())
    # Deleted by the background loop meanwhile, not at this thread's next call.
    assert eventually(lambda: redis_client.exists(key) == 0)


def test_module_level_temporaries_are_deleted_at_exit(url: str, redis_client: redis.Redis) -> None:
    script = """
import sys
import redis
from pottery_async.sync import RedisDict, RedisList
client = redis.Redis.from_url(sys.argv[1])
d = RedisDict({'a': 1}, redis=client)
lst = RedisList([1, 2], redis=sys.argv[1])
print(d.key, lst.key, flush=True)
"""
    result = subprocess.run([sys.executable, '-c', script, url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    keys = result.stdout.split()
    assert len(keys) == 2
    assert redis_client.exists(*keys) == 0
    assert not any(dirt in result.stderr for dirt in DIRT), result.stderr


def test_cleanup_queued_by_a_dead_thread_runs_when_its_loop_is_reaped(
    client: redis.Redis, redis_client: redis.Redis,
) -> None:
    keys: list[str] = []

    def short_lived() -> None:
        _bridge.run(asyncio.sleep(0))  # this thread's loop
        keys.append(unique('queued'))
        redis_client.set(keys[0], 1)

        async def unlink() -> None:
            await _clients.resolve(client).unlink(keys[0])

        assert _bridge.defer(unlink)

    in_thread(short_lived)
    assert redis_client.exists(keys[0]) == 1
    in_thread(lambda: _bridge.run(asyncio.sleep(0)))  # reaps the dead thread's loop, in the background
    assert _bridge.reaped(10)
    assert redis_client.exists(keys[0]) == 0


def test_finalizer_inside_a_running_loop_goes_to_the_background_loop(
    client: redis.Redis, redis_client: redis.Redis, quiet_blocking: None,
) -> None:
    async def main() -> str:
        d = RedisDict({'a': 1}, redis=client)
        key = d.key
        del d
        gc.collect()
        return key

    key = asyncio.run(main())
    assert eventually(lambda: redis_client.exists(key) == 0)


# --- 8. short tracebacks ------------------------------------------------------------


def _frames(error: BaseException) -> list[traceback.FrameSummary]:
    return traceback.extract_tb(error.__traceback__)


def test_exceptions_surface_with_a_short_traceback(client: redis.Redis, quiet_blocking: None) -> None:
    d = RedisDict(redis=client, key='traceback')
    with pytest.raises(KeyError) as excinfo:
        d['missing']
    frames = _frames(excinfo.value)
    assert not [f for f in frames if f.filename.startswith(ASYNCIO_DIR)], frames
    assert frames[0].filename == __file__
    assert frames[-1].filename == os.path.join(CORE_DIR, 'dict.py')
    assert frames[-1].name == 'getitem'
    assert len(frames) <= 8, frames

    # The same through the portal.
    async def main() -> BaseException:
        try:
            d['missing']
        except KeyError as error:
            return error
        raise AssertionError('no KeyError')

    error = asyncio.run(main())
    frames = _frames(error)
    assert not [f for f in frames if f.filename.startswith(ASYNCIO_DIR)], frames
    assert frames[-1].name == 'getitem'


# --- iterate(): one call per page, closed when abandoned ----------------------------


def test_iterate_pulls_pages_and_closes_an_abandoned_stream() -> None:
    log: list[str] = []

    async def pages() -> AsyncIterator[list[int]]:
        try:
            for start in range(0, 30, 10):
                log.append(f'page {start}')
                yield list(range(start, start + 10))
        finally:
            log.append('closed')

    assert list(_bridge.iterate(pages())) == list(range(30))
    assert log == ['page 0', 'page 10', 'page 20', 'closed']
    log.clear()
    for item in _bridge.iterate(pages()):
        if item == 12:
            break
    gc.collect()
    assert log == ['page 0', 'page 10', 'closed']


@pytest.mark.skipif(
    sys.implementation.name != 'cpython' or sys.version_info >= (3, 14),
    reason='the lean loop driver is checked on the CPython versions it was written for',
)
def test_lean_loop_driver_is_in_use() -> None:
    # Every other test here runs through it; this one makes sure it did not
    # silently fall back to run_until_complete().
    assert _bridge._CAN_DRIVE
