"""BloomFilter through both APIs, against real servers."""

from __future__ import annotations

import math
import warnings
from typing import Any, cast

import pytest
import redis
import redis.asyncio
import redis.backoff
import redis.retry

import pottery_async
import pottery_async.sync
from pottery_async.bloom import _ADD, _HAS
from pottery_async.exceptions import InefficientAccessWarning
from pottery_async.sync import BloomFilter
from tests.helpers import ELEMENTS, nodes_of, untyped, warm_scripts
from tests.server_checks import sends, sent_commands
from tests.servers import Cluster

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')

# The bits of three elements in a filter for 100 elements at 1% false
# positives, as Pottery 3.0.1's documentation lists them.
RAJIV = {183, 319, 787, 585, 8, 471, 711}
RAJ = {482, 875, 725, 667, 109, 714, 595}
DAN = {687, 925, 954, 707, 615, 914, 620}



def bits(client: redis.Redis | redis.RedisCluster, key: str) -> set[int]:
    'The offsets of the bits set in a Redis string, numbered as SETBIT numbers them.'
    data = cast(bytes | None, client.get(key)) or b''
    return {8 * i + j for i, byte in enumerate(data) for j in range(8) if byte & (0x80 >> j)}


def getbit_calls(client: redis.Redis) -> int:
    'How many GETBITs the server has run (scripts\' own calls included).'
    stats: dict[str, Any] = client.info('commandstats')
    return int(stats.get('cmdstat_getbit', {}).get('calls', 0))


@pytest.fixture
def dilberts(redis_client: redis.Redis) -> BloomFilter:
    return BloomFilter(num_elements=100, false_positives=0.01, redis=redis_client, key='dilberts')


# --- the sync API ------------------------------------------------------------


def test_seed_example(dilberts: BloomFilter, redis_client: redis.Redis) -> None:
    assert not redis_client.exists('dilberts')
    dilberts.add('rajiv')
    assert redis_client.type('dilberts') == b'string'
    assert bits(redis_client, 'dilberts') == RAJIV
    assert 'rajiv' in dilberts
    assert 'raj' not in dilberts
    assert 'dan' not in dilberts
    assert len(dilberts) == 1
    dilberts.update({'raj', 'dan'})
    assert bits(redis_client, 'dilberts') == RAJIV | RAJ | DAN
    assert len(dilberts) == 3
    answers = dilberts.contains_many('rajiv', 'raj', 'dan', 'luis')
    assert tuple(answers) == (True, True, True, False)
    dilberts.clear()
    assert not redis_client.exists('dilberts')
    assert len(dilberts) == 0
    assert 'rajiv' not in dilberts


def test_sizing_and_attributes(dilberts: BloomFilter) -> None:
    assert dilberts.num_elements == 100
    assert dilberts.false_positives == 0.01
    assert dilberts.size() == 959
    assert dilberts.num_hashes() == 7
    assert repr(dilberts) == '<BloomFilter key=dilberts>'


@pytest.mark.parametrize(('num_elements', 'false_positives'), [
    (1, 0.5), (1, 0.999), (7, 1 / 3), (100, 0.01), (5000, 0.01), (10**6, 0.001), (10**8, 0.1), (3, 1e-9),
])
def test_sizing_is_pottery_s(
    pottery_module: Any, redis_client: redis.Redis, num_elements: int, false_positives: float,
) -> None:
    ours = BloomFilter(num_elements=num_elements, false_positives=false_positives,
                       redis=redis_client, key='b')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        theirs = pottery_module.BloomFilter(
            num_elements=num_elements, false_positives=false_positives, redis=redis_client, key='b',
        )
    assert (ours.size(), ours.num_hashes()) == (theirs.size(), theirs.num_hashes())


