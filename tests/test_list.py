"""RedisList through both APIs, against a real server."""

from __future__ import annotations

import collections.abc
import gc
import itertools
import json
import operator
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import redis
import redis.asyncio

import pottery_async
import pottery_async.sync
from pottery_async import _bridge
from pottery_async.exceptions import InefficientAccessWarning, KeyExistsError
from pottery_async.sync import RedisList
from tests.helpers import eventually, lrange, nodes_of, stored, untyped
from tests.server_checks import sent_commands, temporaries_deleted
from tests.servers import Cluster

pytestmark = pytest.mark.filterwarnings('ignore::pottery_async.exceptions.InefficientAccessWarning')


@pytest.fixture
def squares(redis_client: redis.Redis) -> RedisList:
    return RedisList([1, 4, 9, 16, 25], redis=redis_client, key='squares')


def outcome(operation: Any) -> tuple[str, Any]:
    'What an operation returned, or the type and message of what it raised.'
    try:
        return 'returned', operation()
    except Exception as error:
        return type(error).__name__, str(error)


# --- the sync API: everything list / MutableSequence offers -----------------


def test_is_a_mutable_sequence(squares: RedisList) -> None:
    assert isinstance(squares, collections.abc.MutableSequence)
    assert isinstance(squares, collections.abc.Sequence)
    assert not isinstance(squares, collections.abc.Hashable)


def test_seed_example(squares: RedisList) -> None:
    assert repr(squares) == 'RedisList[1, 4, 9, 16, 25]'
    assert squares[0] == 1
    assert squares[-1] == 25
    assert squares[-3:] == [9, 16, 25]
    assert squares[:] == [1, 4, 9, 16, 25]
    total = squares + [36, 49, 64, 81, 100]  # noqa: RUF005
    assert repr(total) == 'RedisList[1, 4, 9, 16, 25, 36, 49, 64, 81, 100]'


def test_stores_json_like_pottery(redis_client: redis.Redis) -> None:
    values = RedisList(redis=redis_client, key='l')
    values.extend([{'z': 1, 'a': [True, None]}, 'é', 1.5, 'x'])
    values.append([1, 'two'])
    assert lrange(redis_client, 'l') == [
        b'{"a": [true, null], "z": 1}', b'"\\u00e9"', b'1.5', b'"x"', b'[1, "two"]',
    ]
    assert redis_client.type('l') == b'list'


def test_indexing_like_python(squares: RedisList, redis_client: redis.Redis) -> None:
    python = [1, 4, 9, 16, 25]
    for index in range(-7, 7):
        assert outcome(lambda i=index: squares[i]) == outcome(lambda i=index: python[i]), index
    with pytest.raises(IndexError, match='list index out of range'):
        squares[5]
    with pytest.raises(IndexError, match='list index out of range'):
        squares[2**70]
    with pytest.raises(TypeError, match='list indices must be integers or slices, not str'):
        squares[untyped('a')]
    assert squares[True] == 4
    assert RedisList(redis=redis_client, key='empty')[0:3] == []
    with pytest.raises(IndexError):
        RedisList(redis=redis_client, key='empty')[0]


def test_every_slice_like_python(squares: RedisList) -> None:
    python = [1, 4, 9, 16, 25]
    bounds = [None, -7, -5, -2, -1, 0, 1, 3, 5, 8]
    for start, stop, step in itertools.product(bounds, bounds, [None, 1, 2, 3, -1, -2, -4, 9]):
        s = slice(start, stop, step)
        assert squares[s] == python[s], s
    with pytest.raises(ValueError, match='slice step cannot be zero'):
        squares[::0]
    assert squares[-(2**80):2**80:2**70] == [1]


