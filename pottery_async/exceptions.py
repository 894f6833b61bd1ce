"""Every exception and warning pottery_async raises, shared by both APIs.

The names, fields and hierarchy are Pottery 3.x's, so ``except
pottery.QuorumNotAchieved`` code keeps working after switching imports.

No password ever shows: messages name servers by ``describe_server``;
``args`` and ``repr()`` hold the clients (whose repr has none) and URLs
with their password masked as ``***``; a pickle holds, for each client, a
URL of its server without credentials (a client cannot be pickled), and so
do the collected Redis errors.
"""

from __future__ import annotations

import copy
import dataclasses
import queue
import urllib.parse
from collections.abc import Iterable
from typing import Any

from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Where a failed request went: set by the primitives on each Redis error they
# collect, so that messages can name the master (redis-py's rarely do).
MASTER_ATTRIBUTE = '_pottery_master'


class _Master:
    """Which master a Redis error came from, as an attribute of the error.

    Pickled (with the error, say from a worker process) as _portable()
    describes the master: a URL of its server without the password.
    """

    __slots__ = ('redis',)

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def __reduce__(self) -> tuple[Any, ...]:
        return (_as_is, (_portable(self.redis),))


def _as_is(value: Any) -> Any:
    return value


def tag_master(error: BaseException, master: Any) -> None:
    'Remember on ``error`` which master raised it (see master_of()).'
    setattr(error, MASTER_ATTRIBUTE, _Master(master))


def master_of(error: BaseException) -> Any:
    'The master ``error`` came from (None: the default client; see has_master()).'
    value = getattr(error, MASTER_ATTRIBUTE, None)
    return value.redis if isinstance(value, _Master) else value


def has_master(error: BaseException) -> bool:
    return hasattr(error, MASTER_ATTRIBUTE)


def describe_server(redis: Any) -> str:
    """Where a client (or URL) connects, for messages: host:port[/db], unix:path[/db], cluster(nodes).

    A Sentinel-managed client is ``sentinel:<service name>[/db]``.

    Never the credentials, never redis-py's repr (hundreds of characters).
    """
    address = server_address(redis)
    if address is not None:
        return address
    return 'a malformed URL' if isinstance(redis, str) else type(redis).__name__


def server_address(redis: Any) -> str | None:
    """Where a client, URL or None (the default client) connects, as ``describe_server`` says it.

    The same for every client of one server and database, of either API
    (whatever their credentials); None for a malformed URL or an object
    that is no client.
    """
    if redis is None:
        from ._clients import DEFAULT_URL

        return _describe_url(DEFAULT_URL)
    if isinstance(redis, str):
        return _describe_url(redis)
    where = _endpoint(redis)
    if where is None:
        return None
    kind, *rest = where
    if kind == 'cluster':
        return f'cluster({", ".join(rest)})'
    *place, db = rest
    suffix = f'/{db}' if db else ''
    if kind == 'sentinel':
        # Sentinel-managed: the master is whichever server the sentinels name.
        return f'sentinel:{place[0]}{suffix}'
    if kind == 'unix':
        return f'unix:{place[0]}{suffix}'
    return f'{place[0]}:{place[1]}{suffix}'


def _endpoint(client: Any) -> tuple[Any, ...] | None:
    """Where a client connects, read from its settings: ('cluster', node names...),
    ('sentinel', service, db), ('unix', path, db) or ('tcp', host, port, db); None
    for an object that is no client."""
    manager = getattr(client, 'nodes_manager', None)
    if manager is not None:
        nodes = client.get_nodes() or list(manager.startup_nodes.values())
        return ('cluster', *sorted(node.name for node in nodes))
    pool = getattr(client, 'connection_pool', None)
    kwargs = getattr(pool, 'connection_kwargs', None)
    if not isinstance(kwargs, dict):
        return None
    db = kwargs.get('db') or 0
    service = getattr(pool, 'service_name', None)
    if isinstance(service, str):
        return ('sentinel', service, db)
    if 'path' in kwargs:
        return ('unix', kwargs['path'], db)
    return ('tcp', kwargs.get('host', 'localhost'), kwargs.get('port', 6379), db)


def _describe_url(url: str) -> str | None:
    if '://' not in url:
        # No scheme: no URL redis-py takes (nor a masked malformed one).
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        if parts.scheme == 'sentinel':
            db = parts.path.strip('/')
            # Never the credentials, should a URL carry any.
            service = parts.netloc.rpartition('@')[2]
            return f'sentinel:{service}' + (f'/{db}' if db != '0' else '')
        if parts.scheme == 'unix':
            db = query.get('db', ['0'])[0]
            return f'unix:{parts.path}' + (f'/{db}' if db != '0' else '')
        # As redis-py reads it: a db in the query wins over one in the path.
        db = query.get('db', [''])[0] or parts.path.strip('/') or '0'
        return f'{parts.hostname or "localhost"}:{parts.port or 6379}' + (f'/{db}' if db != '0' else '')
    except ValueError:
        return None


