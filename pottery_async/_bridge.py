"""The private event loops that run the async core for sync callers.

Each thread that calls the sync API gets its own event loop, driven in that
thread with ``run_until_complete``: no hop to another thread, no lock, and
the connections on that loop serve one thread only.  Measured on the target
machine this is the cheapest way to run a coroutine from sync code (see
DESIGN.md); a background loop thread costs several times more per call.

What the bridge guarantees:

- Loops start lazily, one per thread; a loop whose thread has died is closed
  (its connections too, after its queued cleanups) when the next thread
  starts one, or at exit.  A call made after exit has begun runs on a loop
  of its own that is closed again before the call returns.
- After ``os.fork()`` the child starts afresh and never reads from, writes to
  or closes a connection it inherited: those belong to the parent.
- Interpreter exit closes every loop this process can still close; no thread
  of ours keeps the interpreter alive.
- A call made from inside one of our loops fails fast instead of deadlocking.
- A call made from a thread that runs someone else's loop (Jupyter, a sync
  helper inside an async app) is handed to one background loop thread, with a
  one-time ``BlockingBridgeWarning``: it works, but it blocks that loop.
- On Ctrl-C or a timeout the coroutine is cancelled and allowed to finish
  before the exception surfaces, and the loop runs once more so that closed
  sockets really close: an abandoned BLPOP must not consume the next push.
- Finalizers never re-enter a loop: cleanup from ``__del__`` is queued with
  ``defer()`` and runs before the thread's next call (before the background
  thread's next call when queued inside someone else's loop).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import logging
import os
import sys
import threading
import types
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from .exceptions import BlockingBridgeWarning

T = TypeVar('T')
Cleanup = Callable[[], Awaitable[object]]

_log = logging.getLogger('pottery_async')
_get_running_loop = asyncio.events._get_running_loop
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)
_THIS_FILE = __file__


class LoopState:
    'One private event loop and what lives on it.'

    __slots__ = ('clients', 'hubs', 'loop', 'pending', 'pid', 'thread', 'watches')

    def __init__(self, thread: threading.Thread) -> None:
        # asyncio's own loop class, whatever loop policy the application
        # installed: with uvloop's, an exception raised by a signal handler
        # (a SIGALRM timeout) during a blocking call is logged and swallowed
        # instead of interrupting the call.  A private loop gains nothing
        # from uvloop (measured: no faster here).
        self.loop: asyncio.AbstractEventLoop = asyncio.SelectorEventLoop()
        self.thread = thread
        self.pid = os.getpid()
        # Async clients built for this loop by _clients.resolve(), keyed by
        # what the user passed (a sync client's id, a URL, or None).
        self.clients: dict[object, Any] = {}
        # Weak references, with callbacks, to what the clients were built
        # from: they live and die with this state, so a long-lived sync
        # client used by many short-lived threads does not keep their
        # states alive.
        self.watches: dict[object, weakref.ReferenceType[Any]] = {}
        self.pending: collections.deque[Cleanup] = collections.deque()
        # Pub/sub hubs kept between calls (see _wake), keyed by client.
        self.hubs: dict[Any, Any] = {}

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        loop = self.loop
        if self.pending:
            coro = _after_cleanups(self.pending, coro)
        if timeout is not None:
            coro = _deadline(coro, timeout)
        task = loop.create_task(coro)
        try:
            if _CAN_DRIVE and not loop.get_debug():
                return _drive(loop, task)
            return loop.run_until_complete(task)
        except BaseException as exc:
            error = exc
        if not task.done():
            # Ctrl-C landed in the loop itself while the task still waits on
            # the server: cancel it and let its cleanup run, so the
            # connection it was reading from is closed, not abandoned.
            task.cancel()
            try:
                loop.run_until_complete(task)
            except BaseException:  # noqa: S110 - the first error wins
                pass
        self.settle()
        raise error.with_traceback(_user_traceback(error.__traceback__))

    def settle(self) -> None:
        """Run the callbacks that are ready, once.

        A transport closed during a failed or cancelled call only releases its
        socket in the loop's next iteration; until then the server still sees
        the connection, and a BLPOP it was blocked in could take an item.
        """
        loop = self.loop
        loop.call_soon(loop.stop)
        loop.run_forever()

    def close(self) -> None:
        'Run queued cleanups, close the clients and close the loop (in any thread).'
        loop = self.loop
        if loop.is_closed() or loop.is_running():
            return
        # The loop may belong to a thread that has died: while it runs here,
        # it is this thread's bridge loop (so that queued cleanups can find
        # their clients with _clients.resolve()).
        previous = getattr(_local, 'state', None)
        _local.state = self
        try:
            loop.run_until_complete(self._aclose())
        except Exception:
            _log.warning('error while closing a pottery_async event loop', exc_info=True)
        finally:
            _local.state = previous
            self.watches.clear()
            loop.close()

    async def _aclose(self) -> None:
        await _run_cleanups(self.pending)
        current = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self.loop.shutdown_asyncgens()
        # Closing async generators may have queued more.
        await _run_cleanups(self.pending)
        # Pub/sub hubs kept between calls hold connections of their own.
        while self.hubs:
            _, hub = self.hubs.popitem()
            try:
                await hub.close()
            except Exception:
                _log.debug('error while closing %r', hub, exc_info=True)
        # One by one: a collected sync client may drop its twin meanwhile.
        while self.clients:
            try:
                _, client = self.clients.popitem()
            except KeyError:
                break
            try:
                await client.aclose()
            except Exception:
                _log.debug('error while closing %r', client, exc_info=True)
        await self.loop.shutdown_default_executor()


# run_until_complete() costs a fixed few microseconds per call (run_forever's
# set-up and tear-down, and one more pass of the loop just to run the stop
# callback): a tenth of a local HGET.  _drive() does what it does, minus
# those, with the event loop's own pieces.  They are private to asyncio, so
# _drive() is used only where they are all present, as in CPython 3.11-3.13;
# anywhere else (another loop class, another Python) run_until_complete()
# is used, with the same results.
_CAN_DRIVE = all(
    hasattr(asyncio.BaseEventLoop, name)
    for name in ('_run_once', '_asyncgen_firstiter_hook', '_asyncgen_finalizer_hook')
)


def _drive(loop: asyncio.AbstractEventLoop, task: asyncio.Task[T]) -> T:
    'loop.run_until_complete(task), for a loop that is not running and not in debug mode.'
    base: Any = loop
    if (
        not isinstance(loop, asyncio.BaseEventLoop) or not hasattr(loop, '_thread_id')
        or loop.is_running() or loop.is_closed()
    ):
        return loop.run_until_complete(task)
    old_hooks = sys.get_asyncgen_hooks()
    # As run_forever() does: async generators started here are finalized on
    # this loop, and call_soon_threadsafe() knows which thread runs it.
    sys.set_asyncgen_hooks(
        firstiter=base._asyncgen_firstiter_hook, finalizer=base._asyncgen_finalizer_hook,
    )
    base._thread_id = threading.get_ident()
    asyncio.events._set_running_loop(loop)
    try:
        run_once = base._run_once
        while not task.done():
            run_once()
    finally:
        asyncio.events._set_running_loop(None)
        base._thread_id = None
        base._stopping = False
        sys.set_asyncgen_hooks(*old_hooks)
    return task.result()


async def _deadline(coro: Coroutine[Any, Any, T], seconds: float) -> T:
    async with asyncio.timeout(seconds):
        return await coro


async def _run_cleanups(pending: collections.deque[Cleanup]) -> None:
    while pending:
        cleanup = pending.popleft()
        try:
            await cleanup()
        except Exception:
            _log.warning('deferred cleanup failed', exc_info=True)


async def _after_cleanups(
    pending: collections.deque[Cleanup], coro: Coroutine[Any, Any, T],
) -> T:
    try:
        await _run_cleanups(pending)
    except BaseException:
        coro.close()
        raise
    return await coro


def _user_traceback(tb: types.TracebackType | None) -> types.TracebackType | None:
    'Drop the frames of asyncio and of this module from a traceback.'
    frames = []
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not (filename.startswith(_ASYNCIO_DIR) or filename == _THIS_FILE):
            frames.append(tb)
        tb = tb.tb_next
    result = None
    for frame in reversed(frames):
        result = types.TracebackType(result, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return result


class _Portal:
    'One daemon thread running a loop, for calls made inside a foreign loop.'

    def __init__(self) -> None:
        ready = threading.Event()
        self.state: LoopState | None = None

        def serve() -> None:
            state = LoopState(threading.current_thread())
            _local.state = state
            self.state = state
            ready.set()
            try:
                state.loop.run_forever()
            finally:
                state.close()

        self.thread = threading.Thread(target=serve, name='pottery_async-portal', daemon=True)
        self.thread.start()
        ready.wait()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        state = self.state
        assert state is not None
        loop = state.loop
        done = threading.Event()
        tasks: list[asyncio.Task[T]] = []

        def start() -> None:
            # In the portal thread.  The task is created here, so that the
            # caller can always wait for it to finish, even when it is
            # cancelled before it starts.
            wrapped = coro
            if state.pending:
                wrapped = _after_cleanups(state.pending, wrapped)
            if timeout is not None:
                wrapped = _deadline(wrapped, timeout)
            task = loop.create_task(wrapped)
            task.add_done_callback(lambda _task: done.set())
            tasks.append(task)

        def cancel() -> None:
            for task in tasks:
                task.cancel()

        try:
            loop.call_soon_threadsafe(start)
        except RuntimeError:
            coro.close()
            raise RuntimeError('the pottery_async bridge has shut down') from None
        try:
            done.wait()
        except BaseException:
            # Ctrl-C in the calling thread: cancel the call and let it finish
            # (closing its connection) before the exception surfaces.
            if not loop.is_closed():
                loop.call_soon_threadsafe(cancel)
                done.wait()
            raise
        try:
            return tasks[0].result()
        except BaseException as exc:
            error = exc
        raise error.with_traceback(_user_traceback(error.__traceback__))

    def stop(self) -> None:
        state = self.state
        if state is not None and not state.loop.is_closed():
            try:
                state.loop.call_soon_threadsafe(state.loop.stop)
            except RuntimeError:  # closed meanwhile
                return
            self.thread.join(timeout=5)


_local = threading.local()
_states: dict[int, LoopState] = {}
_states_lock = threading.Lock()
_portal: _Portal | None = None
_portal_lock = threading.Lock()
_warned_running_loop = False
# Set when interpreter exit has closed the loops.
_exiting = False
# Whatever a child process inherited from its parent: kept referenced so that
# it is never garbage-collected (collection would close the parent's sockets'
# file descriptors in the child, or warn about them), and never used.
_inherited: list[object] = []


def current_state() -> LoopState | None:
    'The bridge state whose loop is running in this thread, if any.'
    state: LoopState | None = getattr(_local, 'state', None)
    if state is not None and _get_running_loop() is state.loop:
        return state
    return None


def _thread_state() -> LoopState:
    'A new bridge state for this thread (which has none, or a closed one).'
    _reap_dead_threads()
    state = LoopState(threading.current_thread())
    with _states_lock:
        _states[id(state)] = state
    _local.state = state
    return state


def _reap_dead_threads() -> None:
    with _states_lock:
        dead = [state for state in _states.values() if not state.thread.is_alive()]
        for state in dead:
            del _states[id(state)]
    for state in dead:
        state.close()


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run a core coroutine to completion for a sync caller and return its result.

    ``timeout`` (seconds) cancels the coroutine when it runs out, lets it
    finish its cleanup, and raises ``TimeoutError``.
    """
    running = _get_running_loop()
    if running is not None:
        return _run_inside_loop(running, coro, timeout)
    state: LoopState | None = getattr(_local, 'state', None)
    if state is None or state.loop.is_closed():
        if _exiting:
            return _run_alone(coro, timeout)
        state = _thread_state()
    return state.run(coro, timeout)