def test_slice_assignment_and_deletion_like_python(redis_client: redis.Redis) -> None:
    original: list[Any] = list(range(8))
    bounds = [None, -9, -3, 0, 2, 5, 9]
    cases = 0
    for start, stop, step in itertools.product(bounds, bounds, [None, 2, -1, -3]):
        s = slice(start, stop, step)
        for new in ([], ['a'], ['a', 'b', 'c']):
            redis_client.delete('l')
            ours = RedisList(original, redis=redis_client, key='l')
            python = list(original)
            ours_now, python_now = ours.__setitem__, python.__setitem__
            assert outcome(lambda: ours_now(s, new)) == outcome(lambda: python_now(s, new)), s  # noqa: B023
            assert stored(redis_client, 'l') == python, (s, new)
            cases += 1
        redis_client.delete('l')
        ours = RedisList(original, redis=redis_client, key='l')
        python = list(original)
        del ours[s]
        del python[s]
        assert stored(redis_client, 'l') == python, s
    assert cases == 7 * 7 * 4 * 3


def test_slice_assignment_errors_change_nothing(squares: RedisList, redis_client: redis.Redis) -> None:
    before = lrange(redis_client, 'squares')
    with pytest.raises(ValueError, match='attempt to assign sequence of size 1 to extended slice of size 3'):
        squares[::2] = [0]
    with pytest.raises(TypeError, match='can only assign an iterable'):
        squares[1:2] = 5
    with pytest.raises(TypeError):
        squares[1:2] = [1, object()]
    assert lrange(redis_client, 'squares') == before
    squares[1:3] = RedisList(['a', 'b', 'c'], redis=redis_client, key='abc')
    assert squares.to_list() == [1, 'a', 'b', 'c', 16, 25]


def test_item_assignment_and_deletion(squares: RedisList, redis_client: redis.Redis) -> None:
    squares[0] = 'first'
    squares[-1] = 'last'
    squares[2] = {'b': 1, 'a': 2}
    assert lrange(redis_client, 'squares') == [b'"first"', b'4', b'{"a": 2, "b": 1}', b'16', b'"last"']
    with pytest.raises(IndexError, match='list assignment index out of range'):
        squares[5] = 1
    with pytest.raises(IndexError, match='list assignment index out of range'):
        squares[-6] = 1
    del squares[1]
    del squares[-1]
    del squares[0]
    assert stored(redis_client, 'squares') == [{'a': 2, 'b': 1}, 16]
    with pytest.raises(IndexError, match='list assignment index out of range'):
        del squares[2]
    with pytest.raises(IndexError):
        RedisList(redis=redis_client, key='missing')[0] = 1
    assert not redis_client.exists('missing')


def test_delete_in_the_middle_keeps_equal_neighbours(redis_client: redis.Redis) -> None:
    values = RedisList(['a', 'x', 'x', 'x', 'b', 'x', 'x'], redis=redis_client, key='l')
    del values[3]
    del values[4]
    assert values.to_list() == ['a', 'x', 'x', 'b', 'x']


def test_insert_append_extend_pop_like_python(redis_client: redis.Redis) -> None:
    for index in range(-8, 9):
        redis_client.delete('l')
        ours = RedisList([0, 1, 2, 3, 4], redis=redis_client, key='l')
        python: list[Any] = [0, 1, 2, 3, 4]
        ours.insert(index, 'new')
        python.insert(index, 'new')
        assert stored(redis_client, 'l') == python, index
        assert outcome(lambda: ours.pop(index)) == outcome(lambda: python.pop(index)), index  # noqa: B023
        assert stored(redis_client, 'l') == python, index
    ours = RedisList(redis=redis_client, key='grow')
    ours.append(1)
    ours.extend([2, 3])
    ours.extend(x for x in [4])
    ours.extend([])
    ours += [5]
    assert stored(redis_client, 'grow') == [1, 2, 3, 4, 5]
    assert ours.pop() == 5
    assert ours.pop(0) == 1
    assert ours.pop(-1) == 4
    assert ours.pop(None) == 3
    with pytest.raises(IndexError, match='pop index out of range'):
        ours.pop(3)
    assert ours.pop() == 2
    with pytest.raises(IndexError, match='pop from an empty RedisList'):
        ours.pop()
    with pytest.raises(IndexError, match='pop from an empty RedisList'):
        ours.pop(3)
    assert not redis_client.exists('grow')


