"""Helpers shared by test modules: waiting on the server, child processes, wrong-type checks, ACL users."""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, cast

import pytest
import redis
import redis.asyncio
import redis.backoff
import redis.retry

import pottery_async
from pottery_async import _primitive
from pottery_async._base import Script
from pottery_async.exceptions import WrongTypeError
from tests.servers import Server

# A value of every JSON type, non-ASCII and empty strings among them.
ELEMENTS: list[Any] = ['jack', 4098, None, True, 1.5, [1, 'two'], {'b': 2, 'a': [None]}, 'ünïcode', '']

# For clients that must report a failure at once, not after redis-py's retries.
NO_RETRY = redis.retry.Retry(redis.backoff.NoBackoff(), 0)


def lock_keys(masters: list[redis.Redis]) -> list[list[bytes]]:
    'The Redlock keys on each master, sorted.'
    return [sorted(cast(list[bytes], master.keys('redlock:*'))) for master in masters]


def in_threads(*targets: Callable[[], object], within: float = 60.0) -> list[BaseException]:
    'Run the targets in threads, all at once; once every one has returned, what they raised.'
    errors: list[BaseException] = []

    def run(target: Callable[[], object]) -> None:
        try:
            target()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(within)
    assert not any(thread.is_alive() for thread in threads), f'a thread did not return within {within} s'
    return errors