def _run_alone(coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
    'Run a call made after exit closed the loops, on a loop closed right after.'
    state = LoopState(threading.current_thread())
    previous = getattr(_local, 'state', None)
    _local.state = state
    try:
        return state.run(coro, timeout)
    finally:
        state.close()
        _local.state = previous


def _run_inside_loop(
    running: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout: float | None,
) -> T:
    global _warned_running_loop
    state: LoopState | None = getattr(_local, 'state', None)
    if state is not None and state.loop is running:
        coro.close()
        raise RuntimeError(
            'the pottery_async sync API was called from inside its own event loop '
            '(from a coroutine or callback that the sync API is running); '
            'use the async API (pottery_async) there instead'
        )
    if not _warned_running_loop:
        _warned_running_loop = True
        try:
            warnings.warn(
                'the pottery_async sync API was called from a thread that runs an event '
                'loop; each call now blocks that loop while a background thread runs it. '
                'Use the async API (pottery_async) inside async code.',
                BlockingBridgeWarning,
                stacklevel=4,
            )
        except BaseException:
            # The warning was turned into an error: the call is not made.
            coro.close()
            raise
    return _get_portal().run(coro, timeout)


def _get_portal() -> _Portal:
    global _portal
    with _portal_lock:
        if _portal is None:
            _portal = _Portal()
        return _portal


def background(coro: Coroutine[Any, Any, None]) -> Callable[[], None]:
    """Run ``coro`` in the background; returns a function that cancels it.

    Called from a coroutine on the user's own loop (the async API), the
    coroutine becomes a task there.  Called from a bridge loop (the sync
    API), whose loop only runs during a call, it runs on the background
    thread's loop instead, where it keeps running between the caller's
    calls.  The cancel function may be called from any thread, any number
    of times.
    """
    if current_state() is None:
        task = asyncio.ensure_future(coro)

        def cancel_task() -> None:
            task.cancel()

        return cancel_task
    state = _get_portal().state
    assert state is not None
    loop = state.loop
    tasks: list[asyncio.Task[None]] = []
    cancelled = False

    def start() -> None:
        if cancelled:
            coro.close()
        else:
            tasks.append(loop.create_task(coro))

    def cancel() -> None:
        nonlocal cancelled
        cancelled = True
        for task in tasks:
            task.cancel()

    def cancel_threadsafe() -> None:
        with contextlib.suppress(RuntimeError):  # the loop has shut down
            loop.call_soon_threadsafe(cancel)

    try:
        loop.call_soon_threadsafe(start)
    except RuntimeError:
        coro.close()
        raise RuntimeError('the pottery_async bridge has shut down') from None
    return cancel_threadsafe


def iterate(pages: AsyncIterator[Iterable[T]]) -> Iterator[T]:
    'Iterate a core page stream from sync code, one bridge call per page.'
    try:
        while True:
            try:
                page = run(_next_page(pages))
            except StopAsyncIteration:
                return
            yield from page
    finally:
        aclose = getattr(pages, 'aclose', None)
        if aclose is not None:
            if _get_running_loop() is None:
                run(aclose())
            else:
                defer(aclose)


async def _next_page(pages: AsyncIterator[Iterable[T]]) -> Iterable[T]:
    return await pages.__anext__()


def defer(cleanup: Cleanup) -> bool:
    """Queue a cleanup coroutine for a bridge loop; never runs a loop.

    Safe from finalizers.  The cleanup runs before this thread's next bridge
    call; inside someone else's running loop, before the background thread's
    next call.  Either way it runs at the latest when that loop is closed.
    Returns False when there is no bridge loop to queue it on (nothing could
    have been created there that needs cleaning up).
    """
    state: LoopState | None = getattr(_local, 'state', None)
    running = _get_running_loop()
    if running is not None and (state is None or state.loop is not running):
        portal = _portal
        if portal is not None and portal.state is not None and not portal.state.loop.is_closed():
            portal.state.pending.append(cleanup)
            return True
    if state is None or state.loop.is_closed():
        return False
    state.pending.append(cleanup)
    return True


def _shutdown() -> None:
    global _exiting
    _exiting = True
    if _portal is not None:
        _portal.stop()
    me = threading.current_thread()
    with _states_lock:
        closable = [s for s in _states.values() if s.thread is me or not s.thread.is_alive()]
        for state in closable:
            del _states[id(state)]
    for state in closable:
        state.close()


def _after_fork_in_child() -> None:
    global _local, _states, _states_lock, _portal, _portal_lock
    _inherited.append((_local, _states, _portal))
    _local = threading.local()
    _states = {}
    _states_lock = threading.Lock()
    _portal = None
    _portal_lock = threading.Lock()


atexit.register(_shutdown)
os.register_at_fork(after_in_child=_after_fork_in_child)