def test_extend_with_itself_and_other_lists(squares: RedisList, redis_client: redis.Redis) -> None:
    squares.extend(squares)
    assert squares.to_list() == [1, 4, 9, 16, 25] * 2
    other = RedisList(['x'], redis=redis_client, key='other')
    squares.extend(other)
    assert squares[-1] == 'x'


def test_index_count_remove_contains(redis_client: redis.Redis) -> None:
    python: list[Any] = ['a', 'b', 'a', 'c', 'a', {'k': 1}]
    ours = RedisList(python, redis=redis_client, key='l')
    assert 'a' in ours
    assert {'k': 1} in ours
    assert 'z' not in ours
    assert object() not in ours
    assert ours.count('a') == 3
    assert ours.count('z') == 0
    assert ours.count(object()) == 0
    for start, stop in itertools.product([0, 1, 3, -2, -10, 10], [None, 0, 2, 5, -1, -10, 10]):
        args = (start,) if stop is None else (start, stop)
        expected = outcome(lambda a=args: python.index('a', *a))
        got = outcome(lambda a=args: ours.index('a', *a))
        assert got[0] == expected[0], args
        if got[0] == 'returned':
            assert got == expected, args
    with pytest.raises(ValueError, match="'z' is not in RedisList"):
        ours.index('z')
    with pytest.raises(ValueError, match='is not in RedisList'):
        ours.index(object())
    ours.remove('a')
    assert stored(redis_client, 'l') == ['b', 'a', 'c', 'a', {'k': 1}]
    with pytest.raises(ValueError, match=r'RedisList.remove\(x\): x not in RedisList'):
        ours.remove('z')
    assert stored(redis_client, 'l') == ['b', 'a', 'c', 'a', {'k': 1}]


def test_reverse(squares: RedisList, redis_client: redis.Redis) -> None:
    squares.reverse()
    assert stored(redis_client, 'squares') == [25, 16, 9, 4, 1]
    big = RedisList(range(20_000), redis=redis_client, key='big')
    big.reverse()
    assert stored(redis_client, 'big') == list(range(19_999, -1, -1))
    RedisList(redis=redis_client, key='none').reverse()
    assert not redis_client.exists('none')


def test_sort_numbers_on_the_server(redis_client: redis.Redis, url: str) -> None:
    numbers = RedisList([3, -1.5, 10, 2, 0], redis=redis_client, key='n')
    RedisList(redis=redis_client, key='other').sort()  # the script is loaded
    with sent_commands(url) as sent:
        numbers.sort()
    assert [command.split()[0] for command in sent] == ['EVALSHA']
    assert lrange(redis_client, 'n') == [b'-1.5', b'0', b'2', b'3', b'10']
    numbers.sort(reverse=True)
    assert stored(redis_client, 'n') == [10, 3, 2, 0, -1.5]


def test_sort_anything_else_like_python(redis_client: redis.Redis) -> None:
    words = RedisList(['pear', 'Apple', 'fig', 'apple'], redis=redis_client, key='w')
    words.sort()
    assert stored(redis_client, 'w') == ['Apple', 'apple', 'fig', 'pear']
    words.sort(key=str.lower, reverse=True)
    assert stored(redis_client, 'w') == ['pear', 'fig', 'Apple', 'apple']
    words.sort(key=len)
    assert stored(redis_client, 'w') == ['fig', 'pear', 'Apple', 'apple']
    mixed = RedisList([True, 2, 0.5, None], redis=redis_client, key='m')
    before = lrange(redis_client, 'm')
    with pytest.raises(TypeError):
        mixed.sort()
    assert lrange(redis_client, 'm') == before
    nested = RedisList([[2, 'b'], [1, 'z'], [2, 'a']], redis=redis_client, key='x')
    nested.sort()
    assert stored(redis_client, 'x') == [[1, 'z'], [2, 'a'], [2, 'b']]
    RedisList(redis=redis_client, key='none').sort()
    assert not redis_client.exists('none')


