"""Fixtures: real servers started for the run, clients, per-test cleanup."""

from __future__ import annotations

import socket
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

from pottery_async import _wake
from tests.helpers import drain_background
from tests.servers import Cluster, Server, running, server_version, several


def pytest_report_header() -> str:
    return f'redis-compatible server: {server_version()}'


@pytest.fixture(scope='session')
def server() -> Iterator[Server]:
    'One private server for the whole run.'
    with running() as instance:
        yield instance


@pytest.fixture(scope='session')
def five_servers() -> Iterator[list[Server]]:
    'Five independent masters, for quorum tests.'
    with several(5) as instances:
        yield instances


@pytest.fixture
def url(server: Server) -> Iterator[str]:
    'The URL of database 1 of the private server, emptied after the test.'
    yield server.url(1)
    with redis.Redis.from_url(server.url(1)) as client:
        client.flushdb()


@pytest.fixture(scope='module')
def elsewhere() -> Iterator[Server]:
    'A second server: what lives there, a command on the first cannot read.'
    with running() as instance:
        yield instance


@pytest.fixture
def far_client(elsewhere: Server) -> Iterator[redis.Redis]:
    'A client on database 1 of the second server, emptied after the test.'
    with redis.Redis.from_url(elsewhere.url(1)) as client:
        yield client
        client.flushdb()


@pytest.fixture(scope='module')
def acl_servers() -> Iterator[list[Server]]:
    'Three masters of the module that asks for them alone: its ACL users live and die with them.'
    with several(3) as servers:
        yield servers


@pytest.fixture
def admins(acl_servers: list[Server]) -> Iterator[list[redis.Redis]]:
    'Default-user clients on the three acl_servers, emptied after the test.'
    clients = [redis.Redis(host=s.host, port=s.port) for s in acl_servers]
    yield clients
    for client in clients:
        client.flushall()
        client.close()


@pytest.fixture
def redis_client(url: str) -> Iterator[redis.Redis]:
    'A sync client on the private server (what Pottery users pass).'
    client = redis.Redis.from_url(url)
    yield client
    client.close()


@pytest.fixture
async def aredis(url: str) -> AsyncIterator[redis.asyncio.Redis]:
    'An async client on the private server (what async API users pass).'
    client = redis.asyncio.Redis.from_url(url)
    yield client
    await client.aclose()


@pytest.fixture
def masters(five_servers: list[Server]) -> Iterator[list[redis.Redis]]:
    clients = [redis.Redis.from_url(s.url(1)) for s in five_servers]
    yield clients
    for client in clients:
        client.flushdb()
        client.close()


@pytest.fixture
def no_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    'Waiters never look again on their own: only a wake-up (or lease expiry) moves them.'
    monkeypatch.setattr(_wake, 'RECHECK', 600.0)


@pytest.fixture
def pottery_module() -> Any:
    'Pottery 3.0.1, for compatibility tests.'
    # Pottery patches json.dumps and warns at import; keep that out of the run.
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        import pottery
    return pottery


@pytest.fixture(scope='module')
def cluster() -> Iterator[Cluster]:
    'A private three-master Redis Cluster, one per test module that asks for it.'
    instance = Cluster()
    yield instance
    instance.stop()


@pytest.fixture
def sync_cluster(cluster: Cluster) -> Iterator[redis.RedisCluster]:
    'A sync client on the cluster; every master is emptied after the test.'
    client = redis.RedisCluster(host=cluster.host, port=cluster.port)
    yield client
    client.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
    client.close()


@pytest.fixture
async def amasters(five_servers: list[Server]) -> AsyncIterator[list[redis.asyncio.Redis]]:
    'Async clients on the five masters, closed after the test.'
    clients = [redis.asyncio.Redis.from_url(s.url(1)) for s in five_servers]
    yield clients
    # Take-backs still on their way to masters that were paused (sent once
    # they answer) end first: closing the clients under them would leave
    # their sockets to the closed loop.
    await drain_background()
    for client in clients:
        await client.aclose()


@pytest.fixture
def refused_port() -> Iterator[int]:
    'A port held, bound but not listening: connections to it are refused, and nothing else takes it.'
    with socket.socket() as held:
        held.bind(('127.0.0.1', 0))
        yield held.getsockname()[1]
