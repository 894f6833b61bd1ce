"""ContextTimer: wall-clock timing of code blocks, in milliseconds."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Literal


class ContextTimer:
    """Measure elapsed wall time; elapsed() is in whole milliseconds.

    >>> timer = ContextTimer()
    >>> timer.start()
    >>> timer.elapsed() >= 0
    True
    >>> timer.stop()
    >>> with ContextTimer() as timer:
    ...     pass
    >>> timer.elapsed() < 1000
    True
    """

    __slots__ = ('_started', '_stopped')

    def __init__(self) -> None:
        self._started = 0.0
        self._stopped = 0.0

    def __enter__(self) -> ContextTimer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        self.stop()
        return False

    def start(self) -> None:
        'Start the timer; a timer starts once.'
        if self._stopped:
            raise RuntimeError('timer has already been stopped')
        if self._started:
            raise RuntimeError('timer has already been started')
        self._started = time.perf_counter()

    def stop(self) -> None:
        'Stop the timer; elapsed() is frozen from now on.'
        if self._stopped:
            raise RuntimeError('timer has already been stopped')
        if not self._started:
            raise RuntimeError("timer hasn't yet been started")
        self._stopped = time.perf_counter()

    def elapsed(self) -> int:
        'Milliseconds since start(), up to stop() if the timer was stopped.'
        if not self._started:
            raise RuntimeError("timer hasn't yet been started")
        end = self._stopped or time.perf_counter()
        return round((end - self._started) * 1000)