def mask_url(url: str) -> str:
    'A URL with its password (before the host, or a ``password=`` parameter) replaced by ``***``.'
    try:
        parts = urllib.parse.urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            credentials, _, host = netloc.rpartition('@')
            netloc = f'{credentials.partition(":")[0]}:***@{host}'
        # A password parameter, however its name is encoded (redis-py
        # decodes it: passwor%64= is password=).
        fields = [
            f'{field.partition("=")[0]}=***'
            if urllib.parse.unquote_plus(field.partition('=')[0]) == 'password' else field
            for field in parts.query.split('&')
        ]
        query = '&'.join(fields)
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:
        # Malformed: the password could be anywhere.
        return '***'


def _masked(redis: Any) -> Any:
    'A client (or URL) for args and repr: a URL masked, anything else as is.'
    return mask_url(redis) if isinstance(redis, str) else redis


def _portable(redis: Any) -> Any:
    'What stands for a client (or URL) in a pickle: a URL of its server, without a password.'
    if redis is None or isinstance(redis, str):
        return _masked(redis)
    where = _endpoint(redis)
    if where is None:
        return describe_server(redis)
    kind, *rest = where
    if kind == 'cluster':
        return f'redis://{rest[0]}'
    *place, db = rest
    if kind == 'sentinel':
        # No URL names a Sentinel service: this one only reads as it (see _describe_url).
        return f'sentinel://{place[0]}/{db}'
    if kind == 'unix':
        return f'unix://{place[0]}?db={db}'
    return f'redis://{place[0]}:{place[1]}/{db}'


def _portable_error(error: BaseException) -> BaseException:
    'A copy of a collected error for a pickle, naming its master as _portable does.'
    clone = copy.copy(error)
    if has_master(error):
        setattr(clone, MASTER_ATTRIBUTE, _portable(master_of(error)))
    return clone


def _notes(error: BaseException) -> dict[str, Any]:
    'The state a pickle keeps besides the arguments: the notes, if any.'
    notes = getattr(error, '__notes__', None)
    return {} if notes is None else {'__notes__': list(notes)}


def describe_error(error: BaseException) -> str:
    'One line: the master that raised it (if known), its type and its message.'
    text = type(error).__name__
    message = ' '.join(str(error).split())
    if message:
        text += f': {message}'
    # None is a master too: the sync API's default client.
    if has_master(error):
        text = f'{describe_server(master_of(error))}: {text}'
    return text


@dataclasses.dataclass(repr=False)
class PotteryError(Exception):
    'Base class for errors raised by the containers.'

    redis: Any
    key: str | None = None

    def __post_init__(self) -> None:
        # The fields, as Pottery passes them, a URL's password masked.
        fields = [getattr(self, field.name) for field in dataclasses.fields(self)]
        self.args = (_masked(self.redis), *fields[1:])

    def __str__(self) -> str:
        server = describe_server(self.redis)
        return server if self.key is None else f'key {self.key!r} on {server}'

    def __repr__(self) -> str:
        return f'{type(self).__name__}({", ".join(map(repr, self.args))})'

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (_portable(self.redis), *self.args[1:]), _notes(self)


class KeyExistsError(PotteryError):
    'A container was given initial contents on a Redis key that already exists.'


class RandomKeyError(PotteryError, RuntimeError):
    'No unused random Redis key could be found.'


class QueueEmptyError(PotteryError, queue.Empty):
    'A non-blocking or timed-out get() found the queue empty.'


@dataclasses.dataclass(repr=False)
class WrongTypeError(PotteryError, ResponseError):
    'The Redis key holds a different data type than the container needs.'

    expected: str = ''
    found: str = ''

    def __str__(self) -> str:
        return (
            f'Redis key {self.key!r} on {describe_server(self.redis)} holds a {self.found or "different"}'
            f' value, not the {self.expected} this container needs; it was left as is'
        )


class CommandTimeoutError(RedisTimeoutError, TimeoutError):
    """A command got no reply within the client's ``socket_timeout``.

    Both redis-py's ``TimeoutError`` (what a sync client raises on a socket
    timeout, and a ``RedisError``) and the built-in one (what asyncio code
    expects from a deadline).
    """


@dataclasses.dataclass(repr=False)
class PrimitiveError(Exception):
    'Base class for errors raised by the distributed primitives.'

    key: str
    masters: Iterable[Any]
    redis_errors: Iterable[BaseException] = ()

    def __post_init__(self) -> None:
        # Pottery's positional arguments, a URL's password masked.
        self.args = (self.key, frozenset(_masked(master) for master in self.masters))

    def __repr__(self) -> str:
        key, masters = self.args
        return f'{type(self).__name__}({key!r}, {masters!r}, redis_errors={list(self.redis_errors)!r})'

    def __reduce__(self) -> tuple[Any, ...]:
        masters = frozenset(_portable(master) for master in self.masters)
        errors = [_portable_error(error) for error in self.redis_errors]
        return type(self), (self.key, masters), {'redis_errors': errors, **_notes(self)}

    def __str__(self) -> str:
        masters = sorted(describe_server(master) for master in self.masters)
        plural = '' if len(masters) == 1 else 's'
        text = f'key {self.key!r} on {len(masters)} master{plural} ({", ".join(masters)})'
        errors = [describe_error(error) for error in self.redis_errors]
        if errors:
            text += f'; {len(errors)} failed: ' + '; '.join(errors)
        return text


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