def test_sort_keeps_the_stored_bytes(redis_client: redis.Redis) -> None:
    redis_client.rpush('l', '{"b":1,  "a":2}', '{"a": 1}')
    RedisList(redis=redis_client, key='l').sort(key=lambda d: d['a'])
    assert lrange(redis_client, 'l') == [b'{"a": 1}', b'{"b":1,  "a":2}']


def test_operators(squares: RedisList, redis_client: redis.Redis) -> None:
    total = squares + [36]  # noqa: RUF005
    assert isinstance(total, RedisList)
    # A random key that starts with the list's and is in its cluster hash slot.
    assert total.key.startswith('squares:copy:')
    assert total.key.endswith('{squares}')
    assert total.redis is redis_client
    assert stored(redis_client, total.key) == [1, 4, 9, 16, 25, 36]
    assert stored(redis_client, 'squares') == [1, 4, 9, 16, 25]
    assert (squares + squares).to_list() == [1, 4, 9, 16, 25] * 2
    doubled = squares * 2
    assert isinstance(doubled, RedisList)
    assert doubled.to_list() == [1, 4, 9, 16, 25] * 2
    assert (3 * squares).to_list() == [1, 4, 9, 16, 25] * 3
    assert (squares * 0).to_list() == []
    assert (squares * -1).to_list() == []
    with pytest.raises(TypeError, match="can't multiply sequence by non-int of type 'float'"):
        squares * untyped(1.5)
    copy = squares.copy()
    assert copy.to_list() == squares.to_list()
    assert copy.key != squares.key
    same = squares
    squares += [36]
    assert squares is same
    squares *= 2
    assert squares is same
    assert stored(redis_client, 'squares') == [1, 4, 9, 16, 25, 36] * 2
    squares *= 0
    assert not redis_client.exists('squares')


def test_new_containers_from_operators_are_temporary(squares: RedisList, redis_client: redis.Redis) -> None:
    total = squares + [36]  # noqa: RUF005
    key = total.key
    assert redis_client.exists(key)
    del total
    # The bridge's task for that call returned the container; if anything
    # in it got into a reference cycle (a caught exception, say), the
    # container is freed at the next collection rather than at once.
    gc.collect()
    # Deleted at once when collected outside a call, else (collected by an
    # automatic collection during a call) by the background loop, soon.
    len(squares)
    assert eventually(lambda: not redis_client.exists(key))


def test_equality_and_ordering(squares: RedisList, redis_client: redis.Redis) -> None:
    assert squares == [1, 4, 9, 16, 25]
    assert squares != [1, 4, 9, 16]
    assert squares != [1, 4, 9, 16, 26]
    assert squares != (1, 4, 9, 16, 25)
    assert squares != 'squares'
    assert squares == RedisList(redis=redis_client, key='squares')
    assert squares == RedisList([1, 4, 9, 16, 25], redis=redis_client, key='copy')
    assert squares != RedisList([1], redis=redis_client, key='other')
    assert squares != pottery_async.sync.RedisDeque([1, 4, 9, 16, 25], redis=redis_client, key='deque')
    assert squares < [1, 4, 10]
    assert squares <= [1, 4, 9, 16, 25]
    assert squares > [1, 4]
    assert squares >= RedisList([1, 4, 9, 16, 25], redis=redis_client, key='copy2')
    assert [1, 4, 10] > squares
    with pytest.raises(TypeError, match="'<' not supported between instances of 'RedisList' and 'int'"):
        operator.lt(squares, 5)
    empty = RedisList(redis=redis_client, key='empty')
    assert empty == []
    assert not empty
    assert squares


