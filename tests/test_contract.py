"""What every data structure promises, checked on each one from a single table.

Each row of STRUCTURES says how to make a structure in both APIs, what one
write is, which operations touch its key, and (where Pottery 3.0.1 has the
structure) how the same writes look through Pottery.  Every test below runs
on every row that has what it needs:

- a key of the wrong Redis type is left intact, and every operation raises
  WrongTypeError naming it;
- a random (unnamed) key is deleted once its object is collected;
- input that cannot be encoded raises TypeError and writes nothing;
- a server that refuses connections makes every operation raise promptly;
- a cancelled (or timed-out) large write is all or nothing;
- Pottery reads what we write, and we read what Pottery writes;
- the sync API is a drop-in for Pottery's: same constructor, same names.

Per-structure behaviour stays in the structure's own test file.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import gc
import inspect
import json
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync as sync
from pottery_async import _bridge
from pottery_async.bloom import _ADD, _HAS
from pottery_async.cache import AsyncCachedFunction, CachedFunction
from pottery_async.exceptions import KeyExistsError, WrongTypeError
from pottery_async.hyper import _CONTAINS, _MERGE
from tests.helpers import ELEMENTS, NO_RETRY, assert_wrong_type, entries, lrange, registers, warm_scripts
from tests.server_checks import temporaries_deleted

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')

T = TypeVar('T')
Op = Callable[[], object]
AsyncOp = Callable[[], Awaitable[object]]


@dataclasses.dataclass(frozen=True)
class Sides:
    """The clients an operation list uses: ``home`` holds the structure under
    test (at key 'k'), ``near`` its peers that commands on home's server can
    read, ``far`` peers on another server (fetched from there)."""

    home: redis.Redis
    near: redis.Redis
    far: redis.Redis


@dataclasses.dataclass(frozen=True)
class Interop:
    'The same writes through Pottery 3.0.1 and through us, and how to compare them.'

    pottery: Callable[[Any, redis.Redis, str], Any]  # Pottery's structure, with the row's contents
    attach: Callable[[Any, redis.Redis, str], Any]  # Pottery's, or ours, on an existing key
    steps: Callable[[Any], object]  # writes that both libraries take alike
    read: Callable[[Any], object]  # what either library reads back
    expected: object  # ... after the contents and the steps
    raw: Callable[[redis.Redis, str], object]  # the bytes on the server


@dataclasses.dataclass(frozen=True)
class Bulk:
    'A write large enough to be cancelled half-way, and the sizes the key may have after it.'

    make: Callable[..., Any]  # the async class, made without contents (no I/O)
    write: Callable[[Any, int], Coroutine[Any, Any, object]]  # on the async core
    size: Callable[[redis.Redis, str], object]
    steps: int = 0  # 0: all or nothing; else the write lands in steps of this many


@dataclasses.dataclass(frozen=True)
class Structure:
    name: str  # in both APIs, and in Pottery's
    redis_type: str  # what TYPE says of its key
    kind: str  # what WrongTypeError says the container needs
    make: Callable[[redis.Redis, str], Any]  # on a key, without contents
    seed: Callable[[Any, str | None], Any]  # with the row's contents (None: a random key)
    aseed: Callable[[redis.asyncio.Redis, str | None], Awaitable[Any]]
    write: Callable[[Any], object]
    operations: Callable[[Any, Sides], list[Op]]  # every one touches the key
    seeded_error: type[Exception] = KeyExistsError  # seeding a key of the wrong type
    response_error: bool = True  # whether WrongTypeError is also the redis.ResponseError
    aoperations: Callable[[Any], list[AsyncOp]] | None = None
    make_reads: bool = False  # the constructor reads the key
    unserialisable: Callable[[Any], list[Op]] | None = None
    bad_seed: Callable[[redis.Redis, str], object] | None = None
    extra_foreign: dict[str, Callable[[redis.Redis], object]] = dataclasses.field(default_factory=dict)
    local: Callable[[Any], object] | None = None  # what the object holds itself, if anything
    interop: Interop | None = None
    bulk: Bulk | None = None
    variant: str = ''  # what tells two rows of one structure apart
    not_in_ours: frozenset[str] = frozenset()  # Pottery's public names we do not offer
    same_signatures: tuple[str, ...] = ()  # methods that take exactly Pottery's parameters

    def __str__(self) -> str:
        return self.name + self.variant


# Keys of every other Redis type, at 'k'.
FOREIGN: dict[str, Callable[[redis.Redis], object]] = {
    'string': lambda c: c.set('k', 'a string'),
    'list': lambda c: c.rpush('k', '3', '1', '2'),
    'set': lambda c: c.sadd('k', '1', '2', '3', '4'),
    'hash': lambda c: c.hset('k', 'item', '"a"'),
    'zset': lambda c: c.zadd('k', {'3': 1, '1': 2}),
    'stream': lambda c: c.xadd('k', {'item': '"a"'}),
}

HASHABLE = [e for e in ELEMENTS if not isinstance(e, list | dict)]
# What JSON cannot encode, typed Any: the tests pass it where the API says no.
BAD: Any = object()
A_SET: Any = {1, 2}


def snapshot(*clients: redis.Redis) -> list[dict[bytes | str, tuple[bytes | None, bool]]]:
    'Every key on these servers: its DUMP, and whether it has a TTL.'
    return [
        {key: (client.dump(key), client.pttl(key) >= 0) for key in client.keys('*')}
        for client in clients
    ]


def canonical(values: Any) -> list[str]:
    return sorted(json.dumps(v, sort_keys=True) for v in values)


def quiet(call: Callable[[], Any]) -> Any:
    'Call Pottery, whose warnings are not ours to check.'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return call()


# --- RedisDict and RedisCounter --------------------------------------------------------

DICT = {'jack': 4098, 'list': [1, 'two', None], 'nested': {'b': 2, 'a': 1}, '1': True}


def dict_operations(d: sync.RedisDict, sides: Sides) -> list[Op]:
    return [
        lambda: d['a'], lambda: d.__setitem__('a', 1), lambda: d.__delitem__('a'), lambda: 'a' in d,
        lambda: len(d), lambda: list(d), lambda: d.update({'a': 1}), lambda: d.to_dict(), lambda: d.get('a'),
        lambda: d.pop('a'), lambda: d.popitem(), lambda: d.setdefault('a', 1), lambda: d == {'a': 1},
        lambda: repr(d),
    ]


def dict_aoperations(d: pottery_async.RedisDict) -> list[AsyncOp]:
    return [lambda: d.getitem('a'), lambda: d.setitem('a', 1), lambda: d.len(), lambda: d.to_dict()]


def dict_unserialisable(d: sync.RedisDict) -> list[Op]:
    return [
        lambda: d.__setitem__('x', BAD), lambda: d.__setitem__(BAD, 1),
        lambda: d.update({'ok': 1, 'bad': A_SET}), lambda: d.update(ok=1, bad=BAD),
    ]


def dict_steps(d: Any) -> None:
    d.update({'guido': 4127})
    del d['jack']


def counter_operations(counter: sync.RedisCounter, sides: Sides) -> list[Op]:
    good = sync.RedisCounter('ab', redis=sides.near, key='good')
    return [
        # Another counter at fault: the error names its key.
        lambda: good + counter, lambda: good.update(counter), lambda: good.__iadd__(counter),
        lambda: good == counter, lambda: good <= counter,
        lambda: counter['a'], lambda: counter.__setitem__('a', 1), lambda: counter.__delitem__('a'),
        lambda: 'a' in counter, lambda: len(counter), lambda: list(counter), lambda: counter.update('a'),
        lambda: counter.update({'a': 0.5}), lambda: counter.subtract('a'), lambda: list(counter.elements()),
        lambda: counter.most_common(), lambda: counter.total(), lambda: counter.to_counter(),
        lambda: repr(counter), lambda: counter == Counter(), lambda: counter + Counter(),
        lambda: Counter() - counter, lambda: -counter, lambda: counter <= Counter(),
        lambda: counter.__iadd__(Counter(a=1)), lambda: counter.__iand__(Counter(a=1)),
        lambda: sync.RedisCounter(counter, redis=sides.near, key='copy'),
    ]


def counter_unserialisable(c: sync.RedisCounter) -> list[Op]:
    return [
        lambda: c.update(['ok', BAD]), lambda: c.update({'ok': 1, BAD: 1}),
        lambda: c.update({'ok': 1, 'bad': BAD}), lambda: c.update({'ok': 1, 'bad': 'text'}),
        lambda: c.subtract({'ok': 1, 'bad': 'text'}), lambda: c.update(ok=1, bad=BAD),
        lambda: c.subtract([[1], {2}]), lambda: c.__setitem__('x', BAD), lambda: c[BAD],
        lambda: c.__iadd__({'ok': 1, BAD: 2}), lambda: c.__iadd__({'ok': 1, 'bad': 'text'}),
    ]


def counter_steps(c: Any) -> None:
    # Pottery 3.0.1 counts right from mappings only: its update() and
    # subtract() of an iterable or kwargs miscount keys that exist.
    c.update({'x': 2.5, 'y': 3})
    c.subtract({'g': 1, 'y': 1})
    c['z'] = 7


# --- RedisSet -----------------------------------------------------------------------------


def set_operations(s: sync.RedisSet, sides: Sides) -> list[Op]:
    good = sync.RedisSet('ab', redis=sides.near, key='good')
    return [
        lambda: 'a' in s, lambda: tuple(s.contains_many('a')), lambda: len(s), lambda: list(s),
        lambda: s.add('a'), lambda: s.discard('a'), lambda: s.remove('a'), lambda: s.pop(),
        lambda: s == {'a'}, lambda: s <= {'a'}, lambda: s.isdisjoint('a'), lambda: s.issuperset('a'),
        lambda: s | {'a'}, lambda: s & {'a'}, lambda: s - {'a'}, lambda: s ^ {'a'}, lambda: {'a'} - s,
        lambda: s.update('a'), lambda: s.difference_update('a'), lambda: s.intersection_update('a'),
        lambda: s.symmetric_difference_update('a'), lambda: s.to_set(), lambda: repr(s),
        # With another set on the same server, the error names the key at fault.
        lambda: s | good, lambda: good | s, lambda: s & good, lambda: good - s, lambda: s ^ good,
        lambda: good.update(s), lambda: good.intersection_update(s), lambda: good.difference_update(s),
        lambda: good.symmetric_difference_update(s), lambda: s.update(good), lambda: good <= s,
        lambda: good == s, lambda: sync.RedisSet(s, redis=sides.near, key='copy'),
    ]


def set_aoperations(s: pottery_async.RedisSet) -> list[AsyncOp]:
    return [lambda: s.add('a'), lambda: s.contains('a'), lambda: s.len(), lambda: s.to_set()]


def set_unserialisable(s: sync.RedisSet) -> list[Op]:
    return [
        lambda: s.add(BAD), lambda: s.discard(BAD), lambda: s.remove(BAD), lambda: s.update(['ok', BAD]),
        lambda: s.update(['ok'], [A_SET]), lambda: s.difference_update(['jack', BAD]),
        lambda: s.symmetric_difference_update(['jack', BAD]), lambda: s.__ior__({'ok', frozenset()}),
    ]


def set_steps(s: Any) -> None:
    s.add('late')
    s.update(['x', 'y'])
    s.discard('y')
    s.discard('jack')


# --- RedisList and RedisDeque ---------------------------------------------------------


def list_operations(values: sync.RedisList, sides: Sides) -> list[Op]:
    other = sync.RedisList(redis=sides.home, key='k')
    return [
        lambda: values[0], lambda: values[-1], lambda: values[3], lambda: values[1:3],
        lambda: values.__setitem__(0, 1), lambda: values.__setitem__(slice(0, 1), [1]),
        lambda: values.__delitem__(0), lambda: values.__delitem__(2), lambda: values.__delitem__(slice(0, 1)),
        lambda: 1 in values, lambda: len(values), lambda: list(values), lambda: list(reversed(values)),
        lambda: values.append(1), lambda: values.extend([1, 2]), lambda: values.insert(1, 1),
        lambda: values.pop(), lambda: values.pop(0), lambda: values.pop(2), lambda: values.remove(1),
        lambda: values.index(1), lambda: values.index(1, 1), lambda: values.count(1),
        lambda: values.reverse(), lambda: values.sort(), lambda: values.sort(key=str),
        lambda: values.clear(), lambda: values.to_list(), lambda: repr(values), lambda: values == [1],
        lambda: values < [1], lambda: values + [1], lambda: values * 2, lambda: values.copy(),  # noqa: RUF005
        lambda: values.__iadd__([1]), lambda: values.__imul__(2),
        lambda: sync.RedisList(redis=sides.near, key='ok').extend(other),
    ]


def list_aoperations(values: pottery_async.RedisList) -> list[AsyncOp]:
    return [lambda: values.append(1), lambda: values.getitem(0), lambda: values.len(), values.to_list]


def list_unserialisable(values: sync.RedisList) -> list[Op]:
    return [
        lambda: values.append(BAD), lambda: values.extend([1, 2, BAD]), lambda: values.insert(1, A_SET),
        lambda: values.__setitem__(1, BAD), lambda: values.__setitem__(slice(0, 2), [1, BAD]),
        lambda: values.__iadd__([1, BAD]), lambda: values + [1, BAD], lambda: values.remove(BAD),  # noqa: RUF005
    ]


def list_steps(values: Any) -> None:
    values.append('appended')
    values.insert(2, 'inserted')
    values[0] = 'first'


def deque_operations(maxlen: int | None) -> Callable[[sync.RedisDeque, Sides], list[Op]]:
    def operations(d: sync.RedisDeque, sides: Sides) -> list[Op]:
        made = [lambda: sync.RedisDeque(maxlen=maxlen, redis=sides.home, key='k')] if maxlen else []
        return [
            lambda: d.append(1), lambda: d.appendleft(1), lambda: d.extend([1]), lambda: d.extendleft([1]),
            lambda: d.pop(), lambda: d.popleft(), lambda: d.rotate(1), lambda: d.rotate(-2),
            lambda: d.insert(1, 1), lambda: d[0], lambda: len(d), lambda: list(d), lambda: repr(d),
            lambda: d == collections.deque(), lambda: d.remove(1), lambda: d.reverse(), lambda: d.clear(),
            lambda: d + [1], lambda: d.__iadd__([1]), lambda: d.__imul__(2),  # noqa: RUF005
            *made,
        ]

    return operations


def deque_aoperations(d: pottery_async.RedisDeque) -> list[AsyncOp]:
    return [lambda: d.appendleft(1), lambda: d.popleft(), lambda: d.rotate(1), lambda: d.len()]


def deque_unserialisable(d: sync.RedisDeque) -> list[Op]:
    return [
        lambda: d.append(BAD), lambda: d.appendleft(BAD), lambda: d.extend(['x', BAD]),
        lambda: d.extendleft(['x', BAD]), lambda: d.insert(0, BAD),
    ]


def deque_steps(d: Any) -> None:
    d.append({'b': 1, 'a': 2})
    d.appendleft('é')
    d.extend([1, 2.5, None])
    d.extendleft([True, [1, 'x']])
    d.popleft()
    d.pop()
    d.rotate(2)


def after(steps: Callable[[Any], object], python: T) -> T:
    'A Python container after the steps: what the same steps must leave on the server.'
    steps(python)
    return python


# --- HyperLogLog and BloomFilter ------------------------------------------------------


def hyperloglog_operations(hll: sync.HyperLogLog, sides: Sides) -> list[Op]:
    near = sync.HyperLogLog(['n'], redis=sides.near, key='near')
    far = sync.HyperLogLog(['f'], redis=sides.far, key='far')
    return [
        lambda: hll.add('a'), lambda: hll.update(['a', 'b']), lambda: hll.update(near),
        lambda: hll.update(far), lambda: hll.update(near, far, ['a']), lambda: 'a' in hll,
        lambda: tuple(hll.contains_many('a', 'b')), lambda: len(hll), lambda: repr(hll),
        lambda: hll.union(near, key='union'),
        lambda: sync.HyperLogLog(['a'], redis=sides.home, key='k'),
        # The culprit is the source, on this server or another one.
        lambda: near.update(hll), lambda: near.union(hll, key='union'),
        lambda: sync.HyperLogLog(hll, redis=sides.far, key='far-copy'),
    ]


def hyperloglog_aoperations(hll: pottery_async.HyperLogLog) -> list[AsyncOp]:
    return [
        lambda: hll.add('a'), lambda: hll.update(['a', 'b']), lambda: hll.contains('a'),
        lambda: hll.contains_many('a', 'b'), lambda: hll.len(), lambda: hll.repr(),
    ]


def hyperloglog_unserialisable(hll: sync.HyperLogLog) -> list[Op]:
    other = sync.HyperLogLog(['x'], redis=hll.redis, key='x')
    return [
        lambda: hll.add(BAD), lambda: hll.update(['ok', BAD]), lambda: hll.update(other, [A_SET]),
        lambda: hll.union(['ok', BAD], key='union'),
    ]


def hyperloglog_steps(hll: Any) -> None:
    # Pottery's HyperLogLog takes hashable elements only.
    hll.add('late')
    hll.update(['more', 'and more'])


def bloom_operations(bf: sync.BloomFilter, sides: Sides) -> list[Op]:
    return [
        lambda: bf.add('a'), lambda: bf.update(['a', 'b']), lambda: 'a' in bf,
        lambda: tuple(bf.contains_many('a', 'b')), lambda: len(bf),
        lambda: sync.BloomFilter(['a'], num_elements=100, false_positives=0.1, redis=sides.home, key='k'),
    ]


def bloom_aoperations(bf: pottery_async.BloomFilter) -> list[AsyncOp]:
    return [
        lambda: bf.add('a'), lambda: bf.update(['a', 'b']), lambda: bf.contains('a'),
        lambda: bf.contains_many('a', 'b'), lambda: bf.len(),
    ]


def bloom_steps(bf: Any) -> None:
    # Pottery's BloomFilter.add() takes hashable elements only; update(), any.
    bf.add('late')
    bf.update(ELEMENTS[5:7])


def probabilistic(x: Any) -> tuple[int, tuple[bool, ...]]:
    'What a HyperLogLog or a Bloom filter reads: its size, and whether it holds each element.'
    return len(x), tuple(x.contains_many(*ELEMENTS, 'late', 'nobody'))


# --- RedisSimpleQueue ------------------------------------------------------------------

QUEUED = ['Jeep', {'b': [1, None], 'a': True}, 3.5, None]


def queue_seed(client: Any, key: str | None) -> sync.RedisSimpleQueue:
    q = sync.RedisSimpleQueue(redis=client, key=key or '')
    q.put('Jeep')
    return q


async def queue_aseed(client: redis.asyncio.Redis, key: str | None) -> pottery_async.RedisSimpleQueue:
    q = pottery_async.RedisSimpleQueue(redis=client, key=key or '')
    await q.put('Jeep')
    return q


def queue_operations(q: sync.RedisSimpleQueue, sides: Sides) -> list[Op]:
    return [lambda: q.put('a'), q.get, lambda: q.get(timeout=0.01), q.get_nowait, q.qsize, q.empty]


def queue_aoperations(q: pottery_async.RedisSimpleQueue) -> list[AsyncOp]:
    return [lambda: q.put('a'), lambda: q.get(timeout=0.01), q.get_nowait, q.qsize, q.empty]


def queue_unserialisable(q: sync.RedisSimpleQueue) -> list[Op]:
    fresh = sync.RedisSimpleQueue(redis=q.redis, key='new')
    return [lambda: q.put(BAD), lambda: q.put_nowait({'a': A_SET}), lambda: fresh.put(BAD)]


def queue_steps(q: Any) -> None:
    for value in QUEUED:
        q.put(value)


def drain(q: Any) -> tuple[int, list[Any], bool]:
    size = q.qsize()
    return size, [q.get_nowait() for _ in range(size)], q.empty()


# --- CachedOrderedDict and redis_cache ---------------------------------------------------


def cached_dict(client: Any, key: str | None, dict_keys: Any = ()) -> sync.CachedOrderedDict:
    return sync.CachedOrderedDict(redis_client=client, redis_key=key, dict_keys=dict_keys)


def cached_dict_seed(client: Any, key: str | None) -> sync.CachedOrderedDict:
    d = cached_dict(client, key, (1,))
    d[1] = 'one'
    return d


async def cached_dict_aseed(client: redis.asyncio.Redis, key: str | None) -> pottery_async.CachedOrderedDict:
    d = await pottery_async.CachedOrderedDict(redis_client=client, redis_key=key, dict_keys=(1,))
    await d.setitem(1, 'one')
    return d


def cached_dict_operations(d: sync.CachedOrderedDict, sides: Sides) -> list[Op]:
    return [
        lambda: cached_dict(sides.home, 'k', (1, 2)), lambda: cached_dict(sides.home, 'k'),
        lambda: d.__setitem__(1, 'one'), lambda: d.update({1: 'one'}), lambda: d.setdefault(1, 'one'),
    ]


def cached_dict_steps(d: Any) -> None:
    d.update({1: [1, None], 'x': {'b': 2, 'a': 1}})
    d.setdefault(2, 'two')


def cached_function(client: Any, key: str | None) -> CachedFunction[[int], int]:
    @sync.redis_cache(redis=client, key=key, stampede_protection=True)
    def identity(n: int) -> int:
        return n

    return identity


def cache_seed(client: Any, key: str | None) -> CachedFunction[[int], int]:
    f = cached_function(client, key)
    f(1)
    return f


async def cache_aseed(client: redis.asyncio.Redis, key: str | None) -> AsyncCachedFunction[[int], int]:
    @pottery_async.redis_cache(redis=client, key=key, stampede_protection=True)
    async def identity(n: int) -> int:
        return n

    await identity(1)
    return identity


def cache_operations(f: CachedFunction[[int], int], sides: Sides) -> list[Op]:
    return [lambda: f(1), lambda: f.__bypass__(2), f.cache_info, f.cache_clear]


# --- the table ---------------------------------------------------------------------------


def container(
    name: str, redis_type: str, contents: Any, bad: Any, interop: tuple[Any, Any, object, Any],
    *, options: dict[str, Any] | None = None, **fields: Any,
) -> Structure:
    """A row for a class made as ``Class(contents, redis=, key=, **options)``, in both APIs and Pottery.

    ``interop``: the steps, how to read the result, what it reads, the stored bytes.
    """
    def build(api: Any, client: Any, key: str | None, *given: Any) -> Any:
        return getattr(api, name)(*given, redis=client, key=key, **(options or {}))

    steps, read, expected, raw = interop
    return Structure(
        name, redis_type, fields.pop('kind', redis_type),
        make=lambda client, key: build(sync, client, key),
        seed=lambda client, key: build(sync, client, key, contents),
        aseed=lambda client, key: build(pottery_async, client, key, contents),
        bad_seed=lambda client, key: build(sync, client, key, bad),
        interop=Interop(
            pottery=lambda p, client, key: build(p, client, key, contents),
            attach=lambda p, client, key: build(p, client, key),
            steps=steps, read=read, expected=expected, raw=raw,
        ),
        **fields,
    )


def deque(maxlen: int | None) -> Structure:
    python = collections.deque(['start', 1], maxlen=maxlen)
    return container(
        'RedisDeque', 'list', ['start', 1], ['x', BAD],
        (deque_steps, list, list(after(deque_steps, python)), lrange), options={'maxlen': maxlen},
        variant='' if maxlen is None else f'(maxlen={maxlen})',
        write=lambda d: d.appendleft(0), operations=deque_operations(maxlen), aoperations=deque_aoperations,
        response_error=False, make_reads=maxlen is not None, unserialisable=deque_unserialisable,
        bulk=None if maxlen else Bulk(
            pottery_async.RedisDeque, lambda d, n: d.extend(['x' * 20] * n), redis.Redis.llen, steps=20_000,
        ),
    )


STRUCTURES = [
    container(
        'RedisDict', 'hash', DICT, {'ok': 1, 'bad': BAD},
        (dict_steps, lambda d: d.to_dict(), after(dict_steps, dict(DICT)), redis.Redis.hgetall),
        write=lambda d: d.__setitem__('a', 1), operations=dict_operations, aoperations=dict_aoperations,
        unserialisable=dict_unserialisable,
        bulk=Bulk(pottery_async.RedisDict, lambda d, n: d.update({f'field-{i}': 'x' * 20 for i in range(n)}),
                  redis.Redis.hlen),
    ),
    container(
        'RedisCounter', 'hash', 'gallahad', ['ok', BAD],
        (
            counter_steps, lambda c: (c.to_counter(), repr(c)),
            (
                after(counter_steps, Counter('gallahad')),
                "RedisCounter{'z': 7, 'a': 3, 'x': 2.5, 'l': 2, 'y': 2, 'h': 1, 'd': 1, 'g': 0}",
            ),
            redis.Redis.hgetall,
        ),
        write=lambda c: c.update('a'), operations=counter_operations, response_error=False,
        unserialisable=counter_unserialisable, not_in_ours=frozenset({'copy', 'fromkeys'}),
        bulk=Bulk(pottery_async.RedisCounter, lambda c, n: c.update({f'field-{i}': 1 for i in range(n)}),
                  redis.Redis.hlen),
    ),
    container(
        'RedisSet', 'set', ELEMENTS, ['ok', BAD],
        (
            set_steps, lambda s: (len(s), canonical(s), tuple(s.contains_many('late', 'x', 'y', 'jack'))),
            (len(ELEMENTS) + 1, canonical([*ELEMENTS[1:], 'late', 'x']), (True, True, False, False)),
            redis.Redis.smembers,
        ),
        write=lambda s: s.add('a'), operations=set_operations, aoperations=set_aoperations,
        unserialisable=set_unserialisable,
        bulk=Bulk(pottery_async.RedisSet, lambda s, n: s.update(f'element-{i}' for i in range(n)),
                  redis.Redis.scard),
    ),
    container(
        'RedisList', 'list', ELEMENTS, [1, BAD],
        (list_steps, lambda values: values.to_list(), after(list_steps, list(ELEMENTS)), lrange),
        write=lambda values: values.append(1), operations=list_operations, aoperations=list_aoperations,
        unserialisable=list_unserialisable,
        # Pushed in chunks of 20,000 (_CHUNK), each all or nothing.
        bulk=Bulk(pottery_async.RedisList, lambda values, n: values.extend(['x' * 20] * n), redis.Redis.llen,
                  steps=20_000),
    ),
    deque(None),
    deque(4),
    container(
        'HyperLogLog', 'string', HASHABLE, ['ok', BAD],
        (
            hyperloglog_steps, probabilistic,
            (len(HASHABLE) + 3, (*(e in HASHABLE for e in ELEMENTS), True, False)), registers,
        ),
        kind='HyperLogLog', write=lambda hll: hll.add('a'), operations=hyperloglog_operations,
        aoperations=hyperloglog_aoperations, seeded_error=WrongTypeError,
        unserialisable=hyperloglog_unserialisable, same_signatures=('union',),
        extra_foreign={
            # A plain string, and a dense header of the wrong length.
            'not a HyperLogLog': lambda c: c.set('k', 'not a HyperLogLog'),
            'bad dense header': lambda c: c.set('k', b'HYLL\x00' + b'\x00' * 20),
        },
    ),
    container(
        'BloomFilter', 'string', HASHABLE, ['ok', BAD],
        (
            bloom_steps, probabilistic, (len(ELEMENTS) + 1, (True,) * (len(ELEMENTS) + 1) + (False,)),
            redis.Redis.get,
        ),
        options={'num_elements': 1000, 'false_positives': 0.001},
        write=lambda bf: bf.add('a'), operations=bloom_operations, aoperations=bloom_aoperations,
        seeded_error=WrongTypeError,
        unserialisable=lambda bf: [
            lambda: bf.add(BAD), lambda: bf.update(['ok', BAD]), lambda: bf.update(['ok'], [A_SET]),
        ],
    ),
    Structure(
        'RedisSimpleQueue', 'stream', 'stream',
        make=lambda client, key: sync.RedisSimpleQueue(redis=client, key=key),
        seed=queue_seed,
        aseed=queue_aseed,
        write=lambda q: q.put(1),
        operations=queue_operations,
        not_in_ours=frozenset({'RETRY_DELAY'}),
        same_signatures=('put', 'put_nowait', 'get', 'get_nowait', 'qsize', 'empty'),
        aoperations=queue_aoperations,
        seeded_error=WrongTypeError,
        unserialisable=queue_unserialisable,
        interop=Interop(
            pottery=lambda p, client, key: p.RedisSimpleQueue(redis=client, key=key),
            attach=lambda p, client, key: p.RedisSimpleQueue(redis=client, key=key),
            steps=queue_steps, read=drain,
            expected=(len(QUEUED), QUEUED, True),
            raw=lambda client, key: [fields for _, fields in entries(client, key)],
        ),
    ),
    Structure(
        'CachedOrderedDict', 'hash', 'hash',
        make=cached_dict,
        seed=cached_dict_seed,
        aseed=cached_dict_aseed,
        write=lambda d: d.__setitem__(1, 'one'),
        operations=cached_dict_operations,
        seeded_error=WrongTypeError,
        make_reads=True,
        unserialisable=lambda d: [
            lambda: d.__setitem__(1, BAD), lambda: d.update({2: 'ok', 3: A_SET}),
            lambda: d.setdefault(2, BAD),
        ],
        local=lambda d: (list(d.items()), d.misses()),
        bad_seed=lambda client, key: cached_dict(client, key, (1, BAD)),
        interop=Interop(
            pottery=lambda p, client, key: p.CachedOrderedDict(
                redis_client=client, redis_key=key, dict_keys=(1,)),
            attach=lambda p, client, key: p.CachedOrderedDict(
                redis_client=client, redis_key=key, dict_keys=(2, 1, 'x')),
            steps=cached_dict_steps, read=lambda d: (list(d.items()), d.misses()),
            expected=([(2, 'two'), (1, [1, None]), ('x', {'a': 1, 'b': 2})], frozenset()),
            raw=redis.Redis.hgetall,
        ),
    ),
    Structure(
        'redis_cache', 'hash', 'hash',
        make=cached_function,
        seed=cache_seed,
        aseed=cache_aseed,
        write=lambda f: f(2),
        operations=cache_operations,
        seeded_error=WrongTypeError,
    ),
]


def rows(*needs: str) -> pytest.MarkDecorator:
    'Parametrise over the rows that have every field in ``needs``.'
    return pytest.mark.parametrize(
        'structure', [s for s in STRUCTURES if all(getattr(s, need) for need in needs)], ids=str,
    )


def held(structure: Structure, x: Any) -> object:
    'What the object holds on the client side, which failed operations leave alone.'
    return structure.local(x) if structure.local else None


def foreign(structure: Structure) -> Iterator[tuple[str, Callable[[redis.Redis], object]]]:
    for found, setup in FOREIGN.items():
        if found != structure.redis_type:
            yield found, setup
    yield from structure.extra_foreign.items()


@pytest.fixture(autouse=True)
def _scripts_loaded(redis_client: redis.Redis) -> None:
    'EVALSHA alone reaches the server, not a NOSCRIPT and the EVAL after it.'
    warm_scripts(redis_client, _ADD, _HAS, _CONTAINS, _MERGE)


# --- a key of the wrong type --------------------------------------------------------------


@pytest.mark.parametrize(('structure', 'found', 'setup'), [
    pytest.param(structure, found, setup, id=f'{structure}-{found}')
    for structure in STRUCTURES for found, setup in foreign(structure)
])
def test_wrong_type_key_is_left_intact(
    structure: Structure, found: str, setup: Callable[[redis.Redis], object],
    redis_client: redis.Redis, far_client: redis.Redis,
) -> None:
    # Made while the key is free: a bounded deque's constructor reads it.
    x = structure.make(redis_client, 'k')
    operations = structure.operations(x, Sides(redis_client, redis_client, far_client))
    setup(redis_client)
    before = snapshot(redis_client, far_client), held(structure, x)
    assert_wrong_type(operations, structure.kind, response_error=structure.response_error)
    with pytest.raises(structure.seeded_error):
        structure.seed(redis_client, 'k')
    assert (snapshot(redis_client, far_client), held(structure, x)) == before


@pytest.mark.parametrize(('structure', 'found', 'setup'), [
    pytest.param(structure, found, setup, id=f'{structure}-{found}')
    for structure in STRUCTURES if structure.aoperations for found, setup in foreign(structure)
])
async def test_async_wrong_type_key_is_left_intact(
    structure: Structure, found: str, setup: Callable[[redis.Redis], object],
    aredis: redis.asyncio.Redis, redis_client: redis.Redis,
) -> None:
    x = await structure.aseed(aredis, 'k')
    assert structure.aoperations is not None
    redis_client.delete('k')
    setup(redis_client)
    before = snapshot(redis_client)
    for operation in structure.aoperations(x):
        with pytest.raises(pottery_async.WrongTypeError) as info:
            await operation()
        assert info.value.key == 'k'
        assert "'k' on 127.0.0.1:" in str(info.value)
        assert structure.kind in str(info.value)
    assert snapshot(redis_client) == before


# --- a random key ---------------------------------------------------------------------------


@rows()
def test_random_key_is_deleted_when_collected(structure: Structure, redis_client: redis.Redis) -> None:
    temporary = structure.seed(redis_client, None)
    assert redis_client.keys('pottery:*')
    del temporary
    gc.collect()
    # Deletion is queued (no I/O in __del__) and runs before the next call.
    structure.write(structure.make(redis_client, 'unrelated'))
    assert redis_client.keys('pottery:*') == []


@rows()
async def test_async_random_key_is_deleted_when_collected(
    structure: Structure, aredis: redis.asyncio.Redis,
) -> None:
    temporary = await structure.aseed(aredis, None)
    assert await aredis.keys('pottery:*')
    del temporary
    await temporaries_deleted(aredis)
    assert await aredis.keys('*') == []


# --- input that cannot be encoded -----------------------------------------------------------


@rows('unserialisable')
def test_unserialisable_input_writes_nothing(structure: Structure, redis_client: redis.Redis) -> None:
    x = structure.seed(redis_client, 'k')
    assert structure.unserialisable is not None
    operations = structure.unserialisable(x)
    before = snapshot(redis_client), held(structure, x)
    for operation in operations:
        with pytest.raises(TypeError):
            operation()
        assert (snapshot(redis_client), held(structure, x)) == before


@rows('bad_seed')
def test_unserialisable_contents_write_nothing(structure: Structure, redis_client: redis.Redis) -> None:
    assert structure.bad_seed is not None
    with pytest.raises(TypeError, match='not JSON serializable'):
        structure.bad_seed(redis_client, 'new')
    assert redis_client.keys('*') == []


# --- a server that refuses connections ------------------------------------------------------


@rows()
def test_dead_server_raises_promptly(
    structure: Structure, refused_port: int, redis_client: redis.Redis,
) -> None:
    # redis-py's default retries take a few seconds; the rest go without.
    default = redis.Redis(port=refused_port, socket_connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        structure.write(structure.make(default, 'k'))
    assert time.monotonic() - started < 30
    once = redis.Redis(port=refused_port, socket_connect_timeout=2, retry=NO_RETRY)
    if structure.make_reads:
        with pytest.raises(redis.ConnectionError):
            structure.make(once, 'k')
        return
    x = structure.make(once, 'k')
    # Its peers live on the server that answers.
    operations = structure.operations(x, Sides(once, redis_client, redis_client))
    before = snapshot(redis_client), held(structure, x)
    seeding: Op = lambda: structure.seed(once, 'k')  # noqa: E731
    for operation in [*operations, seeding]:
        started = time.monotonic()
        with pytest.raises(redis.ConnectionError):
            operation()
        assert time.monotonic() - started < 30
    assert (snapshot(redis_client), held(structure, x)) == before


# --- cancelled and interrupted writes -----------------------------------------------------------

BULK = 50_000


def allowed(bulk: Bulk) -> set[int]:
    return {0, BULK} | (set(range(0, BULK, bulk.steps)) if bulk.steps else set())


@rows('bulk')
def test_cancelled_write_is_all_or_nothing(structure: Structure, redis_client: redis.Redis, url: str) -> None:
    bulk = structure.bulk
    assert bulk is not None
    cancelled: list[float] = []

    async def attempt(delay: float, key: str) -> None:
        client = redis.asyncio.Redis.from_url(url)
        x = bulk.make(redis=client, key=key)
        task = asyncio.ensure_future(bulk.write(x, BULK))
        await asyncio.sleep(delay)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            cancelled.append(delay)
        await client.aclose()

    for i, delay in enumerate([0, 0.001, 0.003, 0.01, 0.03, 0.1]):
        key = f'cancelled-{i}'
        asyncio.run(attempt(delay, key))
        # Let the server finish whatever reached it whole.
        redis_client.ping()
        assert bulk.size(redis_client, key) in allowed(bulk), delay
    # The early cancellations really interrupted the write.
    assert 0 in cancelled


@rows('bulk')
def test_sync_write_interrupted_by_timeout_is_all_or_nothing(
    structure: Structure, redis_client: redis.Redis,
) -> None:
    bulk = structure.bulk
    assert bulk is not None
    x = structure.make(redis_client, 'timed')
    for timeout in (0.0005, 0.002, 0.01):
        try:
            _bridge.run(bulk.write(x._core, BULK), timeout=timeout)
        except TimeoutError:
            pass
        redis_client.ping()
        assert bulk.size(redis_client, 'timed') in allowed(bulk), timeout
        redis_client.delete('timed')


# --- Pottery 3.0.1 ---------------------------------------------------------------------------


@rows('interop')
def test_pottery_writes_we_read(structure: Structure, pottery_module: Any, redis_client: redis.Redis) -> None:
    interop = structure.interop
    assert interop is not None
    quiet(lambda: interop.steps(interop.pottery(pottery_module, redis_client, 'theirs')))
    ours = interop.attach(sync, redis_client, 'theirs')
    assert interop.read(ours) == interop.expected


@rows('interop')
def test_we_write_pottery_reads(structure: Structure, pottery_module: Any, redis_client: redis.Redis) -> None:
    interop = structure.interop
    assert interop is not None
    interop.steps(interop.pottery(sync, redis_client, 'ours'))
    quiet(lambda: interop.steps(interop.pottery(pottery_module, redis_client, 'theirs')))
    # Byte for byte the same.
    assert interop.raw(redis_client, 'ours') == interop.raw(redis_client, 'theirs')
    theirs = quiet(lambda: interop.attach(pottery_module, redis_client, 'ours'))
    assert quiet(lambda: interop.read(theirs)) == interop.expected


def same_parameters(ours: Callable[..., object], theirs: Callable[..., object]) -> None:
    'Every named parameter of Pottery\'s is ours too, of the same kind and default.'
    mine = inspect.signature(ours).parameters
    for parameter in inspect.signature(theirs).parameters.values():
        if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            assert mine[parameter.name].kind == parameter.kind, parameter
            assert mine[parameter.name].default == parameter.default, parameter


@rows()
def test_sync_api_is_a_drop_in(structure: Structure, pottery_module: Any) -> None:
    ours, theirs = getattr(sync, structure.name), getattr(pottery_module, structure.name)
    assert structure.name in sync.__all__
    same_parameters(ours, theirs)
    public = {name for name in dir(theirs) if not name.startswith('_')}
    assert {name for name in public if not hasattr(ours, name)} == structure.not_in_ours
    for name in structure.same_signatures:
        same_parameters(getattr(ours, name), getattr(theirs, name))
