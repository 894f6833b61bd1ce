"""RedisDict on a real three-master Redis Cluster, through both APIs."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio

import pottery_async
from pottery_async.sync import RedisDict
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
    nodes = {sync_cluster.get_node_from_key(key).name for key in keys}
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