def test_iteration_streams_in_pages(redis_client: redis.Redis, url: str) -> None:
    values = list(range(5000))
    big = RedisList(redis=redis_client, key='big')
    big.extend(values)
    with sent_commands(url) as sent:
        assert [value for value in big] == values
    assert sent == [f'LRANGE big {start} {start + 999}' for start in range(0, 6000, 1000)]
    pages = big._core.__aiter__().pages
    sizes = _bridge.run(_page_sizes(pages))
    assert sizes == [1000] * 5
    with sent_commands(url) as sent:
        assert [value for value in reversed(big)] == values[::-1]
    assert len(sent) == 6
    assert all(command.startswith('LRANGE big -') for command in sent)
    assert list(RedisList(redis=redis_client, key='none')) == []
    assert list(reversed(RedisList(['a'], redis=redis_client, key='one'))) == ['a']


async def _page_sizes(pages: Any) -> list[int]:
    return [len(page) async for page in pages]


def test_single_commands(squares: RedisList, url: str) -> None:
    # The bridge client is connected and the scripts are loaded.
    squares.insert(2, 'middle')
    squares[3] = 'three'
    del squares[4]
    with sent_commands(url) as sent:
        squares.append(36)
        squares.extend(range(1000))
        squares.pop()
        squares.pop(0)
        assert squares[0] == 4
        assert len(squares) > 0
        assert 36 in squares
        squares.remove(36)
        squares.insert(2, 'middle')
        squares[3] = 'three'
        del squares[4]
    assert [command.split()[0] for command in sent] == [
        'RPUSH', 'RPUSH', 'RPOP', 'LPOP', 'LINDEX', 'LLEN', 'LPOS', 'LREM', 'EVALSHA', 'EVALSHA', 'EVALSHA',
    ]
    assert len(sent[1].split()) == 1002


def test_repr_to_list_and_json(squares: RedisList, redis_client: redis.Redis) -> None:
    assert squares.to_list() == [1, 4, 9, 16, 25]
    assert json.dumps(squares, cls=pottery_async.sync.PotteryEncoder) == '[1, 4, 9, 16, 25]'
    assert repr(RedisList(redis=redis_client, key='none')) == 'RedisList[]'
    assert RedisList(redis=redis_client, key='none').to_list() == []


@pytest.mark.parametrize('change', [
    lambda lst: lst.reverse(),
    lambda lst: lst.sort(),
    lambda lst: lst.sort(key=lambda x: -x),
    lambda lst: lst.__delitem__(slice(None, None, 2)),
    lambda lst: lst.__setitem__(slice(0, 2), [7, 8, 9]),
    lambda lst: lst.insert(0, 0),
    lambda lst: lst.__delitem__(0),
    lambda lst: lst.__imul__(2),
    lambda lst: lst.extend([36]),
], ids=['reverse', 'sort', 'sort-key', 'del-step', 'set-slice', 'insert', 'del-first', 'imul', 'extend'])
def test_changes_keep_the_expiry(
    change: Callable[[RedisList], object], squares: RedisList, redis_client: redis.Redis,
) -> None:
    'However a change is done (a script rewriting the list whole, or a rebuild), an expiry set on it stays.'
    redis_client.expire('squares', 1000)
    expected = [1, 4, 9, 16, 25]
    change(squares)
    change(untyped(expected))
    assert stored(redis_client, 'squares') == expected
    assert 990 < redis_client.ttl('squares') <= 1000


def test_clear(squares: RedisList, redis_client: redis.Redis) -> None:
    squares.clear()
    assert not redis_client.exists('squares')
    assert len(squares) == 0
    squares.clear()


