# Generated from pottery_async/__init__.py by tools/gen_sync.py.
# Do not edit: change the source and run `python tools/gen_sync.py`.
"""pottery_async.sync: the sync API, a drop-in replacement for pottery 3.x."""

from .._base import PotteryEncoder
from .._codec import Codec, JSONCodec
from .dict import RedisDict
from ..exceptions import BlockingBridgeWarning, CommandTimeoutError, ExtendUnlockedLock, InefficientAccessWarning, KeyExistsError, PotteryError, PotteryWarning, PrimitiveError, QueueEmptyError, QuorumIsImpossible, QuorumNotAchieved, RandomKeyError, ReleaseUnlockedLock, TooManyExtensions, WrongTypeError
from ..timer import ContextTimer

__all__ = (
    'BlockingBridgeWarning',
    'Codec',
    'CommandTimeoutError',
    'ContextTimer',
    'ExtendUnlockedLock',
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
    'RedisDict',
    'ReleaseUnlockedLock',
    'TooManyExtensions',
    'WrongTypeError',
)
