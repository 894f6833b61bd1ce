"""ContextTimer, as Pottery's: milliseconds, start/stop once, context manager."""

from __future__ import annotations

import time

import pytest

from pottery_async import ContextTimer
from pottery_async.sync import ContextTimer as SyncContextTimer


def test_same_class_in_both_apis() -> None:
    assert ContextTimer is SyncContextTimer


def test_measures_milliseconds_until_stopped() -> None:
    timer = ContextTimer()
    timer.start()
    time.sleep(0.05)
    timer.stop()
    frozen = timer.elapsed()
    assert frozen >= 50
    time.sleep(0.05)
    assert timer.elapsed() == frozen


def test_context_manager_stops_on_exit() -> None:
    with ContextTimer() as timer:
        time.sleep(0.02)
    frozen = timer.elapsed()
    assert frozen >= 20
    time.sleep(0.02)
    assert timer.elapsed() == frozen


def test_misuse_raises() -> None:
    timer = ContextTimer()
    with pytest.raises(RuntimeError, match="hasn't yet been started"):
        timer.elapsed()
    with pytest.raises(RuntimeError, match="hasn't yet been started"):
        timer.stop()
    timer.start()
    with pytest.raises(RuntimeError, match='already been started'):
        timer.start()
    timer.stop()
    with pytest.raises(RuntimeError, match='already been stopped'):
        timer.stop()
    with pytest.raises(RuntimeError, match='already been stopped'):
        timer.start()