def test_warns_where_pottery_warns(squares: RedisList) -> None:
    for operation in (
        lambda: squares[1:3],
        lambda: squares[2],
        lambda: list(squares),
        lambda: squares.to_list(),
        lambda: repr(squares),
        lambda: squares == [1, 4, 9, 16, 25],
        lambda: squares + [1],  # noqa: RUF005
        lambda: squares.insert(2, 0),
        lambda: squares.remove(0),
        lambda: squares.sort(),
        lambda: squares.__delitem__(2),
        lambda: squares.pop(2),
    ):
        with pytest.warns(InefficientAccessWarning):
            operation()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        squares.append(36)
        squares.extend([49, 64])
        assert squares[0] == 1
        assert squares[-1] == 64
        squares[0] = 0
        squares[-1] = 64
        squares.insert(0, -1)
        squares.insert(100, 100)
        assert squares.pop() == 100
        assert squares.pop(0) == -1
        del squares[0]
        assert len(squares) == 5


def test_warnings_point_at_the_callers_line(squares: RedisList) -> None:
    with pytest.warns(InefficientAccessWarning) as record:
        squares.to_list()
    assert record[0].filename == __file__


def test_existing_key_with_contents_raises(squares: RedisList, redis_client: redis.Redis) -> None:
    with pytest.raises(KeyExistsError) as info:
        RedisList([1], redis=redis_client, key='squares')
    assert info.value.key == 'squares'
    assert stored(redis_client, 'squares') == [1, 4, 9, 16, 25]
    # Without contents, attaching to an existing key is fine.
    assert RedisList(redis=redis_client, key='squares')[1] == 4
    assert RedisList((x for x in [1, 2]), redis=redis_client, key='gen').to_list() == [1, 2]


def test_url_client(url: str, redis_client: redis.Redis) -> None:
    by_url = RedisList([1], redis=url, key='by-url')
    by_url.append(2)
    assert by_url.redis == url
    assert stored(redis_client, 'by-url') == [1, 2]


# --- bad input: a clear error, and nothing on the server changes ------------


# --- the async API -----------------------------------------------------------


async def test_async_api(aredis: redis.asyncio.Redis) -> None:
    squares = await pottery_async.RedisList([1, 4, 9, 16, 25], redis=aredis, key='squares')
    assert await squares.repr() == 'RedisList[1, 4, 9, 16, 25]'
    assert repr(squares) == "<RedisList key='squares'>"
    assert await squares.getitem(0) == 1
    assert await squares.getitem(-1) == 25
    assert await squares.getitem(slice(-3, None)) == [9, 16, 25]
    total = await squares.plus([36, 49, 64, 81, 100])
    assert isinstance(total, pottery_async.RedisList)
    assert await total.repr() == 'RedisList[1, 4, 9, 16, 25, 36, 49, 64, 81, 100]'
    assert await (await squares.mul(2)).to_list() == [1, 4, 9, 16, 25] * 2
    assert await (await squares.copy()).eq(squares)
    await squares.setitem(0, 0)
    await squares.setitem(slice(1, 3), ['a', 'b', 'c'])
    await squares.delitem(-1)
    await squares.append(36)
    await squares.extend([49])
    await squares.insert(1, 'x')
    assert await squares.to_list() == [0, 'x', 'a', 'b', 'c', 16, 36, 49]
    assert await squares.contains('x')
    assert await squares.index('b') == 3
    assert await squares.count('a') == 1
    assert await squares.pop() == 49
    assert await squares.pop(1) == 'x'
    await squares.remove('a')
    assert [v async for v in squares] == [0, 'b', 'c', 16, 36]
    assert [v async for v in squares.reversed()] == [36, 16, 'c', 'b', 0]
    await squares.reverse()
    assert await squares.eq([36, 16, 'c', 'b', 0])
    await squares.delitem(slice(2, 4))
    await squares.sort()
    assert await squares.to_list() == [0, 16, 36]
    assert await squares.lt([1])
    assert await squares.ge([0, 16, 36])
    assert await squares.iplus([1]) is squares
    assert await squares.imul(2) is squares
    assert await squares.len() == 8
    await squares.clear()
    assert not await aredis.exists('squares')
    del total
    await temporaries_deleted(aredis)


