"""Pins the public types of both APIs; checked by mypy (see pyproject.toml), not run."""

from __future__ import annotations

from typing import assert_type

import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async._codec import JSONTypes


def sync_api(client: redis.Redis) -> None:
    d = pottery_async.sync.RedisDict({'a': 1}, redis=client, key='k')
    assert_type(d['a'], JSONTypes)
    assert_type('a' in d, bool)
    assert_type(len(d), int)
    assert_type(list(d), list[JSONTypes])
    assert_type(d.get('a'), JSONTypes)
    assert_type(d.pop('a', None), JSONTypes)
    assert_type(d.popitem(), tuple[JSONTypes, JSONTypes])
    assert_type(d.to_dict(), dict[JSONTypes, JSONTypes])
    assert_type(d == {}, bool)
    assert_type(d.key, str)
    for key, value in d.items():
        assert_type(key, JSONTypes)
        assert_type(value, JSONTypes)
    timer = pottery_async.sync.ContextTimer()
    assert_type(timer.elapsed(), int)


async def async_api(client: redis.asyncio.Redis) -> None:
    d = await pottery_async.RedisDict({'a': 1}, redis=client, key='k')
    assert_type(d, pottery_async.RedisDict)
    assert_type(await d.getitem('a'), JSONTypes)
    assert_type(await d.contains('a'), bool)
    assert_type(await d.len(), int)
    assert_type(await d.eq({}), bool)
    assert_type(await d.to_dict(), dict[JSONTypes, JSONTypes])
    assert_type(await d.repr(), str)
    async for key in d:
        assert_type(key, JSONTypes)
    async for key, value in d.items():
        assert_type(key, JSONTypes)
        assert_type(value, JSONTypes)


def sync_queue(client: redis.Redis) -> None:
    q = pottery_async.sync.RedisSimpleQueue(redis=client, key='q')
    assert_type(q.put('a'), None)
    assert_type(q.get(), JSONTypes)
    assert_type(q.get(block=False, timeout=0.5), JSONTypes)
    assert_type(q.get_nowait(), JSONTypes)
    assert_type(q.qsize(), int)
    assert_type(q.empty(), bool)


async def async_queue(client: redis.asyncio.Redis) -> None:
    q = pottery_async.RedisSimpleQueue(redis=client, key='q')
    assert_type(await q.put('a'), None)
    assert_type(await q.get(timeout=0.5), JSONTypes)
    assert_type(await q.get_nowait(), JSONTypes)
    assert_type(await q.qsize(), int)
    assert_type(await q.empty(), bool)
