"""pottery_async: Redis for humans, async-native.

The async API lives here; ``pottery_async.sync`` is its generated sync twin
and a drop-in replacement for ``pottery`` 3.x.
"""

from ._base import PotteryEncoder
from ._clients import multiplexing
from ._codec import Codec, JSONCodec
from .bloom import BloomFilter
from .cache import CachedOrderedDict, CacheInfo, redis_cache
from .counter import RedisCounter
from .deque import RedisDeque
from .dict import RedisDict
from .exceptions import (
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
from .hyper import HyperLogLog
from .list import RedisList
from .nextid import AIONextID
from .queue import RedisSimpleQueue
from .redlock import AIORedlock, synchronize
from .set import RedisSet
from .timer import ContextTimer

__all__ = (
    'AIONextID',
    'AIORedlock',
    'BlockingBridgeWarning',
    'BloomFilter',
    'CacheInfo',
    'CachedOrderedDict',
    'Codec',
    'CommandTimeoutError',
    'ContextTimer',
    'ExtendUnlockedLock',
    'HyperLogLog',
    'InefficientAccessWarning',
    'JSONCodec',
    'KeyExistsError',
    'PotteryEncoder',
    'PotteryError',
    'PotteryWarning',
    'PrimitiveError',
    'QueueEmptyError',
    'QuorumIsImpossible',
    'QuorumNotAchieved',
    'RandomKeyError',
    'RedisCounter',
    'RedisDeque',
    'RedisDict',
    'RedisList',
    'RedisSet',
    'RedisSimpleQueue',
    'ReleaseUnlockedLock',
    'TooManyExtensions',
    'WrongTypeError',
    'multiplexing',
    'redis_cache',
    'synchronize',
)