def test_elements_of_every_json_type(redis_client: redis.Redis) -> None:
    bf = BloomFilter(ELEMENTS[:4], num_elements=100, false_positives=0.01, redis=redis_client, key='bf')
    bf.update(ELEMENTS[4:6], ELEMENTS[6:])
    assert all(value in bf for value in ELEMENTS)
    assert tuple(bf.contains_many(*ELEMENTS)) == (True,) * len(ELEMENTS)
    # Sets are not JSON: never added, never found.
    assert {1, 2} not in bf
    assert tuple(bf.contains_many('jack', {1, 2}, object(), 'nobody')) == (True, False, False, False)
    assert tuple(bf.contains_many()) == ()


def test_one_command_per_operation(dilberts: BloomFilter, redis_client: redis.Redis, url: str) -> None:
    warm_scripts(redis_client, _ADD, _HAS)
    with sends(url, 'BITFIELD'):
        dilberts.add('rajiv')
    with sends(url, 'BITFIELD_RO'):
        assert 'rajiv' in dilberts
    # 7 bits to test in a bitmap of 120 bytes: the server tests them.
    with sends(url, 'EVALSHA'):
        assert tuple(dilberts.contains_many('nobody')) == (False,)
    many = [f'element-{i}' for i in range(1000)]
    with sends(url, 'EVALSHA'):
        dilberts.update(many)
    # A small bitmap is read whole and tested by the client.
    with sends(url, 'GETRANGE'):
        assert tuple(dilberts.contains_many(*many)) == (True,) * 1000
    with sends(url, 'BITCOUNT'):
        len(dilberts)


def test_false_positive_rate_at_the_configured_load(redis_client: redis.Redis) -> None:
    bf = BloomFilter(num_elements=5000, false_positives=0.01, redis=redis_client, key='load')
    members = [f'member-{i}' for i in range(5000)]
    bf.update(members)
    # No false negatives, ever.
    assert all(bf.contains_many(*members))
    assert all(member in bf for member in members[:200])
    # The elements are fixed, so is the outcome: no flakiness.
    strangers = [f'stranger-{i}' for i in range(20_000)]
    false_positives = sum(bf.contains_many(*strangers))
    assert false_positives / len(strangers) <= 0.01
    # Single tests agree with contains_many().
    assert sum(stranger in bf for stranger in strangers[:2000]) == sum(bf.contains_many(*strangers[:2000]))
    assert abs(len(bf) - 5000) <= 0.03 * 5000


def test_every_way_of_testing_bits_answers_alike(redis_client: redis.Redis, url: str) -> None:
    # 11982 bytes of bitmap, 7 bits per element.  One element: BITFIELD_RO.
    # Many: the client tests the bits of a bitmap of up to 16 bytes per bit
    # asked (200 elements), else a script does, reading a bitmap of up to 256
    # bytes per bit whole (10 elements), a larger one bit by bit (4).
    bf = BloomFilter(num_elements=10_000, false_positives=0.01, redis=redis_client, key='big')
    assert (bf.size(), bf.num_hashes()) == (95851, 7)
    values = [f'v{i}' for i in range(3000)]
    bf.update(values[::2])
    warm_scripts(redis_client, _ADD, _HAS)
    answers = {}
    for batch, command in ((1, 'BITFIELD_RO'), (4, 'EVALSHA'), (10, 'EVALSHA'), (200, 'GETRANGE')):
        getbits = getbit_calls(redis_client)
        with sent_commands(url) as sent:
            if batch == 1:
                answers[batch] = [value in bf for value in values[:400]]
            else:
                answers[batch] = [answer for i in range(0, 400, batch)
                                  for answer in bf.contains_many(*values[i:i + batch])]
        assert {c.split()[0] for c in sent} == {command}
        assert len(sent) == 400 // batch
        # Only the script for 4 elements at a time reads bit by bit.
        assert (getbit_calls(redis_client) > getbits) == (batch == 4)
    assert answers[1][::2] == [True] * 200
    assert answers[1] == answers[4] == answers[10] == answers[200]


def test_len_of_a_full_bitmap_is_finite(redis_client: redis.Redis) -> None:
    bf = BloomFilter(num_elements=10, false_positives=0.1, redis=redis_client, key='full')
    redis_client.set('full', b'\xff' * math.ceil(bf.size() / 8))
    assert len(bf) == math.floor(-bf.size() / bf.num_hashes() * math.log(1 / bf.size()))
    assert 'anything' in bf


