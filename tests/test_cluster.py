"""RedisDict on a real three-master Redis Cluster, through both APIs."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio

import pottery_async
from pottery_async.sync import RedisDict
from tests.helpers import nodes_of
from tests.servers import Cluster

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')


def test_sync_dicts_spread_over_the_cluster(sync_cluster: redis.RedisCluster) -> None:
    keys = [f'dict-{i}' for i in range(12)]
    for i, key in enumerate(keys):
        d = RedisDict({'i': i}, redis=sync_cluster, key=key)
        d.update({'j': i * 2}, k=[i])
        assert d.to_dict() == {'i': i, 'j': i * 2, 'k': [i]}
        assert d.popitem()[0] in {'i', 'j', 'k'}
        assert len(d) == 2
    # The keys really live on different masters.
    nodes = nodes_of(sync_cluster, keys)
    assert len(nodes) == 3
    for key in keys:
        assert sync_cluster.hlen(key) == 2


async def test_async_dict_on_cluster(cluster: Cluster, sync_cluster: redis.RedisCluster) -> None:
    client = redis.asyncio.RedisCluster(host=cluster.host, port=cluster.port)
    try:
        d = await pottery_async.RedisDict({'a': 1}, redis=client, key='async-dict')
        await d.setitem('b', 2)
        assert [k async for k in d] == ['a', 'b']
        assert await d.pop('a') == 1
    finally:
        await client.aclose()
    assert sync_cluster.hgetall('async-dict') == {b'"b"': b'2'}


def _move_slot(cluster: Cluster, key: str) -> None:
    'Move the slot of ``key`` (and ``key`` with it) to another master, as resharding does.'
    nodes = [redis.Redis(host=s.host, port=s.port) for s in cluster.servers]
    try:
        slot = nodes[0].cluster('KEYSLOT', key)
        ids = [n.cluster('MYID').decode() for n in nodes]
        source = next(i for i, n in enumerate(nodes) if n.cluster('COUNTKEYSINSLOT', slot))
        target = (source + 1) % len(nodes)
        nodes[target].cluster('SETSLOT', slot, 'IMPORTING', ids[source])
        nodes[source].cluster('SETSLOT', slot, 'MIGRATING', ids[target])
        server = cluster.servers[target]
        nodes[source].migrate(server.host, server.port, key, 0, 5000)
        for node in nodes:
            node.cluster('SETSLOT', slot, 'NODE', ids[target])
    finally:
        for node in nodes:
            node.close()


async def test_transactions_follow_a_moved_slot() -> None:
    # The client still believes the key on its old master: the transaction
    # has to find the new one (see _clients.transaction on redis-py < 6.2).
    cluster = Cluster()
    client = redis.asyncio.RedisCluster(host=cluster.host, port=cluster.port)
    try:
        d = await pottery_async.RedisDict({'a': 1, 'b': 2}, redis=client, key='moving-dict')
        _move_slot(cluster, 'moving-dict')
        assert await d.pop('a') == 1
        assert await d.setdefault('c', 3) == 3
        assert await d.to_dict() == {'b': 2, 'c': 3}
    finally:
        await client.aclose()
        cluster.stop()
