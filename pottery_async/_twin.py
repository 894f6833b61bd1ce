"""Runtime support for the generated sync classes: views over paged streams.

No logic lives here: each view pulls pages from a core ``@paged`` method
through the bridge, one bridge call per page.
"""

from __future__ import annotations

import collections.abc
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from . import _bridge
from ._base import Paged, SyncTwin

K = TypeVar('K')
V = TypeVar('V')
T = TypeVar('T')


class _PagedView(collections.abc.MappingView, Generic[T]):
    'A view of a sync container whose iteration pulls the pages of a core ``@paged`` method.'

    def __init__(self, mapping: Any, source: Callable[[], Paged[T]]) -> None:
        super().__init__(mapping)
        self._source = source

    def __iter__(self) -> Iterator[T]:
        return _bridge.iterate(self._source().pages)


class KeysView(_PagedView[K], collections.abc.KeysView[K]):
    'keys() of a sync container: len and membership from the container, iteration by pages.'


class ValuesView(_PagedView[V], collections.abc.ValuesView[V]):
    'values() of a sync container, iterated by pages.'


class ItemsView(_PagedView[tuple[K, V]], collections.abc.ItemsView[K, V]):
    'items() of a sync container, iterated by pages of (key, value) pairs.'


S = TypeVar('S', bound=SyncTwin)


def wrap(owner: SyncTwin, cls: type[S], core: Any) -> S:
    """The sync twin for a core container a core method returned.

    In-place operators return the container itself: the caller gets its own
    sync object back.  Anything else is a new container, given a new twin.
    """
    if core is owner._core:
        return owner  # type: ignore[return-value]
    twin = cls.__new__(cls)
    twin._core = core
    return twin