def test_warns_where_pottery_warns(dilberts: BloomFilter) -> None:
    with pytest.warns(InefficientAccessWarning):
        dilberts.update(['a', 'b'])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        dilberts.add('c')
        dilberts.update(['d'])
        assert 'c' in dilberts
        assert tuple(dilberts.contains_many('a', 'b', 'z')) == (True, True, False)
        assert 3 <= len(dilberts) <= 4  # an estimate


def test_adds_to_an_existing_filter(dilberts: BloomFilter, redis_client: redis.Redis) -> None:
    dilberts.add('rajiv')
    again = BloomFilter(['raj'], num_elements=100, false_positives=0.01, redis=redis_client, key='dilberts')
    assert bits(redis_client, 'dilberts') == RAJIV | RAJ
    assert tuple(again.contains_many('rajiv', 'raj', 'dan')) == (True, True, False)


def test_url_client(url: str, redis_client: redis.Redis) -> None:
    bf = BloomFilter(['rajiv'], num_elements=100, false_positives=0.01, redis=url, key='by-url')
    assert bf.redis == url
    assert bits(redis_client, 'by-url') == RAJIV


# --- bad input: a clear error, and nothing on the server changes ------------


@pytest.mark.parametrize(('num_elements', 'false_positives', 'error'), [
    (0, 0.01, ValueError),
    (-5, 0.01, ValueError),
    (100, 0, ValueError),
    (100, 1, ValueError),
    (100, 1.5, ValueError),
    (100, -0.01, ValueError),
    (100, float('nan'), ValueError),
    (10**12, 0.01, ValueError),  # more bits than a Redis string holds
    (100.0, 0.01, TypeError),
    ('100', 0.01, TypeError),
    (None, 0.01, TypeError),
    (True, 0.01, TypeError),
    (100, '0.01', TypeError),
    (100, None, TypeError),
    (100, False, TypeError),
])
def test_invalid_sizing_raises_before_writing(
    redis_client: redis.Redis, num_elements: Any, false_positives: Any, error: type[Exception],
) -> None:
    with pytest.raises(error):
        BloomFilter(['a'], num_elements=num_elements, false_positives=false_positives,
                    redis=redis_client, key='bad')
    with pytest.raises(error):
        pottery_async.BloomFilter(['a'], num_elements=num_elements, false_positives=false_positives,
                                  redis=redis_client, key='bad')
    assert redis_client.keys('*') == []


def test_sizing_arguments_are_required(redis_client: redis.Redis) -> None:
    with pytest.raises(TypeError):
        untyped(BloomFilter)(redis=redis_client, key='bad')
    assert redis_client.keys('*') == []


# --- the async API -----------------------------------------------------------


async def test_async_api(aredis: redis.asyncio.Redis) -> None:
    dilberts = await pottery_async.BloomFilter(
        ['rajiv'], num_elements=100, false_positives=0.01, redis=aredis, key='dilberts',
    )
    assert isinstance(dilberts, pottery_async.BloomFilter)
    assert bits_of(await aredis.get('dilberts')) == RAJIV
    assert await dilberts.contains('rajiv')
    assert not await dilberts.contains('raj')
    assert await dilberts.len() == 1
    await dilberts.add('raj')
    await dilberts.update({'dan'}, [])
    assert bits_of(await aredis.get('dilberts')) == RAJIV | RAJ | DAN
    assert tuple(await dilberts.contains_many('rajiv', 'raj', 'dan', 'luis')) == (True, True, True, False)
    assert await dilberts.len() == 3
    assert repr(dilberts) == '<BloomFilter key=dilberts>'
    assert (dilberts.size(), dilberts.num_hashes()) == (959, 7)
    await dilberts.clear()
    assert not await aredis.exists('dilberts')
    assert await dilberts.len() == 0


