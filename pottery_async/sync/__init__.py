# Generated from pottery_async/__init__.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
"""pottery_async.sync: the sync API, a drop-in replacement for pottery 3.x."""

from .._base import PotteryEncoder
from .._codec import Codec, JSONCodec
from ..cache import CacheInfo
from ..exceptions import (
    BlockingBridgeWarning,
    CommandTimeoutError,
    ExtendUnlockedLock,
    InefficientAccessWarning,
    KeyExistsError,
    PotteryError,
    PotteryWarning,
    PrimitiveError,
    QueueEmptyError,
    QuorumIsImpossible,
    QuorumNotAchieved,
    RandomKeyError,
    ReleaseUnlockedLock,
    TooManyExtensions,
    WrongTypeError,
)
from ..nextid import AIONextID
from ..redlock import AIORedlock
from ..timer import ContextTimer
from .bloom import BloomFilter
from .cache import CachedOrderedDict, redis_cache
from .counter import RedisCounter
from .deque import RedisDeque
from .dict import RedisDict
from .hyper import HyperLogLog
from .list import RedisList
from .nextid import NextID
from .queue import RedisSimpleQueue
from .redlock import Redlock, synchronize
from .set import RedisSet

__all__ = (
    "AIONextID",
    "AIORedlock",
    "BlockingBridgeWarning",
    "BloomFilter",
    "CacheInfo",
    "CachedOrderedDict",
    "Codec",
    "CommandTimeoutError",
    "ContextTimer",
    "ExtendUnlockedLock",
    "HyperLogLog",
    "InefficientAccessWarning",
    "JSONCodec",
    "KeyExistsError",
    "NextID",
    "PotteryEncoder",
    "PotteryError",
    "PotteryWarning",
    "PrimitiveError",
    "QueueEmptyError",
    "QuorumIsImpossible",
    "QuorumNotAchieved",
    "RandomKeyError",
    "RedisCounter",
    "RedisDeque",
    "RedisDict",
    "RedisList",
    "RedisSet",
    "RedisSimpleQueue",
    "Redlock",
    "ReleaseUnlockedLock",
    "TooManyExtensions",
    "WrongTypeError",
    "redis_cache",
    "synchronize",
)