class Background:
    'A call running in a thread, whose outcome the test collects.'

    def __init__(self, target: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.result = target()
            except BaseException as error:
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def outcome(self, within: float = 30.0) -> Any:
        self.thread.join(within)
        assert not self.thread.is_alive(), f'the call did not return within {within} s'
        if self.error is not None:
            raise self.error
        return self.result


@contextlib.asynccontextmanager
async def async_queue(
    url: str, key: str, **client_options: Any,
) -> AsyncIterator[pottery_async.RedisSimpleQueue]:
    'An async queue on a client of its own: emptied, and the client closed, after the block.'
    client = redis.asyncio.Redis.from_url(url, **client_options)
    q = pottery_async.RedisSimpleQueue(redis=client, key=key)
    try:
        yield q
    finally:
        await q.clear()
        await client.aclose()


@contextlib.contextmanager
def reaped(process: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    'The child process, killed and waited for after the block if it is still running.'
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def untyped(value: object) -> Any:
    'What a test passes where the API does not allow it, hidden from the type checker.'
    return value


def ordered(values: Iterable[Any]) -> list[Any]:
    'sorted() of what a container holds (typed as any JSON value, which a type checker cannot order).'
    return sorted(values)


def nodes_of(cluster: redis.RedisCluster, keys: Iterable[str]) -> set[str]:
    'The names of the cluster nodes that hold these keys.'
    return {cluster.get_node_from_key(key).name for key in keys}  # type: ignore[no-untyped-call]


def unique(prefix: str) -> str:
    return f'{prefix}-{uuid.uuid4().hex[:12]}'


def named_connections(probe: redis.Redis, name: str) -> list[dict[str, Any]]:
    'The connections the server has open whose CLIENT SETNAME is ``name``.'
    return [c for c in probe.client_list() if c.get('name') == name]


def subscribers(master: redis.Redis, channel: str) -> int:
    'How many clients are subscribed to ``channel``.'
    ((_, count),) = master.pubsub_numsub(channel)
    return int(count)


def blocked_clients(probe: redis.Redis) -> int:
    return int(probe.info('clients')['blocked_clients'])


def eventually(condition: Callable[[], bool], within: float = 10.0, interval: float = 0.02) -> bool:
    """Whether ``condition`` holds, polling every ``interval`` s for up to ``within`` seconds.

    Only to learn what the server sees asynchronously (a client blocked, a
    socket closed by a client); never used to let the code under test catch up.
    """
    deadline = time.monotonic() + within
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


# Ctrl-C raises KeyboardInterrupt in a child as in any Python program, even
# when the tests run as a background job of a shell without job control,
# which starts them with SIGINT ignored (and Python keeps it so).
_DEFAULT_SIGINT = 'import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n'


def run_script(script: str, *args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    'Start ``python -X dev -W error -c script args...`` with its stdout and stderr piped, as text.'
    return subprocess.Popen(
        [sys.executable, '-X', 'dev', '-W', 'error', '-c', _DEFAULT_SIGINT + script, *args],
        stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def read_line(process: subprocess.Popen[str], within: float = 20.0) -> str:
    'One line of a child\'s stdout, within a generous time limit.'
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], within)
    assert ready, f'the child printed nothing within {within} s'
    return process.stdout.readline().strip()


def lrange(client: redis.Redis, key: str) -> list[bytes]:
    'A list as Redis stores it.'
    return cast(list[bytes], client.lrange(key, 0, -1))


def stored(client: redis.Redis, key: str) -> list[Any]:
    'A list as Redis stores it, each element decoded from JSON.'
    return [json.loads(item) for item in lrange(client, key)]


def entries(client: redis.Redis, key: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    'The entries of a stream, as a client that does not decode replies reads them.'
    return cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(key))


def registers(client: redis.Redis, key: str) -> bytes:
    'A HyperLogLog as Redis stores it, without the count that PFCOUNT caches in bytes 8 to 15.'
    data = cast(bytes | None, client.get(key)) or b''
    return data[:8] + data[16:]


class Upper:
    'A codec of its own: JSON, upper-cased on the server.'

    def encode(self, value: Any) -> str:
        return json.dumps(value).upper()

    def decode(self, data: bytes | str) -> Any:
        text = data.decode() if isinstance(data, bytes) else data
        return json.loads(text.lower())


def warm_scripts(client: redis.Redis, *scripts: Script) -> None:
    'Load the scripts, so that EVALSHA alone reaches the server (not EVALSHA, NOSCRIPT, EVAL).'
    for script in scripts:
        client.script_load(script.source)


def assert_wrong_type(
    operations: Iterable[Callable[[], object]], kind: str, *, response_error: bool = True,
) -> None:
    """Every operation raises WrongTypeError naming key 'k' and the ``kind`` of
    key expected (and, if ``response_error``, the error is a redis.ResponseError)."""
    for operation in operations:
        with pytest.raises(WrongTypeError) as info:
            operation()
        assert info.value.key == 'k'
        assert kind in str(info.value)
        if response_error:
            assert isinstance(info.value, redis.ResponseError)


# A paused master costs at most about a second per request (its bound in
# _primitive), so a call across paused masters must end well within this.
HANG_GUARD = 30.0


@contextlib.contextmanager
def paused(servers: list[Server]) -> Iterator[None]:
    'SIGSTOP the servers for the block; always SIGCONT them afterwards.'
    for server in servers:
        server.pause()
    try:
        yield
    finally:
        for server in servers:
            server.resume()


# --- ACL users ------------------------------------------------------------------------

# The password of every ACL user the tests create.
ACL_PASSWORD = uuid.uuid4().hex


def set_acl_user(servers: list[Server], user: str, *rules: str) -> None:
    'Create (or replace) ``user`` on every server, with these rules and nothing else.'
    for server in servers:
        admin = redis.Redis(host=server.host, port=server.port)
        admin.execute_command(  # type: ignore[no-untyped-call]
            'ACL', 'SETUSER', user, 'reset', 'on', f'>{ACL_PASSWORD}', *rules,
        )
        admin.close()


def as_user(
    servers: list[Server], user: str, password: str = ACL_PASSWORD, **kwargs: Any,
) -> list[redis.Redis]:
    'Sync clients logged in as ``user`` on the servers.'
    return [
        redis.Redis(host=s.host, port=s.port, username=user, password=password, socket_timeout=1, **kwargs)
        for s in servers
    ]


def as_user_async(
    servers: list[Server], user: str, password: str = ACL_PASSWORD,
) -> list[redis.asyncio.Redis]:
    'Async clients logged in as ``user`` on the servers.'
    return [redis.asyncio.Redis(host=s.host, port=s.port, username=user, password=password) for s in servers]


async def drain_background() -> None:
    'Wait (bounded) for the async API\'s background take-backs of this loop to end.'
    spawned = [task for task in _primitive._spawned if task.get_loop() is asyncio.get_running_loop()]
    if spawned:
        await asyncio.wait(spawned, timeout=HANG_GUARD)
