# Generated from pottery_async/dict.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
"""RedisDict: a Redis hash that behaves like a dict.

Keys and values are stored JSON-encoded, as Pottery 3.x stores them.  The
async API names its coroutines after the dict protocol (``getitem``,
``setitem``, ``contains``, ``len``, ``eq``...); ``pottery_async.sync.RedisDict``
maps the protocol itself onto them.
"""

from __future__ import annotations

import collections.abc
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, TypeAlias, cast
from .. import _bridge, _clients, _twin, dict as _core
from .._base import Container, Paged, Script, SyncTwin, create_script, initializer, paged, redis_type, same_server, unwrap, warn_inefficient
from .._codec import Codec, JSONTypes, encode_or_none
from ..exceptions import KeyExistsError
from ..dict import InitArg, _MISSING


class RedisDict(SyncTwin, MutableMapping[JSONTypes, JSONTypes]):
    'A Redis hash that behaves like a dict.'

    def __init__(self, arg: InitArg=(), *, redis: _clients.RedisArg=None, key: str='', codec: Codec | None=None, **kwargs: JSONTypes) -> None:
        'Create the dict; initial contents are written when it is awaited.  O(n)'
        self._core: _core.RedisDict = _core.RedisDict(arg, redis=redis, key=key, codec=codec, **kwargs)
        _bridge.run(self._core._initialize())

    @property
    def redis(self) -> _clients.RedisArg:
        'The client (or URL) this container was given; None for the default.'
        return self._core.redis

    @property
    def key(self) -> str:
        'The Redis key that holds this container.'
        return self._core.key

    def __eq__(self, other: Any) -> bool:
        'd == other: the same items as another mapping.  O(n)'
        return _bridge.run(self._core.eq(other))

    def clear(self) -> None:
        'Remove every element.  O(n)'
        _bridge.run(self._core.clear())

    def __getitem__(self, key: JSONTypes) -> JSONTypes:
        'd[key].  O(1)'
        return _bridge.run(self._core.getitem(key))

    def __setitem__(self, key: JSONTypes, value: JSONTypes) -> None:
        'd[key] = value.  O(1)'
        _bridge.run(self._core.setitem(key, value))

    def __delitem__(self, key: JSONTypes) -> None:
        'del d[key].  O(1)'
        _bridge.run(self._core.delitem(key))

    def __contains__(self, key: Any) -> bool:
        'key in d.  O(1)'
        return _bridge.run(self._core.contains(key))

    def __len__(self) -> int:
        'len(d): the number of items.  O(1)'
        return _bridge.run(self._core.len())

    def __iter__(self) -> Iterator[JSONTypes]:
        'Iterate over the keys, a page of HSCAN at a time.  O(n)'
        return _bridge.iterate(self._core.__aiter__().pages)

    def keys(self) -> _twin.KeysView[JSONTypes]:
        'The keys, a page of HSCAN at a time.  O(n)'
        return _twin.KeysView(self, self._core.keys)

    def values(self) -> _twin.ValuesView[JSONTypes]:
        'The values, a page of HSCAN at a time.  O(n)'
        return _twin.ValuesView(self, self._core.values)

    def items(self) -> _twin.ItemsView[JSONTypes, JSONTypes]:
        'The (key, value) pairs, a page of HSCAN at a time.  O(n)'
        return _twin.ItemsView(self, self._core.items)

    def get(self, key: JSONTypes, default: JSONTypes=None) -> JSONTypes:  # type: ignore[override]
        'd.get(key, default): d[key] if key is in d, else default.  O(1)'
        return _bridge.run(self._core.get(key, default))

    def pop(self, key: JSONTypes, default: JSONTypes=_MISSING) -> JSONTypes:  # type: ignore[override]
        'Remove key and return its value, or default; KeyError if neither.  O(1)'
        return _bridge.run(self._core.pop(key, default))

    def popitem(self) -> tuple[JSONTypes, JSONTypes]:
        'Remove and return an arbitrary (key, value) pair; KeyError if empty.  O(1)'
        return _bridge.run(self._core.popitem())

    def setdefault(self, key: JSONTypes, default: JSONTypes=None) -> JSONTypes:  # type: ignore[override]
        'd[key] if key is in d; else set d[key] = default and return it.  O(1)'
        return _bridge.run(self._core.setdefault(key, default))

    def update(self, arg: InitArg=(), /, **kwargs: JSONTypes) -> None:  # type: ignore[override]
        'Add the items of a mapping or iterable of pairs, and kwargs, in one step.  O(n)'
        _bridge.run(self._core.update(arg, **kwargs))

    def to_dict(self) -> dict[JSONTypes, JSONTypes]:
        'A plain dict with the same items, in one round trip.  O(n)'
        return _bridge.run(self._core.to_dict())

    def __repr__(self) -> str:
        """Pottery's repr, e.g. RedisDict{'jack': 4098}.  O(n)"""
        return _bridge.run(self._core.repr())
