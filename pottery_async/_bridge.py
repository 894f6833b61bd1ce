"""The private event loops that run the async core for sync callers.

Each thread that calls the sync API gets its own event loop, driven in that
thread with ``run_until_complete``: no hop to another thread, no lock, and
the connections on that loop serve one thread only.  Measured on the target
machine this is the cheapest way to run a coroutine from sync code (see
docs/design.md); a background loop thread costs several times more per call.

What the bridge guarantees:

- Loops start lazily, one per thread; a loop whose thread has died is closed
  (its connections too, after its queued cleanups) in a background thread
  once the next thread starts one, or at exit; closing one takes a second
  at most, and never holds up the thread that found it.  A call made after
  exit has begun runs on a loop of its own that is closed again before the
  call returns.
- After ``os.fork()`` the child starts afresh and never reads from, writes to
  or closes a connection it inherited: those belong to the parent.
- Interpreter exit closes every loop this process can still close; no thread
  of ours keeps the interpreter alive.
- A call made from inside one of our loops (user code that the core runs:
  a generator passed to ``update()``, say) is handed to a loop thread of the
  calling thread's own, one level deeper, while the caller's loop waits for
  it; never to a loop that another thread or a background task needs.
- A call made from a thread that runs someone else's loop (Jupyter, a sync
  helper inside an async app) is handed to a loop thread of that thread's
  own, with a ``BlockingBridgeWarning`` at each line that does it (once per
  process in a notebook): it works, but it blocks that loop.
- Background work (lock renewal, take-backs, cleanups from finalizers) runs
  on a background loop thread that runs no user code.
- On Ctrl-C or a timeout the coroutine is cancelled and allowed to finish
  before the exception surfaces, and the loop runs once more so that closed
  sockets really close: an abandoned BLPOP must not consume the next push.
- Finalizers never re-enter a running loop: cleanup from ``__del__`` runs
  at once when this thread's loop is idle (``discard()``), else on the
  background loop, else before the thread's next call (``defer()``).
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
import time
import types
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

from . import _connection
from .exceptions import BlockingBridgeWarning

T = TypeVar('T')
Cleanup = Callable[[], Awaitable[object]]

_log = logging.getLogger('pottery_async')
_get_running_loop = asyncio.events._get_running_loop
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)
_THIS_FILE = __file__


# How long closing a loop may take (cleanups, closing connections) before
# what is left is cancelled, and how long a cancelled leftover may take to
# finish before it is abandoned.
CLOSE_TIMEOUT = 1.0
_ABANDON_GRACE = 0.2


class LoopState:
    'One private event loop and what lives on it.'

    __slots__ = ('busy', 'clients', 'hubs', 'loop', 'pending', 'pid', 'runs', 'thread', 'watches')

    def __init__(self, thread: threading.Thread) -> None:
        # asyncio's own loop class, whatever loop policy the application
        # installed: with uvloop's, an exception raised by a signal handler
        # (a SIGALRM timeout) during a blocking call is logged and swallowed
        # instead of interrupting the call.  A private loop gains nothing
        # from uvloop (measured: no faster here).
        self.loop: asyncio.AbstractEventLoop = asyncio.SelectorEventLoop()
        # True while a call (or close()) runs this loop, or is about to: a
        # finalizer must not run the loop then (see idle_state()).
        self.busy = False
        # How many calls have run this loop: a task that sees it change was
        # left out between calls, while the loop did not run.
        self.runs = 0
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
        busy, self.busy = self.busy, True
        self.runs += 1
        try:
            return self._run(coro, timeout)
        finally:
            self.busy = busy

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
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

    def close(self, within: float = CLOSE_TIMEOUT) -> None:
        """Run queued cleanups, close the clients and close the loop (in any thread).

        Bounded: what has not finished after ``within`` seconds (a cleanup
        waiting on a server that stopped answering) is cancelled, and what
        still has not finished a moment later is abandoned, with a debug log
        naming it; the loop is closed either way.
        """
        loop = self.loop
        if loop.is_closed() or loop.is_running() or self.busy:
            return
        self.busy = True
        # The loop may belong to a thread that has died: while it runs here,
        # it is this thread's bridge loop (so that queued cleanups can find
        # their clients with _clients.resolve()).
        previous = getattr(_local, 'state', None)
        _local.state = self
        # What is open now, whatever closing manages to get through.
        clients, hubs = list(self.clients.values()), list(self.hubs.values())
        try:
            closing = loop.create_task(self._aclose())
            if not _run_for(loop, closing, within):
                stuck = _describe_tasks(loop)
                # What closing waits for is cancelled first, so that it can
                # go on closing the rest; then closing itself.
                for task in asyncio.all_tasks(loop):
                    if task is not closing:
                        task.cancel()
                if not _run_for(loop, closing, _ABANDON_GRACE):
                    closing.cancel()
                    _run_for(loop, closing, _ABANDON_GRACE)
                    _log.debug(
                        'abandoned closing a pottery_async event loop after %s s; was waiting:\n%s',
                        within, stuck,
                    )
                # Sockets still open are closed without a word to the server.
                _run_for(loop, loop.create_task(_disconnect_now(clients, hubs)), _ABANDON_GRACE)
            elif closing.exception() is not None:
                _log.warning(
                    'error while closing a pottery_async event loop', exc_info=closing.exception(),
                )
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


def _run_for(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], seconds: float) -> bool:
    'Run ``loop`` until ``task`` is done or ``seconds`` have passed; whether it is done.'
    if task.done():
        return True
    stopper = loop.call_later(seconds, loop.stop)
    try:
        loop.run_until_complete(task)
    except RuntimeError:
        if not task.done():  # stopped by the timer
            return False
    except (Exception, asyncio.CancelledError):  # noqa: S110 - the task's own outcome: the caller looks at it
        pass
    finally:
        stopper.cancel()
    return True


async def _disconnect_now(clients: list[Any], hubs: list[Any]) -> None:
    'Close the sockets of these clients and hubs at once, without waiting for anything.'
    connections: list[Any] = [getattr(hub.pubsub, 'connection', None) for hub in hubs]
    for client in clients:
        connections += _connection.pool_connections(client)
    for connection in connections:
        if connection is not None:
            try:
                await connection.disconnect(nowait=True)
            except Exception:
                _log.debug('error while disconnecting %r', connection, exc_info=True)
    # Closed transports let their sockets go on the loop's next passes.
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def _describe_tasks(loop: asyncio.AbstractEventLoop) -> str:
    'Each unfinished task of ``loop`` and where it waits, for a debug log.'
    lines = []
    for task in asyncio.all_tasks(loop):
        lines.append(f'  {task!r}')
        # The whole chain of awaits, down to what the innermost one waits for.
        awaited: Any = task.get_coro()
        while awaited is not None:
            frame = getattr(awaited, 'cr_frame', None) or getattr(awaited, 'gi_frame', None)
            if frame is None:
                lines.append(f'    waiting for {awaited!r}')
                break
            lines.append(f'    {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}')
            awaited = getattr(awaited, 'cr_await', None) or getattr(awaited, 'gi_yieldfrom', None)
    return '\n'.join(lines)


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
    'One daemon thread running a loop, for calls made inside a running loop.'

    def __init__(self, name: str, depth: int) -> None:
        ready = threading.Event()
        self.state: LoopState | None = None
        failure: list[BaseException] = []

        def serve() -> None:
            try:
                state = LoopState(threading.current_thread())
            except BaseException as error:  # no file descriptor left, say
                failure.append(error)
                ready.set()
                return
            _local.state = state
            _local.depth = depth
            self.state = state
            ready.set()
            try:
                state.loop.run_forever()
            finally:
                state.close()
                # The portal this one handed its nested calls to, if any.
                with _portal_lock:
                    child = _chains.pop(threading.current_thread(), None)
                if child is not None:
                    child.stop()

        self.thread = threading.Thread(target=serve, name=name, daemon=True)
        self.thread.start()
        ready.wait()
        if failure:
            raise failure[0]

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

    def submit(self, cleanup: Cleanup) -> bool:
        'Start ``cleanup`` on this loop, from any thread, without waiting; whether it could be.'
        state = self.state
        if state is None or state.pid != os.getpid():
            return False

        def start() -> None:
            task = asyncio.ensure_future(cleanup())
            _submitted.add(task)
            task.add_done_callback(_cleanup_done)

        try:
            state.loop.call_soon_threadsafe(start)
        except RuntimeError:  # closed
            return False
        return True

    def stop(self) -> None:
        self.ask_to_stop()
        self.thread.join(timeout=5)

    def ask_to_stop(self) -> None:
        'Have the loop stop (then closed, bounded) without waiting for it.'
        state = self.state
        if state is not None and not state.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                state.loop.call_soon_threadsafe(state.loop.stop)


_local = threading.local()
_states: dict[int, LoopState] = {}
_states_lock = threading.Lock()
# Threads closing dead threads' loops (see _reap_dead_threads()).
_reapers: set[threading.Thread] = set()
# The background loop thread: background tasks (lock renewal, take-backs)
# and cleanups, never user code, so that nothing a caller does holds them up.
_background: _Portal | None = None
# Per thread, the loop thread it hands calls to that its own loop cannot
# run: calls made inside a foreign loop, and calls nested in its own (user
# code that one of its calls runs).  A portal thread has one of its own for
# calls nested deeper: a chain per thread, so that no thread ever waits for
# another's calls.  Stopped once the owner has died.
_chains: dict[threading.Thread, _Portal] = {}
_portal_lock = threading.Lock()
_warned_in_notebook = False
# Cleanups started on the background loop by discard(), until they finish.
_submitted: set[asyncio.Future[Any]] = set()
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
    'Close the loops of threads that have died, in a thread of their own.'
    with _states_lock:
        dead = [state for state in _states.values() if not state.thread.is_alive()]
        for state in dead:
            del _states[id(state)]
    _stop_orphans()
    if dead:
        # Not in this thread: a thread pool's new worker must not wait for
        # its dead predecessors' cleanups before its first call.
        reaper = threading.Thread(target=_close_all, args=(dead,), name='pottery_async-reaper', daemon=True)
        with _states_lock:
            _reapers.add(reaper)
        reaper.start()


def _stop_orphans() -> None:
    'Stop the portals whose owner thread has died (each closes its loop, bounded, and stops its own).'
    with _portal_lock:
        orphans = [owner for owner in _chains if not owner.is_alive()]
        portals = [_chains.pop(owner) for owner in orphans]
    for portal in portals:
        portal.ask_to_stop()


def _close_all(states: list[LoopState]) -> None:
    try:
        for state in states:
            state.close()
    finally:
        with _states_lock:
            _reapers.discard(threading.current_thread())


def reaped(within: float) -> bool:
    'Wait until the loops of dead threads found so far are closed; whether they are.'
    deadline = time.monotonic() + within
    with _states_lock:
        reapers = list(_reapers)
    for reaper in reapers:
        reaper.join(max(0.0, deadline - time.monotonic()))
    return not any(reaper.is_alive() for reaper in reapers)


def idle_state() -> LoopState | None:
    """This thread's bridge state, if a finalizer may run its loop now.

    Not while the loop runs or is about to (a call in progress: the loop
    would run that call's task too), not in a forked child (the state is the
    parent's), and not in a thread that has none yet (making one can reap).
    """
    state: LoopState | None = getattr(_local, 'state', None)
    if (
        state is None or state.busy or state.pid != os.getpid() or state.loop.is_closed()
        or _get_running_loop() is not None
    ):
        return None
    return state


def discard(cleanup: Cleanup) -> bool:
    """Run a cleanup coroutine from a finalizer: now if safe, else soon.

    Now, in this thread, when its loop is idle (see idle_state()), within
    CLOSE_TIMEOUT; else started on the background loop, if this process has
    one; else queued with defer().  Returns False when none of these is
    possible.
    """
    state = idle_state()
    if state is not None:
        try:
            state.run(_run_cleanups(collections.deque([cleanup])), CLOSE_TIMEOUT)
        except Exception:
            _log.debug('cleanup failed; queued for the next call', exc_info=True)
            state.pending.append(cleanup)
        return True
    portal = _background
    if portal is not None and portal.submit(cleanup):
        return True
    return defer(cleanup)


def start_background() -> None:
    'Start the background loop now, so that a finalizer can use it later (see discard()).'
    _get_background()


def _cleanup_done(task: asyncio.Future[Any]) -> None:
    _submitted.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _log.warning('background cleanup failed', exc_info=task.exception())


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
    global _warned_in_notebook
    state: LoopState | None = getattr(_local, 'state', None)
    if state is not None and state.loop is running:
        # User code that a core coroutine runs (a generator given to
        # update(), a key function) calls the sync API: this thread's loop
        # is waiting for that code, so the call runs on a loop one level
        # deeper.  Nothing else waits for this loop: it serves this thread.
        depth: int = getattr(_local, 'depth', -1) + 1
        if depth >= _MAX_DEPTH:
            coro.close()
            raise RuntimeError(
                f'the pottery_async sync API was called {_MAX_DEPTH} levels deep from inside '
                'its own calls (a generator that calls the sync API, given to a call that '
                'runs another such generator...)'
            )
        return _chained_portal(depth).run(coro, timeout)
    notebook = _in_notebook()
    if not (notebook and _warned_in_notebook):
        _warned_in_notebook = notebook
        try:
            warnings.warn(
                'the pottery_async sync API was called from a thread that runs an event '
                'loop; the call blocks that loop while a background thread runs it. '
                'Use the async API (pottery_async) inside async code.',
                BlockingBridgeWarning,
                stacklevel=_user_stacklevel(),
            )
        except BaseException:
            # The warning was turned into an error: the call is not made.
            coro.close()
            raise
    return _chained_portal(0).run(coro, timeout)


# Nested calls deeper than this are refused (each level is a thread).
_MAX_DEPTH = 8
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_stacklevel() -> int:
    'The stacklevel, for warnings.warn() called by our caller, of the first frame outside this package.'
    frame = sys._getframe(2)
    level = 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def _in_notebook() -> bool:
    'Whether an IPython kernel (Jupyter) runs this process.'
    shell = sys.modules.get('IPython')
    get_ipython = getattr(shell, 'get_ipython', None)
    return get_ipython is not None and type(get_ipython()).__name__ == 'ZMQInteractiveShell'


def _get_background() -> _Portal:
    global _background
    with _portal_lock:
        if _background is None:
            _background = _Portal('pottery_async-background', 0)
        return _background


def _chained_portal(depth: int) -> _Portal:
    'The portal this thread hands its calls to (see _chains), started if need be.'
    me = threading.current_thread()
    with _portal_lock:
        portal = _chains.get(me)
    if portal is not None and portal.thread.is_alive():
        return portal
    # A new one: those of threads that have died go (threads that only ever
    # call from inside their own event loop start no loop of ours to reap).
    _stop_orphans()
    portal = _Portal(f'pottery_async-portal-{depth}', depth)
    with _portal_lock:
        _chains[me] = portal
    return portal


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
    state = _get_background().state
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
    call; inside someone else's running loop, before that thread's next call
    (through its portal).  Either way it runs at the latest when that loop is closed.
    Returns False when there is no bridge loop to queue it on (nothing could
    have been created there that needs cleaning up).
    """
    state: LoopState | None = getattr(_local, 'state', None)
    running = _get_running_loop()
    if running is not None and (state is None or state.loop is not running):
        # Before this thread's next call through its portal, or else on the
        # background loop.
        portal = _chains.get(threading.current_thread()) or _background
        if portal is not None and portal.state is not None and not portal.state.loop.is_closed():
            portal.state.pending.append(cleanup)
            return True
    if state is None or state.loop.is_closed():
        return False
    state.pending.append(cleanup)
    return True


# Run at exit before the loops close (e.g. deleting temporary keys).
_exit_hooks: list[Callable[[], None]] = []


def before_exit(hook: Callable[[], None]) -> None:
    'Run ``hook`` at interpreter exit, while the bridge still works.'
    _exit_hooks.append(hook)


def _shutdown() -> None:
    global _exiting
    for hook in _exit_hooks:
        try:
            hook()
        except Exception:
            _log.warning('error at exit', exc_info=True)
    _exiting = True
    with _portal_lock:
        portals = [*_chains.values(), *([_background] if _background is not None else [])]
        _chains.clear()
    # All asked at once, then waited for: a portal busy with a nested call
    # stops only once the deeper one it waits for has.
    for portal in portals:
        portal.ask_to_stop()
    deadline = time.monotonic() + 5
    for portal in portals:
        portal.thread.join(max(0.0, deadline - time.monotonic()))
    reaped(CLOSE_TIMEOUT)
    me = threading.current_thread()
    with _states_lock:
        closable = [s for s in _states.values() if s.thread is me or not s.thread.is_alive()]
        for state in closable:
            del _states[id(state)]
    for state in closable:
        state.close()


def _after_fork_in_child() -> None:
    global _local, _states, _states_lock, _background, _chains, _portal_lock, _reapers, _submitted
    _inherited.append((_local, _states, _background, _chains, _reapers, _submitted))
    _local = threading.local()
    _states = {}
    _states_lock = threading.Lock()
    _background = None
    _chains = {}
    _portal_lock = threading.Lock()
    _reapers = set()
    _submitted = set()


atexit.register(_shutdown)
os.register_at_fork(after_in_child=_after_fork_in_child)
