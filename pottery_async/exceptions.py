"""Every exception and warning pottery_async raises, shared by both APIs.

The names, fields and hierarchy are Pottery 3.x's, so ``except
pottery.QuorumNotAchieved`` code keeps working after switching imports.
"""

from __future__ import annotations

import dataclasses
import queue
from collections.abc import Iterable
from typing import Any

from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


@dataclasses.dataclass
class PotteryError(Exception):
    'Base class for errors raised by the containers.'

    redis: Any
    key: str | None = None


class KeyExistsError(PotteryError):
    'A container was given initial contents on a Redis key that already exists.'


class RandomKeyError(PotteryError, RuntimeError):
    'No unused random Redis key could be found.'


class QueueEmptyError(PotteryError, queue.Empty):
    'A non-blocking or timed-out get() found the queue empty.'


@dataclasses.dataclass
class WrongTypeError(PotteryError, ResponseError):
    'The Redis key holds a different data type than the container needs.'

    expected: str = ''
    found: str = ''

    def __str__(self) -> str:
        return (
            f'Redis key {self.key!r} holds a {self.found or "different"} value,'
            f' not the {self.expected} this container needs; it was left as is'
        )


class CommandTimeoutError(RedisTimeoutError, TimeoutError):
    """A command got no reply within the client's ``socket_timeout``.

    Both redis-py's ``TimeoutError`` (what a sync client raises on a socket
    timeout, and a ``RedisError``) and the built-in one (what asyncio code
    expects from a deadline).
    """


@dataclasses.dataclass
class PrimitiveError(Exception):
    'Base class for errors raised by the distributed primitives.'

    key: str
    masters: Iterable[Any]
    redis_errors: Iterable[BaseException] = ()


class QuorumNotAchieved(PrimitiveError, RuntimeError):
    'Too few masters agreed for the consensus to hold.'


class TooManyExtensions(PrimitiveError, RuntimeError):
    'The lock was already extended as many times as allowed.'


class ExtendUnlockedLock(PrimitiveError, RuntimeError):
    'extend() was called on a lock that is not held.'


class ReleaseUnlockedLock(PrimitiveError, RuntimeError):
    'release() was called on a lock that is not held.'


class QuorumIsImpossible(PrimitiveError, RuntimeError):
    'So many masters failed that a quorum cannot be reached.'


class PotteryWarning(Warning):
    'Base class for warnings issued by pottery_async.'


class InefficientAccessWarning(PotteryWarning):
    'Doing an O(n) Redis operation.'


class BlockingBridgeWarning(PotteryWarning, RuntimeWarning):
    'The sync API was called from a thread that runs an event loop.'