async def test_async_contents_from_async_iterables(aredis: redis.asyncio.Redis) -> None:
    source = await pottery_async.RedisList(['a', 'b'], redis=aredis, key='source')
    copy = await pottery_async.RedisList(source, redis=aredis, key='copy')
    backwards = await pottery_async.RedisList(source.reversed(), redis=aredis, key='back')
    assert await copy.to_list() == ['a', 'b']
    assert await backwards.to_list() == ['b', 'a']
    await copy.extend(untyped(source.reversed()))
    assert await copy.to_list() == ['a', 'b', 'b', 'a']
    await copy.setitem(slice(0, 4), source)
    assert await copy.to_list() == ['a', 'b']


async def test_async_constructor_does_no_io_and_forgotten_await_fails(aredis: redis.asyncio.Redis) -> None:
    pending = pottery_async.RedisList([1], redis=aredis, key='pending')
    assert not await aredis.exists('pending')
    with pytest.raises(RuntimeError, match='not awaited'):
        await pending.append(2)
    assert not await aredis.exists('pending')
    await pending
    assert await pending.to_list() == [1]
    forgotten = pottery_async.RedisList([1], redis=aredis, key='forgotten')
    with pytest.warns(RuntimeWarning, match='never awaited'):
        del forgotten
    assert not await aredis.exists('forgotten')


async def test_async_warnings_point_at_the_callers_line(aredis: redis.asyncio.Redis) -> None:
    values = await pottery_async.RedisList([1, 2], redis=aredis, key='w')
    with pytest.warns(InefficientAccessWarning) as record:
        await values.to_list()
    assert record[0].filename == __file__


# --- data compatibility with Pottery 3.0.1 ---------------------------------


CONTENTS = [1, 'two', None, True, 2.5, [1, 'x'], {'b': 2, 'a': 1}, 'é']


def test_sorted_numbers_match_pottery(pottery_module: Any, redis_client: redis.Redis) -> None:
    numbers = [5, -2, 3.5, 0, 10]
    RedisList(numbers, redis=redis_client, key='ours').sort(reverse=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        pottery_module.RedisList(numbers, redis=redis_client, key='theirs').sort(reverse=True)
    assert lrange(redis_client, 'ours') == lrange(redis_client, 'theirs')


# --- Redis Cluster: every operation touches one key ------------------------


def test_lists_and_deques_on_a_cluster(cluster: Cluster) -> None:
    client = redis.RedisCluster(host=cluster.host, port=cluster.port)
    try:
        keys = [f'list-{i}' for i in range(9)]
        for key in keys:
            values = RedisList(['b', 'a', 'c'], redis=client, key=key)
            values.sort()
            values.sort(key=str.upper, reverse=True)
            values.insert(1, 'x')
            values[0:1] = ['q', 'r']
            del values[1]
            assert values.to_list() == ['q', 'x', 'b', 'a']
            assert (values + ['z']).to_list() == ['q', 'x', 'b', 'a', 'z']  # noqa: RUF005
            assert list(reversed(values)) == ['a', 'b', 'x', 'q']
            assert values.index('b') == 2
            d = pottery_async.sync.RedisDeque([1, 2, 3], maxlen=3, redis=client, key=f'{key}:deque')
            d.appendleft(0)
            d.rotate(2)
            assert d.to_list() == [1, 2, 0]
        # The keys really live on different masters.
        assert len(nodes_of(client, keys)) == 3
    finally:
        client.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
        client.close()


async def test_async_list_on_a_cluster(cluster: Cluster) -> None:
    client = redis.asyncio.RedisCluster(host=cluster.host, port=cluster.port)
    try:
        values = await pottery_async.RedisList(['b', 'a'], redis=client, key='async-list')
        await values.sort(key=str)
        await values.extend(['c'])
        assert [v async for v in values] == ['a', 'b', 'c']
        more = await values.plus(['d'])
        assert await more.to_list() == ['a', 'b', 'c', 'd']
        del more
        await temporaries_deleted(client)
    finally:
        await client.flushall(target_nodes=redis.asyncio.RedisCluster.PRIMARIES)
        await client.aclose()