def bits_of(data: bytes | str | None) -> set[int]:
    data = cast(bytes | None, data) or b''
    return {8 * i + j for i, byte in enumerate(data) for j in range(8) if byte & (0x80 >> j)}


async def test_async_false_positive_rate(aredis: redis.asyncio.Redis) -> None:
    bf = await pottery_async.BloomFilter(
        (f'member-{i}' for i in range(2000)), num_elements=2000, false_positives=0.05,
        redis=aredis, key='load',
    )
    assert all(await bf.contains_many(*(f'member-{i}' for i in range(2000))))
    found = sum(await bf.contains_many(*(f'stranger-{i}' for i in range(10_000))))
    assert found / 10_000 <= 1.5 * 0.05


async def test_async_constructor_does_no_io_and_forgotten_await_fails(aredis: redis.asyncio.Redis) -> None:
    pending = pottery_async.BloomFilter(['a'], num_elements=10, false_positives=0.1, redis=aredis,
                                        key='pending')
    assert not await aredis.exists('pending')
    with pytest.raises(RuntimeError, match='not awaited'):
        await pending.contains('a')
    assert not await aredis.exists('pending')
    await pending
    assert await pending.contains('a')
    forgotten = pottery_async.BloomFilter(['a'], num_elements=10, false_positives=0.1, redis=aredis,
                                          key='forgotten')
    with pytest.warns(RuntimeWarning, match='never awaited'):
        del forgotten
    assert not await aredis.exists('forgotten')
    # Without initial elements, nothing needs awaiting.
    empty = pottery_async.BloomFilter(num_elements=10, false_positives=0.1, redis=aredis, key='empty')
    assert not await empty.contains('a')


# --- Redis Cluster: every operation touches one key --------------------------


def test_filters_on_a_cluster(cluster: Cluster) -> None:
    client = redis.RedisCluster(host=cluster.host, port=cluster.port)
    try:
        filters = [
            BloomFilter(['rajiv'], num_elements=100, false_positives=0.01, redis=client, key=f'bf-{i}')
            for i in range(6)
        ]
        assert len(nodes_of(client, (bf.key for bf in filters))) > 1
        for bf in filters:
            bf.update(['raj', 'dan'])
            bf.add('luis')
            assert bits(client, bf.key) >= RAJIV | RAJ | DAN
            assert 'rajiv' in bf
            assert tuple(bf.contains_many('rajiv', 'raj', 'dan', 'luis', 'nobody')) == (True,) * 4 + (False,)
            assert len(bf) in (3, 4)  # an estimate
    finally:
        client.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
        client.close()


# --- data compatibility with Pottery 3.0.1 ---------------------------------


def test_containers_as_sources(redis_client: redis.Redis) -> None:
    # The other containers of both APIs are read from Redis, as Pottery
    # iterates its own.
    words = pottery_async.sync.RedisList(['a', 'b'], redis=redis_client, key='words')
    more = pottery_async.sync.RedisSet({'c'}, redis=redis_client, key='more')
    bf = BloomFilter(words, num_elements=100, false_positives=0.01, redis=redis_client, key='from-list')
    assert list(bf.contains_many('a', 'b', 'c')) == [True, True, False]
    bf.update(more, ['d'])
    assert list(bf.contains_many('a', 'b', 'c', 'd', 'e')) == [True, True, True, True, False]
    assert redis_client.type('from-list') == b'string'
    assert words.to_list() == ['a', 'b']  # read, not changed


async def test_async_containers_as_sources(aredis: redis.asyncio.Redis) -> None:
    words = await pottery_async.RedisList(['a'], redis=aredis, key='awords')
    # The async API's types do not admit its own containers as sources (yet): untyped().
    bf = await pottery_async.BloomFilter(
        untyped(words), num_elements=100, false_positives=0.01, redis=aredis, key='abf',
    )
    await bf.update(untyped(await pottery_async.RedisSet({'b'}, redis=aredis, key='aset')))
    assert list(await bf.contains_many('a', 'b', 'z')) == [True, True, False]
